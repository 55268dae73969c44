// Package storetest is the conformance suite every store backend passes:
// store_test.go runs it on SQLite always and on PostgreSQL when
// MODELDOC_TEST_POSTGRES is set.
package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// Exercise runs the suite. open returns a fresh, empty store for each
// subtest and arranges for it to be closed.
func Exercise(t *testing.T, open func(t *testing.T) *store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"Migrations", testMigrations},
		{"Organizations", testOrganizations},
		{"Import", testImport},
		{"ReimportInPlace", testReimportInPlace},
		{"ImportRollsBackOnFailure", testImportRollsBack},
		{"ImportRejectsBadCatalog", testImportRejectsBadCatalog},
		{"ResolveObject", testResolveObject},
		{"ListObjectsFilters", testListObjectsFilters},
		{"DocVersions", testDocVersions},
		{"DocVersionsConcurrent", testDocVersionsConcurrent},
		{"DocVersionTxRollsBack", testDocVersionTxRollsBack},
		{"Stale", testStale},
		{"RegenerationCarriesOver", testCarryOver},
		{"ExportedTextRecognised", testExportedRecognised},
		{"Review", testReview},
		{"RejectedIsNotContext", testRejectedIsNotContext},
		{"OwnColumnsAreNotDrafts", testOwnColumnsAreNotDrafts},
		{"HumanDescriptions", testHumanDescriptions},
		{"Exposures", testExposures},
		{"LineageAround", testLineageAround},
		{"TestArguments", testTestArgs},
		{"OrganizationIsolation", testOrgIsolation},
		{"Tokens", testTokens},
		{"ProviderKeys", testProviderKeys},
		{"InjectedClock", testInjectedClock},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

// Fixture is a small dbt project with every object type, lineage, columns
// declared in YAML and known only to the warehouse, a source and a model
// sharing a name, two sources sharing another, and an edge to an object
// the project does not have.
func Fixture() *modeldoc.Catalog {
	col := func(name, typ, desc string, declared bool, tests ...string) modeldoc.Column {
		return modeldoc.Column{Name: name, DataType: typ, Description: desc, HumanDescription: desc != "", Declared: declared, Tests: tests}
	}
	obj := func(typ modeldoc.ObjectType, uid, name, schema, raw, desc string, cols ...modeldoc.Column) modeldoc.Object {
		for i := range cols {
			cols[i].Position = i + 1
		}
		o := modeldoc.Object{UniqueID: uid, Type: typ, Name: name, Package: "shop", Database: "analytics", Schema: schema,
			RawSQL: raw, Description: desc, Columns: cols, FilePath: "models/" + name + ".sql"}
		if typ == modeldoc.TypeModel {
			o.Materialization = "view"
			o.CompiledSQL = strings.ReplaceAll(raw, "{{", "/*")
			o.Tags = []string{"daily"}
			o.Meta = map[string]any{"owner": "finance"}
		}
		o.SQLHash = modeldoc.HashSQL(o.RawSQL, o.CompiledSQL)
		return o
	}
	return &modeldoc.Catalog{
		ProjectName: "shop", Source: "manifest", Path: "/tmp/shop/target/manifest.json",
		SchemaVersion: "v12", DbtVersion: "1.8.0", AdapterType: "postgres",
		Objects: []modeldoc.Object{
			obj(modeldoc.TypeSource, "source.shop.raw.orders", "orders", "raw", "", "Orders as the shop app writes them.",
				col("id", "integer", "Order id.", true), col("amount", "numeric", "", false)),
			obj(modeldoc.TypeSource, "source.shop.raw.customers", "customers", "raw", "", "",
				col("id", "integer", "", true)),
			obj(modeldoc.TypeSource, "source.shop.app.events", "events", "app", "", ""),
			obj(modeldoc.TypeSource, "source.shop.web.events", "events", "web", "", ""),
			obj(modeldoc.TypeSeed, "seed.shop.country_codes", "country_codes", "seeds", "", "ISO country codes.",
				col("code", "text", "", true), col("name", "text", "", true)),
			obj(modeldoc.TypeModel, "model.shop.stg_orders", "stg_orders", "staging",
				"select id as order_id, amount from {{ source('raw', 'orders') }}", "Orders, cleaned.",
				col("order_id", "integer", "The order.", true, "unique", "not_null"), col("amount", "numeric", "", true),
				col("_loaded_at", "timestamp", "", false)),
			obj(modeldoc.TypeModel, "model.shop.stg_customers", "stg_customers", "staging",
				"select id as customer_id from {{ source('raw', 'customers') }}", "",
				col("customer_id", "integer", "", true)),
			obj(modeldoc.TypeModel, "model.shop.orders", "orders", "marts",
				"select * from {{ ref('stg_orders') }}", "One row per order.",
				col("order_id", "integer", "The order.", true), col("amount", "numeric", "Amount in USD.", true)),
			obj(modeldoc.TypeModel, "model.shop.customer_orders", "customer_orders", "marts",
				"select c.customer_id, count(*) from {{ ref('stg_customers') }} c join {{ ref('orders') }} o using (customer_id) group by 1", "",
				col("customer_id", "integer", "", true), col("orders", "bigint", "", false)),
			obj(modeldoc.TypeSnapshot, "snapshot.shop.customers_snapshot", "customers_snapshot", "snapshots",
				"{% snapshot customers_snapshot %} select * from {{ source('raw', 'customers') }} {% endsnapshot %}", ""),
		},
		Edges: []modeldoc.Edge{
			{Upstream: "source.shop.raw.orders", Downstream: "model.shop.stg_orders"},
			{Upstream: "source.shop.raw.customers", Downstream: "model.shop.stg_customers"},
			{Upstream: "model.shop.stg_orders", Downstream: "model.shop.orders"},
			{Upstream: "model.shop.stg_customers", Downstream: "model.shop.customer_orders"},
			{Upstream: "model.shop.orders", Downstream: "model.shop.customer_orders"},
			{Upstream: "seed.shop.country_codes", Downstream: "model.shop.customer_orders"},
			{Upstream: "source.shop.raw.customers", Downstream: "snapshot.shop.customers_snapshot"},
			{Upstream: "model.shop.stg_orders", Downstream: "model.shop.orders"}, // duplicate
			{Upstream: "model.shop.ghost", Downstream: "model.shop.orders"},      // unknown
		},
		Warnings: []string{"importer warning"},
	}
}

func mustOrg(t *testing.T, s *store.Store, name string) *modeldoc.Organization {
	t.Helper()
	org, err := s.CreateOrganization(ctx, name)
	if err != nil {
		t.Fatalf("CreateOrganization(%q): %v", name, err)
	}
	return org
}

func mustImport(t *testing.T, s *store.Store, orgID int64, cat *modeldoc.Catalog) *modeldoc.ImportSummary {
	t.Helper()
	sum, err := s.ImportCatalog(ctx, orgID, cat)
	if err != nil {
		t.Fatalf("ImportCatalog: %v", err)
	}
	return sum
}

func mustResolve(t *testing.T, s *store.Store, orgID int64, key string) *modeldoc.Object {
	t.Helper()
	o, err := s.ResolveObject(ctx, orgID, key)
	if err != nil {
		t.Fatalf("ResolveObject(%q): %v", key, err)
	}
	return o
}

