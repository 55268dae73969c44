// Package web serves the modeldoc dashboard: a dependency-free single-page app
// embedded in the binary, mounted by the server at "/".
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var staticFS embed.FS

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
		files.ServeHTTP(w, r)
	})
}
