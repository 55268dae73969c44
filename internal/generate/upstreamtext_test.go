package generate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
)

// TestUpstreamGeneratedColumnText: a column nobody documented that comes
// from an upstream column with machine-written text is shown with that
// text, labelled with its review state; a rejected text is never shown,
// nor a rejected summary.
func TestUpstreamGeneratedColumnText(t *testing.T) {
	st := modeldoctest.NewSQLiteStore(t)
	ctx := context.Background()
	orgID, _, cols := documentShop(t, st, offlinewriter.New())
	amount := cols["stg_orders"]["amount_usd"].Description
	if amount == "" {
		t.Fatal("stg_orders has no generated text for amount_usd")
	}
	fct := resolve(t, st, orgID, "fct_orders")
	svc := newService(t, st)
	contextOf := func() string {
		t.Helper()
		plan, err := svc.Plan(ctx, orgID, fct.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini", OverwriteHuman: true,
			Layers: []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerColumnDescriptions}})
		if err != nil {
			t.Fatal(err)
		}
		return plan.Requests[0].User
	}
	line := func(col, label, text string) string {
		return "- " + col + " (numeric) ← stg_orders." + col +
			"; the upstream column's text (" + label + "): " + text
	}
	got := contextOf()
	for _, want := range []string{line("amount_usd", "generated, unreviewed", amount),
		"Summary (generated, unreviewed): "} {
		if !strings.Contains(got, want) {
			t.Errorf("fct_orders prompt lacks %q:\n%s", want, got)
		}
	}

	stg := resolve(t, st, orgID, "stg_orders")
	review := func(action string, layer modeldoc.Layer, column string) {
		t.Helper()
		if _, err := st.Review(ctx, orgID, store.ReviewAction{Action: action, ObjectID: stg.ID, Layer: layer, Column: column, Actor: "ann"}); err != nil {
			t.Fatal(err)
		}
	}
	review("accept", modeldoc.LayerColumnDescriptions, "amount_usd")
	got = contextOf()
	if want := line("amount_usd", "generated, accepted by a reviewer", amount); !strings.Contains(got, want) {
		t.Errorf("fct_orders prompt lacks %q:\n%s", want, got)
	}
	review("reject", modeldoc.LayerColumnDescriptions, "amount_usd")
	review("reject", modeldoc.LayerExecutiveSummary, "")
	got = contextOf()
	if strings.Contains(got, amount) {
		t.Errorf("fct_orders prompt shows the rejected text %q:\n%s", amount, got)
	}
	if strings.Contains(got, "Summary (generated") {
		t.Errorf("fct_orders prompt shows stg_orders' rejected summary:\n%s", got)
	}
}