func wantCode(t *testing.T, err error, code string, what string) {
	t.Helper()
	if got := modeldoc.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func objectIDs(t *testing.T, s *store.Store, orgID int64) map[string]int64 {
	t.Helper()
	list, _, err := s.ListObjects(ctx, orgID, store.ObjectFilter{IncludeDeleted: true})
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	out := map[string]int64{}
	for _, o := range list {
		out[o.UniqueID] = o.ID
	}
	return out
}

func names(list []modeldoc.Object) []string {
	out := make([]string, len(list))
	for i, o := range list {
		out[i] = o.UniqueID
	}
	sort.Strings(out)
	return out
}

func summaryNames(list []store.ObjectSummary) []string {
	out := make([]string, len(list))
	for i, o := range list {
		out[i] = o.UniqueID
	}
	sort.Strings(out)
	return out
}

func testMigrations(t *testing.T, s *store.Store) {
	ok, err := s.MigrationsApplied(ctx)
	if err != nil || !ok {
		t.Fatalf("MigrationsApplied = %v, %v; want true", ok, err)
	}
	// Several processes opening the same database at once must agree.
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s2, err := store.Open(ctx, s.DSN())
			if err != nil {
				errs <- err
				return
			}
			errs <- s2.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
	}
	var n int
	if err := s.ReadDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("schema_migrations has %d rows for version 1 (%v), want 1", n, err)
	}
	if s.IsPostgres() != (s.Dialect() == store.Postgres) {
		t.Fatalf("IsPostgres and Dialect disagree")
	}
	if s.IsPostgres() && s.Path() != "" || !s.IsPostgres() && s.Path() == "" {
		t.Fatalf("Path() = %q on %s", s.Path(), s.Dialect())
	}
	if s.IsPostgres() {
		if got := s.Rebind("a = ? AND b = '?' AND c = ?"); got != "a = $1 AND b = '?' AND c = $2" {
			t.Fatalf("Rebind = %q", got)
		}
	}
}

