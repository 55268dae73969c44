package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// twoProjects imports two raw dbt projects of its own, north and south,
// that both have a model named orders; south also has a source table
// named payments beside its model payments.
func twoProjects(t *testing.T, db string) {
	t.Helper()
	base := t.TempDir()
	north, south := filepath.Join(base, "north"), filepath.Join(base, "south")
	writeFiles(t, north, map[string]string{
		"dbt_project.yml":       "name: north\nversion: '1.0'\n",
		"models/orders.sql":     "select 1 as order_id, 'n' as region\n",
		"models/north_only.sql": "select order_id from {{ ref('orders') }}\n",
	})
	writeFiles(t, south, map[string]string{
		"dbt_project.yml":     "name: south\nversion: '1.0'\n",
		"models/orders.sql":   "select 2 as order_id, 's' as region\n",
		"models/payments.sql": "select * from {{ source('app', 'payments') }}\n",
		"models/_sources.yml": "version: 2\nsources:\n  - name: app\n    tables:\n      - name: payments\n",
	})
	for _, p := range []string{north, south} {
		if r := run(t, db, "import", p); r.code != 0 {
			t.Fatalf("import %s: exit %d\n%s%s", p, r.code, r.stdout, r.stderr)
		}
	}
}

// TestProjectsAreExplicit: with two projects sharing a model name, the
// PROJECT column says which is which, an ambiguous name is refused with
// its candidates, their projects and the flag that picks one, and
// --project picks it in objects, docs and generate.
func TestProjectsAreExplicit(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	twoProjects(t, db)

	list := run(t, db, "objects", "list", "--type", "model")
	if list.code != 0 || !strings.Contains(list.stdout, "PROJECT") {
		t.Fatalf("objects list: exit %d\n%s%s", list.code, list.stdout, list.stderr)
	}
	var rows []string
	for _, line := range strings.Split(list.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[3] == "orders" {
			rows = append(rows, f[1])
		}
	}
	if strings.Join(rows, ",") != "north,south" {
		t.Errorf("the orders rows name projects %v, want north and south:\n%s", rows, list.stdout)
	}
	if r := run(t, db, "objects", "list", "--project", "south", "--type", "model"); r.code != 0 || strings.Contains(r.stdout, "north") || !strings.Contains(r.stdout, "payments") {
		t.Errorf("objects list --project south: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, db, "objects", "list", "--project", "west"); r.code != 3 || !strings.Contains(r.stderr, "north, south") {
		t.Errorf("an unknown --project: exit %d\n%s", r.code, r.stderr)
	}

	for _, args := range [][]string{{"objects", "show", "orders"}, {"docs", "show", "orders"}, {"docs", "history", "orders"}, {"docs", "generate", "orders"}} {
		r := run(t, db, args...)
		for _, want := range []string{"model.north.orders (project north)", "model.south.orders (project south)", "--project"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: exit %d, the error does not say %q:\n%s", strings.Join(args, " "), r.code, want, r.stderr)
			}
		}
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2", strings.Join(args, " "), r.code)
		}
	}
	// A model and a source of one name, in one project: both are listed.
	r := run(t, db, "objects", "show", "payments")
	if r.code != 2 || !strings.Contains(r.stderr, "model model.south.payments (project south)") || !strings.Contains(r.stderr, "source source.south.app.payments (project south)") {
		t.Errorf("a model and a source named payments: exit %d\n%s", r.code, r.stderr)
	}

	show := runJSON(t, db, "objects", "show", "orders", "--project", "south")
	if obj := show["object"].(map[string]any); obj["unique_id"] != "model.south.orders" {
		t.Errorf("objects show orders --project south: %v", obj["unique_id"])
	}
	doc := runJSON(t, db, "docs", "generate", "orders", "--project", "north", "--provider", "offline")
	if doc["object_id"] == nil {
		t.Errorf("docs generate --project north: %v", doc)
	}
	if r := run(t, db, "docs", "show", "orders", "--project", "north"); r.code != 0 {
		t.Errorf("docs show --project north: exit %d\n%s", r.code, r.stderr)
	}

	// generate --select over both projects must say which.
	r = run(t, db, "generate", "--select", "orders", "--provider", "offline")
	if r.code != 2 || !strings.Contains(r.stderr, "several projects (north, south)") || !strings.Contains(r.stderr, "--project") {
		t.Errorf("generate --select across projects: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	job := runJSON(t, db, "generate", "--select", "orders", "--project", "south", "--provider", "offline")
	if job["total"] != float64(1) || job["status"] != "completed" {
		t.Errorf("generate --select orders --project south: %v", job)
	}
	jl := run(t, db, "jobs", "list")
	if !strings.Contains(jl.stdout, "PROJECT") || !strings.Contains(jl.stdout, "south") {
		t.Errorf("jobs list has no project:\n%s", jl.stdout)
	}
	if r := run(t, db, "generate", "examples", "--project", "south"); r.code != 2 {
		t.Errorf("--project with PATH: exit %d\n%s", r.code, r.stderr)
	}
}
