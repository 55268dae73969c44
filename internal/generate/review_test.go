package generate_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/store"
)

// askedOf lists what w was asked: each request's layer (a one-layer
// request's, or each of a combined one's) and every column asked by name.
func askedOf(w *scriptWriter) (layers []modeldoc.Layer, columns []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, reqs := range w.calls {
		for _, r := range reqs {
			layers = append(layers, r.Layer)
			layers = append(layers, r.Layers...)
			for _, c := range r.Columns {
				columns = append(columns, strings.ToLower(c))
			}
		}
	}
	return layers, columns
}

func review(t *testing.T, st *store.Store, orgID int64, a store.ReviewAction) {
	t.Helper()
	a.Actor = "ana"
	if _, err := st.Review(context.Background(), orgID, a); err != nil {
		t.Fatalf("review %+v: %v", a, err)
	}
}

func current(t *testing.T, st *store.Store, orgID, objectID int64) *modeldoc.DocVersion {
	t.Helper()
	v, err := st.GetDocVersion(context.Background(), orgID, objectID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func columnOf(t *testing.T, v *modeldoc.DocVersion, name string) modeldoc.ColumnDescription {
	t.Helper()
	var cols modeldoc.ColumnDescriptionsOut
	if err := json.Unmarshal(v.Layers[modeldoc.LayerColumnDescriptions], &cols); err != nil {
		t.Fatal(err)
	}
	for _, c := range cols.Columns {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return modeldoc.ColumnDescription{}
}

// TestEditedTextIsNotAsked: a layer or a column description a person
// edited is never asked of a writer again (no call, no tokens, not in the
// estimate, the bulk one included); the new version keeps the person's
// text, as edited and not stale, also after the model's SQL changed, so
// that the next plan finds nothing stale. An accepted layer whose inputs
// changed is asked again and comes back a draft.
func TestEditedTextIsNotAsked(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		org, err := st.EnsureDefaultOrganization(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cat := shopCatalog()
		if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
			t.Fatal(err)
		}
		svc := newService(t, st)
		fct := resolve(t, st, org.ID, "fct_orders")
		opts := generate.Options{Provider: "openai", Model: "gpt-4o-mini", Calls: prompt.CallsPerLayer}
		write := func() (*generate.Plan, *scriptWriter) {
			t.Helper()
			plan, err := svc.Plan(ctx, org.ID, fct.ID, opts)
			if err != nil {
				t.Fatal(err)
			}
			w := newScript(nil)
			v, err := svc.Write(ctx, plan, w)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.InsertDocVersion(ctx, v); err != nil {
				t.Fatal(err)
			}
			return plan, w
		}
		first, w1 := write()
		_, askedCols := askedOf(w1)
		if len(askedCols) == 0 {
			t.Fatal("the first plan asks for no column")
		}
		col := askedCols[0]

		const summary = "Orders as finance counts them: a person's words."
		const colText = "A person's description of this column."
		review(t, st, org.ID, store.ReviewAction{Action: store.ReviewEdit, ObjectID: fct.ID, Layer: modeldoc.LayerExecutiveSummary, Text: summary})
		review(t, st, org.ID, store.ReviewAction{Action: store.ReviewEdit, ObjectID: fct.ID, Layer: modeldoc.LayerColumnDescriptions, Column: col, Text: colText})
		review(t, st, org.ID, store.ReviewAction{Action: store.ReviewAccept, ObjectID: fct.ID, Layer: modeldoc.LayerBusinessRules})

		plan, err := svc.Plan(ctx, org.ID, fct.ID, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(plan.Edited, []modeldoc.Layer{modeldoc.LayerExecutiveSummary}) || slices.Contains(plan.Options.Layers, modeldoc.LayerExecutiveSummary) {
			t.Fatalf("plan after the edit: edited %v, layers %v", plan.Edited, plan.Options.Layers)
		}
		for _, r := range plan.Requests {
			if r.Layer == modeldoc.LayerExecutiveSummary || slices.Contains(r.Layers, modeldoc.LayerExecutiveSummary) {
				t.Fatal("the plan asks for the edited summary")
			}
			if slices.ContainsFunc(r.Columns, func(c string) bool { return strings.EqualFold(c, col) }) {
				t.Fatalf("the plan asks for the edited column %s", col)
			}
		}
		if plan.Calls >= first.Calls || plan.EstimatedPromptTokens >= first.EstimatedPromptTokens || plan.EstimatedCost >= first.EstimatedCost {
			t.Fatalf("the estimate did not shrink: %d calls, %d tokens, $%f; before the edits %d, %d, $%f",
				plan.Calls, plan.EstimatedPromptTokens, plan.EstimatedCost, first.Calls, first.EstimatedPromptTokens, first.EstimatedCost)
		}
		// A job's estimate (bulk planning) leaves them out as well.
		stg := resolve(t, st, org.ID, "stg_orders")
		briefs, err := svc.PlanBriefs(ctx, org.ID, []int64{stg.ID, fct.ID}, opts, generate.ManyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if b := briefs[1]; int(b.Calls) != plan.Calls || b.EstimatedPromptTokens != plan.EstimatedPromptTokens {
			t.Fatalf("bulk estimate %d calls, %d tokens; the plan's %d, %d", b.Calls, b.EstimatedPromptTokens, plan.Calls, plan.EstimatedPromptTokens)
		}

		// The SQL changes: the object is stale, and documenting it again
		// asks for neither edit; the person's text stays, not stale.
		for i := range cat.Objects {
			if cat.Objects[i].Name == "fct_orders" {
				o := &cat.Objects[i]
				o.RawSQL += "\nwhere s.status is not null"
				o.CompiledSQL += "\nwhere s.status is not null"
				o.SQLHash = modeldoc.HashSQL(o.RawSQL, o.CompiledSQL)
			}
		}
		if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
			t.Fatal(err)
		}
		if stale, err := st.StaleIDs(ctx, org.ID, []int64{fct.ID}); err != nil || !stale[fct.ID] {
			t.Fatalf("after its SQL changed, fct_orders is not stale: %v %v", stale, err)
		}
		_, w2 := write()
		layers, cols := askedOf(w2)
		if slices.Contains(layers, modeldoc.LayerExecutiveSummary) || slices.Contains(cols, col) {
			t.Fatalf("the writer was asked layers %v and columns %v, with the summary and %s edited", layers, cols, col)
		}
		if !slices.Contains(layers, modeldoc.LayerBusinessRules) {
			t.Fatalf("the accepted business rules were not written again after the SQL changed: asked %v", layers)
		}
		v := current(t, st, org.ID, fct.ID)
		if v.ExecutiveSummary() != summary || v.LayerReview(modeldoc.LayerExecutiveSummary) != modeldoc.ReviewEdited || v.LayerStatus[modeldoc.LayerExecutiveSummary].Stale {
			t.Fatalf("summary %q (%s, stale %v), want the person's, edited, fresh", v.ExecutiveSummary(),
				v.LayerReview(modeldoc.LayerExecutiveSummary), v.LayerStatus[modeldoc.LayerExecutiveSummary].Stale)
		}
		if c := columnOf(t, v, col); c.Description != colText || v.ColumnReviewState(c) != modeldoc.ReviewEdited {
			t.Fatalf("column %s: %q (%s), want the person's text, edited", col, c.Description, v.ColumnReviewState(c))
		}
		if s := v.LayerReview(modeldoc.LayerBusinessRules); s != modeldoc.ReviewDraft {
			t.Fatalf("business rules written from the new SQL are %s, want a draft", s)
		}
		if stale, err := st.StaleIDs(ctx, org.ID, []int64{fct.ID}); err != nil || len(stale) != 0 {
			t.Fatalf("documented again, fct_orders is still stale (stale layers %v): %v", v.StaleLayerNames(), err)
		}

		// Every layer edited: nothing to ask, no call at all.
		for _, l := range modeldoc.AllLayers {
			if l != modeldoc.LayerColumnDescriptions && l != modeldoc.LayerExecutiveSummary {
				review(t, st, org.ID, store.ReviewAction{Action: store.ReviewEdit, ObjectID: fct.ID, Layer: l, Text: editJSON(t, l, v.Layers[l])})
			}
		}
		for _, c := range askedCols {
			review(t, st, org.ID, store.ReviewAction{Action: store.ReviewEdit, ObjectID: fct.ID, Layer: modeldoc.LayerColumnDescriptions, Column: c, Text: "Edited " + c + "."})
		}
		last, err := svc.Plan(ctx, org.ID, fct.ID, opts)
		if err != nil {
			t.Fatal(err)
		}
		if last.Calls != 0 || len(last.Requests) != 0 || last.EstimatedCost != 0 {
			var asked []string
			for _, r := range last.Requests {
				asked = append(asked, string(r.Layer)+"("+strings.Join(r.Columns, ",")+")")
			}
			t.Fatalf("with every layer and column edited, the plan has %d calls: %v", last.Calls, asked)
		}
	})
}

// editJSON is what a person's edit of layer l sends: plain text for the
// summary, else the layer's JSON (here raw, as it is).
func editJSON(t *testing.T, l modeldoc.Layer, raw json.RawMessage) string {
	t.Helper()
	if l == modeldoc.LayerExecutiveSummary {
		return "Edited."
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRejectedTextIsNotContext: a summary a person rejected never reaches
// a downstream prompt, neither through Plan nor through bulk planning (the
// store's own test covers rejected columns).
func TestRejectedTextIsNotContext(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		org, err := st.EnsureDefaultOrganization(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.ImportCatalog(ctx, org.ID, shopCatalog()); err != nil {
			t.Fatal(err)
		}
		svc := newService(t, st)
		stg := resolve(t, st, org.ID, "stg_orders")
		fct := resolve(t, st, org.ID, "fct_orders")
		const rejected = "A summary nobody should read again."
		v := &modeldoc.DocVersion{ObjectID: stg.ID, Provider: "openai", Model: "m", PromptVersion: prompt.Version,
			Layers: map[modeldoc.Layer]json.RawMessage{
				modeldoc.LayerExecutiveSummary:   json.RawMessage(`{"grain":"","summary":"` + rejected + `","confidence":"high"}`),
				modeldoc.LayerColumnDescriptions: json.RawMessage(`{"columns":[{"name":"amount_usd","description":"A rejected column text.","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`),
			},
			LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{modeldoc.LayerExecutiveSummary: {Status: "ok"}, modeldoc.LayerColumnDescriptions: {Status: "ok"}}}
		if err := st.InsertDocVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		opts := generate.Options{Provider: "openai", Model: "gpt-4o-mini", Calls: prompt.CallsPerLayer}
		shows := func(text string) bool {
			t.Helper()
			plan, err := svc.Plan(ctx, org.ID, fct.ID, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range plan.Requests {
				if strings.Contains(r.User, text) || strings.Contains(r.System, text) {
					return true
				}
			}
			return false
		}
		if !shows(rejected) {
			t.Fatal("the upstream's draft summary is not in the downstream prompts: the test shows nothing")
		}
		before, err := svc.PlanBriefs(ctx, org.ID, []int64{fct.ID}, opts, generate.ManyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		review(t, st, org.ID, store.ReviewAction{Action: store.ReviewReject, ObjectID: stg.ID, Layer: modeldoc.LayerExecutiveSummary})
		review(t, st, org.ID, store.ReviewAction{Action: store.ReviewReject, ObjectID: stg.ID, Layer: modeldoc.LayerColumnDescriptions, Column: "amount_usd"})
		if shows(rejected) {
			t.Fatal("rejected text reaches the downstream prompts")
		}
		after, err := svc.PlanBriefs(ctx, org.ID, []int64{fct.ID}, opts, generate.ManyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := svc.Plan(ctx, org.ID, fct.ID, opts)
		if err != nil {
			t.Fatal(err)
		}
		if after[0].EstimatedPromptTokens >= before[0].EstimatedPromptTokens || after[0].EstimatedPromptTokens != plan.EstimatedPromptTokens {
			t.Fatalf("bulk estimate %d tokens with the summary rejected, %d before, Plan's %d: the bulk prompts still show it",
				after[0].EstimatedPromptTokens, before[0].EstimatedPromptTokens, plan.EstimatedPromptTokens)
		}
		for _, n := range plan.Subject.Upstream {
			if n.Summary != "" {
				t.Fatalf("upstream %s still has a summary: %q", n.Object.Name, n.Summary)
			}
		}
	})
}

// TestEditedUndeclaredColumnIsNotAsked: a column the YAML does not
// declare (the writer found it in the SQL) and a person then edited is
// shown as documented, not asked, and the other SQL columns are still
// asked for.
func TestEditedUndeclaredColumnIsNotAsked(t *testing.T) {
	ctx := context.Background()
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, shopCatalog()); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, st)
	stg := resolve(t, st, org.ID, "stg_orders")
	opts := generate.Options{Provider: "openai", Model: "gpt-4o-mini", Calls: prompt.CallsPerLayer,
		Layers: []modeldoc.Layer{modeldoc.LayerColumnDescriptions}}
	plan, err := svc.Plan(ctx, org.ID, stg.ID, opts)
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.Write(ctx, plan, newScript(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InsertDocVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	if c := columnOf(t, v, "amount_usd"); c.Description == "" || findCol(stg.Columns, "amount_usd") {
		t.Fatalf("the test needs amount_usd written and undeclared: %+v", c)
	}
	const text = "US dollars, in a person's words."
	review(t, st, org.ID, store.ReviewAction{Action: store.ReviewEdit, ObjectID: stg.ID, Layer: modeldoc.LayerColumnDescriptions, Column: "amount_usd", Text: text})
	plan, err = svc.Plan(ctx, org.ID, stg.ID, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range plan.Requests {
		if slices.ContainsFunc(r.Columns, func(c string) bool { return strings.EqualFold(c, "amount_usd") }) {
			t.Fatal("the edited column is asked for")
		}
		if !strings.Contains(r.User, text) {
			t.Fatal("the prompt does not show the edited column as documented")
		}
	}
	w := newScript(nil)
	v, err = svc.Write(ctx, plan, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.requests(modeldoc.LayerColumnDescriptions)) == 0 {
		t.Fatal("the other SQL columns are no longer asked for")
	}
	if err := st.InsertDocVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	cur := current(t, st, org.ID, stg.ID)
	if c := columnOf(t, cur, "amount_usd"); c.Description != text || cur.ColumnReviewState(c) != modeldoc.ReviewEdited {
		t.Fatalf("amount_usd is %q (%s) after regeneration", c.Description, cur.ColumnReviewState(c))
	}
}

func findCol(cols []modeldoc.Column, name string) bool {
	return slices.ContainsFunc(cols, func(c modeldoc.Column) bool { return strings.EqualFold(c.Name, name) })
}
