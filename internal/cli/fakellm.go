package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/fakellm"
)

func init() { register(newFakeLLMCmd) }

func newFakeLLMCmd(app *App) *cobra.Command {
	var (
		addr, jitter, apiKey string
		reasoningTokens      string
		cfg                  fakellm.Config
		faults               fakellm.Faults
	)
	cmd := &cobra.Command{
		Use:   "fake-llm",
		Short: "Serve a fake OpenAI-compatible API for tests, benchmarks and demos",
		Long: `fake-llm serves POST /v1/chat/completions like OpenAI: schema-valid JSON derived
from the prompt, token usage counted with o200k, OpenAI's rate limits (enforced
over one-second windows, with 429s, retry-after and x-ratelimit-* headers) and
injectable faults. Point a client at the printed base URL.

Model names of OpenAI's reasoning families (o1, o3, o4, gpt-5 and later, not
the chat models) answer as OpenAI's reasoning models do: 400 on max_tokens and
on a temperature other than 1, reasoning_effort checked per model, and
reasoning tokens (--reasoning-tokens) spent out of max_completion_tokens before
the answer, so a cap that is too small comes back empty with finish_reason
"length".

--lie-rate makes answers lie: schema-valid JSON with an invented identifier in
backticks in one prose field and a code reference that is not in the prompt's
SQL, the n-th request deciding the same way for the same --seed; grounding
checks must catch them.

Both providers' batch APIs are served too: OpenAI's Files and Batches
(POST /v1/files, /v1/batches) and Anthropic's Message Batches (POST
/v1/messages/batches), finished --batch-delay after their creation, with
--batch-fail-rate and --batch-expire-rate of their requests failing or left
unfinished; GET /batch-stats counts the submissions of every custom id.

GET /stats counts what it served; POST /control changes faults, latency and
limits while it runs, e.g.
  curl -X POST localhost:8089/control -d '{"quota":true}'
  curl -X POST localhost:8089/control -d '{"fail_rate":0.1,"rpm":600,"reset_stats":true}'
  curl -X POST localhost:8089/control -d '{"lie_rate":0.2}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			j, err := parseJitter(jitter, cfg.Latency)
			if err != nil {
				return err
			}
			for name, r := range map[string]float64{"--fail-rate": faults.FailRate, "--timeout-rate": faults.TimeoutRate, "--malformed-rate": faults.MalformedRate, "--truncate-rate": faults.TruncateRate, "--lie-rate": faults.LieRate,
				"--batch-fail-rate": cfg.Batch.FailRate, "--batch-expire-rate": cfg.Batch.ExpireRate} {
				if r < 0 || r > 1 {
					return modeldoc.Errorf(modeldoc.EINVALID, "%s must be a fraction between 0 and 1, got %v.", name, r)
				}
			}
			if cfg.RPM < 0 || cfg.TPM < 0 {
				return modeldoc.Errorf(modeldoc.EINVALID, "--rpm and --tpm must be 0 (no limit) or positive.")
			}
			if cfg.ReasoningTokens, err = fakellm.ParseReasoningTokens(reasoningTokens); err != nil {
				return modeldoc.Errorf(modeldoc.EINVALID, "--reasoning-tokens: %v.", err)
			}
			cfg.Jitter, cfg.Faults, cfg.APIKey = j, faults, apiKey
			srv := fakellm.New(cfg)
			root, err := srv.Start(addr)
			if err != nil {
				return modeldoc.Errorf(modeldoc.EINVALID, "Cannot listen on %s: %v. Pick a free port with --addr.", addr, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if app.JSON {
				_ = app.printJSON(map[string]string{"base_url": root + "/v1", "stats_url": root + "/stats", "control_url": root + "/control"})
			} else {
				fmt.Fprintf(app.Stdout, "fake-llm serving; base URL: %s/v1\n", root)
				fmt.Fprintf(app.Stderr, "stats: %s/stats  control: %s/control  (Ctrl-C to stop)\n", root, root)
			}
			<-ctx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return srv.Shutdown(shutdownCtx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8089", "address to listen on (HOST:PORT; port 0 picks a free one)")
	f.DurationVar(&cfg.Latency, "latency", 0, "time each successful answer takes, e.g. 500ms")
	f.StringVar(&jitter, "jitter", "0", `latency spread, uniform ±: a duration ("100ms") or a fraction of --latency ("0.2" or "20%")`)
	f.IntVar(&cfg.RPM, "rpm", 0, "requests per minute, enforced per second like OpenAI (0: no limit)")
	f.IntVar(&cfg.TPM, "tpm", 0, "tokens per minute (prompt + max_tokens), enforced per second (0: no limit)")
	f.Float64Var(&faults.FailRate, "fail-rate", 0, "fraction of requests answered 500 server_error")
	f.Float64Var(&faults.TimeoutRate, "timeout-rate", 0, "fraction of requests that hang until the client gives up")
	f.Float64Var(&faults.MalformedRate, "malformed-rate", 0, "fraction of answers whose content is not valid JSON")
	f.Float64Var(&faults.TruncateRate, "truncate-rate", 0, `fraction of answers cut mid-JSON with finish_reason "length"`)
	f.Float64Var(&faults.LieRate, "lie-rate", 0, "fraction of answers that are schema-valid but invent an identifier (in backticks) and a code reference not in the prompt's SQL")
	f.BoolVar(&faults.AuthFail, "auth-fail", false, "answer every request 401 invalid_api_key")
	f.BoolVar(&faults.Quota, "quota", false, "answer every request 429 insufficient_quota")
	f.StringVar(&apiKey, "api-key", "", "require Authorization: Bearer KEY (401 otherwise)")
	f.StringVar(&reasoningTokens, "reasoning-tokens", "", `reasoning tokens a reasoning model (o1, o3, o4, gpt-5…) spends per answer, by reasoning_effort, out of max_completion_tokens, e.g. "low=2000,medium=4000" (defaults: minimal=32, low=256, medium=1024, high=4096, xhigh=8192)`)
	f.DurationVar(&cfg.CacheTTL, "cache-ttl", fakellm.DefaultCacheTTL, "how long a cached prompt prefix stays unused before it is evicted (OpenAI's in-memory cache: 5 to 10 minutes)")
	f.BoolVar(&cfg.NoCache, "no-cache", false, "turn the prompt cache off: every prompt token is reported uncached")
	f.DurationVar(&cfg.Batch.Delay, "batch-delay", 0, "how long a batch (OpenAI's /v1/batches, Anthropic's /v1/messages/batches) takes to finish after it is created")
	f.Float64Var(&cfg.Batch.FailRate, "batch-fail-rate", 0, "fraction of a batch's requests that fail (500 in OpenAI's error file, errored in Anthropic's results)")
	f.Float64Var(&cfg.Batch.ExpireRate, "batch-expire-rate", 0, "fraction of a batch's requests left unfinished when it ends (batch_expired, expired)")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed for faults and jitter; the same seed gives the same decisions to the n-th request")
	return cmd
}

// parseJitter reads --jitter as a duration or as a fraction of latency.
func parseJitter(s string, latency time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil && (strings.ContainsAny(s, "hmsuµn") || d == 0) {
		if d < 0 {
			return 0, modeldoc.Errorf(modeldoc.EINVALID, "--jitter %q is negative; give a duration like 100ms or a fraction like 0.2.", s)
		}
		return d, nil
	}
	frac, pct := strings.CutSuffix(s, "%")
	v, err := strconv.ParseFloat(frac, 64)
	if err != nil || v < 0 {
		return 0, modeldoc.Errorf(modeldoc.EINVALID, "--jitter %q is neither a duration (100ms) nor a fraction of --latency (0.2 or 20%%).", s)
	}
	if pct {
		v /= 100
	}
	return time.Duration(v * float64(latency)), nil
}
