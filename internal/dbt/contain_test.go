package dbt_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/dbt"
)

// TestProjectReadsNothingOutsideItsFolder: a project folder is often
// someone else's repository. Resource paths that leave it ("..", absolute)
// and symbolic links to files or folders outside it must not bring a file
// of the machine into the catalog (and so into a prompt); each is refused
// with a warning that names it.
func TestProjectReadsNothingOutsideItsFolder(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"secret.sql": "select 'TOPSECRET' as s",
		"notes.md":   "{% docs leaked %}TOPSECRET{% enddocs %}",
		"props.yml":  "version: 2\nmodels:\n  - name: a\n    description: TOPSECRET\n",
		"rows.csv":   "TOPSECRET\n",
	} {
		if err := os.WriteFile(filepath.Join(outside, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	project := filepath.Join(base, "project")
	files := map[string]string{
		"dbt_project.yml": `name: shop
model-paths: ["models", "../outside", "` + filepath.ToSlash(outside) + `"]
seed-paths: ["../outside"]
snapshot-paths: ["../../"]
macro-paths: ["../outside"]
`,
		"models/a.sql": "select 1",
	}
	for name, body := range files {
		p := filepath.Join(project, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"models/b.sql":     filepath.Join(outside, "secret.sql"),
		"models/props.yml": filepath.Join(outside, "props.yml"),
		"models/sub":       outside,
		"notes.md":         filepath.Join(outside, "notes.md"),
	} {
		if err := os.Symlink(target, filepath.Join(project, link)); err != nil {
			t.Fatal(err)
		}
	}
	// A link that stays inside the project is still read.
	if err := os.Symlink("a.sql", filepath.Join(project, "models", "c.sql")); err != nil {
		t.Fatal(err)
	}

	c, err := dbt.LoadProject(project)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range c.Objects {
		names = append(names, o.UniqueID)
	}
	if strings.Join(names, ",") != "model.shop.a,model.shop.c" {
		t.Errorf("objects %v, want model.shop.a and model.shop.c only", names)
	}
	b, err := json.Marshal(c.Objects)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "TOPSECRET") {
		t.Errorf("a file outside the project reached the catalog: %s", b)
	}
	warnings := strings.Join(c.Warnings, "\n")
	for _, want := range []string{
		`model-paths entry "../outside" leads outside the project folder`,
		`model-paths entry "` + filepath.ToSlash(outside) + `" is an absolute path`,
		`seed-paths entry "../outside" leads outside`,
		`snapshot-paths entry "../.." leads outside`,
		`macro-paths entry "../outside" leads outside`,
		"models/b.sql is a symbolic link to ",
		"models/props.yml is a symbolic link to ",
		"models/sub is a symbolic link to ",
		"notes.md is a symbolic link to ",
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q:\n%s", want, warnings)
		}
	}
}
