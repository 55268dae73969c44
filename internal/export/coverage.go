package export

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// CoverageDefinition says what the numbers mean; the CLI prints it in
// --help so that a CI failure can be read without the source.
const CoverageDefinition = `A model counts as documented when it has a human-written description (from
the project's YAML or edited in modeldoc) or a current generated documentation
version. A column counts as documented when it has a human-written description
or a non-empty description in its model's current generated column layer.
Columns are those the catalog knows plus those the generated layer found in the
SQL. Stale (the one definition 'objects list --stale' and 'generate' use):
documented by a generated version written from SQL, descriptions or columns that
have changed since, holding a layer that failed and kept older text, written
before an upstream model was documented again, or downstream of a stale model.
Human-written and generated split the documented ones: human text wins where
both exist. Text that 'export dbt' wrote into the YAML counts as generated, also
once re-imported; a person's edit of it counts as human-written. Deleted objects
are not counted.
Review: layers of the current generated versions stored with grounding
findings (a code reference not in the SQL, a name not in the lineage, a column
the model does not have) after their re-ask; they count as documented but
need a person's review.`

// ECOVERAGE is the error code of a failed coverage check: below a
// threshold. The CLI exits non-zero on it.
const ECOVERAGE = "coverage_below_threshold"

// Counts are the coverage numbers of one scope, for models or columns.
type Counts struct {
	Total      int     `json:"total"`
	Documented int     `json:"documented"`
	Missing    int     `json:"missing"`
	Stale      int     `json:"stale"`
	Human      int     `json:"human"`
	Generated  int     `json:"generated"`
	Percent    float64 `json:"percent"`
}

func (c *Counts) add(o Counts) {
	c.Total += o.Total
	c.Documented += o.Documented
	c.Missing += o.Missing
	c.Stale += o.Stale
	c.Human += o.Human
	c.Generated += o.Generated
}

func (c *Counts) finish() {
	c.Missing = c.Total - c.Documented
	c.Percent = 100
	if c.Total > 0 {
		// Rounded down to a tenth, so 89.99 never shows as 90.0 and passes.
		c.Percent = float64(c.Documented*1000/c.Total) / 10
	}
}

// Scope is the coverage of a set of models and their columns.
type Scope struct {
	Models  Counts `json:"models"`
	Columns Counts `json:"columns"`
	// LayersWithFindings counts the layers of current versions stored
	// with grounding findings, marked for review.
	LayersWithFindings int `json:"layers_with_findings"`
}

func (s *Scope) add(o Scope) {
	s.Models.add(o.Models)
	s.Columns.add(o.Columns)
	s.LayersWithFindings += o.LayersWithFindings
}

func (s *Scope) finish() {
	s.Models.finish()
	s.Columns.finish()
}

// ModelCoverage is one model's line of the report.
type ModelCoverage struct {
	ID         int64  `json:"id"`
	UniqueID   string `json:"unique_id"`
	Name       string `json:"name"`
	Schema     string `json:"schema"`
	Documented bool   `json:"documented"`
	Human      bool   `json:"human"`
	Generated  bool   `json:"generated"`
	Stale      bool   `json:"stale"`
	Columns    Counts `json:"columns"`
	// LayersWithFindings names the layers of the current version stored
	// with grounding findings, marked for review.
	LayersWithFindings []modeldoc.Layer `json:"layers_with_findings,omitempty"`
}

// SchemaCoverage groups a project's models by schema.
type SchemaCoverage struct {
	Schema string `json:"schema"`
	Scope
	Models []ModelCoverage `json:"model_list"`
}

// ProjectCoverage is one project's part of the report.
type ProjectCoverage struct {
	ID      int64  `json:"id"`
	Project string `json:"project"`
	Scope
	Schemas []SchemaCoverage `json:"schemas"`
}

// CoverageReport is the whole report: Total adds up every project.
type CoverageReport struct {
	Total    Scope             `json:"total"`
	Projects []ProjectCoverage `json:"projects"`
	Result   *CheckResult      `json:"check,omitempty"`
}

// CheckResult is the outcome of a threshold check.
type CheckResult struct {
	MinModels  float64  `json:"min_models"`
	MinColumns float64  `json:"min_columns"`
	Passed     bool     `json:"passed"`
	Failures   []string `json:"failures,omitempty"`
}

// Coverage computes the report for the organization's projects (all when
// projectID is 0), counting models only: sources, seeds and snapshots are
// documented by their owners.
func Coverage(ctx context.Context, st *store.Store, orgID, projectID int64) (*CoverageReport, error) {
	projects, err := Load(ctx, st, orgID, projectID)
	if err != nil {
		return nil, err
	}
	return CoverageOf(projects)
}

