package api_test

import (
	"net/http"
	"testing"
)

// Going live with PayFiP without SQL: an admin sets the org's numcli and moves
// saisie from T to W; the change is audited; agents and other orgs cannot.
func TestAdminEditsTheOrgsPayFiPSettings(t *testing.T) {
	e := newBookingEnv(t, false)
	admin := e.login(e.org, "admin", nil)
	agent := e.login(e.org, "agent", nil)

	type org struct {
		Numcli, Saisie, Name string
	}
	var got org
	admin.expect(http.MethodPatch, "/api/v1/admin/org", map[string]any{"numcli": "006270", "saisie": "W"}, http.StatusOK, &got)
	if got.Numcli != "006270" || got.Saisie != "W" || got.Name == "" {
		t.Fatalf("after patch: %+v", got)
	}
	admin.expect(http.MethodGet, "/api/v1/admin/org", nil, http.StatusOK, &got)
	if got.Numcli != "006270" || got.Saisie != "W" {
		t.Fatalf("read back: %+v", got)
	}
	p := admin.problem(http.MethodPatch, "/api/v1/admin/org", map[string]any{"numcli": "6270", "saisie": "P"}, http.StatusBadRequest, "invalid-request")
	if len(p.Errors) != 2 {
		t.Errorf("want errors on numcli and saisie: %+v", p.Errors)
	}
	agent.problem(http.MethodPatch, "/api/v1/admin/org", map[string]any{"saisie": "T"}, http.StatusForbidden, "forbidden")

	var audited int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM audit_log WHERE action = 'org.update'
		AND before->>'saisie' <> 'W' AND after->>'saisie' = 'W' AND after->>'numcli' = '006270'`).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Errorf("%d audit rows, want 1", audited)
	}
	other := e.login(e.newOrg(), "admin", nil)
	other.expect(http.MethodGet, "/api/v1/admin/org", nil, http.StatusOK, &got)
	if got.Numcli == "006270" {
		t.Error("another org sees this org's settings")
	}
}
