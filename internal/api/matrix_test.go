package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// seeded is an environment where organization A has a project, a job, a
// documented object and a key.
type seeded struct {
	*env
	jobID, objectID int64
	// spareProjectID is a second project of A's, the one the matrix
	// deletes (DELETE /projects/{id}), so the others keep their objects.
	spareProjectID int64
	src            seedSource
}

func newSeededFrom(t *testing.T, src seedSource, tune func(*Config)) *seeded {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	e := newEnv(t, modeldoctest.NewSQLiteStore(t), tune)
	var up uploadAnswer
	e.must(201, "POST", "/api/v1/projects", e.adminA, src.upload(t), &up)
	e.must(200, "PUT", "/api/v1/provider-keys/openai", e.adminA, `{"key":"sk-acme-secret-0123456789abcdef"}`, nil)
	var job jobs.Job
	e.must(201, "POST", "/api/v1/jobs", e.adminA, fmt.Sprintf(`{"selection":{"names":[%q],"project_id":%d},"provider":"offline"}`, src.model, up.Project.ID), &job)
	stream, err := e.follow(job.ID, e.adminA)
	if err != nil {
		t.Fatal(err)
	}
	if evs := drain(t, stream, 60e9); evs[len(evs)-1].name != "completed" {
		t.Fatalf("seed job ended %v", tail(evs))
	}
	var items list[jobs.Item]
	e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/items", job.ID), e.adminA, nil, &items)
	var spare uploadAnswer
	e.must(201, "POST", "/api/v1/projects", e.adminA, src.spare(t), &spare)
	if spare.Project.ID == up.Project.ID {
		t.Fatalf("the spare project updated the seeded one (%d): the matrix would delete the seeded project", up.Project.ID)
	}
	return &seeded{env: e, jobID: job.ID, objectID: items.Items[0].ObjectID, spareProjectID: spare.Project.ID, src: src}
}

// concrete fills a route's pattern with organization A's ids.
func (s *seeded) concrete(rt route) string {
	p := strings.ReplaceAll(rt.Pattern, "{provider}", "openai")
	if strings.HasPrefix(p, "/api/v1/jobs/") {
		return strings.ReplaceAll(p, "{id}", itoa(s.jobID))
	}
	if strings.HasPrefix(p, "/api/v1/projects/") {
		return strings.ReplaceAll(p, "{id}", itoa(s.spareProjectID))
	}
	return strings.ReplaceAll(p, "{id}", itoa(s.objectID))
}

// validBody is a body each write route accepts, so that only the token
// decides the answer.
func (s *seeded) validBody(t *testing.T, rt route) any {
	switch rt.Method + " " + rt.Pattern {
	case "POST /api/v1/jobs", "POST /api/v1/jobs/estimate":
		return fmt.Sprintf(`{"selection":{"object_ids":[%d]},"provider":"offline"}`, s.objectID)
	case "POST /api/v1/jobs/{id}/budget", "POST /api/v1/jobs/{id}/resume":
		return `{"budget": 5}`
	case "POST /api/v1/objects/{id}/review":
		return `{"action":"accept"}`
	case "PUT /api/v1/provider-keys/{provider}":
		return `{"key":"sk-other-secret-0123456789abcdef"}`
	case "POST /api/v1/projects":
		return s.src.upload(t)
	}
	return nil
}

