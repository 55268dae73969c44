package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/secrets"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestResponsesSayHowToAuthenticateAndNotToSniff: 401 answers carry a
// Bearer challenge (invalid_token when a token was sent), and every answer
// of the API, error or not, carries nosniff.
func TestResponsesSayHowToAuthenticateAndNotToSniff(t *testing.T) {
	t.Setenv(secrets.EnvMasterKey, "")
	e := newEnv(t, modeldoctest.NewSQLiteStore(t), nil)
	none := e.do("GET", "/api/v1/jobs", "", nil)
	if ch := none.header.Get("WWW-Authenticate"); none.status != 401 || !strings.HasPrefix(ch, "Bearer") || strings.Contains(ch, "error=") {
		t.Fatalf("no token: %d, WWW-Authenticate %q", none.status, ch)
	}
	bad := e.do("GET", "/api/v1/jobs", "mdk_nosuchtoken", nil)
	if ch := bad.header.Get("WWW-Authenticate"); bad.status != 401 || !strings.HasPrefix(ch, "Bearer") || !strings.Contains(ch, `error="invalid_token"`) {
		t.Fatalf("unknown token: %d, WWW-Authenticate %q", bad.status, ch)
	}
	if ch := e.do("GET", "/api/v1/jobs", e.memberA, nil).header.Get("WWW-Authenticate"); ch != "" {
		t.Fatalf("a 200 carries WWW-Authenticate %q", ch)
	}
	for _, c := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/api/v1/jobs", e.memberA, 200},
		{"GET", "/api/v1/jobs", "", 401},
		{"POST", "/api/v1/jobs", e.memberA, 403},
		{"GET", "/api/v1/widgets", e.memberA, 404},
		{"GET", "/api/v1/jobs/999", e.memberA, 404},
		{"PATCH", "/api/v1/jobs", e.memberA, 405},
		{"GET", "/api/v1/objects?q=%00", e.memberA, 400},
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 200},
		{"GET", "/api/v1/openapi.json", "", 200},
	} {
		a := e.do(c.method, c.path, c.token, nil)
		if a.status != c.status || a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: %d (want %d), X-Content-Type-Options %q", c.method, c.path, a.status, c.status, a.header.Get("X-Content-Type-Options"))
		}
	}
}

// TestChangedMasterKeyReachesTheUser: a stored key that the current master
// key cannot open is reported as such (what happened, what to do), not as
// an internal error whose message the API hides.
func TestChangedMasterKeyReachesTheUser(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		org, err := st.CreateOrganization(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(secrets.EnvMasterKey, strings.Repeat("ab", 32))
		before, err := providerkeys.Open(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := before.Put(ctx, org.ID, "openai", "sk-acme-secret-0123456789abcdef"); err != nil {
			t.Fatal(err)
		}
		t.Setenv(secrets.EnvMasterKey, strings.Repeat("cd", 32))
		after, err := providerkeys.Open(st)
		if err != nil {
			t.Fatal(err)
		}
		_, err = after.Get(ctx, org.ID, "openai")
		p := problemFor(err)
		if p.Status != http.StatusConflict || p.Code != secrets.EMASTERKEY || !strings.Contains(p.Detail, "master key") || !strings.Contains(p.Detail, "Store the key again") {
			t.Fatalf("problem for a changed master key: %+v", p)
		}
	})
}
