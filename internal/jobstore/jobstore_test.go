package jobstore_test

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobstore/jobstoretest"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/store/storetest"
)

// TestConformance runs the job store's suite on SQLite, and on PostgreSQL
// when MODELDOC_TEST_POSTGRES is set.
func TestConformance(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		jobstoretest.Exercise(t, func(t *testing.T) jobstoretest.Harness {
			js := st.JobStore()
			var driver riverdriver.Driver[*sql.Tx]
			if js.IsPostgres() {
				driver = riverdatabasesql.New(js.RiverHandle())
			} else {
				driver = riversqlite.New(js.RiverHandle())
			}
			migrator, err := rivermigrate.New(driver, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := migrator.Migrate(t.Context(), rivermigrate.DirectionUp, nil); err != nil {
				t.Fatalf("River's migrations: %v", err)
			}
			n := 0
			return jobstoretest.Harness{
				Store: js,
				NewOrg: func(t *testing.T) int64 {
					n++
					org, err := st.CreateOrganization(t.Context(), fmt.Sprintf("%s-%d", t.Name(), n))
					if err != nil {
						t.Fatal(err)
					}
					return org.ID
				},
				NewProject: func(t *testing.T, orgID int64) (int64, []int64) {
					n++
					cat := storetest.Fixture()
					cat.ProjectName = fmt.Sprintf("p%d", n)
					sum, err := st.ImportCatalog(t.Context(), orgID, cat)
					if err != nil {
						t.Fatal(err)
					}
					var ids []int64
					err = st.EachSelectable(t.Context(), orgID, sum.ProjectID, nil, func(id, _ int64, _ string, _ modeldoc.ObjectType) error {
						ids = append(ids, id)
						return nil
					})
					if err != nil || len(ids) == 0 {
						t.Fatalf("the project's objects: %v (%d)", err, len(ids))
					}
					return sum.ProjectID, ids
				},
				RiverKind: "conformance_item",
			}
		})
	})
}
