package api

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/store"
)

// newIdleEnv is an env whose job workers never start: its jobs stay
// queued, so their event streams stay open until something ends them.
func newIdleEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	ctx := context.Background()
	eng, err := engine.New(ctx, engine.Config{Store: st, NoEnvKeys: true, Jobs: jobs.Config{PollInterval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := providerkeys.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Config{Store: st, Jobs: eng.Jobs, Keys: ring})
	srv := httptest.NewServer(a)
	t.Cleanup(func() {
		a.CloseStreams()
		srv.Close()
		_ = eng.Close()
	})
	e := &env{t: t, st: st, api: a, srv: srv}
	org, err := st.CreateOrganization(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	e.orgA = org.ID
	e.adminA = e.token(org.ID, "alice@acme.test", store.RoleAdmin)
	return e
}

// TestRevokedTokenEndsItsStreams: an event stream opened with a token ends
// once the token is revoked (the API re-checks every TokenCheck, 2 s by
// default; the deadline here is generous), while the job is still going.
func TestRevokedTokenEndsItsStreams(t *testing.T) {
	masterKey(t)
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		e := newIdleEnv(t, st)
		ctx := context.Background()
		if _, err := st.ImportCatalog(ctx, e.orgA, &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: "test", Objects: []modeldoc.Object{
			{UniqueID: "model.shop.orders", Type: modeldoc.TypeModel, Name: "orders", Package: "shop", RawSQL: "select 1 as id"},
		}}); err != nil {
			t.Fatal(err)
		}
		plain, tok, err := st.CreateToken(ctx, e.orgA, "viewer@acme.test", store.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		var job jobs.Job
		e.must(201, "POST", "/api/v1/jobs", e.adminA, `{"selection":{"names":["orders"]},"provider":"offline"}`, &job)
		stream, err := e.follow(job.ID, plain)
		if err != nil {
			t.Fatal(err)
		}
		keep, err := e.follow(job.ID, e.adminA)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-stream:
			if ev.name != "progress" {
				t.Fatalf("first event %q", ev.name)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no first event within 30 s")
		}
		if err := st.RevokeToken(ctx, e.orgA, tok.ID); err != nil {
			t.Fatal(err)
		}
		drain(t, stream, 30*time.Second)
		var j jobs.Job
		e.must(200, "GET", "/api/v1/jobs/"+itoa(job.ID), e.adminA, nil, &j)
		if j.Status != jobs.StatusQueued {
			t.Fatalf("the job is %s: the stream may have ended with it", j.Status)
		}
		// The admin's stream of the same job is still open.
		select {
		case _, ok := <-keep:
			if !ok {
				t.Fatal("the stream of a valid token ended too")
			}
		default:
		}
		a := e.do("GET", "/api/v1/jobs/"+itoa(job.ID)+"/events", plain, nil)
		if a.status != 401 || !strings.Contains(a.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("reconnecting with the revoked token: %d, WWW-Authenticate %q", a.status, a.header.Get("WWW-Authenticate"))
		}
	})
}
