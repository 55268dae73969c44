package export

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/store/storetest"
)

// Publishing follows review: export dbt writes reviewed text (an edit
// verbatim) and drafts only when asked, never rejected text; Markdown and
// the site label drafts "AI draft"; coverage splits human, accepted and
// draft, and its check counts reviewed text unless drafts are asked for.
func TestPublishingFollowsReview(t *testing.T) {
	ctx := context.Background()
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, storetest.Fixture()); err != nil {
		t.Fatal(err)
	}
	doc := func(name, summary string, cols ...string) int64 {
		o, err := st.ResolveObject(ctx, org.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		var cd modeldoc.ColumnDescriptionsOut
		for i := 0; i < len(cols); i += 2 {
			cd.Columns = append(cd.Columns, modeldoc.ColumnDescription{Name: cols[i], Description: cols[i+1], Lineage: "derived"})
		}
		raw, _ := json.Marshal(cd)
		sum, _ := json.Marshal(modeldoc.ExecutiveSummaryOut{Summary: summary})
		v := &modeldoc.DocVersion{ObjectID: o.ID, Provider: "offline", Model: "offline",
			Layers:      map[modeldoc.Layer]json.RawMessage{modeldoc.LayerExecutiveSummary: sum, modeldoc.LayerColumnDescriptions: raw},
			LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{modeldoc.LayerExecutiveSummary: {Status: "ok"}, modeldoc.LayerColumnDescriptions: {Status: "ok"}}}
		if err := st.InsertDocVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	draftID := doc("stg_customers", "Draft summary of customers.", "customer_id", "Draft customer id.")
	reviewedID := doc("customer_orders", "Accepted summary of customer orders.", "customer_id", "Generated customer.", "orders", "Rejected order count.")
	act := func(a store.ReviewAction) {
		t.Helper()
		a.ObjectID, a.Actor = reviewedID, "ana"
		if _, err := st.Review(ctx, org.ID, a); err != nil {
			t.Fatal(err)
		}
	}
	const edited = "The customer: a person wrote this."
	act(store.ReviewAction{Action: store.ReviewAccept, Layer: modeldoc.LayerExecutiveSummary})
	act(store.ReviewAction{Action: store.ReviewEdit, Layer: modeldoc.LayerColumnDescriptions, Column: "customer_id", Text: edited})
	act(store.ReviewAction{Action: store.ReviewReject, Layer: modeldoc.LayerColumnDescriptions, Column: "orders"})

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dbt_project.yml"), []byte("name: shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ExportDBT(ctx, st, org.ID, DBTOptions{Dir: dir, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	diff := res.Diff()
	for _, want := range []string{"Accepted summary of customer orders.", edited} {
		if !strings.Contains(diff, want) {
			t.Errorf("the export lacks reviewed text %q:\n%s", want, diff)
		}
	}
	for _, not := range []string{"Draft summary", "Draft customer id", "Rejected order count", "Generated customer."} {
		if strings.Contains(diff, not) {
			t.Errorf("the export writes unreviewed text %q", not)
		}
	}
	if res.Drafts != 2 || res.Rejected != 1 {
		t.Errorf("drafts %d, rejected %d; want 2 and 1", res.Drafts, res.Rejected)
	}
	res, err = ExportDBT(ctx, st, org.ID, DBTOptions{Dir: dir, DryRun: true, IncludeDrafts: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := res.Diff(); !strings.Contains(diff, "Draft summary of customers.") || strings.Contains(diff, "Rejected order count") || res.Drafts != 0 {
		t.Errorf("--include-drafts: drafts %d, diff:\n%s", res.Drafts, diff)
	}

	projects, err := Load(ctx, st, org.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := WriteMarkdown(out, projects); err != nil {
		t.Fatal(err)
	}
	names := fileNames(projects)
	page := func(id int64, ext string) string {
		for _, p := range projects {
			if o := p.Object(id); o != nil {
				sub := ""
				if ext == ".html" {
					sub = "objects"
				}
				b, err := os.ReadFile(filepath.Join(out, sub, names[o]+ext))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
		}
		t.Fatalf("no object %d", id)
		return ""
	}
	if md := page(draftID, ".md"); !strings.Contains(md, "## Executive summary (AI draft)") || !strings.Contains(md, "| AI draft |") {
		t.Errorf("the draft page does not label its drafts:\n%s", md)
	}
	md := page(reviewedID, ".md")
	if strings.Contains(md, "AI draft") || !strings.Contains(md, edited) || strings.Contains(md, "Rejected order count") {
		t.Errorf("the reviewed page:\n%s", md)
	}
	if _, err := WriteSite(out, projects, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if html := page(draftID, ".html"); !strings.Contains(html, "AI draft") {
		t.Error("the site does not label drafts")
	}

	r, err := CoverageOf(projects)
	if err != nil {
		t.Fatal(err)
	}
	m, c := r.Total.Models, r.Total.Columns
	// Models: orders and stg_orders have YAML text (human); customer_orders
	// accepted; stg_customers a draft.
	if m.Human != 2 || m.Accepted != 1 || m.Draft != 1 || m.Reviewed != 3 || m.Documented != 4 {
		t.Errorf("model counts %+v", m)
	}
	// Columns: the edit is human; the rejected one is missing; the draft a draft.
	if c.Draft != 1 || c.Accepted != 0 || c.Human < 1 || c.Documented != c.Human+c.Draft {
		t.Errorf("column counts %+v", c)
	}
	if err := r.Check(80, 0, false); err == nil {
		t.Error("the check counted a draft model as reviewed (3 of 4 is below 80%)")
	}
	if err := r.Check(80, 0, true); err != nil {
		t.Errorf("with drafts counted: %v", err)
	}
}
