package api_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/enfance/enfance/api"
)

// The roles api/openapi.yaml gives each /api/v1/admin operation (x-roles) are the
// roles the API lets through: every other role, families included, gets 403
// `forbidden` before anything is read. The portal's pages take their role checks
// from the same list (web/static/assets/js/pages/admin/roles.js, checked in package web).
func TestAdminRolesMatchTheSpec(t *testing.T) {
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string   `yaml:"operationId"`
			Roles       []string `yaml:"x-roles"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPISpec(), &spec); err != nil {
		t.Fatal(err)
	}
	e := newAccountEnv(t, nil)
	org := e.newOrg("roles@ville.test")
	fam := e.newFamily(org, "Roles")
	callers := map[string]*peer{
		"family": e.session(org, "family", &fam), "agent": e.session(org, "agent", nil),
		"finance": e.session(org, "finance", nil), "admin": e.session(org, "admin", nil),
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	ops := 0
	for path, item := range spec.Paths {
		if !strings.HasPrefix(path, "/api/v1/admin/") {
			continue
		}
		for method, op := range item {
			if len(op.Roles) == 0 {
				t.Errorf("%s %s (%s): no x-roles", strings.ToUpper(method), path, op.OperationID)
				continue
			}
			ops++
			// Unknown records and no body: an allowed role gets 400 or 404 (or a
			// list), never the role's 403.
			target := param.ReplaceAllStringFunc(path, func(p string) string {
				switch p {
				case "{date}":
					return "2026-01-05"
				case "{file}":
					return uuid.NewString() + ".pdf"
				}
				return uuid.NewString()
			})
			for role, who := range callers {
				r := who.send(strings.ToUpper(method), target, nil, http.Header{"Idempotency-Key": {uuid.NewString()}})
				forbidden := r.status == http.StatusForbidden && strings.HasSuffix(r.problem(t).Type, "/forbidden")
				if allowed := slices.Contains(op.Roles, role); allowed == forbidden {
					t.Errorf("%s %s as %s: %d %s (x-roles %v)", strings.ToUpper(method), path, role, r.status, r.body, op.Roles)
				}
			}
		}
	}
	if ops < 50 {
		t.Fatalf("only %d admin operations in the spec", ops)
	}
}