// TestOrganizationIsolation sends organization B's admin token to every
// route that names something, with organization A's ids: each answers 404
// and says nothing about A's data; lists show B nothing of A's.
func TestOrganizationIsolation(t *testing.T) {
	eachSeed(t, nil, func(t *testing.T, s *seeded) {
		for _, rt := range s.api.routeTable() {
			if !strings.Contains(rt.Pattern, "{") {
				continue
			}
			t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
				path := s.concrete(rt)
				if rt.Method == "PUT" { // storing B's own key is allowed; it must not touch A's
					return
				}
				a := s.do(rt.Method, path, s.adminB, s.validBody(t, rt))
				p := a.problem(t)
				if p.Status != 404 || p.Code != modeldoc.ENOTFOUND {
					t.Fatalf("%s %s with another organization's id: %d %s", rt.Method, path, p.Status, a.body)
				}
				for _, leak := range []string{s.src.model, s.src.name, "acme", "sk-acme"} {
					if bytes.Contains(a.body, []byte(leak)) {
						t.Fatalf("the 404 reveals %q: %s", leak, a.body)
					}
				}
			})
		}
		// Lists: B sees none of A's things, even when it filters by A's ids.
		for _, path := range []string{"/api/v1/jobs", "/api/v1/projects", "/api/v1/objects", "/api/v1/provider-keys",
			fmt.Sprintf("/api/v1/objects?project_id=%d", s.objectID), "/api/v1/objects?q=" + s.src.model} {
			var l list[json.RawMessage]
			s.must(200, "GET", path, s.adminB, nil, &l)
			if l.Total != 0 || len(l.Items) != 0 {
				t.Errorf("GET %s as B: %d items", path, l.Total)
			}
		}
		// A job of B naming A's object ids finds nothing to document.
		a := s.do("POST", "/api/v1/jobs", s.adminB, fmt.Sprintf(`{"selection":{"object_ids":[%d]},"provider":"offline"}`, s.objectID))
		if a.status != 404 && a.status != 400 {
			t.Fatalf("B creating a job on A's object: %d %s", a.status, a.body)
		}
		// B's key and A's key are separate: B storing one leaves A's alone.
		s.must(200, "PUT", "/api/v1/provider-keys/openai", s.adminB, `{"key":"sk-globex-secret-0123456789abcd"}`, nil)
		s.must(204, "DELETE", "/api/v1/provider-keys/openai", s.adminB, nil, nil)
		var keys list[store.ProviderKeyInfo]
		s.must(200, "GET", "/api/v1/provider-keys", s.adminA, nil, &keys)
		if keys.Total != 1 {
			t.Fatalf("A's key disappeared when B deleted its own: %+v", keys)
		}
	})
}

// TestMemberCannotAdminister sends a member's token to every admin route.
func TestMemberCannotAdminister(t *testing.T) {
	eachSeed(t, nil, func(t *testing.T, s *seeded) {
		n := 0
		for _, rt := range s.api.routeTable() {
			if rt.access != admin {
				continue
			}
			n++
			t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
				a := s.do(rt.Method, s.concrete(rt), s.memberA, s.validBody(t, rt))
				if p := a.problem(t); p.Status != 403 || p.Code != modeldoc.EFORBIDDEN {
					t.Fatalf("member: %d %s", p.Status, a.body)
				}
				// And the same request as an admin is not refused for its role.
				if a := s.do(rt.Method, s.concrete(rt), s.adminA, s.validBody(t, rt)); a.status == 403 || a.status == 401 {
					t.Fatalf("admin: %d %s", a.status, a.body)
				}
			})
		}
		if n < 8 {
			t.Fatalf("only %d admin routes: the route table lost its roles", n)
		}
		// Nothing the member tried took effect before the admin's own calls.
		var keys list[store.ProviderKeyInfo]
		s.must(200, "GET", "/api/v1/provider-keys", s.memberA, nil, &keys)
	})
}

