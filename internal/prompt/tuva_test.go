package prompt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/testenv"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// The tests read the real Tuva project in place, through a minimal reader of
// its manifest and catalog: the dbt importer is another package's job, and
// this one needs only what a prompt shows.

type manifestNode struct {
	UniqueID     string `json:"unique_id"`
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	Schema       string `json:"schema"`
	Description  string `json:"description"`
	Path         string `json:"original_file_path"`
	RawCode      string `json:"raw_code"`
	CompiledCode string `json:"compiled_code"`
	Config       struct {
		Materialized string `json:"materialized"`
	} `json:"config"`
	Columns map[string]struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		DataType    string `json:"data_type"`
	} `json:"columns"`
	DependsOn struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
}

type catalogNode struct {
	Columns map[string]struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Index int    `json:"index"`
	} `json:"columns"`
}

type project struct {
	objects  map[string]*modeldoc.Object
	parents  map[string][]string
	children map[string][]string
}

var (
	tuvaOnce sync.Once
	tuva     *project
	tuvaErr  error
)

func datasetDir(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "dbt-datasets", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			testenv.Missing(tb, "dataset %s not found above the package directory", name)
		}
		dir = parent
	}
}

func loadTuva(tb testing.TB) *project {
	tb.Helper()
	dir := datasetDir(tb, "tuva-health__tuva")
	tuvaOnce.Do(func() { tuva, tuvaErr = readProject(dir) })
	if tuvaErr != nil {
		tb.Fatal(tuvaErr)
	}
	return tuva
}

func readProject(dir string) (*project, error) {
	var m struct {
		Nodes   map[string]manifestNode `json:"nodes"`
		Sources map[string]manifestNode `json:"sources"`
		Parent  map[string][]string     `json:"parent_map"`
		Child   map[string][]string     `json:"child_map"`
	}
	var c struct {
		Nodes   map[string]catalogNode `json:"nodes"`
		Sources map[string]catalogNode `json:"sources"`
	}
	for file, v := range map[string]any{"manifest.json": &m, "catalog.json": &c} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return nil, err
		}
	}
	p := &project{objects: map[string]*modeldoc.Object{}, parents: m.Parent, children: m.Child}
	add := func(n manifestNode, cat catalogNode) {
		o := &modeldoc.Object{
			UniqueID: n.UniqueID, Type: modeldoc.ObjectType(n.ResourceType), Name: n.Name,
			Schema: n.Schema, Materialization: n.Config.Materialized, Description: n.Description,
			FilePath: n.Path, RawSQL: n.RawCode, CompiledSQL: n.CompiledCode,
		}
		byLower := map[string]int{}
		for _, cc := range cat.Columns {
			byLower[strings.ToLower(cc.Name)] = len(o.Columns)
			o.Columns = append(o.Columns, modeldoc.Column{Name: strings.ToLower(cc.Name), DataType: cc.Type, Position: cc.Index})
		}
		for _, mc := range n.Columns {
			i, ok := byLower[strings.ToLower(mc.Name)]
			if !ok {
				i = len(o.Columns)
				o.Columns = append(o.Columns, modeldoc.Column{Name: mc.Name, DataType: mc.DataType, Position: 1000 + i})
			}
			o.Columns[i].Declared = true
			if strings.TrimSpace(mc.Description) != "" {
				o.Columns[i].Description = mc.Description
				o.Columns[i].HumanDescription = true
			}
		}
		slices.SortFunc(o.Columns, func(a, b modeldoc.Column) int { return a.Position - b.Position })
		p.objects[n.UniqueID] = o
	}
	for id, n := range m.Nodes {
		switch n.ResourceType {
		case "model", "seed", "snapshot":
			add(n, c.Nodes[id])
		}
	}
	for id, n := range m.Sources {
		add(n, c.Sources[id])
	}
	return p, nil
}

// subject builds the writer's view of one model; summaries gives the
// current executive summary of upstream objects by name.
func (p *project) subject(tb testing.TB, uniqueID string, summaries map[string]string) *writer.Subject {
	tb.Helper()
	o, ok := p.objects[uniqueID]
	if !ok {
		tb.Fatalf("no object %s in the manifest", uniqueID)
	}
	// Copies, columns included: tests edit subjects, never the shared project.
	clone := func(o *modeldoc.Object) modeldoc.Object {
		c := *o
		c.Columns = slices.Clone(o.Columns)
		return c
	}
	s := &writer.Subject{Object: clone(o)}
	for _, id := range p.parents[uniqueID] {
		if n, ok := p.objects[id]; ok {
			s.Upstream = append(s.Upstream, writer.Neighbor{Object: clone(n), Summary: summaries[n.Name]})
		}
	}
	for _, id := range p.children[uniqueID] {
		if n, ok := p.objects[id]; ok {
			s.Downstream = append(s.Downstream, writer.Neighbor{Object: clone(n)})
		}
	}
	return s
}

func (p *project) models() []string {
	var ids []string
	for id, o := range p.objects {
		if o.Type == modeldoc.TypeModel {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
