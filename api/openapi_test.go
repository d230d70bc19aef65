package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/enfance/enfance/api"
	"github.com/enfance/enfance/config"
)

var specMethods = []string{"get", "post", "put", "patch", "delete", "head", "options"}

// router is the API's routes as production serves them (dev adds its own tools).
func router(t *testing.T) *gin.Engine {
	t.Helper()
	cfg, err := config.Load("dev")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Env = "production"
	return api.New(api.Options{Config: cfg, Logger: zap.NewNop()}).Handler().(*gin.Engine)
}

var ginParam = regexp.MustCompile(`[:*]([^/]+)`)

// The router and api/openapi.yaml describe the same routes: every gin route is in
// the spec with its method, and every spec operation is routed. Each operation
// has responses, declares its path parameters, answers 401 unless public, and
// every $ref resolves.
func TestOpenAPIMatchesRouter(t *testing.T) {
	var spec map[string]any
	if err := yaml.Unmarshal(api.OpenAPISpec(), &spec); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	if v, _ := spec["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi: %q, want 3.1.x", v)
	}
	paths, _ := spec["paths"].(map[string]any)

	routed := map[string]bool{}
	for _, r := range router(t).Routes() {
		routed[strings.ToLower(r.Method)+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	described := map[string]bool{}
	opIDs := map[string]string{}
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for _, m := range specMethods {
			op, ok := ops[m].(map[string]any)
			if !ok {
				continue
			}
			key := m + " " + path
			described[key] = true
			checkOperation(t, spec, key, path, ops, op, opIDs)
		}
	}
	var missing, extra []string
	for k := range routed {
		if !described[k] {
			missing = append(missing, strings.ToUpper(k[:strings.IndexByte(k, ' ')])+k[strings.IndexByte(k, ' '):])
		}
	}
	for k := range described {
		if !routed[k] {
			extra = append(extra, strings.ToUpper(k[:strings.IndexByte(k, ' ')])+k[strings.IndexByte(k, ' '):])
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from api/openapi.yaml (describe them):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("api/openapi.yaml describes routes the router does not serve:\n  %s", strings.Join(extra, "\n  "))
	}
	checkRefs(t, spec, spec, "")
}

func checkOperation(t *testing.T, spec map[string]any, key, path string, item, op map[string]any, opIDs map[string]string) {
	t.Helper()
	id, _ := op["operationId"].(string)
	if id == "" {
		t.Errorf("%s: no operationId", key)
	} else if prev, dup := opIDs[id]; dup {
		t.Errorf("%s: operationId %s already used by %s", key, id, prev)
	}
	opIDs[id] = key
	responses, _ := op["responses"].(map[string]any)
	if len(responses) == 0 {
		t.Errorf("%s: no responses", key)
	}
	success := false
	for code := range responses {
		if code[0] == '2' || code[0] == '3' {
			success = true
		}
	}
	if !success {
		t.Errorf("%s: no success response", key)
	}
	// Operations with their own empty security are public; the others answer 401.
	if sec, ok := op["security"].([]any); !(ok && len(sec) == 0) {
		if _, ok := responses["401"]; !ok {
			t.Errorf("%s: authenticated but no 401 response", key)
		}
	}
	// Every body is capped before it is read (limitBody).
	if _, ok := op["requestBody"]; ok {
		if _, ok := responses["413"]; !ok {
			t.Errorf("%s: takes a body but no 413 response", key)
		}
	}
	declared := map[string]bool{}
	for _, list := range []any{item["parameters"], op["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			pm, _ := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				pm, _ = resolve(spec, ref).(map[string]any)
			}
			if pm["in"] == "path" {
				declared[pm["name"].(string)] = true
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v not required", key, pm["name"])
				}
			}
		}
	}
	for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
		if !declared[m[1]] {
			t.Errorf("%s: path parameter {%s} not declared", key, m[1])
		}
		delete(declared, m[1])
	}
	for name := range declared {
		t.Errorf("%s: declares path parameter %s that the path lacks", key, name)
	}
}

// resolve follows a local JSON pointer (#/a/b).
func resolve(spec map[string]any, ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = spec
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
	}
	return cur
}

func checkRefs(t *testing.T, spec map[string]any, node any, at string) {
	t.Helper()
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if k == "$ref" {
				if ref, _ := v.(string); resolve(spec, ref) == nil {
					t.Errorf("%s: $ref %v does not resolve", at, v)
				}
				continue
			}
			checkRefs(t, spec, v, at+"/"+k)
		}
	case []any:
		for _, v := range n {
			checkRefs(t, spec, v, at)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer(router(t))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") || string(body) != string(api.OpenAPISpec()) {
		t.Fatalf("GET /api/openapi.yaml: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
