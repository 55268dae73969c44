package sqlscan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
)

// datasetDir is where the shared datasets are, read in place.
func datasetDir(tb testing.TB) string { return dbttest.Dir(tb) }

type manifestModel struct {
	UniqueID     string `json:"unique_id"`
	ResourceType string `json:"resource_type"`
	CompiledCode string `json:"compiled_code"`
	RawCode      string `json:"raw_code"`
}

func loadModels(tb testing.TB, project string) map[string]manifestModel {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(datasetDir(tb), project, "manifest.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var m struct {
		Nodes map[string]manifestModel `json:"nodes"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("%s: %v", project, err)
	}
	out := map[string]manifestModel{}
	for id, n := range m.Nodes {
		if n.ResourceType == "model" {
			out[id] = n
		}
	}
	return out
}

// cteStart finds "with name as (" and ", name as (" at the start of a
// line, the way dbt projects lay out their CTEs; the analyzer must find
// every such name.
var cteStart = regexp.MustCompile(`(?im)^\s*(?:with|,|\),)\s+(?:recursive\s+)?([a-z_][a-z0-9_]*)\s+as\s*\(`)

func TestAnalyzeRealModels(t *testing.T) {
	t.Parallel()
	for _, project := range []string{"tuva-health__tuva", "fivetran__dbt_hubspot"} {
		models := loadModels(t, project)
		if len(models) < 100 {
			t.Fatalf("%s: only %d models", project, len(models))
		}
		var withCTEs, withSelect int
		scores := map[int]int{}
		for id, m := range models {
			for _, sql := range []string{m.CompiledCode, m.RawCode} {
				a := Analyze(sql)
				found := map[string]bool{}
				for _, c := range a.CTEs {
					found[strings.ToLower(c.Name)] = true
				}
				for _, mm := range cteStart.FindAllStringSubmatch(stripComments(sql), -1) {
					if !found[strings.ToLower(mm[1])] && !inIncremental(a, mm[1]) {
						t.Errorf("%s: CTE %q not found (found %v)", id, mm[1], ctes(a))
					}
				}
				if sql == m.CompiledCode {
					if len(a.CTEs) > 0 {
						withCTEs++
					}
					if a.Final != nil && len(a.Final.Selects) > 0 {
						withSelect++
						if len(a.FinalColumns()) == 0 {
							t.Errorf("%s: final SELECT without columns", id)
						}
					}
					scores[Complexity(a, 0, 0).Score]++
				}
			}
		}
		t.Logf("%s: %d models, %d with CTEs, %d with a final SELECT, scores %v", project, len(models), withCTEs, withSelect, scores)
		if withCTEs*2 < len(models) || withSelect*10 < len(models)*9 {
			t.Errorf("%s: too few CTEs (%d) or selects (%d) found", project, withCTEs, withSelect)
		}
		if len(scores) < 3 {
			t.Errorf("%s: scores do not discriminate: %v", project, scores)
		}
	}
}

func stripComments(sql string) string {
	var b strings.Builder
	last := 0
	for _, t := range Tokenize(sql) {
		if t.Kind == Comment {
			b.WriteString(sql[last:t.Pos])
			last = t.End()
		}
	}
	b.WriteString(sql[last:])
	return b.String()
}

func TestAnalyzeKnownModels(t *testing.T) {
	t.Parallel()
	tuva := loadModels(t, "tuva-health__tuva")
	a := Analyze(tuva["model.the_tuva_project.hcc_suspecting__int_all_conditions"].CompiledCode)
	if got := ctes(a); got != "conditions,seed_hcc_mapping,seed_hcc_descriptions,joined,add_data_types" {
		t.Errorf("hcc CTEs = %q", got)
	}
	if got := cols(a.FinalColumns()); got != "patient_id=column(patient_id) recorded_date=column(recorded_date) condition_type=column(condition_type) icd_10_cm_code=column(icd_10_cm_code) hcc_code=column(hcc_code) hcc_description=column(hcc_description) data_source=column(data_source) tuva_last_run=literal" {
		t.Errorf("hcc final columns = %s", got)
	}
	if got := rels(a.CTE("joined").Query.Selects[0].From); got != "from cte:conditions; left join cte:seed_hcc_mapping [conditions.code = seed_hcc_mapping.diagnosis_code]; left join cte:seed_hcc_descriptions [seed_hcc_mapping.hcc_code = seed_hcc_descriptions.hcc_code]" {
		t.Errorf("joined from = %s", got)
	}
	if got := a.CTE("joined").Query.Selects[0].Where; got != "conditions.code_type = 'icd-10-cm'" {
		t.Errorf("joined where = %q", got)
	}
	if got := cols(a.CTE("add_data_types").Query.Selects[0].Columns); !strings.HasPrefix(got, "patient_id=cast(patient_id) recorded_date=cast(recorded_date) condition_type=cast(condition_type) icd_10_cm_code=cast(code)") {
		t.Errorf("add_data_types columns = %s", got)
	}
	if got := rels(a.CTE("conditions").Query.Selects[0].From); got != "from table:dev_sarah.hcc_suspecting._int_prep_conditions" {
		t.Errorf("conditions from = %s", got)
	}
	if !a.CTE("seed_hcc_descriptions").Query.Selects[0].Distinct {
		t.Error("seed_hcc_descriptions is SELECT DISTINCT")
	}
	raw := Analyze(tuva["model.the_tuva_project.hcc_suspecting__int_all_conditions"].RawCode)
	if got := rels(raw.CTE("conditions").Query.Selects[0].From); got != "from ref:hcc_suspecting__int_prep_conditions" {
		t.Errorf("raw conditions from = %s", got)
	}

	hub := loadModels(t, "fivetran__dbt_hubspot")
	a = Analyze(hub["model.hubspot.hubspot__email_event_sent"].CompiledCode)
	if got := ctes(a); got != "base,events,contacts,events_joined,contacts_joined" {
		t.Errorf("email_event_sent CTEs = %q", got)
	}
	ej := a.CTE("events_joined").Query.Selects[0]
	if got := cols(ej.Columns); got != "*=star(base) created_timestamp=column(events.created_timestamp) email_campaign_id=column(events.email_campaign_id) recipient_email_address=column(events.recipient_email_address) email_send_timestamp=column(events.sent_timestamp) email_send_id=column(events.sent_by_event_id)" {
		t.Errorf("events_joined columns = %s", got)
	}
	if got := rels(ej.From); got != "from cte:base; left join cte:events [base.event_id = events.event_id\n        and base.source_relation = events.source_relation]" {
		t.Errorf("events_joined from = %q", got)
	}
	cj := a.CTE("contacts_joined").Query.Selects[0]
	if got := cols(cj.Columns); got != "*=star(events_joined) contact_id=column(contacts.contact_id) is_contact_deleted=expression" {
		t.Errorf("contacts_joined columns = %s", got)
	}
	if got := rels(a.CTE("base").Query.Selects[0].From); got != "from table:postgres.public_hubspot.stg_hubspot__email_event_sent" {
		t.Errorf("base from = %s", got)
	}
}

// BenchmarkAnalyze measures the analyzer over every Tuva model.
func BenchmarkAnalyze(b *testing.B) {
	models := loadModels(b, "tuva-health__tuva")
	var sqls []string
	bytes := 0
	for _, m := range models {
		sqls = append(sqls, m.CompiledCode)
		bytes += len(m.CompiledCode)
	}
	sort.Strings(sqls)
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	for b.Loop() {
		for _, s := range sqls {
			Analyze(s)
		}
	}
}

// inIncremental reports whether a CTE is declared inside an
// {% if is_incremental() %} block, which a full build does not run.
func inIncremental(a *Analysis, cte string) bool {
	for _, e := range a.Incremental {
		if regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(cte) + `\s+as\s*\(`).MatchString(e.Text) {
			return true
		}
	}
	return false
}
