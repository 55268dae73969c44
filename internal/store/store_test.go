package store_test

import (
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) *store.Store { return modeldoctest.NewSQLiteStore(t) })
}

func TestPostgres(t *testing.T) {
	if modeldoctest.PostgresURL() == "" {
		t.Skipf("set %s=1 to run the PostgreSQL half", modeldoctest.PostgresEnv)
	}
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) *store.Store { return modeldoctest.NewPostgresStore(t) })
}
