package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandlerServesTheAppWithAStrictPolicy(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for path, ctype := range map[string]string{
		"/":                "text/html",
		"/app.css":         "text/css",
		"/js/app.js":       "text/javascript",
		"/js/api.js":       "text/javascript",
		"/favicon.svg":     "image/svg+xml",
		"/js/pages/doc.js": "text/javascript",
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", path, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, ctype) {
			t.Errorf("%s: Content-Type %q, want %s", path, got, ctype)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: policy %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: policy allows inline code: %q", path, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		if path == "/" && !strings.Contains(string(body), `name="viewport"`) {
			t.Error("index.html has no viewport meta")
		}
	}
	res, err := http.Get(srv.URL + "/nope.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("missing file: status %d", res.StatusCode)
	}
}

// The escaping rule, checked on the source: no API that parses a string
// as markup, no inline handlers or styles the policy would block anyway,
// and nothing loaded from another host.
func TestStaticFilesNeverParseMarkupOrLoadFromOutside(t *testing.T) {
	markup := regexp.MustCompile(`\.innerHTML|\.outerHTML\s*=|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\(|new Function\(`)
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?(https?:)?//|import\s.*from\s+["']https?:`)
	inline := regexp.MustCompile(`(?i)<script>|\son[a-z]+=|style=`)
	n := 0
	err := fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		data, err := staticFS.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(data)
		if m := markup.FindString(src); m != "" {
			t.Errorf("%s uses %s: build elements with h() and text nodes instead", path, m)
		}
		if m := external.FindString(src); m != "" {
			t.Errorf("%s loads from outside the binary: %s", path, m)
		}
		if strings.HasSuffix(path, ".html") {
			if m := inline.FindString(src); m != "" {
				t.Errorf("%s has inline code or style the policy blocks: %s", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d embedded files", n)
	}
}
