package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/api"
	"github.com/modeldoc/modeldoc/internal/metrics"
	"github.com/modeldoc/modeldoc/internal/store"
)

var (
	scrapeLogs     = flag.Int("scrape-logs", 1_000_000, "generation-log rows in BenchmarkMetricsScrape")
	scrapers       = flag.Int("scrapers", 30, "concurrent /metrics scrapers in BenchmarkMetricsScrape")
	scrapeEvery    = flag.Duration("scrape-every", time.Second, "each scraper's interval in BenchmarkMetricsScrape (Prometheus's default is 15 s)")
	scrapeRequests = flag.Int("scrape-requests", 3000, "GET /api/v1/objects requests measured per phase in BenchmarkMetricsScrape")
)

// BenchmarkMetricsScrape: with a history of -scrape-logs generation-log
// rows, the p99 latency of GET /api/v1/objects from one client, first with
// nothing else running, then while -scrapers clients each scrape /metrics
// every -scrape-every (a token of the organization, so the scrape reads
// the organization's figures), once while the figures are being computed
// and once between two computations. Reported: the p99s and their ratios
// to the idle one (target ≤ 2), and the time of one computation.
func BenchmarkMetricsScrape(b *testing.B) {
	ctx := context.Background()
	st, orgID, _ := importCatalog(b, genCatalog(2000, 5))
	var jobID int64
	now := time.Now().UTC()
	if err := st.DB().QueryRowContext(ctx, st.Rebind(`INSERT INTO jobs (org_id, status, created_at, updated_at, prompt_tokens, completion_tokens)
		VALUES (?, 'completed', ?, ?, ?, ?) RETURNING id`), orgID, now, now, int64(*scrapeLogs)*1000, int64(*scrapeLogs)*200).Scan(&jobID); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// One statement generates the rows inside SQLite: a call in 50 is
	// rate limited, durations spread over the histogram's buckets.
	if _, err := st.DB().ExecContext(ctx, st.Rebind(`INSERT INTO generation_logs (job_id, item_id, object_id, layer, attempt, status, model,
		prompt_tokens, completion_tokens, cached_tokens, duration_ms, finish_reason, error_class, error, created_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		SELECT ?, i, i % 2000, 'business_narrative', 1, CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'ok' END, 'gpt-4o-mini',
			1000, 200, 0, (i * 7919) % 40000, 'stop', CASE WHEN i % 50 = 0 THEN 'rate_limited' ELSE '' END, '', ? FROM n`),
		*scrapeLogs, jobID, now); err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted %d generation-log rows in %s", *scrapeLogs, time.Since(start).Round(time.Millisecond))
	tok, _, err := st.CreateToken(ctx, orgID, "bench", store.RoleMember)
	if err != nil {
		b.Fatal(err)
	}

	// One computation of the figures, uncached (a fresh Metrics).
	start = time.Now()
	rec := httptest.NewRecorder()
	metrics.New(st, slog.New(slog.NewTextHandler(os.Stderr, nil))).OrgHandler(orgID).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	compute := time.Since(start)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "modeldoc_store_up 1") {
		b.Fatalf("figures over the logs: %d %s", rec.Code, rec.Body.String())
	}

	a := api.New(api.Config{Store: st, Metrics: metrics.New(st, nil), RatePerSecond: -1})
	srv := httptest.NewServer(a)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *scrapers + 2}}
	get := func(path string) error {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return err
		}
		if res.StatusCode != 200 {
			return fmt.Errorf("%s: %s", path, res.Status)
		}
		return nil
	}
	p99 := func() time.Duration {
		lat := make([]time.Duration, 0, *scrapeRequests)
		for i := range *scrapeRequests {
			t0 := time.Now()
			if err := get(fmt.Sprintf("/api/v1/objects?limit=50&offset=%d", (i*50)%2000)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		return lat[len(lat)*99/100]
	}

	b.ResetTimer()
	for range b.N {
		p99() // warm up connections, statements and caches
		idle := p99()
		// scraped measures p99 while the scrapers run: the first time
		// the figures are computed meanwhile (the API's Metrics is new, so
		// every scraper waits for that computation), the second time
		// they are served from memory, as between two computations.
		scraped := func() (time.Duration, int64) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var scrapes, failures atomic.Int64
			for s := range *scrapers {
				wg.Go(func() {
					// Staggered, as independent Prometheus servers are.
					select {
					case <-stop:
						return
					case <-time.After(time.Duration(s) * *scrapeEvery / time.Duration(*scrapers)):
					}
					t := time.NewTicker(*scrapeEvery)
					defer t.Stop()
					for {
						if err := get("/metrics"); err != nil {
							failures.Add(1)
						}
						scrapes.Add(1)
						select {
						case <-stop:
							return
						case <-t.C:
						}
					}
				})
			}
			time.Sleep(*scrapeEvery) // every scraper running
			busy := p99()
			close(stop)
			wg.Wait()
			if failures.Load() > 0 {
				b.Fatalf("%d of %d scrapes failed", failures.Load(), scrapes.Load())
			}
			return busy, scrapes.Load()
		}
		cold, coldN := scraped()
		busy, warmN := scraped()
		b.ReportMetric(float64(idle.Microseconds())/1000, "idle-p99-ms")
		b.ReportMetric(float64(busy.Microseconds())/1000, "scraped-p99-ms")
		b.ReportMetric(float64(busy)/float64(idle), "ratio")
		b.ReportMetric(float64(cold)/float64(idle), "computing-ratio")
		b.ReportMetric(float64(compute.Milliseconds()), "compute-ms")
		b.Logf("p99 idle %s; with %d scrapers every %s: %s (%d scrapes) while the figures are computed, ratio %.2f; %s (%d scrapes) between computations, ratio %.2f; one computation of the figures over %d rows: %s",
			idle, *scrapers, *scrapeEvery, cold, coldN, float64(cold)/float64(idle), busy, warmN, float64(busy)/float64(idle), *scrapeLogs, compute)
	}
}
