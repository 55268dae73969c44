package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// fullDoc is a version with every layer written, each saying which round
// wrote it.
func fullDoc(objectID int64, sqlHash, round string) *modeldoc.DocVersion {
	v := &modeldoc.DocVersion{ObjectID: objectID, SQLHash: sqlHash, Provider: modeldoc.ProviderOffline, Model: "offline",
		Layers: map[modeldoc.Layer]json.RawMessage{}, LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{}}
	for _, l := range modeldoc.AllLayers {
		text, _ := json.Marshal(round + " " + string(l))
		v.Layers[l] = json.RawMessage(`{"summary":` + string(text) + `}`)
		v.LayerStatus[l] = modeldoc.LayerStatus{Status: modeldoc.LayerOK, Attempts: 1}
	}
	v.Layers[modeldoc.LayerColumnDescriptions] = json.RawMessage(fmt.Sprintf(
		`{"columns":[{"name":"order_id","description":"%s id","lineage":"derived","upstreamModel":"","upstreamColumn":""},`+
			`{"name":"amount","description":"%s amount","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`, round, round))
	return v
}

// testCarryOver: a version that writes some layers keeps every other layer
// (and every column description it left out) from the current version; a
// failed layer keeps its previous text and is stale; text carried from a
// version written from SQL that has changed is stale too.
func testCarryOver(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	o := mustResolve(t, s, org.ID, "model.shop.orders")
	if err := s.InsertDocVersion(ctx, fullDoc(o.ID, o.SQLHash, "v1")); err != nil {
		t.Fatal(err)
	}
	// Round 2 asks for the executive summary only.
	cur := writeSummaryOnly(t, s, org.ID, o, "v2 summary")
	if cur.Version != 2 || len(cur.Layers) != len(modeldoc.AllLayers) || cur.StaleLayers != 0 {
		t.Fatalf("v2 has %d layers (version %d, %d stale), want all %d", len(cur.Layers), cur.Version, cur.StaleLayers, len(modeldoc.AllLayers))
	}
	if got := cur.ExecutiveSummary(); got != "v2 summary" {
		t.Fatalf("summary = %q", got)
	}
	for _, l := range modeldoc.AllLayers[1:] {
		st := cur.LayerStatus[l]
		if string(cur.Layers[l]) == "" || st.CarriedFrom != 1 || st.Stale || st.Status != modeldoc.LayerOK {
			t.Fatalf("layer %s: %s %+v, want v1's text carried from version 1, not stale", l, cur.Layers[l], st)
		}
	}
	if st := cur.LayerStatus[modeldoc.LayerExecutiveSummary]; st.CarriedFrom != 0 {
		t.Fatalf("the written layer says it is carried: %+v", st)
	}
	if isStale(t, s, org.ID, o.ID) {
		t.Fatal("a version that carried fresh layers is stale")
	}

	// Round 3: business rules fail; column descriptions name one column.
	partial := fullDoc(o.ID, o.SQLHash, "v3")
	delete(partial.Layers, modeldoc.LayerBusinessRules)
	partial.LayerStatus[modeldoc.LayerBusinessRules] = modeldoc.LayerStatus{Status: modeldoc.LayerFailed, Error: "malformed", ErrorClass: "malformed_output", Attempts: 2}
	partial.Layers[modeldoc.LayerColumnDescriptions] = json.RawMessage(`{"columns":[{"name":"order_id","description":"v3 id","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`)
	if err := s.InsertDocVersion(ctx, partial); err != nil {
		t.Fatal(err)
	}
	cur, err := s.GetDocVersion(ctx, org.ID, o.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := cur.LayerStatus[modeldoc.LayerBusinessRules]
	if string(cur.Layers[modeldoc.LayerBusinessRules]) != string(fullDoc(0, "", "v1").Layers[modeldoc.LayerBusinessRules]) ||
		st.Status != modeldoc.LayerFailed || !st.Stale || st.CarriedFrom != 1 || st.Error != "malformed" || cur.StaleLayers != 1 {
		t.Fatalf("failed layer: %s %+v (stale layers %d), want v1's text, failed and stale", cur.Layers[modeldoc.LayerBusinessRules], st, cur.StaleLayers)
	}
	var cols modeldoc.ColumnDescriptionsOut
	if err := json.Unmarshal(cur.Layers[modeldoc.LayerColumnDescriptions], &cols); err != nil {
		t.Fatal(err)
	}
	if len(cols.Columns) != 2 || cols.Columns[0].Description != "v3 id" || cols.Columns[1].Description != "v1 amount" {
		t.Fatalf("columns = %+v, want v3's order_id and v1's amount", cols.Columns)
	}
	if !isStale(t, s, org.ID, o.ID) {
		t.Fatal("a version with a failed layer is not stale")
	}
	if cur.ContentHash == "" {
		t.Fatal("the version does not record the object's content hash")
	}

	// The SQL changes; round 4 writes the summary only: the layers it
	// carries were written from the old SQL, so they are stale.
	cat := Fixture()
	cat.Objects[7].RawSQL += " where 1 = 1"
	cat.Objects[7].SQLHash = modeldoc.HashSQL(cat.Objects[7].RawSQL, cat.Objects[7].CompiledSQL)
	mustImport(t, s, org.ID, cat)
	o = mustResolve(t, s, org.ID, "model.shop.orders")
	cur = writeSummaryOnly(t, s, org.ID, o, "v4 summary")
	if cur.StaleLayers != len(modeldoc.AllLayers)-1 || cur.LayerStatus[modeldoc.LayerBusinessNarrative].CarriedFrom != 3 ||
		!cur.LayerStatus[modeldoc.LayerBusinessNarrative].Stale || cur.LayerStatus[modeldoc.LayerBusinessRules].CarriedFrom != 1 {
		t.Fatalf("after a SQL change: %d stale layers, statuses %+v", cur.StaleLayers, cur.LayerStatus)
	}
	if !isStale(t, s, org.ID, o.ID) {
		t.Fatal("a version carrying layers written from old SQL is not stale")
	}
	// History keeps every version as it was written.
	v2, err := s.GetDocVersion(ctx, org.ID, o.ID, 2)
	if err != nil || v2.ExecutiveSummary() != "v2 summary" {
		t.Fatalf("version 2 = %v, %v", v2, err)
	}
}

// testExportedRecognised: what export dbt recorded is, on re-import, no
// description and no column (as before the export), so the import changes
// nothing; a text a person changed afterwards is theirs.
func testExportedRecognised(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	mustImport(t, s, org.ID, Fixture())
	co := mustResolve(t, s, org.ID, "customer_orders")
	texts := []store.ExportedText{
		{ObjectID: co.ID, Text: "Customers and their orders."},
		{ObjectID: co.ID, Column: "customer_id", Text: "The customer."},
		{ObjectID: co.ID, Column: "total", Text: "Total spent.", Added: true},
	}
	// Another organization cannot record texts for this one's objects.
	if err := s.RecordExported(ctx, other.ID, []store.ExportedText{{ObjectID: co.ID, Column: "orders", Text: "Orders."}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordExported(ctx, org.ID, texts); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordExported(ctx, org.ID, texts); err != nil { // twice is harmless
		t.Fatal(err)
	}
	exported := func(colText, orders string) *modeldoc.Catalog {
		cat := Fixture()
		o := &cat.Objects[8]
		o.Description = "Customers and their orders.\n" // a block scalar's newline
		o.Columns[0].Description, o.Columns[0].HumanDescription = colText, true
		o.Columns[1].Description, o.Columns[1].HumanDescription = orders, orders != ""
		o.Columns = append(o.Columns, modeldoc.Column{Name: "total", Description: "Total spent.", HumanDescription: true, Declared: true, Position: 3})
		return cat
	}
	sum := mustImport(t, s, org.ID, exported("The customer.", "Orders."))
	if sum.Updated != 1 {
		t.Fatalf("re-import of the export: %+v, want only the column a person described updated", sum)
	}
	sum = mustImport(t, s, org.ID, exported("The customer.", ""))
	if sum.Updated != 1 || sum.Created != 0 {
		t.Fatalf("re-import of the export: %+v", sum)
	}
	sum = mustImport(t, s, org.ID, exported("The customer.", ""))
	if sum.Updated != 0 {
		t.Fatalf("re-import of the same export: %+v, want nothing updated", sum)
	}
	co = mustResolve(t, s, org.ID, "customer_orders")
	if co.Description != "" || len(co.Columns) != 2 || co.Columns[0].Description != "" || co.Columns[0].HumanDescription {
		t.Fatalf("exported text imported as a person's: %q %+v", co.Description, co.Columns)
	}
	// A person edits the exported text in the YAML: now it is theirs.
	mustImport(t, s, org.ID, exported("The customer who ordered.", ""))
	co = mustResolve(t, s, org.ID, "customer_orders")
	if c := co.Columns[0]; c.Description != "The customer who ordered." || !c.HumanDescription {
		t.Fatalf("a person's edit was not kept: %+v", c)
	}
}

// writeSummaryOnly stores a version of o that wrote the executive summary
// only (a regeneration of one layer) and returns the current version, with
// what it carried over.
func writeSummaryOnly(t *testing.T, s *store.Store, orgID int64, o *modeldoc.Object, summary string) *modeldoc.DocVersion {
	t.Helper()
	quoted, err := json.Marshal(summary)
	if err != nil {
		t.Fatal(err)
	}
	text := json.RawMessage(`{"summary":` + string(quoted) + `}`)
	only := &modeldoc.DocVersion{ObjectID: o.ID, SQLHash: o.SQLHash,
		Layers:      map[modeldoc.Layer]json.RawMessage{modeldoc.LayerExecutiveSummary: text},
		LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{modeldoc.LayerExecutiveSummary: {Status: modeldoc.LayerOK}}}
	if err := s.InsertDocVersion(ctx, only); err != nil {
		t.Fatal(err)
	}
	cur, err := s.GetDocVersion(ctx, orgID, o.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return cur
}