// CoverageOf computes the report from loaded projects.
func CoverageOf(projects []*Project) (*CoverageReport, error) {
	r := &CoverageReport{}
	for _, p := range projects {
		pc := ProjectCoverage{ID: p.Project.ID, Project: p.Project.Name}
		bySchema := map[string]*SchemaCoverage{}
		for _, o := range p.sortedObjects(modeldoc.TypeModel) {
			mc, err := modelCoverage(p, o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.UniqueID, err)
			}
			sc := bySchema[o.Schema]
			if sc == nil {
				sc = &SchemaCoverage{Schema: o.Schema}
				bySchema[o.Schema] = sc
			}
			sc.Models = append(sc.Models, mc)
			one := Scope{Columns: mc.Columns, LayersWithFindings: len(mc.LayersWithFindings)}
			one.Models.Total = 1
			if mc.Documented {
				one.Models.Documented = 1
			}
			if mc.Human {
				one.Models.Human = 1
			} else if mc.Generated {
				one.Models.Generated = 1
			}
			if mc.Stale {
				one.Models.Stale = 1
			}
			sc.add(one)
		}
		schemas := make([]string, 0, len(bySchema))
		for s := range bySchema {
			schemas = append(schemas, s)
		}
		sort.Strings(schemas)
		for _, s := range schemas {
			sc := bySchema[s]
			pc.add(sc.Scope)
			sc.finish()
			pc.Schemas = append(pc.Schemas, *sc)
		}
		r.Total.add(pc.Scope)
		pc.finish()
		r.Projects = append(r.Projects, pc)
	}
	r.Total.finish()
	return r, nil
}

func modelCoverage(p *Project, o *modeldoc.Object) (ModelCoverage, error) {
	v := p.Docs[o.ID]
	sum := p.Summary[o.ID]
	mc := ModelCoverage{ID: o.ID, UniqueID: o.UniqueID, Name: o.Name, Schema: o.Schema}
	summary, err := executiveSummary(v)
	if err != nil {
		return mc, err
	}
	desc := strings.TrimSpace(o.Description)
	mc.Human = desc != "" && o.Description != summary
	mc.Generated = v != nil
	mc.Documented = mc.Human || mc.Generated
	mc.Stale = v != nil && sum.Stale
	if v != nil {
		for _, l := range modeldoc.AllLayers {
			if st, ok := v.LayerStatus[l]; ok && st.Review {
				mc.LayersWithFindings = append(mc.LayersWithFindings, l)
			}
		}
	}

	_, gen, err := ColumnDocs(v)
	if err != nil {
		return mc, err
	}
	seen := map[string]bool{}
	count := func(human bool, generated bool) {
		mc.Columns.Total++
		switch {
		case human:
			mc.Columns.Documented++
			mc.Columns.Human++
		case generated:
			mc.Columns.Documented++
			mc.Columns.Generated++
			if mc.Stale {
				mc.Columns.Stale++
			}
		}
	}
	for _, c := range o.Columns {
		k := strings.ToLower(c.Name)
		if seen[k] {
			continue
		}
		seen[k] = true
		human := c.HumanDescription && strings.TrimSpace(c.Description) != ""
		_, generated := gen[k]
		count(human, generated)
	}
	names := make([]string, 0, len(gen))
	for k := range gen {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !seen[k] {
			seen[k] = true
			count(false, true)
		}
	}
	mc.Columns.finish()
	return mc, nil
}

// Check compares the total with the thresholds (percentages). It records
// the result in the report and returns an ECOVERAGE error naming each
// threshold that is not met, or nil.
func (r *CoverageReport) Check(minModels, minColumns float64) error {
	c := &CheckResult{MinModels: minModels, MinColumns: minColumns}
	if below(r.Total.Models, minModels) {
		c.Failures = append(c.Failures, fmt.Sprintf("models %.1f%% (%d of %d documented) is below --min-models %g%%",
			r.Total.Models.Percent, r.Total.Models.Documented, r.Total.Models.Total, minModels))
	}
	if below(r.Total.Columns, minColumns) {
		c.Failures = append(c.Failures, fmt.Sprintf("columns %.1f%% (%d of %d documented) is below --min-columns %g%%",
			r.Total.Columns.Percent, r.Total.Columns.Documented, r.Total.Columns.Total, minColumns))
	}
	c.Passed = len(c.Failures) == 0
	r.Result = c
	if c.Passed {
		return nil
	}
	return &modeldoc.Error{Code: ECOVERAGE, Message: "Documentation coverage check failed: " + strings.Join(c.Failures, "; ") +
		". Run `modeldoc generate` for the missing models, or lower the thresholds."}
}

// below compares exactly, not the rounded percentage: 2 of 3 is below 66.67.
func below(c Counts, min float64) bool {
	return float64(c.Documented)*100 < min*float64(c.Total)
}
