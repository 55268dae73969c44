package api

import (
	"bytes"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestBadBytesAreRefused sends a NUL or invalid UTF-8 through every way
// text enters the API (query parameters, path parameters, JSON bodies,
// uploads) to every family of endpoints: each answers 400 with a problem
// document on both backends, and nothing is stored.
func TestBadBytesAreRefused(t *testing.T) {
	masterKey(t)
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, nil)
		manifest, catalog := jaffle(t)
		var up uploadAnswer
		e.must(201, "POST", "/api/v1/projects", e.adminA, newForm(t, map[string][]byte{"manifest": manifest, "catalog": catalog}), &up)
		var job jobs.Job
		e.must(201, "POST", "/api/v1/jobs", e.adminA, `{"selection":{"names":["orders"]},"provider":"offline"}`, &job)
		if evs := drain(t, must(e.follow(job.ID, e.adminA)), time.Minute); evs[len(evs)-1].name != "completed" {
			t.Fatalf("seed job ended %v", tail(evs))
		}
		var objs list[store.ObjectSummary]
		e.must(200, "GET", "/api/v1/objects?q=orders", e.memberA, nil, &objs)
		if objs.Total == 0 || objs.Total == up.Summary.Models {
			t.Fatalf("q=orders matched %d of %d models: the control case is no control", objs.Total, up.Summary.Models)
		}
		obj, jobPath := itoa(objs.Items[0].ID), "/api/v1/jobs/"+itoa(job.ID)

		upload := func(field string, data []byte) *form {
			files := map[string][]byte{"manifest": manifest, "catalog": catalog}
			files[field] = data
			return newForm(t, files)
		}
		nulManifest := bytes.Replace(manifest, []byte(`"description": "Order data with`), []byte(`"description": "Order\u0000data with`), 1)
		badManifest := bytes.Replace(manifest, []byte(`"description": "Order data with`), []byte("\"description\": \"Order \xff data with"), 1)
		nulCatalog := bytes.Replace(catalog, []byte(`"type": "VARCHAR"`), []byte(`"type": "VAR\u0000CHAR"`), 1)
		for _, m := range [][]byte{nulManifest, badManifest, nulCatalog} {
			if bytes.Equal(m, manifest) || bytes.Equal(m, catalog) {
				t.Fatal("the dataset changed: the bad upload is not bad")
			}
		}

		cases := []struct {
			name, method, path string
			body               any
		}{
			{"objects: q NUL", "GET", "/api/v1/objects?q=%00", nil},
			{"objects: q NUL inside", "GET", "/api/v1/objects?q=ord%00ers", nil},
			{"objects: q invalid UTF-8", "GET", "/api/v1/objects?q=%FF", nil},
			{"objects: q cut UTF-8", "GET", "/api/v1/objects?q=%C3", nil},
			{"objects: q undecodable", "GET", "/api/v1/objects?q=%zz", nil},
			{"objects: schema", "GET", "/api/v1/objects?schema=main%00", nil},
			{"objects: type", "GET", "/api/v1/objects?type=model%00", nil},
			{"objects: parameter name", "GET", "/api/v1/objects?%00=1", nil},
			{"objects: path id", "GET", "/api/v1/objects/%00", nil},
			{"objects: path id UTF-8", "GET", "/api/v1/objects/%FF", nil},
			{"documentation: version", "GET", "/api/v1/objects/" + obj + "/documentation?version=%00", nil},
			{"documentation versions: limit", "GET", "/api/v1/objects/" + obj + "/documentation/versions?limit=%FF", nil},
			{"projects: list", "GET", "/api/v1/projects?offset=%00", nil},
			{"projects: manifest with NUL", "POST", "/api/v1/projects", upload("manifest", nulManifest)},
			{"projects: manifest not UTF-8", "POST", "/api/v1/projects", upload("manifest", badManifest)},
			{"projects: catalog with NUL", "POST", "/api/v1/projects", upload("catalog", nulCatalog)},
			{"projects: name with NUL", "POST", "/api/v1/projects", upload("name", []byte("shop\x00"))},
			{"projects: name not UTF-8", "POST", "/api/v1/projects", upload("name", []byte("shop\xc3"))},
			{"jobs: list status", "GET", "/api/v1/jobs?status=completed%00", nil},
			{"jobs: path id", "GET", "/api/v1/jobs/1%00", nil},
			{"jobs: create, names", "POST", "/api/v1/jobs", `{"selection":{"names":["orders\u0000"]},"provider":"offline"}`},
			{"jobs: create, pattern", "POST", "/api/v1/jobs", `{"selection":{"pattern":"\u0000"},"provider":"offline"}`},
			{"jobs: create, model", "POST", "/api/v1/jobs", `{"selection":{"names":["orders"]},"provider":"offline","model":"m\u0000"}`},
			{"jobs: create, not UTF-8", "POST", "/api/v1/jobs", []byte("{\"selection\":{\"names\":[\"ord\xffers\"]},\"provider\":\"offline\"}")},
			{"jobs: estimate", "POST", "/api/v1/jobs/estimate", `{"selection":{"names":["orders"],"types":["model\u0000"]}}`},
			{"jobs: budget", "POST", jobPath + "/budget?x=%00", `{"budget": 5}`},
			{"jobs: resume", "POST", jobPath + "/resume", []byte("{\"budget\": 5, \"\xff\": 1}")},
			{"jobs: items", "GET", jobPath + "/items?status=%00", nil},
			{"jobs: logs", "GET", jobPath + "/logs?kind=calls%00", nil},
			{"jobs: events", "GET", jobPath + "/events?x=%FF", nil},
			{"keys: path provider", "PUT", "/api/v1/provider-keys/open%00ai", `{"key":"sk-abcdefghijklmnopqrstuvwxyz0123"}`},
			{"keys: delete path", "DELETE", "/api/v1/provider-keys/%C3%28", nil},
			{"keys: key with NUL", "PUT", "/api/v1/provider-keys/openai", `{"key":"sk-abcdefghij\u0000klmnopqrstuvwxyz"}`},
			{"keys: key not ASCII", "PUT", "/api/v1/provider-keys/openai", `{"key":"sk-abcdéfghijklmnopqrstuvwxyz0123"}`},
			{"keys: key with a control character", "PUT", "/api/v1/provider-keys/anthropic", `{"key":"sk-ant-abcdefghij\u001bklmnopqrstuvwxyz"}`},
			{"keys: list", "GET", "/api/v1/provider-keys?x=%00", nil},
			{"me", "GET", "/api/v1/me?x=%00", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := e.do(c.method, c.path, e.adminA, c.body)
				p := a.problem(t)
				if a.status != 400 || p.Status != 400 || p.Code != modeldoc.EINVALID || p.Detail == "" {
					t.Fatalf("%s %s: %d %s", c.method, c.path, a.status, a.body)
				}
			})
		}
		// Nothing was stored: one project, one job, no key.
		var ps list[modeldoc.Project]
		e.must(200, "GET", "/api/v1/projects", e.adminA, nil, &ps)
		var js list[jobs.Job]
		e.must(200, "GET", "/api/v1/jobs", e.adminA, nil, &js)
		var ks list[store.ProviderKeyInfo]
		e.must(200, "GET", "/api/v1/provider-keys", e.adminA, nil, &ks)
		if ps.Total != 1 || js.Total != 1 || ks.Total != 0 {
			t.Fatalf("after the bad requests: %d projects, %d jobs, %d keys; want 1, 1, 0", ps.Total, js.Total, ks.Total)
		}
		var again list[store.ObjectSummary]
		e.must(200, "GET", "/api/v1/objects?q=orders", e.memberA, nil, &again)
		if again.Total != objs.Total {
			t.Fatalf("the objects changed: %d, then %d", objs.Total, again.Total)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
