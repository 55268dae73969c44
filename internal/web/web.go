// Package web serves the modeldoc dashboard: a dependency-free single-page app
// embedded in the binary, mounted by the server at "/".
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc/internal/export"
)

//go:embed static
var staticFS embed.FS

// shared are the dashboard's files that the static site draws with too;
// internal/export holds them, so there is one copy.
var shared = map[string][]byte{
	"/js/lineage.js": export.LineageJS,
	"/lineage.css":   export.LineageCSS,
}

// Handler serves the embedded dashboard.
func Handler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder exists
	}
	files := http.FileServerFS(sub)
	// Script-src 'self' with no inline scripts or styles: every script and
	// stylesheet is a file below, so text from a project that reached the
	// page as markup still could not run.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files carry no version in their names, so browsers must ask
		// again after an upgrade rather than mix old and new modules.
		h.Set("Cache-Control", "no-cache")
		if isBareDir(sub, r.URL.Path) {
			// The file server would list the folder: the dashboard's
			// layout is nobody's business, and a listing is one more
			// page to secure.
			http.NotFound(w, r)
			return
		}
		if b, ok := shared[path.Clean("/"+r.URL.Path)]; ok {
			http.ServeContent(w, r, path.Base(r.URL.Path), time.Time{}, bytes.NewReader(b))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// isBareDir reports whether urlPath names a folder of fsys without an
// index.html: the only case in which the file server lists a folder.
func isBareDir(fsys fs.FS, urlPath string) bool {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" {
		name = "."
	}
	fi, err := fs.Stat(fsys, name)
	if err != nil || !fi.IsDir() {
		return false
	}
	_, err = fs.Stat(fsys, path.Join(name, "index.html"))
	return err != nil
}
