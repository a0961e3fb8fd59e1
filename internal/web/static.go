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

	"github.com/go-chi/chi/v5"
)

//go:embed static
var staticFS embed.FS

// StaticPrefix is where the static files are served, as
// /static/<content hash>/<name>: a changed file gets a new URL, so that
// browsers may keep each one for a year.
const StaticPrefix = "/static/"

// asset is one static file and the hash in its URL.
type asset struct {
	body  []byte
	hash  string
	ctype string
}

// assets are the embedded static files by name ("portal.css",
// "vendor/htmx.min.js").
type assets map[string]asset

func loadAssets() (assets, error) {
	out := assets{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		if !servedExt[path.Ext(name)] {
			return nil // the vendoring script and the recorded hashes
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(name))
		if path.Ext(name) == ".LICENSE" {
			ctype = "text/plain; charset=utf-8"
		}
		out[name] = asset{body: b, hash: hex.EncodeToString(sum[:6]), ctype: ctype}
		return nil
	})
	return out, err
}

var servedExt = map[string]bool{".css": true, ".js": true, ".svg": true, ".LICENSE": true}

// URL is the versioned URL of a static file; it panics on a name that is
// not embedded, which the page tests catch.
func (a assets) URL(name string) string {
	f, ok := a[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return StaticPrefix + f.hash + "/" + name
}

// serve answers /static/{hash}/*: the file when the hash is current, with
// a year of caching; 404 otherwise (an old URL must not be cached as the
// new file).
func (a assets) serve(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	f, ok := a[name]
	if !ok || f.hash != chi.URLParam(r, "hash") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
