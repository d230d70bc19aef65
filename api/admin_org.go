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

// getOrg shows the caller's org settings, PayFiP's numcli and saisie mode included.
func (s *Server) getOrg(c *gin.Context) {
	o, err := s.q.GetOrg(c, callerOf(c).OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, orgView(o))
}

type orgPatch struct {
	Name    *string `json:"name"`
	Numcli  *string `json:"numcli"`
	Saisie  *string `json:"saisie"`
	Email   *string `json:"email"`
	Address *string `json:"address"`
}

var numcliFormat = regexp.MustCompile(`^[0-9]{6}$`)

// patchOrg edits the org's settings (admin), audited. Going live with PayFiP is a
// change of saisie T → X → W here, once the numcli is checked with
// `enfance payfip numcli` (docs/payfip.md): the API itself never calls PayFiP.
func (s *Server) patchOrg(c *gin.Context) {
	who := callerOf(c)
	var in orgPatch
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	var out db.Org
	err := pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		before, err := q.GetOrg(c, who.OrgID)
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
		if out, err = q.UpdateOrgSettings(c, p); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "org.update", "org", who.OrgID.String(), orgView(before), orgView(out))
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, orgView(out))
}
