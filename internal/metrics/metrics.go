// Package metrics exposes modeldoc's Prometheus metrics on a registry of
// its own. Job and provider-call figures are read from the database at
// scrape time rather than counted in memory: the jobs and generation_logs
// tables are the truth, they include the work of every worker process
// sharing the database, and they survive restarts, so the figures agree
// with the API and never reset. HTTP figures are this process's own.
package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DB is what the metrics read: the store's read handle and its
// placeholder rebinding (*store.Store satisfies it).
type DB interface {
	ReadDB() *sql.DB
	Rebind(q string) string
}

// CallBuckets are the upper bounds, in seconds, of the provider call
// latency histogram: LLM calls take from a fraction of a second to minutes.
var CallBuckets = []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}

// Metrics holds the collectors. Create it with New.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	throttled prometheus.Counter
}

// New registers modeldoc's collectors, Go's and the process's on a new
// registry. db may be nil (no job or call figures).
func New(db DB, logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modeldoc_http_requests_total", Help: "API requests answered, by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "modeldoc_http_request_duration_seconds", Help: "API request duration by route (event streams last as long as their job).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "modeldoc_http_throttled_total", Help: "API requests answered 429 because their client sent too many.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.reg.MustRegister(&dbCollector{db: db, log: logger})
	}
	return m
}

// Registry is the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: nil, ErrorHandling: promhttp.ContinueOnError})
}

// ObserveRequest counts one answered API request.
func (m *Metrics) ObserveRequest(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Throttled counts one request answered 429.
func (m *Metrics) Throttled() { m.throttled.Inc() }

var (
	descJobs       = prometheus.NewDesc("modeldoc_jobs", "Jobs by status.", []string{"status"}, nil)
	descObjects    = prometheus.NewDesc("modeldoc_objects_total", "Objects finished by jobs, by outcome (processed counts done and partial; partial also alone).", []string{"outcome"}, nil)
	descTokens     = prometheus.NewDesc("modeldoc_tokens_total", "Tokens used by jobs, by kind (cached is the part of prompt served from the provider's cache).", []string{"kind"}, nil)
	descCost       = prometheus.NewDesc("modeldoc_cost_dollars_total", "Dollars spent by jobs, at the embedded price table.", nil, nil)
	descEstimated  = prometheus.NewDesc("modeldoc_estimated_cost_dollars_total", "Dollars jobs were estimated to cost when created.", nil, nil)
	descCalls      = prometheus.NewDesc("modeldoc_provider_calls_total", "Provider calls by model and outcome (ok, or the error class: rate_limited, quota_exhausted, auth_failed, invalid_request, transient, malformed_output).", []string{"model", "outcome"}, nil)
	descRefused    = prometheus.NewDesc("modeldoc_provider_calls_refused_total", "Calls a job did not make because it was paused, cancelled or out of budget.", nil, nil)
	descRateLimit  = prometheus.NewDesc("modeldoc_provider_rate_limited_total", "Provider calls answered 429 (rate limited).", nil, nil)
	descCallTime   = prometheus.NewDesc("modeldoc_provider_call_duration_seconds", "Provider call latency.", nil, nil)
	descScrapeUp   = prometheus.NewDesc("modeldoc_store_up", "1 when the job figures could be read from the store at this scrape.", nil, nil)
	scrapeTimeout  = 10 * time.Second
	outcomeClasses = map[string]bool{"rate_limited": true, "quota_exhausted": true, "auth_failed": true, "invalid_request": true, "transient": true, "malformed_output": true}
)

// dbCollector reads job and call figures at each scrape.
type dbCollector struct {
	db  DB
	log *slog.Logger
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descObjects, descTokens, descCost, descEstimated, descCalls, descRefused, descRateLimit, descCallTime, descScrapeUp} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	up := 1.0
	if err := c.collect(ctx, ch); err != nil {
		c.log.Warn("metrics: read job figures", "err", err)
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descScrapeUp, prometheus.GaugeValue, up)
}

