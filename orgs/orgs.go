// Package orgs holds an org's settings: its name, its contact address and the
// PayFiP settings that decide where the families' money goes (numcli) and whether
// it is real (saisie). Going live with PayFiP is a change of saisie T → X → W
// here, once the numcli is checked with `enfance payfip numcli` (docs/payfip.md).
package orgs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// Errors the API maps.
var (
	// ErrPasswordRequired: changing numcli or saisie needs the admin's password again.
	ErrPasswordRequired = errors.New("the admin's password is required to change PayFiP's settings")
	// ErrTestModeInProduction: in production, saisie never becomes T (test): a
	// test payment takes no money, and the families would believe they paid.
	ErrTestModeInProduction = errors.New("saisie T in production")
)

// Store runs the transactions.
type Store struct {
	Pool *pgxpool.Pool
	Now  db.Clock // nil: the system's
	// Production: ENFANCE_ENV is production (no test mode).
	Production bool
}

// Org is an org's settings as the back office and the audit log read them.
type Org struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Numcli   string `json:"numcli"`
	Saisie   string `json:"saisie"`
	TimeZone string `json:"time_zone"`
	Email    string `json:"email"`
	Address  string `json:"address"`
}

// View is o as the back office and the audit log read it.
func View(o db.Org) Org {
	return Org{ID: o.ID.String(), Name: o.Name, Numcli: o.Numcli, Saisie: o.Saisie, TimeZone: o.TimeZone, Email: o.Email, Address: o.Address}
}

// Get reads an org.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (db.Org, error) {
	o, err := db.New(s.Pool).GetOrg(ctx, id)
	if err != nil {
		return o, fmt.Errorf("read org: %w", err)
	}
	return o, nil
}

// Patch changes an org's settings; nil keeps a value.
type Patch struct {
	Name    *string `json:"name"`
	Numcli  *string `json:"numcli"`
	Saisie  *string `json:"saisie"`
	Email   *string `json:"email"`
	Address *string `json:"address"`
}

// ChangesPayFiP says whether p changes o's numcli or saisie: then the admin gives
// their password again.
func ChangesPayFiP(o db.Org, p Patch) bool {
	return p.Numcli != nil && strings.TrimSpace(*p.Numcli) != o.Numcli || p.Saisie != nil && *p.Saisie != o.Saisie
}

var numcliFormat = regexp.MustCompile(`^[0-9]{6}$`)

// Update changes the actor's org. A change of numcli or saisie needs
// passwordChecked (the caller checked the admin's password first; the org's row is
// checked again here, locked, so a concurrent change cannot slip past) and is
// audited as org.payfip_change; in production saisie cannot become T.
func (s *Store) Update(ctx context.Context, by audit.Actor, in Patch, passwordChecked bool) (db.Org, error) {
	var out db.Org
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		before, err := q.LockOrg(ctx, by.OrgID)
		if err != nil {
			return fmt.Errorf("lock org: %w", err)
		}
		p := db.UpdateOrgSettingsParams{ID: before.ID, Name: before.Name, Numcli: before.Numcli, Saisie: before.Saisie, Email: before.Email, Address: before.Address}
		var bad check.Fields
		if in.Name != nil {
			if p.Name = strings.TrimSpace(*in.Name); p.Name == "" {
				bad.Add("name", "requis")
			}
		}
		if in.Numcli != nil {
			if p.Numcli = strings.TrimSpace(*in.Numcli); !numcliFormat.MatchString(p.Numcli) {
				bad.Add("numcli", "6 chiffres, zéros initiaux compris")
			}
		}
		if in.Saisie != nil {
			if p.Saisie = *in.Saisie; p.Saisie != "T" && p.Saisie != "X" && p.Saisie != "W" {
				bad.Add("saisie", "T (test), X (activation) ou W (production)")
			}
		}
		if in.Email != nil {
			p.Email = strings.TrimSpace(*in.Email)
			if p.Email != "" && !strings.Contains(p.Email, "@") {
				bad.Add("email", "adresse e-mail invalide")
			}
		}
		if in.Address != nil {
			p.Address = strings.TrimSpace(*in.Address)
		}
		if err := bad.Err("Paramètres de la collectivité invalides."); err != nil {
			return err
		}
		action := "org.update"
		if p.Numcli != before.Numcli || p.Saisie != before.Saisie {
			if !passwordChecked {
				return ErrPasswordRequired
			}
			if p.Saisie == "T" && before.Saisie != "T" && s.Production {
				return ErrTestModeInProduction
			}
			action = "org.payfip_change"
		}
		if out, err = q.UpdateOrgSettings(ctx, p); err != nil {
			return fmt.Errorf("update org: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: action, Entity: "org",
			EntityID: by.OrgID.String(), Before: View(before), After: View(out), At: s.Now.Time()})
	})
	return out, err
}

// Zone is the org's time zone, in which its days and deadlines are told.
func (s *Store) Zone(ctx context.Context, id uuid.UUID) (*time.Location, error) {
	_, loc, err := db.New(s.Pool).OrgZone(ctx, id)
	return loc, err
}
