package modeldoc_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// layers encodes the direction rules of docs/architecture.md: a package
// may import only packages of a lower layer. A new package must be placed
// here, which is the moment to decide where it belongs.
var layers = map[string]int{
	"":                                0, // the root: domain types, standard library only
	"internal/sqldialect":             0,
	"internal/sqlitestmt":             0,
	"internal/sqlscan":                0,
	"internal/tokens":                 0,
	"internal/export/udiff":           0,
	"internal/export/yamledit":        0,
	"internal/dbt/dbttest":            1,
	"internal/testenv":                0,
	"internal/markdown":               0,
	"internal/bench":                  0,
	"internal/scaletest":              0,
	"internal/writer":                 1,
	"internal/fakellm":                1, // counts tokens with internal/tokens
	"internal/dbt":                    1,
	"internal/secrets":                1,
	"internal/jobstore":               1, // the job engine's storage, on the store's handles: below store, which hands it out
	"internal/jobstore/jobstoretest":  2,
	"internal/store":                  2,
	"internal/cost":                   2,
	"internal/collineage":             2,
	"internal/prompt":                 2,
	"internal/ground":                 2,
	"internal/ratelimit":              2,
	"internal/writer/writertest":      2,
	"internal/writer/openaiwriter":    2,
	"internal/writer/anthropicwriter": 2,
	"internal/writer/offlinewriter":   2,
	"internal/retry":                  3,
	"internal/generate":               3,
	"internal/providerkeys":           3,
	"internal/metrics":                3,
	"internal/export":                 3,
	"internal/store/storetest":        3,
	"internal/modeldoctest":           3,
	"internal/jobs":                   4,
	"internal/engine":                 5,
	"internal/api":                    6,
	"internal/quality":                6,
	"internal/server":                 7,
	"internal/web":                    7,
	"internal/cli":                    8,
	"cmd/modeldoc":                    9,
}

// forbidden are the rules the layers alone do not say.
var forbidden = map[string][]string{
	// The job engine reaches the store through its own interface, so a
	// job store can be swapped and tested alone.
	"internal/jobs":     {"internal/store"},
	"internal/jobstore": {"internal/store"},
	// Planning and writing one object knows nothing of where it is kept.
	"internal/generate": {"internal/store"},
	// Provider writers do not know each other.
	"internal/writer/openaiwriter":    {"internal/writer/anthropicwriter", "internal/writer/offlinewriter"},
	"internal/writer/anthropicwriter": {"internal/writer/openaiwriter", "internal/writer/offlinewriter"},
	"internal/writer/offlinewriter":   {"internal/writer/openaiwriter", "internal/writer/anthropicwriter"},
}

type listedPackage struct {
	ImportPath string
	Module     *struct{ Path string }
	Imports    []string
	Standard   bool
}

func listPackages(t *testing.T) (module string, pkgs []listedPackage) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module != nil {
			module = p.Module.Path
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return module, pkgs
}

func TestImportDirection(t *testing.T) {
	module, pkgs := listPackages(t)
	rel := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	for _, p := range pkgs {
		from, _ := rel(p.ImportPath)
		layer, known := layers[from]
		if !known {
			t.Errorf("package %q has no layer: add it to layers in layering_test.go and to the table in docs/architecture.md", from)
			continue
		}
		for _, imp := range p.Imports {
			to, ours := rel(imp)
			if !ours {
				// The root imports the standard library only.
				if from == "" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					t.Errorf("the root package imports %s: it holds domain types on the standard library only", imp)
				}
				continue
			}
			if l, ok := layers[to]; ok && l >= layer {
				t.Errorf("%s (layer %d) imports %s (layer %d): dependencies point down", from, layer, to, l)
			}
			for _, f := range forbidden[from] {
				if to == f {
					t.Errorf("%s imports %s, which docs/architecture.md rules out", from, to)
				}
			}
		}
	}
}

// TestArchitectureNamesEveryPackage keeps the package table of
// docs/architecture.md from falling behind the code.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	module, pkgs := listPackages(t)
	doc, err := os.ReadFile("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	// `internal/writer/{openai,anthropic,offline}writer` names three.
	for _, m := range regexp.MustCompile("`((?:internal|cmd)/[a-z0-9_/{},]+)`").FindAllStringSubmatch(string(doc), -1) {
		for _, p := range expandBraces(m[1]) {
			named[p] = true
		}
	}
	for _, p := range pkgs {
		r, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		if !named[r] {
			t.Errorf("docs/architecture.md does not name %s", r)
		}
	}
}

func expandBraces(s string) []string {
	open := strings.IndexByte(s, '{')
	end := strings.IndexByte(s, '}')
	if open < 0 || end < open {
		return []string{s}
	}
	var out []string
	for _, alt := range strings.Split(s[open+1:end], ",") {
		out = append(out, expandBraces(s[:open]+alt+s[end+1:])...)
	}
	return out
}
