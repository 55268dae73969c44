package metrics

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestConcurrentScrapesComputeOnce: 30 scrapers at once cost one reading
// of the store, and scrapes within CacheFor of it cost none, on both
// backends; once the figures are older than CacheFor they are read again.
func TestConcurrentScrapesComputeOnce(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		m := New(st, nil)
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		m.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		scrape := func() string {
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			return rec.Body.String()
		}
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() {
				if body := scrape(); !strings.Contains(body, "modeldoc_store_up 1") {
					t.Errorf("scrape: %s", body)
				}
			})
		}
		wg.Wait()
		scrape()
		if n := m.computed.Load(); n != 1 {
			t.Fatalf("31 scrapes within CacheFor computed the figures %d times, want 1", n)
		}
		mu.Lock()
		now = now.Add(CacheFor)
		mu.Unlock()
		scrape()
		if n := m.computed.Load(); n != 2 {
			t.Fatalf("a scrape after CacheFor computed %d times in all, want 2", n)
		}
	})
}
