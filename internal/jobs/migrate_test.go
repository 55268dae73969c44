package jobs

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestManagersStartTogetherOnANewDatabase: processes starting at once on a
// new database (a generate and a jobs show, N workers) must not race on
// River's migrations; each opens its own store handle, as a process would.
func TestManagersStartTogetherOnANewDatabase(t *testing.T) {
	dsns := map[string]string{"sqlite": filepath.Join(t.TempDir(), "new.db")}
	if modeldoctest.PostgresURL() != "" {
		dsns["postgres"] = modeldoctest.PostgresDSN(t)
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			const n = 4
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st, err := store.Open(ctx, dsn)
					if err != nil {
						errs[i] = err
						return
					}
					defer st.Close()
					m, err := NewManager(ctx, Config{Store: st, Documenter: &scriptDoc{store: st}})
					if err != nil {
						errs[i] = err
						return
					}
					m.Close()
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("manager %d: %v", i, err)
				}
			}
		})
	}
}
