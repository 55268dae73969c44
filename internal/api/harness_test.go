package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/metrics"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/store"
)

// env is a running API on a real listener over a real store, with the
// job workers started, and two organizations with their tokens.
type env struct {
	t                       *testing.T
	st                      *store.Store
	api                     *API
	srv                     *httptest.Server
	adminA, memberA, adminB string
	orgA, orgB              int64
}

func newEnv(t *testing.T, st *store.Store, tune func(*Config)) *env {
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
	if err := eng.Jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Jobs: eng.Jobs, Keys: ring, Metrics: metrics.New(st, nil), Heartbeat: 200 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	a := New(cfg)
	srv := httptest.NewServer(a)
	t.Cleanup(func() {
		a.CloseStreams()
		srv.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = eng.Jobs.Stop(sctx)
		_ = eng.Close()
	})
	e := &env{t: t, st: st, api: a, srv: srv}
	orgA, err := st.CreateOrganization(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	orgB, err := st.CreateOrganization(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	e.orgA, e.orgB = orgA.ID, orgB.ID
	e.adminA = e.token(orgA.ID, "alice@acme.test", store.RoleAdmin)
	e.memberA = e.token(orgA.ID, "mallory@acme.test", store.RoleMember)
	e.adminB = e.token(orgB.ID, "bob@globex.test", store.RoleAdmin)
	return e
}

func (e *env) token(org int64, name, role string) string {
	plain, _, err := e.st.CreateToken(context.Background(), org, name, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return plain
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func (a answer) problem(t *testing.T) Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json (status %d, body %s)", ct, a.status, a.body)
	}
	var p Problem
	a.decode(t, &p)
	return p
}

// do sends a request with token (none when empty) and body: nil, a
// string (sent as JSON), or a *multipart body.
func (e *env) do(method, path, token string, body any) answer {
	e.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	case *form:
		rd, ctype = bytes.NewReader(b.buf.Bytes()), b.ctype
	default:
		raw, _ := json.Marshal(b)
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: data}
}

// must sends a request and fails the test unless it answers want.
func (e *env) must(want int, method, path, token string, body any, out any) answer {
	e.t.Helper()
	a := e.do(method, path, token, body)
	if a.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.status, want, a.body)
	}
	if out != nil {
		a.decode(e.t, out)
	}
	return a
}

type form struct {
	buf   bytes.Buffer
	ctype string
}

func newForm(t *testing.T, files map[string][]byte) *form {
	f := &form{}
	mw := multipart.NewWriter(&f.buf)
	for field, data := range files {
		w, err := mw.CreateFormFile(field, field+".json")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	f.ctype = mw.FormDataContentType()
	return f
}

func jaffle(t *testing.T) (manifest, catalog []byte) {
	dir := filepath.Join(modeldoctest.DatasetsDir(t), "yu-iskw__dbt-artifacts-parser", "jaffle_shop_dbt-1.12")
	m, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// sseEvent is one event of a stream.
type sseEvent struct {
	name string
	job  jobs.Job
}

// follow reads job id's event stream to its end, sending each event on
// the channel, which it closes at the end.
func (e *env) follow(id int64, token string) (<-chan sseEvent, error) {
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/jobs/"+itoa(id)+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		res.Body.Close()
		return nil, &apiError{code: "stream", detail: res.Status}
	}
	out := make(chan sseEvent, 1024)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		var data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					_ = json.Unmarshal([]byte(data), &ev.job)
					out <- ev
				}
				ev, data = sseEvent{}, ""
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out, nil
}

// last drains a stream and returns its events.
func drain(t *testing.T, ch <-chan sseEvent, within time.Duration) []sseEvent {
	t.Helper()
	var evs []sseEvent
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-deadline:
			t.Fatalf("the event stream did not end within %s; last events: %+v", within, tail(evs))
		}
	}
}

func tail(evs []sseEvent) []string {
	var out []string
	for _, e := range evs[max(0, len(evs)-3):] {
		out = append(out, e.name+":"+e.job.Status)
	}
	return out
}
