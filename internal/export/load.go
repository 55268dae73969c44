// Package export takes documentation out of the store to where people read
// it: back into the dbt project's properties YAML (without clobbering what
// people wrote), a static HTML site, Markdown for wikis, one JSON document,
// and a coverage report that can gate CI.
package export

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// Project is one project with everything the exports need, read once.
type Project struct {
	Project modeldoc.Project
	// Objects are the project's objects that are not deleted, by name,
	// with their columns.
	Objects []modeldoc.Object
	// Summary holds each object's listing row (stale flag, counts).
	Summary map[int64]store.ObjectSummary
	// Docs holds the current documentation of the objects that have one.
	Docs map[int64]*modeldoc.DocVersion
	// Upstream and Downstream are lineage by object id.
	Upstream, Downstream map[int64][]int64
	// Exposures are the project's exposures, each with the objects it
	// reads, for the site's lineage graphs.
	Exposures []modeldoc.ExposureUse
	byID      map[int64]*modeldoc.Object
}

// Object returns the project's object id, or nil.
func (p *Project) Object(id int64) *modeldoc.Object { return p.byID[id] }

// Load reads the organization's projects (all when projectID is 0) with
// their objects, current documentation and lineage.
func Load(ctx context.Context, st *store.Store, orgID, projectID int64) ([]*Project, error) {
	var projects []modeldoc.Project
	if projectID != 0 {
		p, err := st.GetProject(ctx, orgID, projectID)
		if err != nil {
			return nil, err
		}
		projects = []modeldoc.Project{*p}
	} else {
		ps, err := st.ListProjects(ctx, orgID)
		if err != nil {
			return nil, err
		}
		projects = ps
	}
	var out []*Project
	for _, p := range projects {
		sums, _, err := st.ListObjects(ctx, orgID, store.ObjectFilter{ProjectID: p.ID})
		if err != nil {
			return nil, err
		}
		lp := &Project{Project: p, Summary: map[int64]store.ObjectSummary{}, Upstream: map[int64][]int64{},
			Downstream: map[int64][]int64{}, byID: map[int64]*modeldoc.Object{}}
		ids := make([]int64, len(sums))
		for i, s := range sums {
			ids[i] = s.ID
			lp.Summary[s.ID] = s
		}
		if lp.Objects, err = st.GetObjects(ctx, orgID, ids); err != nil {
			return nil, err
		}
		for i := range lp.Objects {
			lp.byID[lp.Objects[i].ID] = &lp.Objects[i]
		}
		if lp.Docs, err = st.CurrentDocVersions(ctx, ids); err != nil {
			return nil, err
		}
		if lp.Exposures, err = st.ExposuresReading(ctx, orgID, ids); err != nil {
			return nil, err
		}
		edges, err := st.Lineage(ctx, orgID, p.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range edges {
			// Edges to deleted objects are left out with the objects.
			if lp.byID[e.Upstream] == nil || lp.byID[e.Downstream] == nil {
				continue
			}
			lp.Upstream[e.Downstream] = append(lp.Upstream[e.Downstream], e.Upstream)
			lp.Downstream[e.Upstream] = append(lp.Downstream[e.Upstream], e.Downstream)
		}
		out = append(out, lp)
	}
	return out, nil
}

// ColumnDocs returns the generated column descriptions of v by lower-case
// name, in the layer's order, without empty ones. A layer that is stored
// but cannot be read is an error: an export that left its columns out
// would look complete.
func ColumnDocs(v *modeldoc.DocVersion) ([]modeldoc.ColumnDescription, map[string]modeldoc.ColumnDescription, error) {
	byName := map[string]modeldoc.ColumnDescription{}
	var out modeldoc.ColumnDescriptionsOut
	if ok, err := decodeLayer(v, modeldoc.LayerColumnDescriptions, &out); !ok || err != nil {
		return nil, byName, err
	}
	var list []modeldoc.ColumnDescription
	for _, c := range out.Columns {
		if strings.TrimSpace(c.Description) == "" || c.Name == "" {
			continue
		}
		k := strings.ToLower(c.Name)
		if _, dup := byName[k]; dup {
			continue
		}
		byName[k] = c
		list = append(list, c)
	}
	return list, byName, nil
}

// executiveSummary is v.ExecutiveSummary, except that a stored summary
// that cannot be read is an error rather than "".
func executiveSummary(v *modeldoc.DocVersion) (string, error) {
	var out modeldoc.ExecutiveSummaryOut
	if ok, err := decodeLayer(v, modeldoc.LayerExecutiveSummary, &out); !ok || err != nil {
		return "", err
	}
	return out.Summary, nil
}

// decodeLayer decodes layer l of v into into. It reports false when v has
// no such layer, and an error naming the object and version when the
// stored layer does not decode.
func decodeLayer(v *modeldoc.DocVersion, l modeldoc.Layer, into any) (bool, error) {
	if v == nil {
		return false, nil
	}
	raw, ok := v.Layers[l]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return false, fmt.Errorf("object %d, documentation version %d: the stored %s layer cannot be read: %w", v.ObjectID, v.Version, l, err)
	}
	return true, nil
}

// sortedObjects returns the objects of the given types by name.
func (p *Project) sortedObjects(types ...modeldoc.ObjectType) []*modeldoc.Object {
	var out []*modeldoc.Object
	for i := range p.Objects {
		o := &p.Objects[i]
		if len(types) == 0 || containsType(types, o.Type) {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].UniqueID < out[j].UniqueID
	})
	return out
}

func containsType(ts []modeldoc.ObjectType, t modeldoc.ObjectType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
