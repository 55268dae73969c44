// Package metrics exposes modeldoc's Prometheus metrics on a registry of
// its own. Job and provider-call figures are read from the database rather
// than counted in memory: the jobs and generation_logs tables are the
// truth, they include the work of every worker process sharing the
// database, and they survive restarts, so the figures agree with the API
// and never reset. Reading them costs a pass over the logs, so the figures
// are computed at most once per CacheFor (5 s, longer when the computation
// is slow) and organization, in the background, however many scrapers ask:
// a scrape itself costs nothing in the size of the history. Logs deleted by retention are kept as totals
// (generation_log_totals), so the counters never go down. HTTP figures are
// this process's own.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobstore"
)

// DB is what the metrics read: the job store's counts (*store.Store
// satisfies it).
type DB interface {
	JobStore() jobstore.Store
}

// CallBuckets are the upper bounds, in seconds, of the provider call
// latency histogram (jobstore.CallLatencyBoundsMS, which retention keeps).
var CallBuckets = func() []float64 {
	out := make([]float64, len(jobstore.CallLatencyBoundsMS))
	for i, ms := range jobstore.CallLatencyBoundsMS {
		out[i] = float64(ms) / 1000
	}
	return out
}()

// CacheFor is how long computed job and call figures are served before
// they are read again. Prometheus scrapes every 15 s or more, so several
// scrapers (or replicas of one) share one computation.
const CacheFor = 5 * time.Second

// Metrics holds the collectors. Create it with New.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	throttled prometheus.Counter

	db       DB
	log      *slog.Logger
	cacheFor time.Duration
	now      func() time.Time
	mu       sync.Mutex
	cache    map[int64]*cached // by organization; 0 is all of them
	computed atomic.Int64      // computations of figures, for tests
}

// cached holds one organization's figures and the computation of new
// ones in flight, if any: there is at most one at a time.
type cached struct {
	mu      sync.Mutex
	at      time.Time
	ttl     time.Duration
	fig     *figures
	running chan struct{} // closed when the computation in flight ends
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
		db: db, log: logger, cacheFor: CacheFor, now: time.Now, cache: map[int64]*cached{},
	}
	m.reg.MustRegister(m.requests, m.latency, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.reg.MustRegister(&dbCollector{m: m})
	}
	return m
}

// Registry is the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus's text format: the figures of
// every organization together, and this process's HTTP, Go and process
// figures. It is the operator's view (serve --metrics-addr).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: nil, ErrorHandling: promhttp.ContinueOnError})
}