func testOrganizations(t *testing.T, s *store.Store) {
	a := mustOrg(t, s, "acme")
	_, err := s.CreateOrganization(ctx, "acme")
	wantCode(t, err, modeldoc.ECONFLICT, "duplicate organization")
	_, err = s.CreateOrganization(ctx, "  ")
	wantCode(t, err, modeldoc.EINVALID, "empty name")
	got, err := s.GetOrganization(ctx, a.ID)
	if err != nil || got.Name != "acme" || got.CreatedAt.IsZero() {
		t.Fatalf("GetOrganization = %+v, %v", got, err)
	}
	_, err = s.GetOrganization(ctx, a.ID+1000)
	wantCode(t, err, modeldoc.ENOTFOUND, "unknown organization")
	got, err = s.GetOrganizationByName(ctx, "acme")
	if err != nil || got.ID != a.ID {
		t.Fatalf("GetOrganizationByName = %+v, %v", got, err)
	}
	_, err = s.GetOrganizationByName(ctx, "nope")
	wantCode(t, err, modeldoc.ENOTFOUND, "unknown organization name")
	d1, err := s.EnsureDefaultOrganization(ctx)
	if err != nil || d1.Name != store.DefaultOrganization {
		t.Fatalf("EnsureDefaultOrganization = %+v, %v", d1, err)
	}
	d2, err := s.EnsureDefaultOrganization(ctx)
	if err != nil || d2.ID != d1.ID {
		t.Fatalf("second EnsureDefaultOrganization = %+v, %v; want id %d", d2, err, d1.ID)
	}
	list, err := s.ListOrganizations(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "acme" || list[1].Name != "default" {
		t.Fatalf("ListOrganizations = %+v, %v", list, err)
	}
}

func testImport(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	sum := mustImport(t, s, org.ID, Fixture())
	want := modeldoc.ImportSummary{ProjectID: sum.ProjectID, ProjectName: "shop", Source: "manifest",
		Models: 4, Sources: 4, Seeds: 1, Snapshots: 1, Edges: 7, Columns: 13,
		ModelsWithDescription: 2, ColumnsWithDescription: 4, Created: 10}
	got := *sum
	got.Warnings = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summary\n got %+v\nwant %+v", got, want)
	}
	if len(sum.Warnings) != 2 || sum.Warnings[0] != "importer warning" || !strings.Contains(sum.Warnings[1], "model.shop.ghost") {
		t.Fatalf("warnings = %q", sum.Warnings)
	}

	projects, err := s.ListProjects(ctx, org.ID)
	if err != nil || len(projects) != 1 {
		t.Fatalf("ListProjects = %+v, %v", projects, err)
	}
	p := projects[0]
	if p.ID != sum.ProjectID || p.Name != "shop" || p.Source != "manifest" || p.SchemaVersion != "v12" ||
		p.DbtVersion != "1.8.0" || p.AdapterType != "postgres" || p.ImportedAt.IsZero() || p.OrgID != org.ID {
		t.Fatalf("project = %+v", p)
	}
	if p2, err := s.GetProject(ctx, org.ID, p.ID); err != nil || !reflect.DeepEqual(*p2, p) {
		t.Fatalf("GetProject = %+v, %v", p2, err)
	}

	stg := mustResolve(t, s, org.ID, "model.shop.stg_orders")
	full, err := s.GetObject(ctx, org.ID, stg.ID)
	if err != nil {
		t.Fatal(err)
	}
	src := Fixture().Objects[5]
	if full.Name != "stg_orders" || full.Type != modeldoc.TypeModel || full.Package != "shop" || full.Database != "analytics" ||
		full.Schema != "staging" || full.Materialization != "view" || full.RawSQL != src.RawSQL || full.CompiledSQL != src.CompiledSQL ||
		full.Description != "Orders, cleaned." || !reflect.DeepEqual(full.Tags, []string{"daily"}) ||
		!reflect.DeepEqual(full.Meta, map[string]any{"owner": "finance"}) || full.FilePath != "models/stg_orders.sql" ||
		full.SQLHash != src.SQLHash || full.Deleted || full.ProjectID != p.ID || full.UpdatedAt.IsZero() {
		t.Fatalf("object = %+v", full)
	}
	if !reflect.DeepEqual(full.Columns, src.Columns) {
		t.Fatalf("columns\n got %+v\nwant %+v", full.Columns, src.Columns)
	}

	up, err := s.Upstream(ctx, org.ID, mustResolve(t, s, org.ID, "customer_orders").ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(up); !reflect.DeepEqual(got, []string{"model.shop.orders", "model.shop.stg_customers", "seed.shop.country_codes"}) {
		t.Fatalf("upstream = %v", got)
	}
	for _, o := range up {
		if o.Name == "orders" && len(o.Columns) != 2 {
			t.Fatalf("upstream objects come with their columns: %+v", o)
		}
	}
	down, err := s.Downstream(ctx, org.ID, mustResolve(t, s, org.ID, "source.shop.raw.customers").ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(down); !reflect.DeepEqual(got, []string{"model.shop.stg_customers", "snapshot.shop.customers_snapshot"}) {
		t.Fatalf("downstream = %v", got)
	}
	edges, err := s.Lineage(ctx, org.ID, p.ID)
	if err != nil || len(edges) != 7 {
		t.Fatalf("Lineage = %v, %v", edges, err)
	}
	ids := objectIDs(t, s, org.ID)
	found := false
	for _, e := range edges {
		if e.Upstream == ids["model.shop.stg_orders"] && e.Downstream == ids["model.shop.orders"] {
			found = true
		}
	}
	if !found {
		t.Fatalf("Lineage lacks stg_orders -> orders: %v", edges)
	}
	many, err := s.GetObjects(ctx, org.ID, []int64{ids["model.shop.orders"], ids["seed.shop.country_codes"], 999999})
	if err != nil || len(many) != 2 || many[0].Name != "country_codes" || len(many[0].Columns) != 2 || len(many[1].Columns) != 2 {
		t.Fatalf("GetObjects = %+v, %v", many, err)
	}
	if other, err := s.GetObjects(ctx, org.ID+1000, []int64{ids["model.shop.orders"]}); err != nil || len(other) != 0 {
		t.Fatalf("GetObjects of another organization = %+v, %v", other, err)
	}
	_, err = s.GetObject(ctx, org.ID, 999999)
	wantCode(t, err, modeldoc.ENOTFOUND, "unknown object")
	_, err = s.Upstream(ctx, org.ID, 999999)
	wantCode(t, err, modeldoc.ENOTFOUND, "upstream of unknown object")
	_, err = s.Lineage(ctx, org.ID, 999999)
	wantCode(t, err, modeldoc.ENOTFOUND, "lineage of unknown project")
	_, err = s.ImportCatalog(ctx, 999999, Fixture())
	wantCode(t, err, modeldoc.ENOTFOUND, "import into unknown organization")
}

func testReimportInPlace(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	first := mustImport(t, s, org.ID, Fixture())
	ids := objectIDs(t, s, org.ID)
	orders := mustResolve(t, s, org.ID, "model.shop.orders")
	doc := &modeldoc.DocVersion{ObjectID: orders.ID, Provider: "offline", SQLHash: orders.SQLHash,
		Layers: map[modeldoc.Layer]json.RawMessage{modeldoc.LayerExecutiveSummary: json.RawMessage(`{"summary":"Orders."}`)}}
	if err := s.InsertDocVersion(ctx, doc); err != nil {
		t.Fatal(err)
	}

	// The same catalog again changes nothing.
	again := mustImport(t, s, org.ID, Fixture())
	if again.ProjectID != first.ProjectID || again.Created != 0 || again.Updated != 0 || again.Unchanged != 10 || again.Deleted != 0 || again.Edges != 7 {
		t.Fatalf("identical re-import summary = %+v", again)
	}
	if got := objectIDs(t, s, org.ID); !reflect.DeepEqual(got, ids) {
		t.Fatalf("ids changed on re-import:\n got %v\nwant %v", got, ids)
	}
	before := mustResolve(t, s, org.ID, "model.shop.orders")

	// Changed SQL, a removed model, a new one, a changed column, new lineage.
	cat := Fixture()
	var kept []modeldoc.Object
	for _, o := range cat.Objects {
		switch o.UniqueID {
		case "model.shop.orders":
			o.RawSQL = "select * from {{ ref('stg_orders') }} where amount > 0"
			o.CompiledSQL = ""
			o.SQLHash = modeldoc.HashSQL(o.RawSQL, "")
		case "model.shop.customer_orders":
			continue
		case "model.shop.stg_customers":
			o.Columns = append([]modeldoc.Column{}, o.Columns...)
			o.Columns[0].DataType = "bigint"
		}
		kept = append(kept, o)
	}
	kept = append(kept, modeldoc.Object{UniqueID: "model.shop.revenue", Type: modeldoc.TypeModel, Name: "revenue",
		RawSQL: "select sum(amount) from {{ ref('orders') }}"})
	cat.Objects = kept
	cat.Edges = []modeldoc.Edge{
		{Upstream: "model.shop.stg_orders", Downstream: "model.shop.orders"},
		{Upstream: "model.shop.orders", Downstream: "model.shop.revenue"},
		{Upstream: "model.shop.orders", Downstream: "model.shop.customer_orders"}, // now deleted: skipped
	}
	sum := mustImport(t, s, org.ID, cat)
	if sum.Created != 1 || sum.Updated != 2 || sum.Unchanged != 7 || sum.Deleted != 1 || sum.Edges != 2 || sum.Models != 4 {
		t.Fatalf("changed re-import summary = %+v", sum)
	}
	after := mustResolve(t, s, org.ID, "model.shop.orders")
	if after.ID != before.ID {
		t.Fatalf("orders got a new id: %d, was %d", after.ID, before.ID)
	}
	if after.SQLHash == before.SQLHash || after.SQLHash != modeldoc.HashSQL(after.RawSQL, "") {
		t.Fatalf("sql hash not updated: %s (was %s)", after.SQLHash, before.SQLHash)
	}
	if !after.UpdatedAt.After(before.UpdatedAt) && !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("updated_at went back")
	}
	if v, err := s.GetDocVersion(ctx, org.ID, orders.ID, 0); err != nil || v.ID != doc.ID {
		t.Fatalf("documentation lost on re-import: %+v, %v", v, err)
	}
	stgc := mustResolve(t, s, org.ID, "stg_customers")
	if stgc.Columns[0].DataType != "bigint" {
		t.Fatalf("changed column not rewritten: %+v", stgc.Columns)
	}

	gone, err := s.GetObject(ctx, org.ID, ids["model.shop.customer_orders"])
	if err != nil || !gone.Deleted || len(gone.Columns) != 2 {
		t.Fatalf("removed model = %+v, %v; want kept and marked deleted", gone, err)
	}
	list, total, err := s.ListObjects(ctx, org.ID, store.ObjectFilter{})
	if err != nil || total != 10 || len(list) != 10 {
		t.Fatalf("ListObjects without deleted: %d of %d, %v", len(list), total, err)
	}
	for _, o := range list {
		if o.UniqueID == "model.shop.customer_orders" {
			t.Fatalf("deleted object listed by default")
		}
	}
	_, total, _ = s.ListObjects(ctx, org.ID, store.ObjectFilter{IncludeDeleted: true})
	if total != 11 {
		t.Fatalf("ListObjects with deleted: %d, want 11", total)
	}
	if _, err := s.ResolveObject(ctx, org.ID, "customer_orders"); modeldoc.ErrorCode(err) != modeldoc.ENOTFOUND {
		t.Fatalf("a deleted object resolves by name: %v", err)
	}
	if o, err := s.ResolveObject(ctx, org.ID, "model.shop.customer_orders"); err != nil || !o.Deleted {
		t.Fatalf("a deleted object by unique id = %+v, %v", o, err)
	}
	down, _ := s.Downstream(ctx, org.ID, after.ID)
	if got := names(down); !reflect.DeepEqual(got, []string{"model.shop.revenue"}) {
		t.Fatalf("lineage not replaced: downstream of orders = %v", got)
	}

	// It comes back: same id, not deleted.
	back := mustImport(t, s, org.ID, Fixture())
	if back.Created != 0 || back.Deleted != 1 { // revenue goes
		t.Fatalf("third import summary = %+v", back)
	}
	o, err := s.GetObject(ctx, org.ID, ids["model.shop.customer_orders"])
	if err != nil || o.Deleted {
		t.Fatalf("reappearing object = %+v, %v", o, err)
	}
	if got := objectIDs(t, s, org.ID); got["model.shop.customer_orders"] != ids["model.shop.customer_orders"] || len(got) != 11 {
		t.Fatalf("ids after reappearance = %v", got)
	}
	edges, _ := s.Lineage(ctx, org.ID, first.ProjectID)
	if len(edges) != 7 {
		t.Fatalf("lineage after third import has %d edges, want 7", len(edges))
	}
}

type snapshot struct {
	Objects  []modeldoc.Object
	Edges    []store.LineageEdge
	Projects []modeldoc.Project
}

func takeSnapshot(t *testing.T, s *store.Store, orgID int64) snapshot {
	t.Helper()
	var snap snapshot
	list, _, err := s.ListObjects(ctx, orgID, store.ObjectFilter{IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list {
		full, err := s.GetObject(ctx, orgID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		snap.Objects = append(snap.Objects, *full)
	}
	snap.Projects, _ = s.ListProjects(ctx, orgID)
	for _, p := range snap.Projects {
		e, _ := s.Lineage(ctx, orgID, p.ID)
		snap.Edges = append(snap.Edges, e...)
	}
	return snap
}

// testImportRollsBack makes the database itself refuse the import's last
// writes (a trigger on edges) after objects and columns were written, and
// checks that nothing of it remains.
func testImportRollsBack(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	before := takeSnapshot(t, s, org.ID)

	var create, drop []string
	if s.IsPostgres() {
		create = []string{
			`CREATE FUNCTION modeldoc_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER fail_edges BEFORE INSERT ON edges FOR EACH ROW EXECUTE FUNCTION modeldoc_fail()`,
		}
		drop = []string{`DROP TRIGGER fail_edges ON edges`, `DROP FUNCTION modeldoc_fail()`}
	} else {
		create = []string{`CREATE TRIGGER fail_edges BEFORE INSERT ON edges BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`}
		drop = []string{`DROP TRIGGER fail_edges`}
	}
	for _, q := range create {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cat := Fixture()
	cat.Path = "/elsewhere"
	cat.Objects[5].RawSQL = "select 1"
	cat.Objects[5].SQLHash = modeldoc.HashSQL("select 1", "")
	cat.Objects[5].Columns = cat.Objects[5].Columns[:1]
	cat.Objects = append(cat.Objects[:8], cat.Objects[9:]...) // drop customer_orders
	cat.Objects = append(cat.Objects, modeldoc.Object{UniqueID: "model.shop.new", Type: modeldoc.TypeModel, Name: "new",
		Columns: []modeldoc.Column{{Name: "x"}}})
	cat.Edges = append(cat.Edges, modeldoc.Edge{Upstream: "model.shop.orders", Downstream: "model.shop.new"})
	_, err := s.ImportCatalog(ctx, org.ID, cat)
	if err == nil {
		t.Fatal("import succeeded through a refusing trigger")
	}
	wantCode(t, err, modeldoc.EINTERNAL, "failed import")
	if msg := modeldoc.ErrorMessage(err); strings.Contains(msg, "trigger") || strings.Contains(msg, "INSERT") {
		t.Fatalf("an internal error's message leaks SQL: %q", msg)
	}
	after := takeSnapshot(t, s, org.ID)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("failed import changed the store:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, q := range drop {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	sum := mustImport(t, s, org.ID, cat)
	if sum.Created != 1 || sum.Deleted != 1 {
		t.Fatalf("import after the trigger is gone: %+v", sum)
	}
}

func testImportRejectsBadCatalog(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	dup := Fixture()
	dup.Objects = append(dup.Objects, dup.Objects[5])
	_, err := s.ImportCatalog(ctx, org.ID, dup)
	wantCode(t, err, modeldoc.EINVALID, "duplicate unique id")
	if !strings.Contains(err.Error(), "model.shop.stg_orders") {
		t.Fatalf("error does not name the duplicate: %v", err)
	}
	bad := Fixture()
	bad.Objects[0].Type = "exposure"
	_, err = s.ImportCatalog(ctx, org.ID, bad)
	wantCode(t, err, modeldoc.EINVALID, "unknown type")
	noname := Fixture()
	noname.ProjectName = ""
	_, err = s.ImportCatalog(ctx, org.ID, noname)
	wantCode(t, err, modeldoc.EINVALID, "no project name")
	if p, _ := s.ListProjects(ctx, org.ID); len(p) != 0 {
		t.Fatalf("rejected imports left projects: %+v", p)
	}
}

func testResolveObject(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	if o := mustResolve(t, s, org.ID, "stg_orders"); o.UniqueID != "model.shop.stg_orders" || len(o.Columns) != 3 {
		t.Fatalf("by name: %+v", o)
	}
	if o := mustResolve(t, s, org.ID, "source.shop.raw.orders"); o.Type != modeldoc.TypeSource {
		t.Fatalf("by unique id: %+v", o)
	}
	// A source and a model share "orders": neither wins, both are listed.
	_, err := s.ResolveObject(ctx, org.ID, "orders")
	wantCode(t, err, modeldoc.EINVALID, "a model and a source of one name")
	for _, want := range []string{"model model.shop.orders (project shop)", "source source.shop.raw.orders (project shop)", "unique id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ambiguity error does not say %q: %v", want, err)
		}
	}
	_, err = s.ResolveObject(ctx, org.ID, "events")
	wantCode(t, err, modeldoc.EINVALID, "ambiguous name")
	if !strings.Contains(err.Error(), "source.shop.app.events") || !strings.Contains(err.Error(), "source.shop.web.events") {
		t.Fatalf("ambiguity error does not list the unique ids: %v", err)
	}
	_, err = s.ResolveObject(ctx, org.ID, "nothing_here")
	wantCode(t, err, modeldoc.ENOTFOUND, "unknown name")
	if !strings.Contains(err.Error(), `"nothing_here"`) || !strings.Contains(err.Error(), "objects list --match") {
		t.Fatalf("not-found message: %v", err)
	}
}

func testListObjectsFilters(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	sum := mustImport(t, s, org.ID, Fixture())
	stg := mustResolve(t, s, org.ID, "stg_orders")
	if err := s.InsertDocVersion(ctx, &modeldoc.DocVersion{ObjectID: stg.ID, SQLHash: stg.SQLHash, ComplexityScore: 3}); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	cases := []struct {
		name string
		f    store.ObjectFilter
		want []string
	}{
		{"models", store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}},
			[]string{"model.shop.customer_orders", "model.shop.orders", "model.shop.stg_customers", "model.shop.stg_orders"}},
		{"seeds and snapshots", store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeSeed, modeldoc.TypeSnapshot}},
			[]string{"seed.shop.country_codes", "snapshot.shop.customers_snapshot"}},
		{"substring any case", store.ObjectFilter{Match: "STG_"},
			[]string{"model.shop.stg_customers", "model.shop.stg_orders"}},
		{"percent is literal", store.ObjectFilter{Match: "%"}, nil},
		{"glob", store.ObjectFilter{Match: "*orders"},
			[]string{"model.shop.customer_orders", "model.shop.orders", "model.shop.stg_orders", "source.shop.raw.orders"}},
		{"glob anchored", store.ObjectFilter{Match: "stg_*s"},
			[]string{"model.shop.stg_customers", "model.shop.stg_orders"}},
		{"schema", store.ObjectFilter{Schema: "MARTS"}, []string{"model.shop.customer_orders", "model.shop.orders"}},
		{"documented", store.ObjectFilter{Documented: &yes}, []string{"model.shop.stg_orders"}},
		{"undocumented models", store.ObjectFilter{Documented: &no, Types: []modeldoc.ObjectType{modeldoc.TypeModel}},
			[]string{"model.shop.customer_orders", "model.shop.orders", "model.shop.stg_customers"}},
		{"stale", store.ObjectFilter{Stale: &yes}, nil},
		{"ids", store.ObjectFilter{IDs: []int64{stg.ID, 999999}}, []string{"model.shop.stg_orders"}},
		{"project", store.ObjectFilter{ProjectID: sum.ProjectID, Match: "country"}, []string{"seed.shop.country_codes"}},
		{"other project", store.ObjectFilter{ProjectID: sum.ProjectID + 1000}, nil},
	}
	for _, tc := range cases {
		list, total, err := s.ListObjects(ctx, org.ID, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := summaryNames(list)
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, tc.want) || total != len(tc.want) {
			t.Errorf("%s: got %v (total %d), want %v", tc.name, got, total, tc.want)
		}
	}
	_, _, err := s.ListObjects(ctx, org.ID, store.ObjectFilter{Types: []modeldoc.ObjectType{"exposure"}})
	wantCode(t, err, modeldoc.EINVALID, "unknown type filter")

	// Pages are ordered by name and count the whole selection.
	var paged []string
	for off := 0; ; off += 3 {
		page, total, err := s.ListObjects(ctx, org.ID, store.ObjectFilter{Limit: 3, Offset: off})
		if err != nil || total != 10 {
			t.Fatalf("page at %d: total %d, %v", off, total, err)
		}
		if len(page) == 0 {
			break
		}
		for _, o := range page {
			paged = append(paged, o.Name)
		}
	}
	if len(paged) != 10 || !sort.StringsAreSorted(paged) {
		t.Fatalf("pages = %v", paged)
	}
	rest, _, _ := s.ListObjects(ctx, org.ID, store.ObjectFilter{Offset: 8})
	if len(rest) != 2 {
		t.Fatalf("offset without limit gave %d rows, want 2", len(rest))
	}

	list, _, _ := s.ListObjects(ctx, org.ID, store.ObjectFilter{IDs: []int64{stg.ID}})
	o := list[0]
	if !o.Documented || o.Stale || o.ComplexityScore != 3 || o.CurrentVersion != 1 || o.LastDocumentedAt == nil ||
		!o.HasDescription || o.Columns != 3 || o.ColumnsWithDescription != 1 || o.Project != "shop" ||
		o.Schema != "staging" || o.Materialization != "view" || o.Type != modeldoc.TypeModel {
		t.Fatalf("summary of stg_orders = %+v", o)
	}
}

