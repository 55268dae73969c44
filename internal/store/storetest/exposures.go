package storetest

import (
	"reflect"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// testExposures: an import stores the project's exposures with what they
// read, a re-import replaces them whole, a read the project does not hold
// is dropped, and another organization never sees them.
func testExposures(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	cat := Fixture()
	cat.Exposures = []modeldoc.Exposure{
		{UniqueID: "exposure.shop.revenue", Name: "revenue", Label: "Revenue", Type: "dashboard", Maturity: "high",
			Owner: "Finance", URL: "https://bi.example.com/r", Description: "Daily revenue.",
			DependsOn: []string{"model.shop.orders", "model.shop.customer_orders", "model.shop.ghost"}},
		{UniqueID: "exposure.shop.churn", Name: "churn", Type: "notebook", DependsOn: []string{"model.shop.customer_orders"}},
	}
	if sum := mustImport(t, s, org.ID, cat); sum.Exposures != 2 {
		t.Errorf("summary exposures = %d, want 2", sum.Exposures)
	}
	mustImport(t, s, other.ID, Fixture())
	orders := mustResolve(t, s, org.ID, "model.shop.orders")
	co := mustResolve(t, s, org.ID, "model.shop.customer_orders")

	got, err := s.ExposuresReading(ctx, org.ID, []int64{orders.ID, co.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := []modeldoc.ExposureUse{
		{Exposure: modeldoc.Exposure{UniqueID: "exposure.shop.churn", Name: "churn", Type: "notebook"}, Reads: []int64{co.ID}},
		{Exposure: modeldoc.Exposure{UniqueID: "exposure.shop.revenue", Name: "revenue", Label: "Revenue", Type: "dashboard", Maturity: "high",
			Owner: "Finance", URL: "https://bi.example.com/r", Description: "Daily revenue."}, Reads: sortedIDs(orders.ID, co.ID)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExposuresReading:\n got %+v\nwant %+v", got, want)
	}
	if got, err := s.ExposuresReading(ctx, other.ID, []int64{orders.ID, co.ID}); err != nil || len(got) != 0 {
		t.Errorf("another organization reads %+v (err %v), want nothing", got, err)
	}
	otherOrders := mustResolve(t, s, other.ID, "model.shop.orders")
	if got, err := s.ExposuresReading(ctx, org.ID, []int64{otherOrders.ID}); err != nil || len(got) != 0 {
		t.Errorf("another organization's object gives %+v (err %v), want nothing", got, err)
	}

	cat.Exposures = cat.Exposures[1:]
	if sum := mustImport(t, s, org.ID, cat); sum.Exposures != 1 {
		t.Errorf("re-import summary exposures = %d, want 1", sum.Exposures)
	}
	got, err = s.ExposuresReading(ctx, org.ID, []int64{orders.ID, co.ID})
	if err != nil || len(got) != 1 || got[0].Name != "churn" {
		t.Errorf("after a re-import without revenue: %+v (err %v), want churn alone", got, err)
	}

	cat.Exposures = append(cat.Exposures, cat.Exposures[0])
	if _, err := s.ImportCatalog(ctx, org.ID, cat); modeldoc.ErrorCode(err) != modeldoc.EINVALID {
		t.Errorf("an exposure twice: err = %v, want EINVALID", err)
	}
}

func sortedIDs(a, b int64) []int64 {
	if a > b {
		a, b = b, a
	}
	return []int64{a, b}
}
