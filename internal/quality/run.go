package quality

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/export"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/store"
)

// Run hides half the models' descriptions of cat (modifying it), imports it
// into st (an empty store), documents every model, seed and snapshot with
// the offline writer through the normal job path, and scores the result.
func Run(ctx context.Context, dataset string, st *store.Store, cat *modeldoc.Catalog) (*Report, error) {
	truth := Hide(cat)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		return nil, err
	}
	sum, err := st.ImportCatalog(ctx, org.ID, cat)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", dataset, err)
	}
	eng, err := engine.New(ctx, engine.Config{Store: st, Jobs: jobs.Config{MaxWorkers: 8, Concurrency: 8}})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	j, err := eng.Jobs.Create(ctx, org.ID, jobs.CreateRequest{Options: jobs.Options{
		Selection: jobs.Selection{ProjectID: sum.ProjectID}, Provider: modeldoc.ProviderOffline, Model: "offline-v1", Concurrency: 8,
	}})
	if err != nil {
		return nil, fmt.Errorf("create the job for %s: %w", dataset, err)
	}
	if j, err = eng.Jobs.RunJob(ctx, org.ID, j.ID); err != nil {
		return nil, fmt.Errorf("run the job for %s: %w", dataset, err)
	}
	if j.Status != jobs.StatusCompleted {
		return nil, fmt.Errorf("the job for %s ended %s: %s", dataset, j.Status, j.Message)
	}
	projects, err := export.Load(ctx, st, org.ID, sum.ProjectID)
	if err != nil {
		return nil, err
	}
	gen := map[string]*Generated{}
	for _, p := range projects {
		for _, o := range p.Objects {
			if v := p.Docs[o.ID]; v != nil {
				gen[o.UniqueID] = FromVersion(v)
			}
		}
	}
	r := Score(dataset, cat, truth, gen)
	r.Generated = gen
	return r, nil
}

// FromVersion reads what the scorer needs from a documentation version:
// the column texts, and every prose string of every layer (code fields,
// which quote the SQL on purpose, left out).
func FromVersion(v *modeldoc.DocVersion) *Generated {
	g := &Generated{Columns: map[string]string{}, Inherited: map[string]bool{}, Summary: v.ExecutiveSummary()}
	for layer, raw := range v.Layers {
		var tree any
		if json.Unmarshal(raw, &tree) != nil {
			continue
		}
		g.Texts = collectTexts(tree, "", g.Texts)
		if layer == modeldoc.LayerColumnDescriptions {
			var out modeldoc.ColumnDescriptionsOut
			if json.Unmarshal(raw, &out) == nil {
				for _, c := range out.Columns {
					g.Columns[strings.ToLower(c.Name)] = c.Description
					if c.InheritedFrom != "" {
						g.Inherited[strings.ToLower(c.Name)] = true
					}
				}
			}
		}
	}
	return g
}

// codeFields hold SQL quoted on purpose, or names.
var codeFields = map[string]bool{"codeBlock": true, "codeReference": true, "name": true, "lineage": true,
	"upstreamModel": true, "upstreamColumn": true, "inheritedFrom": true}

func collectTexts(v any, key string, out []string) []string {
	switch t := v.(type) {
	case string:
		if !codeFields[key] && strings.TrimSpace(t) != "" {
			out = append(out, t)
		}
	case []any:
		for _, x := range t {
			out = collectTexts(x, key, out)
		}
	case map[string]any:
		for k, x := range t {
			out = collectTexts(x, k, out)
		}
	}
	return out
}

// WriteTable prints reports as the Markdown table docs/benchmarks.md
// keeps.
func WriteTable(w io.Writer, reports []*Report) {
	fmt.Fprintln(w, "| dataset | models (hidden) | hidden columns (described) | inheritance recall | content recall | leaks | restatements |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range reports {
		fmt.Fprintf(w, "| %s | %d (%d) | %d (%d) | %.3f (%d/%d) | %.3f | %d of %d texts | %.1f%% (%d/%d) |\n",
			r.Dataset, r.Models, r.HiddenModels, r.HiddenColumns, r.Described,
			r.InheritRecall(), r.InheritHits, r.InheritCandidates, r.ContentRecall,
			r.Leaks, r.Texts, 100*r.RestatementShare(), r.Restatements, r.ColumnTexts)
	}
}
