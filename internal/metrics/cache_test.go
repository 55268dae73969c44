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
// backends; once the figures are older than CacheFor they are read again,
// once, while the scrapes get the older figures.
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
		// Older figures are served at once while new ones are computed
		// in the background, once.
		for range 5 {
			if body := scrape(); !strings.Contains(body, "modeldoc_store_up 1") {
				t.Errorf("scrape: %s", body)
			}
		}
		m.mu.Lock()
		c := m.cache[0]
		m.mu.Unlock()
		c.mu.Lock()
		running := c.running
		c.mu.Unlock()
		if running != nil {
			<-running
		}
		if n := m.computed.Load(); n != 2 {
			t.Fatalf("scrapes after CacheFor computed %d times in all, want 2", n)
		}
	})
}
