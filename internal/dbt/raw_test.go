package dbt_test

import (
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
)

// tuvaUnderivable lists the model-to-model edges on which the raw importer
// and Tuva's manifest must differ, because only running dbt can decide them.
//
// core__encounter chooses its upstream in {% if var('clinical_enabled') ...
// %} branches. The manifest was generated with tuva_marts_enabled and
// without claims_enabled, so dbt rendered only the clinical branch; without
// dbt every branch counts and the claims staging model is an upstream too.
var tuvaUnderivable = struct{ onlyRaw, onlyManifest []string }{
	onlyRaw: []string{
		"model.the_tuva_project.core__stg_claims_encounter -> model.the_tuva_project.core__encounter",
	},
}

// tuvaSQLChangedSinceManifest names the two models whose .sql file in the
// tarball differs from the manifest's raw_code (a cast type and a leading
// comma were edited in the working copy the manifest came from).
var tuvaSQLChangedSinceManifest = map[string]bool{
	"core__stg_clinical_lab_result":         true,
	"quality_measures__stg_core__encounter": true,
}

func TestTuvaRawAgreesWithManifest(t *testing.T) {
	dir := dbttest.UntarDataset(t, "tuva-health__tuva/raw_project_sql_yml.tar.gz")
	// Tuva's manifest was generated from integration_tests/docs_generate
	// (project input_layer), which installs the_tuva_project from ../../:
	// importing the same folder reads the same two packages.
	raw, err := dbt.LoadProject(filepath.Join(dir, "integration_tests", "docs_generate"))
	if err != nil {
		t.Fatal(err)
	}
	man, err := dbt.Load(dbttest.Path(t, "tuva-health__tuva"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range raw.Warnings {
		// One YAML mapping repeats a key (terminology_note), which dbt
		// tolerates; anything else would be a fault of ours.
		if !strings.Contains(w, "repeats a key") {
			t.Errorf("raw import warning: %s", w)
		}
	}
	checkCatalogIntegrity(t, raw)
	rm, mm := modelIDs(raw), modelIDs(man)
	if d1, d2 := diff(rm, mm), diff(mm, rm); len(d1)+len(d2) > 0 || len(rm) != 307 {
		t.Errorf("models: raw %d, manifest %d\nonly raw: %v\nonly manifest: %v", len(rm), len(mm), d1, d2)
	}
	re, me := modelEdges(raw), modelEdges(man)
	onlyRaw, onlyMan := diff(re, me), diff(me, re)
	t.Logf("model-to-model edges: raw %d, manifest %d; only raw %v; only manifest %v", len(re), len(me), onlyRaw, onlyMan)
	if !reflect.DeepEqual(onlyRaw, tuvaUnderivable.onlyRaw) || !reflect.DeepEqual(onlyMan, tuvaUnderivable.onlyManifest) {
		t.Errorf("edges differ beyond the documented list\nonly raw: %s\nonly manifest: %s",
			strings.Join(onlyRaw, "\n  "), strings.Join(onlyMan, "\n  "))
	}

	// Descriptions and declared columns agree with the manifest's counts,
	// as stats.json has them.
	var st manifestStats
	readJSON(t, dbttest.Path(t, "tuva-health__tuva/stats.json"), &st)
	got := countCatalog(raw)
	if got.Models != st.Models || got.ModelsWithDescription != st.ModelsWithDescription ||
		got.ModelColumnsDeclared != st.ModelColumnsDeclared || got.ModelColumnsWithDescription != st.ModelColumnsWithDescription ||
		got.Seeds != st.NodesByResourceType["seed"] {
		t.Errorf("raw counts %+v differ from the manifest's stats.json %+v", got, st)
	}
	// Descriptions and columns per model match exactly.
	manByID := map[string]modeldoc.Object{}
	for _, o := range man.Objects {
		manByID[o.UniqueID] = o
	}
	for _, o := range raw.Objects {
		m, ok := manByID[o.UniqueID]
		if !ok || o.Type != modeldoc.TypeModel {
			continue
		}
		if strings.TrimSpace(o.Description) != strings.TrimSpace(m.Description) {
			t.Errorf("%s: description %q, manifest %q", o.UniqueID, o.Description, m.Description)
		}
		if strings.TrimSpace(o.RawSQL) != strings.TrimSpace(m.RawSQL) && !tuvaSQLChangedSinceManifest[o.Name] {
			t.Errorf("%s: raw SQL differs from the manifest's raw_code", o.UniqueID)
		}
		var rc, mc []string
		for _, c := range o.Columns {
			rc = append(rc, c.Name+"|"+strings.Join(c.Tests, ","))
		}
		for _, c := range m.Columns {
			if c.Declared {
				mc = append(mc, c.Name+"|"+strings.Join(c.Tests, ","))
			}
		}
		if !reflect.DeepEqual(rc, mc) {
			t.Errorf("%s: columns|tests\n raw %v\nmanifest %v", o.UniqueID, rc, mc)
		}
	}
}

type rawStats struct {
	ModelSQLFiles int `json:"model_sql_files"`
	YML           struct {
		ModelsDeclared              int `json:"models_declared"`
		ModelsWithDescription       int `json:"models_with_description"`
		ModelColumnsDeclared        int `json:"model_columns_declared"`
		ModelColumnsWithDescription int `json:"model_columns_with_description"`
		SourceTablesDeclared        int `json:"source_tables_declared"`
		DocBlockDescriptions        int `json:"doc_block_descriptions"`
	} `json:"yml"`
	ModelSQLFilesWithYMLEntry int `json:"model_sql_files_with_yml_entry"`
}

func TestTuvaRawProjectMatchesStats(t *testing.T) {
	dir := dbttest.UntarDataset(t, "tuva-health__tuva/raw_project_sql_yml.tar.gz")
	var st rawStats
	readJSON(t, dbttest.Path(t, "tuva-health__tuva/stats_raw_project.json"), &st)
	c, err := dbt.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkCatalogIntegrity(t, c)
	got := countCatalog(c)
	if c.ProjectName != "the_tuva_project" || c.Source != "project" {
		t.Errorf("project %q source %q", c.ProjectName, c.Source)
	}
	if got.Models != st.ModelSQLFiles {
		t.Errorf("models: got %d, stats has %d model .sql files", got.Models, st.ModelSQLFiles)
	}
	// stats_raw_project.json counts the YAML of the whole tarball, which
	// also holds two integration-test projects (integration_tests and its
	// docs_generate, 12 models each, with descriptions and no columns
	// beyond those of docs_generate). The root project is the rest: the
	// 12+12 entries and the 351 columns of docs_generate are not ours.
	const integrationModels, integrationDescribed, integrationCols, integrationColsDescribed = 24, 24, 351, 351
	want := [3]int{st.YML.ModelsWithDescription - integrationDescribed,
		st.YML.ModelColumnsDeclared - integrationCols, st.YML.ModelColumnsWithDescription - integrationColsDescribed}
	gotv := [3]int{got.ModelsWithDescription, got.ModelColumnsDeclared, got.ModelColumnsWithDescription}
	if gotv != want || st.YML.ModelsDeclared-integrationModels != got.Models {
		t.Errorf("described models, declared columns, described columns: got %v, want %v", gotv, want)
	}
	if got.Sources != 0 || got.Snapshots != 4 {
		t.Errorf("sources %d snapshots %d", got.Sources, got.Snapshots)
	}
}

// docCall is a {{ doc() }} call; GitLab also has descriptions such as
// ' { doc("x") } ' that are not Jinja, which dbt keeps as text too.
var docCall = regexp.MustCompile(`\{\{-?\s*doc\(`)

func TestGitLabRawProject(t *testing.T) {
	dir := dbttest.UntarDatasets(t,
		"tnmy44__gitlab-analytics/snowflake-dbt_sql_yml.tar.gz",
		"tnmy44__gitlab-analytics/snowflake-dbt_docs_md.tar.gz")
	var st rawStats
	readJSON(t, dbttest.Path(t, "tnmy44__gitlab-analytics/stats.json"), &st)
	c, err := dbt.Load(filepath.Join(dir, "transform", "snowflake-dbt"))
	if err != nil {
		t.Fatal(err)
	}
	checkCatalogIntegrity(t, c)
	got := countCatalog(c)

	var disabledModels, dupColumns, unresolvedDocs int
	for _, w := range c.Warnings {
		switch {
		case strings.Contains(w, ": model ") && strings.Contains(w, "is disabled"):
			disabledModels++
		case strings.Contains(w, "is declared twice"):
			dupColumns++
		case strings.Contains(w, "doc("):
			unresolvedDocs++
		}
	}
	// How our figures relate to stats.json, which counts .sql files and
	// YAML entries as written:
	//   - 7 model files are disabled (enabled: false in dbt_project.yml or
	//     in config()); dbt leaves them out of the project, so do we. Two
	//     of them have YAML entries, with descriptions and 7 columns.
	//   - 53 column entries repeat a column of the same model; dbt keeps
	//     columns by name, so each pair is one column (the later wins, and
	//     36 of the repeated entries had descriptions).
	//   - 9 {% docs %} blocks are empty, so the 1 model and 8 columns whose
	//     description is {{ doc() }} of one of them have no description
	//     once rendered, in dbt as here.
	const disabledWithYAML, disabledCols, describedDupCols, emptyDocModels, emptyDocCols = 2, 7, 36, 1, 8
	if disabledModels != 7 || dupColumns != 53 || unresolvedDocs != 0 {
		t.Errorf("disabled models %d (want 7), repeated columns %d (want 53), unresolved doc() %d (want 0)", disabledModels, dupColumns, unresolvedDocs)
	}
	if got.Models != st.ModelSQLFiles-disabledModels || got.Models != 2887 {
		t.Errorf("models: got %d, want %d .sql files - %d disabled", got.Models, st.ModelSQLFiles, disabledModels)
	}
	if want := st.YML.ModelsWithDescription - disabledWithYAML - emptyDocModels; got.ModelsWithDescription != want || want != 1985 {
		t.Errorf("models with description: got %d, want %d", got.ModelsWithDescription, want)
	}
	if want := st.YML.ModelColumnsDeclared - disabledCols - dupColumns; got.ModelColumnsDeclared != want || want != 18409 {
		t.Errorf("declared model columns: got %d, want %d", got.ModelColumnsDeclared, want)
	}
	if want := st.YML.ModelColumnsWithDescription - describedDupCols - emptyDocCols; got.ModelColumnsWithDescription != want || want != 10347 {
		t.Errorf("described model columns: got %d, want %d", got.ModelColumnsWithDescription, want)
	}
	if got.Sources != st.YML.SourceTablesDeclared {
		t.Errorf("sources: got %d, stats declares %d source tables", got.Sources, st.YML.SourceTablesDeclared)
	}
	withYAML := 0
	docResolved := 0
	for _, o := range c.Objects {
		if o.Type != modeldoc.TypeModel {
			continue
		}
		if o.Description != "" || len(o.Columns) > 0 {
			withYAML++
		}
		if docCall.MatchString(o.Description) {
			t.Errorf("%s: description still holds doc(): %.80q", o.UniqueID, o.Description)
		}
		for _, col := range o.Columns {
			if docCall.MatchString(col.Description) {
				docResolved++
			}
		}
	}
	if docResolved != 0 {
		t.Errorf("%d column descriptions still hold doc()", docResolved)
	}
	if len(c.Edges) < 3000 {
		t.Errorf("only %d lineage edges", len(c.Edges))
	}
	t.Logf("GitLab: %+v, %d edges, %d warnings, %d models with YAML", got, len(c.Edges), len(c.Warnings), withYAML)
}