// OrgHandler serves the job and call figures of the organization orgID
// alone, in Prometheus's text format: what a token of that organization
// may see. This process's HTTP and runtime figures are left out, because
// they count every organization's requests.
func (m *Metrics) OrgHandler(orgID int64) http.Handler {
	reg := prometheus.NewRegistry()
	if m.db != nil {
		reg.MustRegister(&dbCollector{m: m, org: orgID})
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
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
	descScrapeUp   = prometheus.NewDesc("modeldoc_store_up", "1 when the job figures could be read from the store (at most CacheFor ago).", nil, nil)
	scrapeTimeout  = time.Minute // one computation for all scrapers, so it may take long on a large history
	outcomeClasses = map[string]bool{"rate_limited": true, "quota_exhausted": true, "auth_failed": true, "invalid_request": true, "transient": true, "malformed_output": true}
)

// figures are the job and call figures of one organization (or all).
type figures struct {
	ok                    bool
	jobs, objects, tokens map[string]float64
	cost, estimated       float64
	calls                 map[[2]string]float64
	refused, limited      float64
	count                 uint64
	sumMS                 float64
	buckets               []uint64 // per bucket, not cumulative; the last is +Inf
}

// figuresFor returns org's figures. Figures younger than their lifetime
// are served as they are. Older ones are served too while one goroutine
// computes them again, so that a scrape never waits for the store once the
// first figures exist; only the first scrapes of an organization wait,
// all for the same computation. The lifetime is CacheFor, or ten times
// the last computation's duration when that is longer, so that on a
// large history the computation takes at most a tenth of one core
// however often it is asked for.
func (m *Metrics) figuresFor(org int64) *figures {
	m.mu.Lock()
	c := m.cache[org]
	if c == nil {
		c = &cached{}
		m.cache[org] = c
	}
	m.mu.Unlock()
	c.mu.Lock()
	if c.fig != nil && m.now().Sub(c.at) < c.ttl {
		defer c.mu.Unlock()
		return c.fig
	}
	if c.running == nil {
		c.running = make(chan struct{})
		go m.refresh(org, c, c.running)
	}
	if c.fig != nil {
		defer c.mu.Unlock()
		return c.fig
	}
	done := c.running
	c.mu.Unlock()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fig
}

// refresh computes org's figures into c and closes done.
func (m *Metrics) refresh(org int64, c *cached, done chan struct{}) {
	defer close(done)
	m.computed.Add(1)
	start := m.now()
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	fig, err := m.compute(ctx, org)
	if err != nil {
		m.log.Warn("metrics: read job figures", "err", err)
		fig = &figures{}
	}
	now := m.now()
	c.mu.Lock()
	c.fig, c.at, c.ttl, c.running = fig, now, max(m.cacheFor, 10*now.Sub(start)), nil
	c.mu.Unlock()
}

// dbCollector emits the figures of org (0: every organization).
type dbCollector struct {
	m   *Metrics
	org int64
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descObjects, descTokens, descCost, descEstimated, descCalls, descRefused, descRateLimit, descCallTime, descScrapeUp} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.m.figuresFor(c.org)
	if !f.ok {
		ch <- prometheus.MustNewConstMetric(descScrapeUp, prometheus.GaugeValue, 0)
		return
	}
	for s, n := range f.jobs {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, n, s)
	}
	for outcome, v := range f.objects {
		ch <- prometheus.MustNewConstMetric(descObjects, prometheus.CounterValue, v, outcome)
	}
	for kind, v := range f.tokens {
		ch <- prometheus.MustNewConstMetric(descTokens, prometheus.CounterValue, v, kind)
	}
	ch <- prometheus.MustNewConstMetric(descCost, prometheus.CounterValue, f.cost)
	ch <- prometheus.MustNewConstMetric(descEstimated, prometheus.CounterValue, f.estimated)
	for k, n := range f.calls {
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, n, k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, f.refused)
	ch <- prometheus.MustNewConstMetric(descRateLimit, prometheus.CounterValue, f.limited)
	buckets := make(map[float64]uint64, len(CallBuckets))
	var cum uint64
	for i, b := range CallBuckets {
		cum += f.buckets[i]
		buckets[b] = cum
	}
	ch <- prometheus.MustNewConstHistogram(descCallTime, f.count, f.sumMS/1000, buckets)
	ch <- prometheus.MustNewConstMetric(descScrapeUp, prometheus.GaugeValue, 1)
}

func (m *Metrics) compute(ctx context.Context, org int64) (*figures, error) {
	js := m.db.JobStore()
	f := &figures{ok: true, calls: map[[2]string]float64{}, buckets: make([]uint64, len(CallBuckets)+1)}
	// Every status appears, zero or not, so that a dashboard's series do
	// not vanish when no job is in a state.
	f.jobs = map[string]float64{}
	for _, s := range modeldoc.JobStates {
		f.jobs[s] = 0
	}
	byStatus, err := js.JobsByStatus(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("jobs by status: %w", err)
	}
	for s, n := range byStatus {
		f.jobs[s] = float64(n)
	}

	t, err := js.JobTotals(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("job totals: %w", err)
	}
	f.cost, f.estimated = t.ActualCost, t.EstimatedCost
	f.objects = map[string]float64{"processed": float64(t.Processed), "partial": float64(t.Partial), "failed": float64(t.Failed),
		"skipped": float64(t.Skipped), "cancelled": float64(t.Cancelled)}
	f.tokens = map[string]float64{"prompt": float64(t.PromptTokens), "cached": float64(t.CachedTokens), "completion": float64(t.CompletionTokens)}

	// The calls still logged, and those whose log rows retention deleted,
	// each by model, outcome and latency bucket.
	calls, err := js.CallOutcomes(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("calls by outcome: %w", err)
	}
	f.addCalls(calls)
	return f, nil
}

func (f *figures) addCalls(calls []jobstore.CallOutcome) {
	for _, c := range calls {
		model, status, class, bucket := c.Model, c.Status, c.ErrorClass, c.Bucket
		n, ms := float64(c.Calls), float64(c.DurationMS)
		switch {
		case status == "refused":
			f.refused += n
			continue
		case status == "ok":
			class = "ok"
		case !outcomeClasses[class]:
			class = "other"
		}
		if class == "rate_limited" {
			f.limited += n
		}
		f.calls[[2]string{model, class}] += n
		f.count += uint64(n)
		f.sumMS += ms
		if bucket >= 0 && bucket < len(f.buckets) {
			f.buckets[bucket] += uint64(n)
		}
	}
}
