package cli

import (
	"context"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

// providerFlags are the flags every documenting command shares.
type providerFlags struct {
	engine.Provider
	priceIn, priceOut float64
	cmd               *cobra.Command
}

func (p *providerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.Name, "provider", "", "openai, anthropic or offline (default: openai when OPENAI_API_KEY or --base-url is set, else anthropic when ANTHROPIC_API_KEY is set, else offline)")
	cmd.Flags().StringVar(&p.Model, "model", "", "model name (default: gpt-5-mini for openai, claude-haiku-4-5 for anthropic)")
	cmd.Flags().StringVar(&p.BaseURL, "base-url", os.Getenv("OPENAI_BASE_URL"), "OpenAI-compatible base URL, e.g. http://localhost:11434/v1 for Ollama (env OPENAI_BASE_URL)")
	cmd.Flags().BoolVar(&p.JSONMode, "json-mode", false, "ask for JSON mode instead of structured outputs (for servers without json_schema support)")
	cmd.Flags().Float64Var(&p.priceIn, "price-in", 0, "the model's price in USD per million prompt tokens, for a model the price table does not know (with --price-out; or name a price file in MODELDOC_PRICES)")
	cmd.Flags().Float64Var(&p.priceOut, "price-out", 0, "the model's price in USD per million completion tokens (with --price-in)")
	p.cmd = cmd
	cmd.Flags().StringVar(&p.ReasoningEffort, "reasoning-effort", "", "reasoning_effort for reasoning models: none, minimal, low, medium, high, xhigh or max (default: low for OpenAI's o-series and gpt-5 family, none sent to other models); each layer's output cap gets room for it")
}

// resolve fills the provider and model defaults and checks the names; a
// run that names no provider picks one from the keys in the environment.
func (p *providerFlags) resolve() error {
	if p.Name == "" {
		p.Name = engine.DefaultProvider(engine.EnvKeysFrom(os.Getenv), p.BaseURL)
	}
	r, err := p.Provider.Resolve()
	p.Provider = r
	return err
}

// givenPrice returns --price-in and --price-out, nil when not given, and
// refuses half a price or one that is not a number of USD per million
// tokens.
func (p *providerFlags) givenPrice() (in, out *float64, err error) {
	if p.cmd != nil && p.cmd.Flags().Changed("price-in") {
		in = &p.priceIn
	}
	if p.cmd != nil && p.cmd.Flags().Changed("price-out") {
		out = &p.priceOut
	}
	if err := cost.CheckGiven(in, out, "--price-in", "--price-out"); err != nil {
		return nil, nil, err
	}
	return in, out, nil
}

// price is the given price as generate takes it, or nil.
func (p *providerFlags) price() (*cost.Price, error) {
	in, out, err := p.givenPrice()
	if err != nil || in == nil {
		return nil, err
	}
	g := cost.Given(*in, *out)
	return &g, nil
}

// engine wires the job machinery on the store once per command.
func (a *App) engine(ctx context.Context) (*engine.Engine, error) {
	if a.eng != nil {
		return a.eng, nil
	}
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	jc, err := batchTimings(jobs.Config{})
	if err != nil {
		return nil, err
	}
	e, err := engine.New(ctx, withEnv(engine.Config{Store: st, Logger: logger, Jobs: jc}))
	if err != nil {
		return nil, err
	}
	a.onClose(e.Close)
	a.eng = e
	return e, nil
}

// withEnv adds to cfg what the engine takes from this process's
// environment: the providers' keys, Anthropic's base URL and the price
// file. The CLI is the one place that reads them.
func withEnv(cfg engine.Config) engine.Config {
	cfg.EnvKeys = engine.EnvKeysFrom(os.Getenv)
	cfg.AnthropicBaseURL = os.Getenv("ANTHROPIC_BASE_URL")
	cfg.PricesFile = os.Getenv("MODELDOC_PRICES")
	return cfg
}