func doc(objectID int64, sqlHash string) *modeldoc.DocVersion {
	return &modeldoc.DocVersion{
		ObjectID: objectID, Provider: "openai", Model: "gpt-4.1-mini", PromptVersion: "p1", InputHash: "in",
		SQLHash: sqlHash, ComplexityScore: 2, PromptTokens: 1200, CompletionTokens: 300, CachedTokens: 100,
		EstimatedCost: 0.0021, Cost: 0.0019, DurationMS: 1500,
		Layers: map[modeldoc.Layer]json.RawMessage{
			modeldoc.LayerExecutiveSummary: json.RawMessage(`{"summary":"It counts orders."}`),
		},
		LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{
			modeldoc.LayerExecutiveSummary: {Status: modeldoc.LayerOK, PromptTokens: 1200, CompletionTokens: 300, Attempts: 1},
			modeldoc.LayerBusinessRules:    {Status: modeldoc.LayerFailed, Error: "malformed", ErrorClass: "malformed_output", Attempts: 2},
		},
	}
}

func testDocVersions(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	o := mustResolve(t, s, org.ID, "model.shop.orders")
	_, err := s.GetDocVersion(ctx, org.ID, o.ID, 0)
	wantCode(t, err, modeldoc.ENOTFOUND, "no documentation yet")
	var ids []int64
	for i := 1; i <= 3; i++ {
		v := doc(o.ID, o.SQLHash)
		v.JobID = int64(i * 10)
		if err := s.InsertDocVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		if v.Version != i || !v.Current || v.ID == 0 || v.CreatedAt.IsZero() {
			t.Fatalf("version %d after insert: %+v", i, v)
		}
		ids = append(ids, v.ID)
	}
	cur, err := s.GetDocVersion(ctx, org.ID, o.ID, 0)
	if err != nil || cur.Version != 3 || !cur.Current || cur.ID != ids[2] {
		t.Fatalf("current = %+v, %v", cur, err)
	}
	want := doc(o.ID, o.SQLHash)
	if cur.ExecutiveSummary() != "It counts orders." || cur.Provider != want.Provider || cur.Model != want.Model ||
		cur.PromptVersion != "p1" || cur.InputHash != "in" || cur.SQLHash != o.SQLHash || cur.ComplexityScore != 2 ||
		cur.PromptTokens != 1200 || cur.CompletionTokens != 300 || cur.CachedTokens != 100 || cur.EstimatedCost != 0.0021 ||
		cur.Cost != 0.0019 || cur.DurationMS != 1500 || cur.JobID != 30 || !reflect.DeepEqual(cur.LayerStatus, want.LayerStatus) ||
		!reflect.DeepEqual(cur.MissingLayers(), []modeldoc.Layer{modeldoc.LayerBusinessRules}) {
		t.Fatalf("stored version = %+v", cur)
	}
	first, err := s.GetDocVersion(ctx, org.ID, o.ID, 1)
	if err != nil || first.Version != 1 || first.Current || first.ExecutiveSummary() == "" {
		t.Fatalf("version 1 = %+v, %v", first, err)
	}
	_, err = s.GetDocVersion(ctx, org.ID, o.ID, 9)
	wantCode(t, err, modeldoc.ENOTFOUND, "missing version")
	list, err := s.ListDocVersions(ctx, org.ID, o.ID)
	if err != nil || len(list) != 3 || list[0].Version != 3 || list[2].Version != 1 || !list[0].Current || list[1].Current {
		t.Fatalf("ListDocVersions = %+v, %v", list, err)
	}
	other := mustResolve(t, s, org.ID, "stg_orders")
	cur2 := doc(other.ID, other.SQLHash)
	if err := s.InsertDocVersion(ctx, cur2); err != nil || cur2.Version != 1 {
		t.Fatalf("first version of another object: %+v, %v", cur2, err)
	}
	m, err := s.CurrentDocVersions(ctx, []int64{o.ID, other.ID, mustResolve(t, s, org.ID, "stg_customers").ID})
	if err != nil || len(m) != 2 || m[o.ID].Version != 3 || m[other.ID].Version != 1 || m[o.ID].ExecutiveSummary() == "" {
		t.Fatalf("CurrentDocVersions = %+v, %v", m, err)
	}
	if m, err := s.CurrentDocVersions(ctx, nil); err != nil || len(m) != 0 {
		t.Fatalf("CurrentDocVersions(nil) = %v, %v", m, err)
	}
	// CurrentSummaries: the same objects, only the two layers a
	// downstream prompt shows, decoding to the same values.
	withCols := doc(other.ID, other.SQLHash)
	withCols.Layers[modeldoc.LayerColumnDescriptions] = json.RawMessage(`{"columns": [{"name": "id", "description": "The order's key, \"quoted\" and ünïcode.", "lineage": "passthrough", "upstreamModel": "stg", "upstreamColumn": "id"}]}`)
	withCols.Layers[modeldoc.LayerBusinessNarrative] = json.RawMessage(`{"narrative": "not read"}`)
	if err := s.InsertDocVersion(ctx, withCols); err != nil {
		t.Fatal(err)
	}
	sums, err := s.CurrentSummaries(ctx, []int64{o.ID, other.ID, mustResolve(t, s, org.ID, "stg_customers").ID})
	if err != nil || len(sums) != 2 {
		t.Fatalf("CurrentSummaries = %+v, %v", sums, err)
	}
	full, _ := s.CurrentDocVersions(ctx, []int64{o.ID, other.ID})
	for id, v := range sums {
		if v.ExecutiveSummary() != full[id].ExecutiveSummary() || v.ExecutiveSummary() == "" {
			t.Fatalf("summary of %d: %q, want %q", id, v.ExecutiveSummary(), full[id].ExecutiveSummary())
		}
		if len(v.Layers) > 2 {
			t.Fatalf("CurrentSummaries carries layers %v", v.Layers)
		}
		var got, want modeldoc.ColumnDescriptionsOut
		_, has := v.Layers[modeldoc.LayerColumnDescriptions]
		_, wantHas := full[id].Layers[modeldoc.LayerColumnDescriptions]
		if has != wantHas {
			t.Fatalf("column descriptions of %d: present %v, want %v", id, has, wantHas)
		}
		if has {
			if err := json.Unmarshal(v.Layers[modeldoc.LayerColumnDescriptions], &got); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(full[id].Layers[modeldoc.LayerColumnDescriptions], &want)
			if !reflect.DeepEqual(got, want) || len(got.Columns) != 1 {
				t.Fatalf("column descriptions of %d: %+v, want %+v", id, got, want)
			}
		}
	}
	if m, err := s.CurrentSummaries(ctx, nil); err != nil || len(m) != 0 {
		t.Fatalf("CurrentSummaries(nil) = %v, %v", m, err)
	}
	err = s.InsertDocVersion(ctx, doc(999999, ""))
	wantCode(t, err, modeldoc.ENOTFOUND, "doc for unknown object")
	// With its SQL hash given, SQLite does not read the object first: its
	// foreign key must still answer not found.
	err = s.InsertDocVersion(ctx, doc(999999, "abc"))
	wantCode(t, err, modeldoc.ENOTFOUND, "doc with a hash for unknown object")
	if m, _ := s.CurrentDocVersions(ctx, []int64{o.ID}); m[o.ID] == nil || m[o.ID].Version != 3 {
		t.Fatalf("a failed insert moved the current version: %+v", m[o.ID])
	}
	noHash := doc(o.ID, "")
	if err := s.InsertDocVersion(ctx, noHash); err != nil || noHash.SQLHash != o.SQLHash {
		t.Fatalf("a version without a SQL hash gets the object's: %q, %v", noHash.SQLHash, err)
	}
}

