// Package api serves modeldoc's REST API under /api/v1, with /healthz,
// /readyz and /metrics beside it. Every request under /api/v1 carries a
// bearer token; every query is scoped to the token's organization, so an
// id of another organization answers 404 exactly as an id that does not
// exist. Errors are RFC 9457 problem details with a stable code.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/metrics"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/store"
)

// Config configures an API.
type Config struct {
	Store *store.Store
	Jobs  *jobs.Manager
	Keys  *providerkeys.Ring
	// Metrics is told about every request and serves /metrics: to a token
	// of any role, the figures of the token's organization; nil serves no
	// metrics.
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// MetricsElsewhere says that the operator serves every organization's
	// metrics on a listener of their own (serve --metrics-addr): /metrics
	// here then answers 404.
	MetricsElsewhere bool
	// MaxBodyBytes bounds JSON bodies (1 MiB); MaxUploadBytes bounds a
	// project upload (manifest plus catalog, 128 MiB: large manifests run
	// to tens of megabytes).
	MaxBodyBytes   int64
	MaxUploadBytes int64
	// RatePerSecond and RateBurst shape each client's token bucket (a
	// token, or an IP address for requests without one): 50 a second with
	// bursts of 200 by default, far above what a dashboard or a script
	// needs, so that only a flood meets 429. A negative rate turns the
	// limit off.
	RatePerSecond float64
	RateBurst     int
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// that is throttled (serve --trusted-proxy). Empty by default: the
	// header is then ignored, since any client can send it.
	TrustedProxies []netip.Prefix
	// Heartbeat is the interval of SSE comment lines that keep proxies
	// from closing an idle stream (15 s).
	Heartbeat time.Duration
	// TokenCheck is how often an open event stream checks that its token
	// is still valid (2 s): a revoked token's streams end within it.
	TokenCheck time.Duration
	// WriteTimeout bounds writing one ordinary answer (60 s); event
	// streams extend their deadline at each event.
	WriteTimeout time.Duration
	// AllowBaseURL says whether a job may call an OpenAI-compatible server
	// at this base URL (with its organization's key). nil allows any; the
	// serve command allows only the URLs its operator lists.
	AllowBaseURL func(baseURL string) bool
	// LargeEstimate is the size of selection (objects listed, or in the
	// project or organization selected) above which an organization's
	// estimates run one at a time; others answer 429 with Retry-After.
	// Defaults to 2,000, the size above which an estimate samples.
	LargeEstimate int
}

// API is the HTTP API. It is an http.Handler.
type API struct {
	cfg     Config
	st      *store.Store
	jobs    *jobs.Manager
	keys    *providerkeys.Ring
	metrics *metrics.Metrics
	log     *slog.Logger
	limiter *limiter
	mux     *http.ServeMux
	routes  []route

	estimatingMu sync.Mutex
	estimating   map[int64]bool // organizations running a large estimate

	closeOnce sync.Once
	closing   chan struct{} // closed by CloseStreams: event streams end
}

// New returns the API for cfg.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 128 << 20
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = 50
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 200
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.TokenCheck <= 0 {
		cfg.TokenCheck = 2 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 60 * time.Second
	}
	if cfg.LargeEstimate <= 0 {
		cfg.LargeEstimate = 2000
	}
	a := &API{
		cfg: cfg, st: cfg.Store, jobs: cfg.Jobs, keys: cfg.Keys, metrics: cfg.Metrics, log: cfg.Logger,
		closing: make(chan struct{}), estimating: map[int64]bool{},
	}
	if cfg.RatePerSecond > 0 {
		a.limiter = newLimiter(cfg.RatePerSecond, cfg.RateBurst, time.Now)
	}
	a.routes = a.routeTable()
	a.mux = http.NewServeMux()
	for _, rt := range a.routes {
		a.mux.Handle(rt.Method+" "+rt.Pattern, a.wrap(rt))
	}
	// Paths under /api/ that match no route, and known paths with the
	// wrong method, answer problem details rather than the mux's text.
	a.mux.HandleFunc("/api/", a.notFound)
	return a
}

// ServeHTTP serves the API's routes. No answer may be sniffed into
// another type than the one it declares.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	a.mux.ServeHTTP(w, r)
}

// CloseStreams ends every open event stream (clients reconnect). The
// server calls it when it shuts down: streams never go idle by themselves,
// so a graceful shutdown would otherwise wait for its deadline.
func (a *API) CloseStreams() { a.closeOnce.Do(func() { close(a.closing) }) }

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	// The mux sends wrong-method requests for known paths here too; tell
	// them apart so that a client learns which methods exist.
	var allowed []string
	for _, rt := range a.routes {
		if rt.matches(r.URL.Path) {
			allowed = append(allowed, rt.Method)
		}
	}
	if len(allowed) > 0 {
		for _, m := range allowed {
			w.Header().Add("Allow", m)
		}
		a.writeError(w, r, errorf(codeMethodNotAllowed, "The method "+r.Method+" is not allowed on "+r.URL.Path+"."))
		return
	}
	a.writeError(w, r, errorf("not_found", "No route "+r.Method+" "+r.URL.Path+": see /api/v1/openapi.json."))
}

// principal is who a request acts as: a token of one organization.
type principal struct {
	tokenID int64
	orgID   int64
	name    string
	role    string
}

type ctxKey struct{}

func principalOf(ctx context.Context) *principal {
	p, _ := ctx.Value(ctxKey{}).(*principal)
	return p
}

// wrap puts around a route's handler what every request needs: metrics,
// the write deadline, throttling, authentication, the role check, and the
// check of the path and query text.
func (a *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if a.metrics != nil {
				a.metrics.ObserveRequest(rt.Method+" "+rt.Pattern, sw.status, time.Since(start))
			}
		}()
		if !rt.stream {
			_ = http.NewResponseController(sw).SetWriteDeadline(time.Now().Add(a.cfg.WriteTimeout))
		}
		if rt.access != public {
			p, err := a.authenticate(sw, r)
			if err != nil {
				a.writeError(sw, r, err)
				return
			}
			if rt.access == admin && p.role != store.RoleAdmin {
				a.writeError(sw, r, errorf("forbidden", "This action needs an admin token; this token's role is "+p.role+"."))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, p))
		}
		if err := checkRequestText(r); err != nil {
			a.writeError(sw, r, err)
			return
		}
		if err := checkQueryNames(rt, r); err != nil {
			a.writeError(sw, r, err)
			return
		}
		rt.handler(sw, r)
	})
}

// statusWriter remembers the status for metrics. Unwrap lets
// http.ResponseController reach the connection (flushes, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