func (c *dbCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	db := c.db.ReadDB()
	// Every status appears, zero or not, so that a dashboard's series do
	// not vanish when no job is in a state.
	counts := map[string]float64{"queued": 0, "running": 0, "pausing": 0, "paused": 0, "completed": 0, "failed": 0, "cancelled": 0}
	rows, err := db.QueryContext(ctx, "SELECT status, COUNT(*) FROM jobs GROUP BY status")
	if err != nil {
		return fmt.Errorf("jobs by status: %w", err)
	}
	for rows.Next() {
		var s string
		var n float64
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return err
		}
		counts[s] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, n, s)
	}

	var processed, partial, failed, skipped, cancelled, prompt, cached, completion, cost, estimated float64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(processed), 0), COALESCE(SUM(partial), 0), COALESCE(SUM(failed), 0),
		COALESCE(SUM(skipped), 0), COALESCE(SUM(cancelled), 0), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(cached_tokens), 0),
		COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(actual_cost), 0), COALESCE(SUM(estimated_cost), 0) FROM jobs`).Scan(
		&processed, &partial, &failed, &skipped, &cancelled, &prompt, &cached, &completion, &cost, &estimated); err != nil {
		return fmt.Errorf("job totals: %w", err)
	}
	for outcome, v := range map[string]float64{"processed": processed, "partial": partial, "failed": failed, "skipped": skipped, "cancelled": cancelled} {
		ch <- prometheus.MustNewConstMetric(descObjects, prometheus.CounterValue, v, outcome)
	}
	for kind, v := range map[string]float64{"prompt": prompt, "cached": cached, "completion": completion} {
		ch <- prometheus.MustNewConstMetric(descTokens, prometheus.CounterValue, v, kind)
	}
	ch <- prometheus.MustNewConstMetric(descCost, prometheus.CounterValue, cost)
	ch <- prometheus.MustNewConstMetric(descEstimated, prometheus.CounterValue, estimated)

	rows, err = db.QueryContext(ctx, "SELECT model, status, error_class, COUNT(*) FROM generation_logs GROUP BY model, status, error_class")
	if err != nil {
		return fmt.Errorf("calls by outcome: %w", err)
	}
	calls := map[[2]string]float64{}
	var refused, limited float64
	for rows.Next() {
		var model, status, class string
		var n float64
		if err := rows.Scan(&model, &status, &class, &n); err != nil {
			rows.Close()
			return err
		}
		switch {
		case status == "refused":
			refused += n
			continue
		case status == "ok":
			class = "ok"
		case !outcomeClasses[class]:
			class = "other"
		}
		if class == "rate_limited" {
			limited += n
		}
		calls[[2]string{model, class}] += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for k, n := range calls {
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, n, k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, refused)
	ch <- prometheus.MustNewConstMetric(descRateLimit, prometheus.CounterValue, limited)

	// The histogram's buckets are counted in SQL: one pass over the calls
	// whatever their number, no rows shipped.
	sums := make([]string, len(CallBuckets))
	for i, b := range CallBuckets {
		sums[i] = fmt.Sprintf("COALESCE(SUM(CASE WHEN duration_ms <= %d THEN 1 ELSE 0 END), 0)", int64(b*1000))
	}
	dest := make([]any, 2+len(CallBuckets))
	var count uint64
	var sumMS float64
	dest[0], dest[1] = &count, &sumMS
	bucketCounts := make([]uint64, len(CallBuckets))
	for i := range bucketCounts {
		dest[2+i] = &bucketCounts[i]
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM(duration_ms), 0), "+strings.Join(sums, ", ")+
		" FROM generation_logs WHERE status <> 'refused'").Scan(dest...); err != nil {
		return fmt.Errorf("call latency: %w", err)
	}
	buckets := make(map[float64]uint64, len(CallBuckets))
	for i, b := range CallBuckets {
		buckets[b] = bucketCounts[i]
	}
	ch <- prometheus.MustNewConstHistogram(descCallTime, count, sumMS/1000, buckets)
	return nil
}
