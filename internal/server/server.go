// Package server runs modeldoc's HTTP service: the REST API (with health,
// readiness and metrics) and the dashboard on one listener, beside the
// job workers, and stops them in the order that loses nothing.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc/internal/api"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

// Config configures Run.
type Config struct {
	// Addr is the listen address (HOST:PORT); ignored when Listener is set.
	Addr     string
	Listener net.Listener
	API      *api.API
	// Web serves everything that is not the API's (the dashboard); nil
	// answers 404 there.
	Web http.Handler
	// Jobs, when set, is started before the listener opens and stopped
	// after HTTP has drained.
	Jobs   *jobs.Manager
	Logger *slog.Logger
	// ShutdownTimeout bounds the wait for HTTP requests in flight (30 s);
	// JobsStopTimeout the wait for objects being written (60 s), after
	// which their calls are cancelled and the objects left to be written
	// again by the next run.
	ShutdownTimeout time.Duration
	JobsStopTimeout time.Duration
	// Ready, when set, is called with the bound address once the server
	// accepts connections.
	Ready func(addr string)
	// Metrics, when set, is served at /metrics on a listener of its own,
	// MetricsListener or else MetricsAddr, without a token: the operator
	// binds it to a private address. (The API's /metrics then answers 404;
	// see api.Config.MetricsElsewhere.)
	Metrics         http.Handler
	MetricsAddr     string
	MetricsListener net.Listener
	// MetricsReady, when set, is called with the metrics listener's bound
	// address.
	MetricsReady func(addr string)
}

// Handler routes /api/, /healthz, /readyz and /metrics to the API and
// everything else to web.
func Handler(a *api.API, web http.Handler) http.Handler {
	if web == nil {
		web = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No answer, whoever writes it (the dashboard, the API, a 404),
		// may be sniffed into another type than the one it declares.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/api" || p == "/healthz" || p == "/readyz" || p == "/metrics" {
			a.ServeHTTP(w, r)
			return
		}
		web.ServeHTTP(w, r)
	})
}

// Run serves until ctx ends, then shuts down gracefully: the listener
// closes, event streams end (their clients reconnect elsewhere), requests
// in flight finish, and then the job workers stop: calls in flight finish
// within JobsStopTimeout, or are cancelled and their objects left ready
// for the next run. Jobs themselves stay as they were (running jobs run
// on when a process starts again).
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.JobsStopTimeout <= 0 {
		cfg.JobsStopTimeout = 60 * time.Second
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w (is another server running there? choose another --addr)", cfg.Addr, err)
		}
	}
	mln := cfg.MetricsListener
	if cfg.Metrics != nil && mln == nil {
		var err error
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s: %w (choose another --metrics-addr)", cfg.MetricsAddr, err)
		}
	}
	if cfg.Jobs != nil {
		if err := cfg.Jobs.Start(ctx); err != nil {
			ln.Close()
			if mln != nil {
				mln.Close()
			}
			return err
		}
	}
	srv := &http.Server{
		Handler:           Handler(cfg.API, cfg.Web),
		ReadHeaderTimeout: 10 * time.Second,
		// Long enough for a large manifest upload on a slow link; write
		// deadlines are set per request by the API, because an event
		// stream lasts as long as its job.
		ReadTimeout:    5 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(cfg.API.CloseStreams)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	cfg.Logger.Info("server: listening", "addr", ln.Addr().String())
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}

	var msrv *http.Server
	if cfg.Metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", cfg.Metrics)
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cfg.Logger.Error("server: metrics listener stopped", "err", err)
			}
		}()
		cfg.Logger.Info("server: metrics listening", "addr", mln.Addr().String())
		if cfg.MetricsReady != nil {
			cfg.MetricsReady(mln.Addr().String())
		}
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	cfg.Logger.Info("server: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	err := srv.Shutdown(sctx)
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	cancel()
	if err != nil {
		cfg.Logger.Warn("server: requests still running at the deadline were cut", "err", err)
		_ = srv.Close()
	}
	if cfg.Jobs != nil {
		jctx, cancel := context.WithTimeout(context.Background(), cfg.JobsStopTimeout)
		if jerr := cfg.Jobs.Stop(jctx); jerr != nil {
			cfg.Logger.Warn("server: job workers stopped with calls cancelled; their objects will be written again", "err", jerr)
		}
		cancel()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	cfg.Logger.Info("server: stopped")
	return nil
}
