package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/store/storetest"
)

func TestReviewSQLite(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	reviewAPI(t, modeldoctest.NewSQLiteStore(t))
}

func TestReviewPostgres(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	reviewAPI(t, modeldoctest.NewPostgresStore(t))
}

// reviewAPI: members list, admins act; bad input is a problem document
// that says what was wrong; another organization's object is 404.
func reviewAPI(t *testing.T, st *store.Store) {
	ctx := context.Background()
	e := newEnv(t, st, nil)
	if _, err := st.ImportCatalog(ctx, e.orgA, storetest.Fixture()); err != nil {
		t.Fatal(err)
	}
	o, err := st.ResolveObject(ctx, e.orgA, "model.shop.orders")
	if err != nil {
		t.Fatal(err)
	}
	v := &modeldoc.DocVersion{ObjectID: o.ID, SQLHash: o.SQLHash, Provider: "offline", Model: "offline",
		Layers: map[modeldoc.Layer]json.RawMessage{
			modeldoc.LayerExecutiveSummary:   json.RawMessage(`{"grain":"","summary":"Orders.","confidence":"high"}`),
			modeldoc.LayerBusinessRules:      json.RawMessage(`{"rules":[{"rule":"Only paid","codeReference":"x > 1","impact":"y"}]}`),
			modeldoc.LayerColumnDescriptions: json.RawMessage(`{"columns":[{"name":"order_id","description":"One order, as a writer put it.","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`),
		},
		LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{
			modeldoc.LayerExecutiveSummary:   {Status: "ok"},
			modeldoc.LayerBusinessRules:      {Status: "ok", Review: true, Findings: []modeldoc.Finding{{Path: "/rules/0/codeReference", Kind: modeldoc.FindingCodeReference, Value: "x > 1", Message: "not in the SQL"}}},
			modeldoc.LayerColumnDescriptions: {Status: "ok"},
		}}
	if err := st.InsertDocVersion(ctx, v); err != nil {
		t.Fatal(err)
	}

	var items list[store.ReviewItem]
	e.must(200, "GET", "/api/v1/review?state=draft", e.memberA, nil, &items)
	if items.Total != 3 {
		t.Fatalf("%d draft items, want 3: %+v", items.Total, items.Items)
	}
	e.must(200, "GET", "/api/v1/review?findings=true", e.memberA, nil, &items)
	if items.Total != 1 || items.Items[0].Layer != modeldoc.LayerBusinessRules || len(items.Items[0].Findings) != 1 {
		t.Fatalf("findings filter: %+v", items.Items)
	}
	e.must(200, "GET", "/api/v1/review", e.adminB, nil, &items)
	if items.Total != 0 {
		t.Fatalf("another organization lists %d items", items.Total)
	}

	path := fmt.Sprintf("/api/v1/objects/%d/review", o.ID)
	// Members read; acting is an admin's.
	if p := e.do("POST", path, e.memberA, `{"action":"accept"}`); p.status != 403 {
		t.Fatalf("a member acted: %d %s", p.status, p.body)
	}
	var ans ReviewAnswer
	e.must(200, "POST", path, e.adminA, `{"action":"accept","layer":"executive_summary"}`, &ans)
	if ans.Result.Changed != 1 || ans.Actor != "token alice@acme.test" {
		t.Fatalf("accept: %+v", ans)
	}
	e.must(200, "POST", path, e.adminA, `{"action":"edit","layer":"column_descriptions","column":"order_id","text":"The order, one row each."}`, &ans)
	for _, it := range ans.Items {
		if it.Column == "order_id" && (it.State != modeldoc.ReviewEdited || it.Text != "The order, one row each.") {
			t.Fatalf("edited column: %+v", it)
		}
	}
	e.must(200, "POST", path, e.adminA, `{"action":"reject","layer":"business_rules"}`, &ans)

	bad := []struct {
		body   string
		status int
		code   string
	}{
		{`{"action":"approve"}`, 400, modeldoc.EINVALID},
		{`{"action":"accept","layer":"summary"}`, 400, modeldoc.EINVALID},
		{`{"action":"accept","layer":"column_descriptions","column":"order_id"}`, 409, modeldoc.ECONFLICT},
		{`{"action":"accept","layer":"column_descriptions","column":"nope"}`, 404, modeldoc.ENOTFOUND},
		{`{"action":"edit","layer":"business_rules","text":"plain"}`, 400, modeldoc.EINVALID},
		{`{"action":"accept","state":"x"}`, 400, ""},
	}
	for _, b := range bad {
		a := e.do("POST", path, e.adminA, b.body)
		if a.status != b.status {
			t.Errorf("%s: status %d, want %d: %s", b.body, a.status, b.status, a.body)
			continue
		}
		if p := a.problem(t); b.code != "" && p.Code != b.code || p.Detail == "" {
			t.Errorf("%s: problem %+v, want code %s with a detail", b.body, p, b.code)
		}
	}
	// Another organization's object id is 404, for acting and for reading.
	if a := e.do("POST", path, e.adminB, `{"action":"accept"}`); a.status != 404 {
		t.Fatalf("another organization's object: %d %s", a.status, a.body)
	}
	if a := e.do("GET", path+"/history", e.adminB, nil); a.status != 404 {
		t.Fatalf("another organization's history: %d %s", a.status, a.body)
	}
	for _, q := range []string{"state=approved", "layer=summary", "findings=maybe", "project_id=x"} {
		if a := e.do("GET", "/api/v1/review?"+q, e.memberA, nil); a.status != 400 {
			t.Errorf("GET /review?%s: %d, want 400", q, a.status)
		}
	}

	var hist struct {
		Items []store.ReviewEvent `json:"items"`
	}
	e.must(200, "GET", path+"/history", e.memberA, nil, &hist)
	if len(hist.Items) != 3 || hist.Items[1].Action != "edit" || hist.Items[1].Actor != "token alice@acme.test" || hist.Items[2].To != modeldoc.ReviewRejected {
		t.Fatalf("history: %+v", hist.Items)
	}

	// Bulk accept: members may not; another organization accepts nothing.
	if a := e.do("POST", "/api/v1/review/accept", e.memberA, `{}`); a.status != 403 {
		t.Fatalf("a member bulk-accepted: %d", a.status)
	}
	var all AcceptAllAnswer
	e.must(200, "POST", "/api/v1/review/accept", e.adminB, fmt.Sprintf(`{"object_ids":[%d]}`, o.ID), &all)
	if all.Result.Changed != 0 {
		t.Fatalf("another organization accepted %+v", all)
	}
	if a := e.do("POST", "/api/v1/review/accept", e.adminA, `{"project_id":999999}`); a.status != 404 {
		t.Fatalf("unknown project: %d %s", a.status, a.body)
	}
	e.must(200, "POST", "/api/v1/review/accept", e.adminA, `{}`, &all)
	e.must(200, "GET", "/api/v1/review?state=draft", e.memberA, nil, &items)
	if items.Total != 0 || all.Result.Changed != 0 {
		// Every draft was already acted on above: nothing is left to accept.
		t.Fatalf("after bulk accept: %d drafts, %+v", items.Total, all)
	}
}
