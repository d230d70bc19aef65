package api

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/db"
)

type orgJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Numcli   string `json:"numcli"`
	Saisie   string `json:"saisie"`
	TimeZone string `json:"time_zone"`
	Email    string `json:"email"`
	Address  string `json:"address"`
}

func orgView(o db.Org) orgJSON {
	return orgJSON{ID: o.ID.String(), Name: o.Name, Numcli: o.Numcli, Saisie: o.Saisie, TimeZone: o.TimeZone, Email: o.Email, Address: o.Address}
}

// orgSettingsJSON is the org as its settings page reads it.
type orgSettingsJSON struct {
	orgJSON
	// TestModeAllowed: saisie T may be chosen (not in production).
	TestModeAllowed bool `json:"test_mode_allowed"`
}

func (s *Server) orgSettings(o db.Org) orgSettingsJSON {
	return orgSettingsJSON{orgJSON: orgView(o), TestModeAllowed: s.cfg.Env != "production"}
}

// getOrg shows the caller's org settings, PayFiP's numcli and saisie mode included.
func (s *Server) getOrg(c *gin.Context) {
	o, err := s.q.GetOrg(c, callerOf(c).OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, s.orgSettings(o))
}

type orgPatch struct {
	Name    *string `json:"name"`
	Numcli  *string `json:"numcli"`
	Saisie  *string `json:"saisie"`
	Email   *string `json:"email"`
	Address *string `json:"address"`
	// CurrentPassword: the admin's password again, required to change numcli or
	// saisie (where the money goes, and whether it is real).
	CurrentPassword string `json:"current_password"`
}

var errPasswordForPayFiP = &Problem{Type: problemBase + "password-required", Title: "Mot de passe requis", Status: http.StatusForbidden,
	Detail: "Changer le numéro client PayFiP ou le mode de saisie demande votre mot de passe : ils décident où va l'argent des familles et s'il est réellement encaissé.",
	Errors: []FieldError{{Field: "current_password", Message: "requis pour changer numcli ou saisie"}}}

var errTestModeInProduction = &Problem{Type: problemBase + "test-mode-in-production", Title: "Mode test interdit en production", Status: http.StatusConflict,
	Detail: "En production, le mode de saisie ne peut pas passer à T (test) : un paiement de test n'encaisse rien, et les familles croiraient avoir payé. Utilisez W (production), ou X pendant l'activation si PayFiP vous l'a demandé.",
	Errors: []FieldError{{Field: "saisie", Message: "T interdit en production"}}}

var numcliFormat = regexp.MustCompile(`^[0-9]{6}$`)

// patchOrg edits the org's settings (admin), audited. Going live with PayFiP is a
// change of saisie T → X → W here, once the numcli is checked with
// `enfance payfip numcli` (docs/payfip.md): the API itself never calls PayFiP.
// Changing numcli or saisie needs the admin's password again and is audited as
// org.payfip_change; in production, saisie cannot be switched to T (test).
func (s *Server) patchOrg(c *gin.Context) {
	who := callerOf(c)
	var in orgPatch
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	// The password is checked before the transaction (hashing is slow) when the
	// request changes PayFiP's settings; the transaction checks again on the row
	// it locks, so a concurrent change cannot slip past.
	verified := false
	if current, err := s.q.GetOrg(c, who.OrgID); err != nil {
		fail(c, s.log, err)
		return
	} else if payfipChange(current, in) {
		if in.CurrentPassword == "" {
			fail(c, s.log, errPasswordForPayFiP)
			return
		}
		if !s.currentPassword(c, in.CurrentPassword) {
			return
		}
		verified = true
	}
	var out db.Org
	err := pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		before, err := q.LockOrg(c, who.OrgID)
		if err != nil {
			return err
		}
		p := db.UpdateOrgSettingsParams{ID: before.ID, Name: before.Name, Numcli: before.Numcli, Saisie: before.Saisie, Email: before.Email, Address: before.Address}
		var fields []FieldError
		if in.Name != nil {
			if p.Name = strings.TrimSpace(*in.Name); p.Name == "" {
				fields = append(fields, FieldError{Field: "name", Message: "requis"})
			}
		}
		if in.Numcli != nil {
			if p.Numcli = strings.TrimSpace(*in.Numcli); !numcliFormat.MatchString(p.Numcli) {
				fields = append(fields, FieldError{Field: "numcli", Message: "6 chiffres, zéros initiaux compris"})
			}
		}
		if in.Saisie != nil {
			if p.Saisie = *in.Saisie; p.Saisie != "T" && p.Saisie != "X" && p.Saisie != "W" {
				fields = append(fields, FieldError{Field: "saisie", Message: "T (test), X (activation) ou W (production)"})
			}
		}
		if in.Email != nil {
			p.Email = strings.TrimSpace(*in.Email)
			if p.Email != "" && !strings.Contains(p.Email, "@") {
				fields = append(fields, FieldError{Field: "email", Message: "adresse e-mail invalide"})
			}
		}
		if in.Address != nil {
			p.Address = strings.TrimSpace(*in.Address)
		}
		if len(fields) > 0 {
			return badRequest("Paramètres de la collectivité invalides.", fields...)
		}
		action := "org.update"
		if p.Numcli != before.Numcli || p.Saisie != before.Saisie {
			if !verified {
				return errPasswordForPayFiP
			}
			if p.Saisie == "T" && before.Saisie != "T" && s.cfg.Env == "production" {
				return errTestModeInProduction
			}
			action = "org.payfip_change"
		}
		if out, err = q.UpdateOrgSettings(c, p); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, action, "org", who.OrgID.String(), orgView(before), orgView(out))
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, s.orgSettings(out))
}

// payfipChange says whether the patch changes the org's numcli or saisie.
func payfipChange(o db.Org, in orgPatch) bool {
	return in.Numcli != nil && strings.TrimSpace(*in.Numcli) != o.Numcli || in.Saisie != nil && *in.Saisie != o.Saisie
}
