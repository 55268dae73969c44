package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc/internal/api"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/metrics"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/server"
	"github.com/modeldoc/modeldoc/internal/web"
)

func init() { register(newServeCmd) }

type serveFlags struct {
	addr        string
	envKeys     bool
	rate        float64
	burst       int
	maxUploadMB int64
	logLevel    string
	baseURLs    []string
	proxies     []string
	metricsAddr string
	retainLogs  string
}

func newServeCmd(a *App) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the REST API, the dashboard and the job workers",
		Long: `Run modeldoc as a service: the REST API under /api/v1 (with /healthz, /readyz,
/metrics and /api/v1/openapi.json), the dashboard at /, and the job workers, in
one process on the same store as the CLI.

Requests carry an API token (Authorization: Bearer TOKEN); make the first with
'modeldoc tokens create --role admin'. Jobs use the provider keys stored for
their organization (PUT /api/v1/provider-keys/PROVIDER, or 'modeldoc keys set');
the OPENAI_API_KEY and ANTHROPIC_API_KEY of the server's environment are
ignored unless --env-keys is given.

SIGTERM or SIGINT shuts down gracefully: no new connection is accepted, requests
in flight finish, and calls to providers in flight finish (or, after a minute,
are cancelled and their objects left to be written again). Jobs carry on when
the server starts again.`,
		Example: `  modeldoc serve
  modeldoc serve --addr 0.0.0.0:8080 --db postgres://modeldoc@db:5432/modeldoc`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runServe(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address HOST:PORT")
	fl.BoolVar(&f.envKeys, "env-keys", false, "let jobs use OPENAI_API_KEY / ANTHROPIC_API_KEY from the server's environment when an organization has no stored key")
	fl.Float64Var(&f.rate, "rate-limit", 50, "API requests a second each client (token or IP) may sustain; 0 turns the limit off")
	fl.IntVar(&f.burst, "rate-burst", 200, "API requests a client may send at once before --rate-limit applies")
	fl.Int64Var(&f.maxUploadMB, "max-upload-mb", 128, "largest project upload (manifest plus catalog), in MiB")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringArrayVar(&f.proxies, "trusted-proxy", nil, "a reverse proxy (CIDR or address, e.g. 10.0.0.0/8) whose X-Forwarded-For names the client that API throttling counts; repeatable; none by default, and then X-Forwarded-For is ignored")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve every organization's /metrics without a token on this HOST:PORT, which should be private (e.g. 127.0.0.1:9090); the main address then serves no /metrics. Without it, /metrics needs a token and shows its organization's figures")
	fl.StringVar(&f.retainLogs, "retain-logs", "", "delete generation logs older than this (90d, or a duration like 36h), checked every hour; kept forever by default")
	fl.StringSliceVar(&f.baseURLs, "allow-base-url", nil, "an OpenAI-compatible base URL (or URL prefix) that jobs may call with their organization's key, e.g. http://ollama:11434/v1; repeatable; none by default")
	return cmd
}

func (a *App) runServe(cmd *cobra.Command, f *serveFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return &cobraUsageError{fmt.Errorf("--log-level must be debug, info, warn or error (got %q)", f.logLevel)}
	}
	proxies, err := parseTrustedProxies(f.proxies)
	if err != nil {
		return &cobraUsageError{err}
	}
	retain, err := parseRetention(f.retainLogs)
	if err != nil {
		return &cobraUsageError{fmt.Errorf("--retain-logs: %w", err)}
	}
	logger := slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	orgs, err := st.ListOrganizations(ctx)
	if err != nil {
		return err
	}
	if len(orgs) == 0 {
		org, err := st.EnsureDefaultOrganization(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.Stderr, "Created the organization %q. Make its first admin token with:\n\n  modeldoc tokens create --org %s --role admin --db %s\n\n", org.Name, org.Name, a.DB)
	} else if toks, err := tokenCount(ctx, a); err == nil && toks == 0 {
		fmt.Fprintf(a.Stderr, "No API token exists yet. Make an admin token with:\n\n  modeldoc tokens create --org %s --role admin --db %s\n\n", orgs[0].Name, a.DB)
	}

	eng, err := engine.New(ctx, withEnv(engine.Config{Store: st, Logger: logger, NoEnvKeys: !f.envKeys}))
	if err != nil {
		return err
	}
	a.onClose(eng.Close)
	ring, err := providerkeys.Open(st)
	if err != nil {
		return err
	}
	if err := ring.Verify(ctx); err != nil {
		return err
	}
	rate := f.rate
	if rate <= 0 {
		rate = -1 // the API's "off"
	}
	m := metrics.New(st, logger)
	apiHandler := api.New(api.Config{
		Store: st, Jobs: eng.Jobs, Keys: ring, Metrics: m, MetricsElsewhere: f.metricsAddr != "", Logger: logger,
		MaxUploadBytes: f.maxUploadMB << 20, RatePerSecond: rate, RateBurst: f.burst, TrustedProxies: proxies,
		AllowBaseURL: func(u string) bool {
			for _, allowed := range f.baseURLs {
				if u == allowed || strings.HasPrefix(u, strings.TrimSuffix(allowed, "/")+"/") {
					return true
				}
			}
			return false
		},
	})
	if retain > 0 {
		go pruneLogs(ctx, st, retain, time.Hour, logger)
	}
	scfg := server.Config{
		Addr: f.addr, API: apiHandler, Web: web.Handler(), Jobs: eng.Jobs, Logger: logger,
		Ready: func(addr string) {
			fmt.Fprintf(a.Stderr, "modeldoc is serving on http://%s (API: /api/v1, dashboard: /). Ctrl-C stops it.\n", addr)
		},
	}
	if f.metricsAddr != "" {
		scfg.Metrics, scfg.MetricsAddr = m.Handler(), f.metricsAddr
		scfg.MetricsReady = func(addr string) { fmt.Fprintf(a.Stderr, "Metrics of every organization: http://%s/metrics\n", addr) }
	}
	return server.Run(ctx, scfg)
}

// parseTrustedProxies reads --trusted-proxy values: CIDR prefixes, or
// single addresses.
func parseTrustedProxies(vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(v); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		return nil, fmt.Errorf("--trusted-proxy %q is neither a CIDR prefix (10.0.0.0/8, fd00::/8) nor an address (192.0.2.10)", v)
	}
	return out, nil
}

// tokenCount counts live tokens in every organization, to tell a first
// start from a later one.
func tokenCount(ctx context.Context, a *App) (int, error) {
	st, err := a.store(ctx)
	if err != nil {
		return 0, err
	}
	return st.CountActiveTokens(ctx)
}
