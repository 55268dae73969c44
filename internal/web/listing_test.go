package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNoDirectoryListing: a folder of the dashboard is not a page; only
// the root, which has an index.html, answers.
func TestNoDirectoryListing(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for path, want := range map[string]int{
		"/":           200,
		"/index.html": 200, // the file server redirects it to /
		"/js/":        404,
		"/js":         404,
		"/js/pages/":  404,
		"/js/pages":   404,
		"/js/../js/":  404,
		"/js//":       404,
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: status %d, want %d: %.200s", path, res.StatusCode, want, body)
		}
		if strings.Contains(string(body), "app.js") && !strings.Contains(string(body), "<script") {
			t.Errorf("%s: lists a folder: %.200s", path, body)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
	}
}
