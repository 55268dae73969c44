// Package fakellm is an OpenAI-compatible chat completions server for tests,
// benchmarks and demos. It answers schema-valid JSON derived from the prompt,
// reports token usage counted with the real o200k tokenizer, enforces
// request and token limits the way OpenAI does (short windows, not a
// minute's burst), and injects the failures a batch job must survive: 500s,
// 401s, insufficient_quota, hangs, malformed and truncated JSON, and
// answers that lie (invented identifiers and code references). Its prompt
// cache follows OpenAI's rules (see promptCache), so usage reports the
// cached tokens a client's call order earns. Every error
// body and header is in OpenAI's own format so real clients (the official Go
// and Node SDKs) classify them as they would in production.
//
// Routes: POST /v1/chat/completions (and /chat/completions), GET /v1/models,
// GET /stats, GET|POST /control, and OpenAI's Batch API (batch.go): POST
// /v1/files, POST /v1/batches, GET /v1/batches[/{id}], POST
// /v1/batches/{id}/cancel, GET /v1/files/{id}/content, GET /batch-stats;
// and Anthropic's Message Batches (anthropic.go): POST
// /v1/messages/batches, GET /v1/messages/batches/{id}[/results], POST
// /v1/messages/batches/{id}/cancel.
package fakellm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modeldoc/modeldoc/internal/tokens"
)

// Config configures a Server. The zero value serves instantly, without
// limits, faults or key check.
type Config struct {
	// Latency is how long a successful answer takes. Defaults to 0.
	Latency time.Duration
	// Jitter spreads Latency uniformly over [Latency-Jitter, Latency+Jitter]
	// (never below zero). An absolute duration rather than a fraction so
	// that changing Latency at run time does not silently rescale it; the
	// CLI accepts a fraction ("0.2", "20%") and converts it. Defaults to 0.
	Jitter time.Duration
	// RPM and TPM are the requests and tokens per minute; 0 means no limit.
	RPM, TPM int
	// Faults injected from the start; see Faults.
	Faults Faults
	// APIKey, when set, must arrive as "Authorization: Bearer APIKey".
	APIKey string
	// Seed makes fault injection and jitter reproducible: the n-th request
	// gets the same decisions in every run with the same seed.
	Seed int64
	// Models lists what GET /v1/models answers. Defaults to a few OpenAI
	// model names. Any model name is accepted on chat completions.
	Models []string
	// Organization appears in rate-limit messages. Defaults to "org-fakellm".
	Organization string
	// ReasoningTokens is what a reasoning model (o1, o3, o4, the gpt-5
	// family) spends thinking per answer, by reasoning_effort, on top of
	// DefaultReasoningTokens. The tokens come out of the request's
	// max_completion_tokens before the answer does, and are reported in
	// usage.completion_tokens_details.reasoning_tokens (and inside
	// completion_tokens, as OpenAI bills them).
	ReasoningTokens map[string]int
	// CacheTTL is how long a cached prompt prefix stays unused before it
	// is evicted; DefaultCacheTTL when zero. NoCache turns the prompt
	// cache off: every prompt token is then reported uncached. See
	// promptCache for what the cache models.
	CacheTTL time.Duration
	NoCache  bool
	// Batch is how the batch endpoints behave (batch.go).
	Batch BatchSettings
	// Now is the clock for rate limiting, the prompt cache and stats.
	// Defaults to time.Now; tests freeze it so that limits do not refill
	// (and cache entries do not expire) while they run.
	Now func() time.Time
}

// Faults are the injected failures. Rates are fractions in [0,1] of chat
// requests.
type Faults struct {
	AuthFail      bool    `json:"auth_fail"`      // every request gets 401 invalid_api_key
	Quota         bool    `json:"quota"`          // every request gets 429 insufficient_quota
	FailRate      float64 `json:"fail_rate"`      // 500 server_error
	TimeoutRate   float64 `json:"timeout_rate"`   // hang until the client gives up
	MalformedRate float64 `json:"malformed_rate"` // 200 with content that is not valid JSON
	TruncateRate  float64 `json:"truncate_rate"`  // 200 with JSON cut short, finish_reason "length"
	// LieRate answers schema-valid JSON that invents: an identifier in
	// backticks in one prose field, and a code reference (any field whose
	// name mentions code or sql) that is not in the prompt's SQL. See
	// Server.Invented.
	LieRate float64 `json:"lie_rate"`
}

// settings is what /control can change; it is swapped whole so request
// handling reads it without locks.
type settings struct {
	faults    Faults
	latency   time.Duration
	jitter    time.Duration
	reasoning map[string]int // never changed in place: swapped whole
}

