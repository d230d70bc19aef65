package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/enfance/enfance/web"
)

func get(t *testing.T, h http.Handler, method, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServesThePortal(t *testing.T) {
	h := web.Handler()
	for _, target := range []string{"/", "/index.html", "/famille"} {
		r := get(t, h, http.MethodGet, target)
		page := body(t, r)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, `<main id="main"`) {
			t.Fatalf("GET %s: %d %s\n%s", target, r.StatusCode, r.Header.Get("Content-Type"), page)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q", target, csp)
		}
	}
	r := get(t, h, http.MethodGet, "/assets/js/app.js")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("app.js: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("app.js headers: %v", r.Header)
	}
	// Revalidation: the same file answers 304 to its ETag.
	if again := get(t, h, http.MethodGet, "/assets/js/app.js", "If-None-Match", r.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", again.StatusCode)
	}
	if head := get(t, h, http.MethodHead, "/"); head.StatusCode != http.StatusOK {
		t.Errorf("HEAD /: %d", head.StatusCode)
	}
	// A missing file is a 404, never the index page served as a script.
	for _, target := range []string{"/assets/js/missing.js", "/favicon.ico", "/assets/nothing"} {
		if r := get(t, h, http.MethodGet, target); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d", target, r.StatusCode)
		}
	}
	if r := get(t, h, http.MethodPost, "/"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", r.StatusCode)
	}
}

var (
	importRe = regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'`)
	assetRe  = regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"`)
)

// Every module the pages import, and every asset index.html names, is served:
// a typo in a path would otherwise only show in a browser.
func TestEveryReferenceResolves(t *testing.T) {
	h := web.Handler()
	index := body(t, get(t, h, http.MethodGet, "/"))
	refs := assetRe.FindAllStringSubmatch(index, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html names %d assets", len(refs))
	}
	for _, m := range refs {
		if r := get(t, h, http.MethodGet, m[1]); r.StatusCode != http.StatusOK {
			t.Errorf("index.html: %s answers %d", m[1], r.StatusCode)
		}
	}
	seen := map[string]bool{}
	queue := []string{"/assets/js/app.js"}
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		if seen[file] {
			continue
		}
		seen[file] = true
		r := get(t, h, http.MethodGet, file)
		if r.StatusCode != http.StatusOK {
			t.Errorf("module %s: %d", file, r.StatusCode)
			continue
		}
		for _, m := range importRe.FindAllStringSubmatch(body(t, r), -1) {
			spec := m[1] + m[2]
			if !strings.HasPrefix(spec, ".") {
				t.Errorf("%s imports %q: only relative modules are served", file, spec)
				continue
			}
			queue = append(queue, path.Join(path.Dir(file), spec))
		}
	}
	if len(seen) < 6 {
		t.Errorf("only %d modules reached from app.js: %v", len(seen), seen)
	}
	// And no module is left unreached (dead code shipped to every browser).
	var all []string
	_ = fs.WalkDir(web.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") {
			all = append(all, "/"+p)
		}
		return err
	})
	for _, f := range all {
		if !seen[f] {
			t.Errorf("%s is embedded but imported by no page", f)
		}
	}
}
