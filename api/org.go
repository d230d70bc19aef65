package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/orgs"
)

func (s *Server) orgRoutes(r routes) {
	r.admin.GET("/org", s.getOrg)
	r.admin.PATCH("/org", s.patchOrg)
	r.admin.GET("/audit", s.auditLog)
}

// orgSettingsJSON is the org as its settings page reads it.
type orgSettingsJSON struct {
	orgs.Org
	// TestModeAllowed: saisie T may be chosen (not in production).
	TestModeAllowed bool `json:"test_mode_allowed"`
}

func (s *Server) orgSettings(o db.Org) orgSettingsJSON {
	return orgSettingsJSON{Org: orgs.View(o), TestModeAllowed: s.cfg.Env != "production"}
}

// getOrg shows the caller's org settings, PayFiP's numcli and saisie mode included.
func (s *Server) getOrg(c *gin.Context) {
	o, err := s.orgs.Get(c, callerOf(c).OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, s.orgSettings(o))
}

// patchOrg edits the org's settings (admin), audited (package orgs). Changing
// numcli or saisie needs the admin's password again (current_password), checked
// here before the change — it is counted like a login attempt.
func (s *Server) patchOrg(c *gin.Context) {
	who := callerOf(c)
	var in struct {
		orgs.Patch
		CurrentPassword string `json:"current_password"`
	}
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	checked := false
	if current, err := s.orgs.Get(c, who.OrgID); err != nil {
		fail(c, s.log, err)
		return
	} else if orgs.ChangesPayFiP(current, in.Patch) {
		if in.CurrentPassword == "" {
			fail(c, s.log, orgs.ErrPasswordRequired)
			return
		}
		if err := s.accounts.VerifyPassword(c, who.UserID, who.Login, addressKey(c.ClientIP()), in.CurrentPassword); err != nil {
			fail(c, s.log, err)
			return
		}
		checked = true
	}
	out, err := s.orgs.Update(c, who.actor(), in.Patch, checked)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, s.orgSettings(out))
}
