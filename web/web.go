// Package web is the reference family portal and back office: static HTML, CSS
// and JavaScript modules embedded in the binary and served by the API at /. The
// pages call only the public REST API (/api/v1) with the session cookie, so the
// API proves itself sufficient for any other portal.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var files embed.FS

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// csp allows nothing but this origin: no inline script or style, no frames. The
// PayFiP page is reached by navigation, which CSP does not restrict.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Files are the portal's files, as served (index.html, assets/…).
func Files() fs.FS {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // "static" is a valid path: fs.Sub cannot fail on it
	}
	return static
}

// Handler serves the portal: the embedded files by their path, and index.html
// for any other path that is not a file, so that a deep link still opens the
// portal (its routes live in the URL's fragment).
func Handler() http.Handler {
	assets := map[string]asset{}
	static := Files()
	_ = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		assets["/"+p] = asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	index := assets["/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Méthode non autorisée", http.StatusMethodNotAllowed)
			return
		}
		a, ok := assets[path.Clean("/"+r.URL.Path)]
		if !ok {
			// A missing file of the portal is a 404, not the index page: a stale
			// module would otherwise fail with a confusing MIME type error.
			if strings.HasPrefix(r.URL.Path, "/assets/") || path.Ext(r.URL.Path) != "" {
				http.NotFound(w, r)
				return
			}
			a = index
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		// Revalidate every time: a new binary must never run with an old module.
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