func testDocVersionsConcurrent(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	a := mustResolve(t, s, org.ID, "model.shop.orders")
	b := mustResolve(t, s, org.ID, "stg_orders")
	const workers, each = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				id := a.ID
				if w%2 == 1 {
					id = b.ID
				}
				if err := s.InsertDocVersion(ctx, doc(id, "")); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent InsertDocVersion: %v", err)
	}
	for _, id := range []int64{a.ID, b.ID} {
		list, err := s.ListDocVersions(ctx, org.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		n := workers / 2 * each
		if len(list) != n {
			t.Fatalf("object %d has %d versions, want %d", id, len(list), n)
		}
		current := 0
		for i, v := range list {
			if v.Version != n-i {
				t.Fatalf("versions are not 1..%d without gaps: %v at %d", n, v.Version, i)
			}
			if v.Current {
				current++
				if v.Version != n {
					t.Fatalf("current is version %d, want %d", v.Version, n)
				}
			}
		}
		if current != 1 {
			t.Fatalf("object %d has %d current versions", id, current)
		}
	}
}

func testDocVersionTxRollsBack(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	o := mustResolve(t, s, org.ID, "model.shop.orders")
	if err := s.InsertDocVersion(ctx, doc(o.ID, "")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("item failed")
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		if err := s.InsertDocVersionTx(ctx, tx, doc(o.ID, "")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx = %v, want the callback's error", err)
	}
	list, _ := s.ListDocVersions(ctx, org.ID, o.ID)
	if len(list) != 1 || !list[0].Current {
		t.Fatalf("rolled-back version remains: %+v", list)
	}
	// Committed together with the caller's own write.
	err = s.WithTx(ctx, func(tx *sql.Tx) error {
		if err := s.InsertDocVersionTx(ctx, tx, doc(o.ID, "")); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.Rebind("UPDATE objects SET materialization = ? WHERE id = ?"), "table", o.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := s.GetDocVersion(ctx, org.ID, o.ID, 0)
	got, _ := s.GetObject(ctx, org.ID, o.ID)
	if cur.Version != 2 || got.Materialization != "table" {
		t.Fatalf("after commit: version %d, materialization %q", cur.Version, got.Materialization)
	}
}

func isStale(t *testing.T, s *store.Store, orgID, id int64) bool {
	t.Helper()
	list, _, err := s.ListObjects(ctx, orgID, store.ObjectFilter{IDs: []int64{id}, IncludeDeleted: true})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListObjects(id %d) = %v, %v", id, list, err)
	}
	yes := true
	filtered, _, _ := s.ListObjects(ctx, orgID, store.ObjectFilter{IDs: []int64{id}, Stale: &yes, IncludeDeleted: true})
	if (len(filtered) == 1) != list[0].Stale {
		t.Fatalf("Stale filter and Stale field disagree for %d", id)
	}
	return list[0].Stale
}

func testStale(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	stg := mustResolve(t, s, org.ID, "stg_orders")
	orders := mustResolve(t, s, org.ID, "model.shop.orders")
	if isStale(t, s, org.ID, orders.ID) {
		t.Fatal("an undocumented object is not stale")
	}
	if err := s.InsertDocVersion(ctx, doc(stg.ID, stg.SQLHash)); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertDocVersion(ctx, doc(orders.ID, orders.SQLHash)); err != nil {
		t.Fatal(err)
	}
	if isStale(t, s, org.ID, stg.ID) || isStale(t, s, org.ID, orders.ID) {
		t.Fatal("fresh documentation is stale")
	}
	// The upstream is documented again: its downstream's text may now
	// contradict it.
	if err := s.InsertDocVersion(ctx, doc(stg.ID, stg.SQLHash)); err != nil {
		t.Fatal(err)
	}
	if !isStale(t, s, org.ID, orders.ID) || isStale(t, s, org.ID, stg.ID) {
		t.Fatal("documentation older than its upstream's is not stale")
	}
	if err := s.InsertDocVersion(ctx, doc(orders.ID, orders.SQLHash)); err != nil {
		t.Fatal(err)
	}
	if isStale(t, s, org.ID, orders.ID) {
		t.Fatal("redocumented object still stale")
	}
	// Its SQL changes.
	cat := Fixture()
	cat.Objects[7].RawSQL += " where 1 = 1"
	cat.Objects[7].SQLHash = modeldoc.HashSQL(cat.Objects[7].RawSQL, cat.Objects[7].CompiledSQL)
	mustImport(t, s, org.ID, cat)
	if !isStale(t, s, org.ID, orders.ID) {
		t.Fatal("documentation of changed SQL is not stale")
	}
	no := false
	fresh, _, _ := s.ListObjects(ctx, org.ID, store.ObjectFilter{Stale: &no, Documented: ptr(true)})
	if got := summaryNames(fresh); !reflect.DeepEqual(got, []string{"model.shop.stg_orders"}) {
		t.Fatalf("documented and not stale = %v", got)
	}
}

func ptr[T any](v T) *T { return &v }

func testHumanDescriptions(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	sc := mustResolve(t, s, org.ID, "stg_customers")
	if err := s.SetObjectDescription(ctx, org.ID, sc.ID, "Customers, one row each."); err != nil {
		t.Fatal(err)
	}
	if err := s.SetColumnDescription(ctx, org.ID, sc.ID, "customer_id", "The customer."); err != nil {
		t.Fatal(err)
	}
	err := s.SetColumnDescription(ctx, org.ID, sc.ID, "nope", "x")
	wantCode(t, err, modeldoc.ENOTFOUND, "unknown column")
	got := mustResolve(t, s, org.ID, "stg_customers")
	if got.Description != "Customers, one row each." || got.Columns[0].Description != "The customer." || !got.Columns[0].HumanDescription {
		t.Fatalf("after edits: %+v", got)
	}
	// A re-import where the YAML still says nothing, but the SQL and
	// columns changed, keeps the person's text.
	cat := Fixture()
	cat.Objects[6].RawSQL += " -- changed"
	cat.Objects[6].Columns = append(cat.Objects[6].Columns, modeldoc.Column{Name: "email", Position: 2})
	mustImport(t, s, org.ID, cat)
	got = mustResolve(t, s, org.ID, "stg_customers")
	if got.Description != "Customers, one row each." || len(got.Columns) != 2 || got.Columns[0].Description != "The customer." || !got.Columns[0].HumanDescription {
		t.Fatalf("edits lost on re-import: %+v", got)
	}
	// YAML that now documents them wins: it is the project's own text.
	cat.Objects[6].Description = "From YAML."
	cat.Objects[6].Columns[0].Description = "YAML column."
	cat.Objects[6].Columns[0].HumanDescription = true
	mustImport(t, s, org.ID, cat)
	got = mustResolve(t, s, org.ID, "stg_customers")
	if got.Description != "From YAML." || got.Columns[0].Description != "YAML column." {
		t.Fatalf("YAML descriptions not taken: %+v", got)
	}
}

func testOrgIsolation(t *testing.T, s *store.Store) {
	a := mustOrg(t, s, "a")
	b := mustOrg(t, s, "b")
	sumA := mustImport(t, s, a.ID, Fixture())
	o := mustResolve(t, s, a.ID, "model.shop.orders")
	if err := s.InsertDocVersion(ctx, doc(o.ID, o.SQLHash)); err != nil {
		t.Fatal(err)
	}
	_, tokA, err := s.CreateToken(ctx, a.ID, "ci", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutProviderKey(ctx, a.ID, "openai", []byte("ct"), []byte("nonce"), "sk-…abcd"); err != nil {
		t.Fatal(err)
	}

	checks := map[string]error{}
	_, checks["GetObject"] = s.GetObject(ctx, b.ID, o.ID)
	_, checks["ResolveObject by name"] = s.ResolveObject(ctx, b.ID, "orders")
	_, checks["ResolveObject by unique id"] = s.ResolveObject(ctx, b.ID, "model.shop.orders")
	_, checks["Upstream"] = s.Upstream(ctx, b.ID, o.ID)
	_, checks["Downstream"] = s.Downstream(ctx, b.ID, o.ID)
	_, checks["GetProject"] = s.GetProject(ctx, b.ID, sumA.ProjectID)
	_, checks["Lineage"] = s.Lineage(ctx, b.ID, sumA.ProjectID)
	_, checks["GetDocVersion"] = s.GetDocVersion(ctx, b.ID, o.ID, 0)
	_, checks["GetDocVersion 1"] = s.GetDocVersion(ctx, b.ID, o.ID, 1)
	_, checks["ListDocVersions"] = s.ListDocVersions(ctx, b.ID, o.ID)
	checks["SetObjectDescription"] = s.SetObjectDescription(ctx, b.ID, o.ID, "x")
	checks["SetColumnDescription"] = s.SetColumnDescription(ctx, b.ID, o.ID, "order_id", "x")
	checks["RevokeToken"] = s.RevokeToken(ctx, b.ID, tokA.ID)
	_, _, checks["GetProviderKey"] = s.GetProviderKey(ctx, b.ID, "openai")
	checks["DeleteProviderKey"] = s.DeleteProviderKey(ctx, b.ID, "openai")
	for name, err := range checks {
		if modeldoc.ErrorCode(err) != modeldoc.ENOTFOUND {
			t.Errorf("%s across organizations: %v, want not_found", name, err)
		}
	}
	// The answer for another organization's object is the answer for a
	// missing one.
	_, missing := s.GetObject(ctx, b.ID, 999999)
	_, foreign := s.GetObject(ctx, b.ID, o.ID)
	if strings.Replace(missing.Error(), "999999", "N", 1) != strings.Replace(foreign.Error(), fmt.Sprint(o.ID), "N", 1) {
		t.Errorf("messages differ: %q vs %q", missing, foreign)
	}
	if list, total, err := s.ListObjects(ctx, b.ID, store.ObjectFilter{IncludeDeleted: true}); err != nil || total != 0 || len(list) != 0 {
		t.Errorf("b lists a's objects: %d, %v", total, err)
	}
	if p, _ := s.ListProjects(ctx, b.ID); len(p) != 0 {
		t.Errorf("b lists a's projects: %+v", p)
	}
	if toks, _ := s.ListTokens(ctx, b.ID); len(toks) != 0 {
		t.Errorf("b lists a's tokens: %+v", toks)
	}
	if keys, _ := s.ListProviderKeys(ctx, b.ID); len(keys) != 0 {
		t.Errorf("b lists a's keys: %+v", keys)
	}
	// The same project name in b is another project; a's stays intact.
	sumB := mustImport(t, s, b.ID, Fixture())
	if sumB.ProjectID == sumA.ProjectID || sumB.Created != 10 {
		t.Fatalf("b's import: %+v", sumB)
	}
	ob := mustResolve(t, s, b.ID, "model.shop.orders")
	if ob.ID == o.ID {
		t.Fatal("b's object shares a's id")
	}
	if v, err := s.GetDocVersion(ctx, a.ID, o.ID, 0); err != nil || v.ObjectID != o.ID {
		t.Fatalf("a's documentation after b's import: %v", err)
	}
	if _, _, err := s.GetProviderKey(ctx, a.ID, "openai"); err != nil {
		t.Fatalf("a's key after b's attempts: %v", err)
	}
}

func testTokens(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	plain, tok, err := s.CreateToken(ctx, org.ID, "laptop", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, store.TokenPrefix) || len(plain) < 40 || tok.ID == 0 || tok.Role != "admin" || tok.Name != "laptop" {
		t.Fatalf("CreateToken = %q, %+v", plain, tok)
	}
	plain2, _, err := s.CreateToken(ctx, org.ID, "ci", store.RoleMember)
	if err != nil || plain2 == plain {
		t.Fatalf("second token: %q, %v", plain2, err)
	}
	_, _, err = s.CreateToken(ctx, org.ID, "x", "owner")
	wantCode(t, err, modeldoc.EINVALID, "unknown role")
	_, _, err = s.CreateToken(ctx, 999999, "x", store.RoleAdmin)
	wantCode(t, err, modeldoc.ENOTFOUND, "token for unknown organization")

	got, err := s.AuthenticateToken(ctx, plain)
	if err != nil || got.ID != tok.ID || got.OrgID != org.ID || got.Role != store.RoleAdmin || got.LastUsedAt == nil {
		t.Fatalf("AuthenticateToken = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "mdk_", plain + "x", strings.TrimPrefix(plain, store.TokenPrefix), "Bearer " + plain} {
		_, err := s.AuthenticateToken(ctx, bad)
		wantCode(t, err, modeldoc.EUNAUTHORIZED, fmt.Sprintf("token %q", bad))
	}
	// Only the hash is stored.
	var n int
	if err := s.ReadDB().QueryRowContext(ctx, s.Rebind("SELECT COUNT(*) FROM api_tokens WHERE token_hash = ? OR name = ?"), plain, plain).Scan(&n); err != nil || n != 0 {
		t.Fatalf("plaintext found in api_tokens: %d, %v", n, err)
	}
	list, err := s.ListTokens(ctx, org.ID)
	if err != nil || len(list) != 2 || list[0].ID != tok.ID || list[0].LastUsedAt == nil || list[1].LastUsedAt != nil {
		t.Fatalf("ListTokens = %+v, %v", list, err)
	}
	if err := s.RevokeToken(ctx, org.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, org.ID, tok.ID); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	_, err = s.AuthenticateToken(ctx, plain)
	wantCode(t, err, modeldoc.EUNAUTHORIZED, "revoked token")
	if _, err := s.AuthenticateToken(ctx, plain2); err != nil {
		t.Fatalf("the other token after a revoke: %v", err)
	}
	list, _ = s.ListTokens(ctx, org.ID)
	if list[0].RevokedAt == nil || list[1].RevokedAt != nil {
		t.Fatalf("revoked_at after revoke: %+v", list)
	}
	err = s.RevokeToken(ctx, org.ID, 999999)
	wantCode(t, err, modeldoc.ENOTFOUND, "revoke unknown token")
}

func testProviderKeys(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	_, _, err := s.GetProviderKey(ctx, org.ID, "openai")
	wantCode(t, err, modeldoc.ENOTFOUND, "no key yet")
	ct := []byte{0, 1, 2, 255, 254, 0, 9}
	if err := s.PutProviderKey(ctx, org.ID, "openai", ct, []byte("nonce-1"), "sk-…aaaa"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutProviderKey(ctx, org.ID, "anthropic", []byte("x"), []byte("n"), "sk-ant-…bbbb"); err != nil {
		t.Fatal(err)
	}
	gotCT, gotNonce, err := s.GetProviderKey(ctx, org.ID, "OpenAI")
	if err != nil || string(gotCT) != string(ct) || string(gotNonce) != "nonce-1" {
		t.Fatalf("GetProviderKey = %v, %q, %v", gotCT, gotNonce, err)
	}
	if err := s.PutProviderKey(ctx, org.ID, "openai", []byte("new"), []byte("nonce-2"), "sk-…cccc"); err != nil {
		t.Fatal(err)
	}
	gotCT, gotNonce, _ = s.GetProviderKey(ctx, org.ID, "openai")
	if string(gotCT) != "new" || string(gotNonce) != "nonce-2" {
		t.Fatalf("replaced key = %q, %q", gotCT, gotNonce)
	}
	list, err := s.ListProviderKeys(ctx, org.ID)
	if err != nil || len(list) != 2 || list[0].Provider != "anthropic" || list[1].Masked != "sk-…cccc" || list[1].UpdatedAt.IsZero() {
		t.Fatalf("ListProviderKeys = %+v, %v", list, err)
	}
	err = s.PutProviderKey(ctx, org.ID, "", ct, ct, "")
	wantCode(t, err, modeldoc.EINVALID, "no provider")
	err = s.PutProviderKey(ctx, org.ID, "openai", nil, nil, "")
	wantCode(t, err, modeldoc.EINVALID, "empty key")
	err = s.PutProviderKey(ctx, 999999, "openai", ct, ct, "")
	wantCode(t, err, modeldoc.ENOTFOUND, "key for unknown organization")
	if err := s.DeleteProviderKey(ctx, org.ID, "openai"); err != nil {
		t.Fatal(err)
	}
	err = s.DeleteProviderKey(ctx, org.ID, "openai")
	wantCode(t, err, modeldoc.ENOTFOUND, "delete twice")
	if list, _ := s.ListProviderKeys(ctx, org.ID); len(list) != 1 {
		t.Fatalf("after delete: %+v", list)
	}
}

func testInjectedClock(t *testing.T, s *store.Store) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	s.Now = func() time.Time { return at }
	org := mustOrg(t, s, "acme")
	if !org.CreatedAt.Equal(at) {
		t.Fatalf("CreatedAt = %v, want %v", org.CreatedAt, at)
	}
	got, _ := s.GetOrganization(ctx, org.ID)
	if !got.CreatedAt.Equal(at) {
		t.Fatalf("stored CreatedAt = %v, want %v", got.CreatedAt, at)
	}
	mustImport(t, s, org.ID, Fixture())
	o := mustResolve(t, s, org.ID, "model.shop.orders")
	if !o.UpdatedAt.Equal(at) {
		t.Fatalf("UpdatedAt = %v, want %v", o.UpdatedAt, at)
	}
	v := doc(o.ID, o.SQLHash)
	if err := s.InsertDocVersion(ctx, v); err != nil || !v.CreatedAt.Equal(at) {
		t.Fatalf("doc CreatedAt = %v, %v", v.CreatedAt, err)
	}
	list, _, _ := s.ListObjects(ctx, org.ID, store.ObjectFilter{IDs: []int64{o.ID}})
	if list[0].LastDocumentedAt == nil || !list[0].LastDocumentedAt.Equal(at) {
		t.Fatalf("LastDocumentedAt = %v", list[0].LastDocumentedAt)
	}
}
