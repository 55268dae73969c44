package prompt

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// TestPromptShowsTestArgumentsAndConfig: on examples/shop (so that a clean
// clone runs it), the shared context reads the project's tests with their
// arguments and the incremental config.
func TestPromptShowsTestArgumentsAndConfig(t *testing.T) {
	c, err := dbt.Load(filepath.Join("..", "..", "examples", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	text := func(name string) string {
		t.Helper()
		for _, o := range c.Objects {
			if o.Name == name {
				reqs, err := BuildAll([]modeldoc.Layer{modeldoc.LayerExecutiveSummary}, &writer.Subject{Object: o}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				return reqs[0].User
			}
		}
		t.Fatalf("no %s in examples/shop", name)
		return ""
	}
	stg := text("stg_orders")
	for _, want := range []string{
		"- `status` accepted values: 'placed', 'shipped', 'completed', 'returned', 'cancelled'\n",
		"- `customer_id` → relationships to `stg_customers.customer_id`\n",
		"- Grain (unique columns): order_id (unique, not null)\n",
	} {
		if !strings.Contains(stg, want) {
			t.Errorf("stg_orders prompt lacks %q:\n%s", want, stg)
		}
	}
	if fct := text("fct_orders"); !strings.Contains(fct, "- unique_key: `order_id` (incremental)\n") {
		t.Errorf("fct_orders prompt lacks its unique_key:\n%s", fct)
	}
}

// TestPromptTestArgumentShapes: the lines for a merge strategy, a contract,
// a long value list, and tests whose arguments are unknown.
func TestPromptTestArgumentShapes(t *testing.T) {
	values := make([]string, 30)
	for i := range values {
		values[i] = string(rune('a'+i%26)) + "x"
	}
	o := modeldoc.Object{Name: "orders", Type: modeldoc.TypeModel, RawSQL: "select 1 as order_id", Materialization: "incremental",
		Config: &modeldoc.ObjectConfig{UniqueKey: []string{"order_id", "line"}, IncrementalStrategy: "merge", ContractEnforced: true},
		Columns: []modeldoc.Column{
			{Name: "code", Tests: []string{"accepted_values"}, TestArgs: []modeldoc.ColumnTest{{Name: "accepted_values", Values: values}}},
			{Name: "kind", Tests: []string{"accepted_values", "relationships"}},
		}}
	reqs, err := BuildAll([]modeldoc.Layer{modeldoc.LayerExecutiveSummary}, &writer.Subject{Object: o}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := reqs[0].User
	for _, want := range []string{
		"- unique_key: `order_id`, `line` (incremental, merge)\n",
		"- Contract enforced: ",
		"'yx' and 5 more\n",
		"- `kind` has an accepted_values test (its values are not known here)\n",
		"- `kind` has a relationships test (its target is not known here)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("prompt lacks %q:\n%s", want, got)
		}
	}
}

// TestColumnBudgetCountsTheSelect: a model whose project lists none of its
// columns gets a column budget for what its SQL returns, a star over a CTE
// counted through it (HubSpot's int_hubspot__form_metrics__by_contact was
// cut at the 600-token floor in every run).
func TestColumnBudgetCountsTheSelect(t *testing.T) {
	sql := "with final as (select a, b, c, d, e, f, g, h from {{ ref('x') }})\nselect * from final"
	s := &writer.Subject{Object: modeldoc.Object{Name: "m", Type: modeldoc.TypeModel, RawSQL: sql}}
	req, err := Build(modeldoc.LayerColumnDescriptions, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := MaxTokens(modeldoc.LayerColumnDescriptions, 8); req.MaxTokens != want || want <= MaxTokens(modeldoc.LayerColumnDescriptions, 0) {
		t.Errorf("max tokens %d, want %d (8 columns)", req.MaxTokens, want)
	}
}
