package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/api"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/web"
)

// TestEveryResponseIsNosniff: whatever answers (the API, the dashboard,
// a static file, an error, a 404 of either side), the browser is told not
// to guess the content type; the dashboard lists no folder; a 401 names
// the Bearer scheme.
func TestEveryResponseIsNosniff(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	ctx := context.Background()
	st := modeldoctest.NewSQLiteStore(t)
	eng, err := engine.New(ctx, engine.Config{Store: st, NoEnvKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ring, err := providerkeys.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(api.New(api.Config{Store: st, Jobs: eng.Jobs, Keys: ring}), web.Handler()))
	defer srv.Close()
	bare := httptest.NewServer(Handler(api.New(api.Config{Store: st, Jobs: eng.Jobs, Keys: ring}), nil))
	defer bare.Close()
	for _, c := range []struct {
		base, path string
		status     int
	}{
		{srv.URL, "/", 200},
		{srv.URL, "/app.css", 200},
		{srv.URL, "/js/app.js", 200},
		{srv.URL, "/js/", 404},
		{srv.URL, "/js", 404},
		{srv.URL, "/js/pages/", 404},
		{srv.URL, "/nothing-here", 404},
		{srv.URL, "/healthz", 200},
		{srv.URL, "/readyz", 200},
		{srv.URL, "/api/v1/openapi.json", 200},
		{srv.URL, "/api/v1/jobs", 401},
		{srv.URL, "/api/v1/nothing", 404},
		{bare.URL, "/", 404},
	} {
		res, err := http.Get(c.base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.path, res.StatusCode, c.status)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (%d): no X-Content-Type-Options: nosniff", c.path, res.StatusCode)
		}
		if strings.Contains(string(body), `href="app.js"`) || strings.Contains(string(body), "<pre>") {
			t.Errorf("%s: a directory listing: %s", c.path, body)
		}
		if res.StatusCode == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without a Bearer challenge", c.path)
		}
	}
}