// TestBadInputs: each bad request with its status and code.
func TestBadInputs(t *testing.T) {
	eachSeed(t, func(c *Config) { c.MaxBodyBytes = 4096 }, func(t *testing.T, s *seeded) {
		job := fmt.Sprintf("/api/v1/jobs/%d", s.jobID)
		big := `{"selection":{"names":["` + strings.Repeat("x", 5000) + `"]}}`
		cases := []struct {
			name, method, path, token string
			body                      any
			status                    int
			code                      string
		}{
			{"no token", "GET", "/api/v1/jobs", "", nil, 401, "unauthorized"},
			{"unknown token", "GET", "/api/v1/jobs", "mdk_notatoken", nil, 401, "unauthorized"},
			{"not a bearer", "GET", "/api/v1/jobs", "", nil, 401, "unauthorized"},
			{"malformed JSON", "POST", "/api/v1/jobs", s.adminA, `{"selection":`, 400, "malformed_json"},
			{"not JSON at all", "POST", "/api/v1/jobs", s.adminA, `selection=1`, 400, "malformed_json"},
			{"two JSON values", "POST", "/api/v1/jobs", s.adminA, `{} {}`, 400, "malformed_json"},
			{"empty body", "POST", "/api/v1/jobs", s.adminA, ``, 400, "malformed_json"},
			{"array body", "POST", "/api/v1/jobs", s.adminA, `[]`, 400, "malformed_json"},
			{"unknown field", "POST", "/api/v1/jobs", s.adminA, `{"selection":{"names":["orders"]},"turbo":true}`, 400, "unknown_field"},
			{"unknown nested field", "POST", "/api/v1/jobs/estimate", s.adminA, `{"selection":{"name":"orders"}}`, 400, "unknown_field"},
			{"wrong type", "POST", "/api/v1/jobs", s.adminA, `{"selection":{"names":["orders"]},"budget":"lots"}`, 400, "invalid"},
			{"nothing selected", "POST", "/api/v1/jobs", s.adminA, `{"selection":{}}`, 400, "invalid"},
			{"unknown provider", "POST", "/api/v1/jobs/estimate", s.adminA, `{"selection":{"names":["orders"]},"provider":"gpt"}`, 400, "invalid"},
			{"invalid id", "GET", "/api/v1/jobs/abc", s.adminA, nil, 400, "invalid_id"},
			{"negative id", "GET", "/api/v1/objects/-4", s.adminA, nil, 400, "invalid_id"},
			{"bad limit", "GET", "/api/v1/objects?limit=100000", s.adminA, nil, 400, "invalid"},
			{"bad status filter", "GET", "/api/v1/jobs?status=done", s.adminA, nil, 400, "invalid"},
			{"bad boolean", "GET", "/api/v1/objects?documented=maybe", s.adminA, nil, 400, "invalid"},
			{"bad version", "GET", fmt.Sprintf("/api/v1/objects/%d/documentation?version=0", s.objectID), s.adminA, nil, 400, "invalid"},
			{"unknown job", "GET", "/api/v1/jobs/999999", s.adminA, nil, 404, "not_found"},
			{"unknown object", "GET", "/api/v1/objects/999999", s.adminA, nil, 404, "not_found"},
			{"unknown version", "GET", fmt.Sprintf("/api/v1/objects/%d/documentation?version=9", s.objectID), s.adminA, nil, 404, "not_found"},
			{"unknown route", "GET", "/api/v1/widgets", s.adminA, nil, 404, "not_found"},
			{"wrong method", "PATCH", job, s.adminA, nil, 405, "method_not_allowed"},
			{"resume a completed job", "POST", job + "/resume", s.adminA, nil, 409, "conflict"},
			{"pause a completed job", "POST", job + "/pause", s.adminA, nil, 409, "conflict"},
			{"cancel a completed job", "DELETE", job, s.adminA, nil, 409, "conflict"},
			{"budget without amount", "POST", job + "/budget", s.adminA, `{}`, 400, "invalid"},
			{"negative budget", "POST", job + "/budget", s.adminA, `{"budget":-1}`, 400, "invalid"},
			{"oversized body", "POST", "/api/v1/jobs", s.adminA, big, 413, "too_large"},
			{"key of unknown provider", "PUT", "/api/v1/provider-keys/gemini", s.adminA, `{"key":"AIzaSyA-0123456789abcdefghij"}`, 400, "invalid"},
			{"malformed key", "PUT", "/api/v1/provider-keys/openai", s.adminA, `{"key":"not-a-key"}`, 400, "invalid"},
			{"delete a key never stored", "DELETE", "/api/v1/provider-keys/anthropic", s.adminA, nil, 404, "not_found"},
			{"upload not multipart", "POST", "/api/v1/projects", s.adminA, `{"manifest":{}}`, 415, "unsupported_media_type"},
			{"upload without manifest", "POST", "/api/v1/projects", s.adminA, newForm(t, map[string][]byte{"catalog": []byte(`{}`)}), 400, "invalid"},
			{"upload a truncated manifest", "POST", "/api/v1/projects", s.adminA, newForm(t, map[string][]byte{"manifest": []byte(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"`)}), 400, "invalid"},
			{"upload an unknown schema version", "POST", "/api/v1/projects", s.adminA, newForm(t, map[string][]byte{"manifest": []byte(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v99.json"}, "nodes": {}}`)}), 400, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var a answer
				if c.name == "not a bearer" {
					req, _ := http.NewRequest("GET", s.srv.URL+c.path, nil)
					req.Header.Set("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
					res, err := s.srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					if res.StatusCode != 401 {
						t.Fatalf("status %d", res.StatusCode)
					}
					return
				}
				a = s.do(c.method, c.path, c.token, c.body)
				p := a.problem(t)
				if p.Status != c.status || a.status != c.status || (c.code != "" && p.Code != c.code) {
					t.Fatalf("got %d %q, want %d %q: %s", a.status, p.Code, c.status, c.code, a.body)
				}
				if p.Detail == "" || p.Title == "" || p.Type != problemType(p.Code) {
					t.Fatalf("incomplete problem: %+v", p)
				}
				for _, leak := range []string{"goroutine", "panic", "SELECT", "sql:", "sqlite", ".go:"} {
					if strings.Contains(string(a.body), leak) {
						t.Fatalf("the problem leaks %q: %s", leak, a.body)
					}
				}
			})
		}
	})
}

// TestFloodIsThrottled: a client past its bucket gets 429 with
// Retry-After, another client is unaffected, and so is the flooder's IP
// when it uses a valid token of its own.
func TestFloodIsThrottled(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	e := newEnv(t, modeldoctest.NewSQLiteStore(t), func(c *Config) { c.RatePerSecond, c.RateBurst = 0.5, 10 })
	var last answer
	n := 0
	for ; n < 50; n++ {
		last = e.do("GET", "/api/v1/jobs", e.memberA, nil)
		if last.status == 429 {
			break
		}
	}
	if last.status != 429 || n < 10 {
		t.Fatalf("after %d requests: %d", n, last.status)
	}
	if p := last.problem(t); p.Code != "rate_limited" || last.header.Get("Retry-After") == "" {
		t.Fatalf("429 problem: %+v, Retry-After %q", p, last.header.Get("Retry-After"))
	}
	e.must(200, "GET", "/api/v1/jobs", e.adminA, nil, nil)
	// Guessing tokens is throttled by address: failures drain its bucket.
	codes := map[int]int{}
	for i := 0; i < 30; i++ {
		codes[e.do("GET", "/api/v1/jobs", fmt.Sprintf("mdk_guess%d", i), nil).status]++
	}
	if codes[429] == 0 || codes[401] == 0 {
		t.Fatalf("token guessing answers: %v", codes)
	}
	rec := httptest.NewRecorder()
	e.api.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m := rec.Body.String()
	if !strings.Contains(m, "modeldoc_http_throttled_total") || strings.Contains(m, "modeldoc_http_throttled_total 0") {
		t.Fatalf("throttled requests not counted")
	}
}

// TestStoredKeyIsNotInDatabaseFile: the key's bytes appear nowhere in the
// SQLite file or its WAL, only ciphertext.
func TestStoredKeyIsNotInDatabaseFile(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	st := modeldoctest.NewSQLiteStore(t)
	e := newEnv(t, st, nil)
	const secret = "sk-proj-VerySecretValue-4f8a1b2c3d4e5f60718293a4b5c6d7e8"
	var k keyAnswer
	e.must(200, "PUT", "/api/v1/provider-keys/openai", e.adminA, fmt.Sprintf(`{"key":%q}`, secret), &k)
	if strings.Contains(string(e.do("GET", "/api/v1/provider-keys", e.adminA, nil).body), "VerySecret") {
		t.Fatal("the listing shows the key")
	}
	// The key is usable: the ring decrypts it.
	got, err := e.api.keys.Get(context.Background(), e.orgA, "openai")
	if err != nil || got != secret {
		t.Fatalf("decrypt: %q %v", got, err)
	}
	var files []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		p := st.Path() + suffix
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		files = append(files, filepath.Base(p))
		for _, needle := range []string{secret, "VerySecretValue", "4f8a1b2c3d4e5f60718293a4b5c6d7e8"} {
			if bytes.Contains(data, []byte(needle)) {
				t.Fatalf("%s contains the key (%q)", p, needle)
			}
		}
	}
	sort.Strings(files)
	if len(files) < 2 {
		t.Fatalf("read only %v: the WAL was not checked", files)
	}
	info, err := os.Stat(filepath.Join(filepath.Dir(st.Path()), "secret.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", info, err)
	}
}