// Server is the fake. Create it with New.
type Server struct {
	cfg     Config
	now     func() time.Time
	set     atomic.Pointer[settings]
	limiter atomic.Pointer[limiter]
	seq     atomic.Uint64 // chat requests received, for deterministic faults
	tokens  *tokens.Counter
	cache   *promptCache // nil when Config.NoCache
	stats   *stats
	lies    *lieLog
	done    chan struct{} // closed by Close: releases hanging requests
	gate    *gate
	batch   *batchStore

	mu       sync.Mutex
	httpSrv  *http.Server
	listener net.Listener
	closed   bool
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Models) == 0 {
		cfg.Models = []string{"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "gpt-5-mini", "gpt-5"}
	}
	if cfg.Organization == "" {
		cfg.Organization = "org-fakellm"
	}
	s := &Server{
		cfg:    cfg,
		now:    cfg.Now,
		tokens: tokens.NewCounter(),
		stats:  newStats(cfg.Now()),
		lies:   newLieLog(),
		done:   make(chan struct{}),
		gate:   newGate(),
		batch:  newBatchStore(cfg.Batch),
	}
	if !cfg.NoCache {
		s.cache = newPromptCache(cmp.Or(cfg.CacheTTL, DefaultCacheTTL))
	}
	s.set.Store(&settings{faults: cfg.Faults, latency: cfg.Latency, jitter: cfg.Jitter,
		reasoning: mergeReasoning(DefaultReasoningTokens, cfg.ReasoningTokens)})
	s.limiter.Store(newLimiter(cfg.RPM, cfg.TPM, cfg.Now()))
	return s
}

// Handler serves every route of the fake.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /chat/completions", s.handleChat)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /models", s.handleModels)
	mux.HandleFunc("GET /stats", s.handleStats)
	mux.HandleFunc("GET /control", s.handleControl)
	mux.HandleFunc("POST /control", s.handleControl)
	mux.HandleFunc("POST /v1/files", s.handleFileUpload)
	mux.HandleFunc("GET /v1/files/{id}/content", s.handleFileContent)
	mux.HandleFunc("POST /v1/batches", s.handleBatchCreate)
	mux.HandleFunc("GET /v1/batches", s.handleBatchList)
	mux.HandleFunc("GET /v1/batches/{id}", s.handleBatchGet)
	mux.HandleFunc("POST /v1/batches/{id}/cancel", s.handleBatchCancel)
	mux.HandleFunc("POST /v1/messages/batches", s.handleMessageBatchCreate)
	mux.HandleFunc("GET /v1/messages/batches/{id}", s.handleMessageBatchGet)
	mux.HandleFunc("POST /v1/messages/batches/{id}/cancel", s.handleMessageBatchCancel)
	mux.HandleFunc("GET /v1/messages/batches/{id}/results", s.handleMessageBatchResults)
	mux.HandleFunc("GET /batch-stats", s.handleBatchStats)
	mux.HandleFunc("/", s.handleNotFound)
	return mux
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in the
// background. It returns the server's root URL, e.g. http://127.0.0.1:41234;
// clients take BaseURL (the root plus /v1).
func (s *Server) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("fakellm: server is closed")
	}
	if s.listener != nil {
		return "", errors.New("fakellm: server already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("fakellm: listen on %s: %w", addr, err)
	}
	s.listener = ln
	s.httpSrv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// URL is the root URL after Start ("" before).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return "http://" + s.listener.Addr().String()
}

// BaseURL is what an OpenAI client takes as its base URL after Start.
func (s *Server) BaseURL() string { return s.URL() + "/v1" }

// Shutdown stops accepting requests and waits for those in flight, until
// ctx ends. Hanging (timeout-fault) requests are released at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	srv := s.httpSrv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// Close shuts the server down, giving requests in flight five seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	for {
		old := s.set.Load()
		n := *old
		n.faults = f
		if s.set.CompareAndSwap(old, &n) {
			return
		}
	}
}

// Faults returns the injected faults.
func (s *Server) Faults() Faults { return s.set.Load().faults }

// SetLatency replaces the latency and its jitter.
func (s *Server) SetLatency(latency, jitter time.Duration) {
	for {
		old := s.set.Load()
		n := *old
		n.latency, n.jitter = latency, jitter
		if s.set.CompareAndSwap(old, &n) {
			return
		}
	}
}

// SetLimits replaces the limits with full buckets; 0 means no limit.
func (s *Server) SetLimits(rpm, tpm int) {
	s.limiter.Store(newLimiter(rpm, tpm, s.now()))
}

// Limits returns the current requests and tokens per minute.
func (s *Server) Limits() (rpm, tpm int) {
	l := s.limiter.Load()
	return l.req.limit, l.tok.limit
}

// Stats returns a snapshot of what the server has served.
func (s *Server) Stats() Stats { return s.stats.snapshot(s.now()) }

// ResetStats zeroes the counters.
func (s *Server) ResetStats() { s.stats.reset(s.now()) }
