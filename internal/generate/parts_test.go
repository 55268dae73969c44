package generate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// routePart sends the column part that asks for column `bad` to a fake
// that answers only malformed JSON, every other request to a sound one.
type routePart struct {
	good, broken writer.Writer
	bad          string
}

func (r *routePart) Provider() string { return r.good.Provider() }

func (r *routePart) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	if req.Layer == modeldoc.LayerColumnDescriptions && slices.Contains(req.Columns, r.bad) {
		return r.broken.Write(ctx, req)
	}
	return r.good.Write(ctx, req)
}

// TestWideColumnPartsAreIndependent: a wide model's columns are asked in
// parts; a part the fake spoils (malformed_rate 1) costs only its own
// columns: the others are kept, and the layer is partial, naming what is
// missing.
func TestWideColumnPartsAreIndependent(t *testing.T) {
	ctx := context.Background()
	const ncols = 10
	var sel []string
	cols := make([]modeldoc.Column, ncols)
	for i := range cols {
		name := fmt.Sprintf("c%02d", i)
		sel = append(sel, "x."+name)
		cols[i] = modeldoc.Column{Name: name, DataType: "int", Declared: true, Position: i + 1}
	}
	raw := "select " + strings.Join(sel, ", ") + " from {{ source('app', 'wide') }} x"
	src := modeldoc.Object{UniqueID: "source.shop.app.wide", Type: modeldoc.TypeSource, Name: "wide", Package: "shop", Schema: "app"}
	wide := modeldoc.Object{UniqueID: "model.shop.wide_model", Type: modeldoc.TypeModel, Name: "wide_model", Package: "shop",
		Schema: "analytics", Materialization: "table", RawSQL: raw, Columns: cols, SQLHash: modeldoc.HashSQL(raw, "")}
	cat := &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: "/shop/manifest.json",
		Objects: []modeldoc.Object{src, wide}, Edges: []modeldoc.Edge{{Upstream: src.UniqueID, Downstream: wide.UniqueID}}}
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatal(err)
	}
	svc, err := generate.New(generate.Config{Catalog: st, Prompt: prompt.Options{MaxColumnsPerCall: 4}})
	if err != nil {
		t.Fatal(err)
	}
	obj := resolve(t, st, org.ID, "wide_model")
	plan, err := svc.Plan(ctx, org.ID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini",
		Layers: []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerColumnDescriptions}})
	if err != nil {
		t.Fatal(err)
	}
	var parts [][]string
	for _, r := range plan.Requests {
		if r.Layer == modeldoc.LayerColumnDescriptions {
			parts = append(parts, r.Columns)
		}
	}
	if len(parts) != 3 {
		t.Fatalf("%d column parts (%v), want 3 of at most 4 columns", len(parts), parts)
	}
	_, good := startFake(t, fakellm.Config{})
	_, broken := startFake(t, fakellm.Config{Faults: fakellm.Faults{MalformedRate: 1}})
	w := &routePart{good: good, broken: broken, bad: parts[1][0]}
	v, err := svc.Write(ctx, plan, w)
	if err != nil {
		t.Fatal(err)
	}
	ls := v.LayerStatus[modeldoc.LayerColumnDescriptions]
	if ls.Status != "partial" || !slices.Equal(ls.MissingColumns, parts[1]) || !strings.Contains(ls.Error, "1 of 3 parts") {
		t.Fatalf("column layer status %q, missing %v, error %q; want partial, missing %v", ls.Status, ls.MissingColumns, ls.Error, parts[1])
	}
	var out modeldoc.ColumnDescriptionsOut
	if err := json.Unmarshal(v.Layers[modeldoc.LayerColumnDescriptions], &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range out.Columns {
		got = append(got, c.Name)
	}
	want := append(slices.Clone(parts[0]), parts[2]...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the layer holds %v, want the good parts' columns %v", got, want)
	}
	if v.LayerStatus[modeldoc.LayerExecutiveSummary].Status != "ok" {
		t.Errorf("summary %+v", v.LayerStatus[modeldoc.LayerExecutiveSummary])
	}
	if ls.PromptTokens == 0 {
		t.Error("the parts' tokens are not counted")
	}
	// Every part failing fails the layer, as one part did before.
	w.bad = ""
	w.good = broken
	v, err = svc.Write(ctx, plan, w)
	if err != nil {
		t.Fatal(err)
	}
	if ls := v.LayerStatus[modeldoc.LayerColumnDescriptions]; ls.Status != "failed" || v.Layers[modeldoc.LayerColumnDescriptions] != nil {
		t.Errorf("every part failed: status %q, content %s", ls.Status, v.Layers[modeldoc.LayerColumnDescriptions])
	}
}
