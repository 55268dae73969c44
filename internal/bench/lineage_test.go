package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/api"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// BenchmarkLineageGitLab: GitLab's raw project (2,887 models) on SQLite,
// the model with the most direct neighbours (up and down), and the time
// of GET /objects/{id}/lineage over HTTP at the dashboard's default depth
// (two hops each way, 150 nodes) and at the deepest (ten each way, 500),
// and of GET /objects/{id}, which now carries its column lineage.
func BenchmarkLineageGitLab(b *testing.B) {
	ctx := context.Background()
	dir := dbttest.UntarDatasets(b,
		"tnmy44__gitlab-analytics/snowflake-dbt_sql_yml.tar.gz",
		"tnmy44__gitlab-analytics/snowflake-dbt_docs_md.tar.gz")
	cat, err := dbt.Load(filepath.Join(dir, "transform", "snowflake-dbt"))
	if err != nil {
		b.Fatal(err)
	}
	st, orgID, projectID := importCatalog(b, cat)
	edges, err := st.Lineage(ctx, orgID, projectID)
	if err != nil {
		b.Fatal(err)
	}
	degree := map[int64]int{}
	for _, e := range edges {
		degree[e.Upstream]++
		degree[e.Downstream]++
	}
	var hub int64
	for id, d := range degree {
		if d > degree[hub] || (d == degree[hub] && id < hub) {
			hub = id
		}
	}
	o, err := st.GetObject(ctx, orgID, hub)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := st.CreateToken(ctx, orgID, "bench", store.RoleMember)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: st, RatePerSecond: -1}))
	b.Cleanup(srv.Close)
	get := func(path string, into any) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("%s: %s %s %v", path, res.Status, body, err)
		}
		if into != nil {
			if err := json.Unmarshal(body, into); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name, path string
	}{
		{"default", fmt.Sprintf("/api/v1/objects/%d/lineage", hub)},
		{"deepest", fmt.Sprintf("/api/v1/objects/%d/lineage?up=10&down=10&max_nodes=500", hub)},
		{"object", fmt.Sprintf("/api/v1/objects/%d", hub)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var g struct {
				Nodes     []json.RawMessage `json:"nodes"`
				Edges     []json.RawMessage `json:"edges"`
				Truncated bool              `json:"truncated"`
			}
			get(c.path, &g) // warm
			var took time.Duration
			for b.Loop() {
				t0 := time.Now()
				get(c.path, nil)
				took += time.Since(t0)
			}
			b.ReportMetric(float64(took.Microseconds())/1000/float64(b.N), "ms/req")
			if c.name != "object" {
				b.ReportMetric(float64(len(g.Nodes)), "nodes")
				b.ReportMetric(float64(len(g.Edges)), "edges")
			}
			b.Logf("%s (%s, %d direct neighbours): %d nodes, %d edges, truncated %v", o.Name, o.Type, degree[hub], len(g.Nodes), len(g.Edges), g.Truncated)
		})
	}
}
