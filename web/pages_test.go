package web_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/attendance"
	"github.com/enfance/enfance/families"
	"github.com/enfance/enfance/orgs"
	"github.com/enfance/enfance/services"
	"github.com/enfance/enfance/web"
)

// integrationOnly lists the /api/v1/admin operations no page needs to call,
// each with why: operations for other portals and scripts, not for a person at
// the back office. Keep it short: an operation a human performs gets a page.
var integrationOnly = map[string]string{
	// (none: every back-office operation has a page)
}

type adminOp struct {
	method, path, id string
	roles            []string
	fieldRoles       map[string][]string
	match            *regexp.Regexp
}

// adminOps reads the /api/v1/admin operations of api/openapi.yaml.
func adminOps(t *testing.T) []*adminOp {
	t.Helper()
	raw, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string              `yaml:"operationId"`
			Roles       []string            `yaml:"x-roles"`
			FieldRoles  map[string][]string `yaml:"x-field-roles"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	var ops []*adminOp
	for path, item := range spec.Paths {
		rel, ok := strings.CutPrefix(path, "/api/v1")
		if !ok || !strings.HasPrefix(rel, "/admin/") {
			continue
		}
		re := regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(rel), `[^/]+`) + "$")
		for method, op := range item {
			ops = append(ops, &adminOp{method: strings.ToUpper(method), path: path, id: op.OperationID, roles: op.Roles, fieldRoles: op.FieldRoles, match: re})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	if len(ops) < 40 {
		t.Fatalf("only %d admin operations read from the spec", len(ops))
	}
	return ops
}

// A page's API calls, as the pages write them: get/post/put/patch/del with a
// literal path (`/admin/families/${id}`), api('POST', …), and links to
// /api/v1/admin/… (downloads, which the browser GETs). A path built from a
// variable would not be seen: write the path out at the call.
var (
	callRe     = regexp.MustCompile("\\b(get|post|put|patch|del)\\(\\s*[`'](/admin/[^`']*)[`']")
	apiCallRe  = regexp.MustCompile("\\bapi\\(\\s*'([A-Z]+)'\\s*,\\s*[`'](/admin/[^`']*)[`']")
	linkRe     = regexp.MustCompile("[`']/api/v1(/admin/[^`']*)[`']")
	templateRe = regexp.MustCompile(`\$\{[^}]*\}`)
)

type call struct{ method, path, file string }

func pageCalls(t *testing.T) []call {
	t.Helper()
	var calls []call
	err := fs.WalkDir(web.Files(), "assets/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, err := fs.ReadFile(web.Files(), p)
		if err != nil {
			return err
		}
		norm := func(path string) string {
			path = templateRe.ReplaceAllString(path, "X")
			if i := strings.IndexByte(path, '?'); i >= 0 {
				path = path[:i]
			}
			return path
		}
		methods := map[string]string{"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "del": "DELETE"}
		for _, m := range callRe.FindAllStringSubmatch(string(src), -1) {
			calls = append(calls, call{methods[m[1]], norm(m[2]), p})
		}
		for _, m := range apiCallRe.FindAllStringSubmatch(string(src), -1) {
			calls = append(calls, call{m[1], norm(m[2]), p})
		}
		for _, m := range linkRe.FindAllStringSubmatch(string(src), -1) {
			calls = append(calls, call{"GET", norm(m[1]), p})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// Every /api/v1/admin operation of api/openapi.yaml a human performs is called by
// a page of the back office (or is in integrationOnly, with its reason), and
// every admin call a page makes is an operation of the spec.
func TestEveryAdminOperationHasAPage(t *testing.T) {
	ops := adminOps(t)
	calls := pageCalls(t)
	used := map[string][]string{}
	for _, c := range calls {
		found := false
		for _, op := range ops {
			if op.method == c.method && op.match.MatchString(c.path) {
				used[op.id] = append(used[op.id], c.file)
				found = true
			}
		}
		if !found {
			t.Errorf("%s calls %s %s, which api/openapi.yaml does not describe", c.file, c.method, c.path)
		}
	}
	var missing []string
	for _, op := range ops {
		_, exempt := integrationOnly[op.id]
		switch {
		case len(used[op.id]) == 0 && !exempt:
			missing = append(missing, op.method+" "+op.path+" ("+op.id+")")
		case len(used[op.id]) > 0 && exempt:
			t.Errorf("%s is called by %v: take it off integrationOnly", op.id, used[op.id])
		}
	}
	for id := range integrationOnly {
		if !slices.ContainsFunc(ops, func(op *adminOp) bool { return op.id == id }) {
			t.Errorf("integrationOnly names %s, which the spec does not have", id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("admin operations no page calls (build the page, or list them in integrationOnly with why):\n  %s", strings.Join(missing, "\n  "))
	}
}

// The pages hide what a role may not do from the same lists the API enforces:
// web/static/assets/js/pages/admin/roles.js holds, for every operation (and
// field) closed to some staff role, exactly its x-roles (x-field-roles).
func TestPageRolesMatchTheAPI(t *testing.T) {
	src, err := fs.ReadFile(web.Files(), "assets/js/pages/admin/roles.js")
	if err != nil {
		t.Fatal(err)
	}
	entry := regexp.MustCompile(`(?m)^\s*'?([\w.]+)'?:\s*\[([^\]]*)\],`)
	table := func(name string) map[string][]string {
		start := strings.Index(string(src), "export const "+name+" = {")
		end := strings.Index(string(src)[start:], "\n};")
		if start < 0 || end < 0 {
			t.Fatalf("roles.js has no %s", name)
		}
		out := map[string][]string{}
		for _, m := range entry.FindAllStringSubmatch(string(src)[start:start+end], -1) {
			var roles []string
			for _, r := range strings.Split(m[2], ",") {
				roles = append(roles, strings.Trim(strings.TrimSpace(r), "'"))
			}
			out[m[1]] = roles
		}
		return out
	}
	pageRoles, pageFields := table("ROLES"), table("FIELD_ROLES")
	allStaff := []string{"agent", "finance", "admin"}
	seen := map[string]bool{}
	for _, op := range adminOps(t) {
		seen[op.id] = true
		want, got := op.roles, pageRoles[op.id]
		if slices.Equal(want, allStaff) {
			if got != nil {
				t.Errorf("roles.js restricts %s to %v; the API lets every staff role through", op.id, got)
			}
		} else if !slices.Equal(got, want) {
			t.Errorf("roles.js gives %s the roles %v; the API's x-roles are %v", op.id, got, want)
		}
		for field, roles := range op.fieldRoles {
			if got := pageFields[op.id+"."+field]; !slices.Equal(got, roles) {
				t.Errorf("roles.js FIELD_ROLES[%s.%s] = %v; the API's x-field-roles are %v", op.id, field, got, roles)
			}
			delete(pageFields, op.id+"."+field)
		}
	}
	for id := range pageRoles {
		if !seen[id] {
			t.Errorf("roles.js names %s, which the spec does not have", id)
		}
	}
	for key := range pageFields {
		t.Errorf("roles.js FIELD_ROLES names %s, which no x-field-roles of the spec has", key)
	}
}

// The audit actions the domain packages write, as their code spells them:
// Action: "x.y", action := "x.y", audit(ctx, …, "x.y", …), record(ctx, …, "x.y", …).
// An action ending in "_" is the prefix of one built at run time ("user.password_"
// + purpose); "ledger." + kind is left to its own tests.
var auditActionRe = regexp.MustCompile(`(?:Action:\s*|action\s*:?=\s*|\b(?:audit|record)\(ctx,[^"\n]*)"([a-z_]+\.[a-z_]+)"`)

// Every audit action the code writes reads in French in the audit log page
// (web/static/assets/js/pages/admin/audit.js, ACTIONS): an operation that starts
// writing a new action gets its label with it.
func TestEveryAuditActionHasALabel(t *testing.T) {
	src, err := fs.ReadFile(web.Files(), "assets/js/pages/admin/audit.js")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(src), "const ACTIONS = {")
	end := strings.Index(string(src)[start:], "\n};")
	if start < 0 || end < 0 {
		t.Fatal("audit.js has no ACTIONS")
	}
	labels := map[string]bool{}
	for _, m := range regexp.MustCompile(`'([a-z_]+\.[a-z_]+)':`).FindAllStringSubmatch(string(src)[start:start+end], -1) {
		labels[m[1]] = true
	}
	written := map[string]string{}
	for p, code := range auditWriters(t) {
		for _, m := range auditActionRe.FindAllStringSubmatch(code, -1) {
			written[m[1]] = p
		}
	}
	if len(written) < 30 {
		t.Fatalf("only %d audit actions found in the code: %v", len(written), written)
	}
	for action, file := range written {
		prefix, dynamic := strings.CutSuffix(action, "_")
		ok := labels[action]
		for label := range labels {
			ok = ok || (dynamic && strings.HasPrefix(label, prefix+"_"))
		}
		if !ok {
			t.Errorf("%s writes the audit action %q, which audit.js's ACTIONS does not name", file, action)
		}
	}
}

// auditWriters is the Go code that writes the audit log: each non-test file,
// by path, whose text spells an audit action.
func auditWriters(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(os.DirFS(".."), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin" || d.Name() == "db" || d.Name() == "web") {
			return fs.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		code, err := os.ReadFile("../" + p)
		if err != nil {
			return err
		}
		if auditActionRe.Match(code) {
			out[p] = string(code)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jsBlock is the statement of audit.js that begins with start, to its ";" at a line's end.
func jsBlock(t *testing.T, src, start string) string {
	t.Helper()
	i := strings.Index(src, start)
	if i < 0 {
		t.Fatalf("audit.js has no %q", start)
	}
	rest := src[i:]
	return rest[:strings.Index(rest, ";\n")]
}

// Every field of every record the code writes to the audit log is named in
// French in the log's page (audit.js's FIELDS), or left out on purpose (HIDDEN,
// identifiers): the keys of the records' map literals in the code that writes the
// log, and the JSON fields of the views it keeps (services, closures, families,
// members, authorised persons, logins, the org, the attendance rule). A new field
// gets its French name with it, rather than showing as "days_before".
func TestEveryAuditFieldHasAName(t *testing.T) {
	src, err := fs.ReadFile(web.Files(), "assets/js/pages/admin/audit.js")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`[{,]\s*([a-z_0-9]+):`).FindAllStringSubmatch(jsBlock(t, string(src), "const FIELDS = {"), -1) {
		named[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`'([a-z_0-9]+)'`).FindAllStringSubmatch(jsBlock(t, string(src), "const HIDDEN = new Set("), -1) {
		named[m[1]] = true
	}
	if len(named) < 60 || !strings.Contains(string(src), "k === 'id' || k.endsWith('_id')") {
		t.Fatalf("audit.js's FIELDS, HIDDEN or isID not found (%d names)", len(named))
	}
	// Read by audit.js otherwise: the records a family's creation and a member's
	// change wrap (flat lifts their fields), and a waiting list's order (its own reader).
	for _, k := range []string{"family", "member", "order"} {
		named[k] = true
	}
	fields := map[string]string{}
	keyRe := regexp.MustCompile(`"([a-z_0-9]+)":`)
	for p, code := range auditWriters(t) {
		f, err := parser.ParseFile(token.NewFileSet(), p, code, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			fn, ok := n.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				return true
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if lit, ok := n.(*ast.CompositeLit); ok {
					if m, ok := lit.Type.(*ast.MapType); ok && fmt.Sprint(m.Key) == "string" {
						for _, m := range keyRe.FindAllStringSubmatch(code[lit.Pos()-1:lit.End()-1], -1) {
							fields[m[1]] = p
						}
					}
				}
				if ix, ok := n.(*ast.IndexExpr); ok {
					if k, ok := ix.Index.(*ast.BasicLit); ok && k.Kind == token.STRING && fmt.Sprint(ix.X) == "after" {
						fields[strings.Trim(k.Value, `"`)] = p
					}
				}
				return true
			})
			return false
		})
	}
	if len(fields) < 25 {
		t.Fatalf("only %d fields found in the audit records' literals: %v", len(fields), fields)
	}
	for _, v := range []any{services.Service{}, services.Closure{}, families.Family{}, families.StaffMember{}, families.AuthorizedPerson{},
		accounts.User{}, orgs.Org{}, attendance.Rule{}} {
		for _, k := range jsonFields(reflect.TypeOf(v)) {
			fields[k] = reflect.TypeOf(v).String()
		}
	}
	for k, where := range fields {
		if !named[k] && k != "id" && !strings.HasSuffix(k, "_id") {
			t.Errorf("%s writes the field %q to the audit log, which audit.js's FIELDS does not name (nor HIDDEN leave out)", where, k)
		}
	}
}

// jsonFields are the JSON names of a struct's fields, embedded structs' included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
