package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/api"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/metrics"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestRoutingAndGracefulStop: the API and the dashboard share one
// listener; on shutdown an open event stream ends (it would otherwise hold
// the shutdown until its deadline) and Run returns.
func TestRoutingAndGracefulStop(t *testing.T) {
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
	org, _ := st.EnsureDefaultOrganization(ctx)
	tok, _, err := st.CreateToken(ctx, org.ID, "ops", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, sampleCatalog()); err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Config{Store: st, Jobs: eng.Jobs, Keys: ring})
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "dashboard:"+r.URL.Path) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	// No Jobs in the server config: no worker runs, so the job below stays
	// queued and its stream stays open until the shutdown.
	go func() { done <- Run(runCtx, Config{Listener: ln, API: a, Web: web, ShutdownTimeout: time.Minute}) }()

	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get("/jobs/3"); code != 200 || body != "dashboard:/jobs/3" {
		t.Fatalf("dashboard route: %d %s", code, body)
	}
	if code, body := get("/api/v1/nothing"); code != 404 || !strings.Contains(body, "not_found") {
		t.Fatalf("unknown API route: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/jobs", strings.NewReader(`{"selection":{"names":["orders"]}}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create job: %v %v", res.Status, err)
	}
	res.Body.Close()
	req, _ = http.NewRequest("GET", base+"/api/v1/jobs/1/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("events: %v", err)
	}
	sc := bufio.NewScanner(stream.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "event: progress") {
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(50 * time.Second):
		t.Fatal("Run did not return: the open event stream held the shutdown")
	}
	for sc.Scan() {
	}
	stream.Body.Close()
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the listener still accepts connections after Run returned")
	}
}

// TestMetricsOnTheirOwnListener: with a metrics listener, /metrics is
// served there without a token (every organization, and the process's
// HTTP figures), and the main listener answers 404 for it.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	ctx := context.Background()
	st := modeldoctest.NewSQLiteStore(t)
	org, _ := st.EnsureDefaultOrganization(ctx)
	tok, _, err := st.CreateToken(ctx, org.ID, "ops", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(st, nil)
	a := api.New(api.Config{Store: st, Metrics: m, MetricsElsewhere: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, Config{Listener: ln, API: a, Metrics: m.Handler(), MetricsListener: mln, ShutdownTimeout: time.Minute})
	}()
	get := func(url, token string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("http://"+ln.Addr().String()+"/metrics", tok); code != 404 {
		t.Fatalf("main listener /metrics: %d %s", code, body)
	}
	code, body := get("http://"+mln.Addr().String()+"/metrics", "")
	if code != 200 || !strings.Contains(body, `modeldoc_jobs{status="queued"} 0`) ||
		!strings.Contains(body, `modeldoc_http_requests_total{code="404",route="GET /metrics"} 1`) {
		t.Fatalf("metrics listener: %d %s", code, body)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get("http://" + mln.Addr().String() + "/metrics"); err == nil {
		t.Fatal("the metrics listener still accepts connections after Run returned")
	}
}
