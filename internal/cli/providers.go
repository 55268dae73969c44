package cli

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/anthropicwriter"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
	"github.com/modeldoc/modeldoc/internal/writer/openaiwriter"
)

// Default models per provider: the cheapest current model that writes
// good documentation. A user picks another with --model.
var defaultModels = map[string]string{
	"openai":    "gpt-5-mini",
	"anthropic": "claude-haiku-4-5",
	"offline":   "offline-v1",
}

// providerFlags are the flags every documenting command shares.
type providerFlags struct {
	Provider string
	Model    string
	BaseURL  string
	JSONMode bool
}

func (p *providerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.Provider, "provider", "", "openai, anthropic or offline (default: openai when OPENAI_API_KEY or --base-url is set, else anthropic when ANTHROPIC_API_KEY is set, else offline)")
	cmd.Flags().StringVar(&p.Model, "model", "", "model name (default: gpt-5-mini for openai, claude-haiku-4-5 for anthropic)")
	cmd.Flags().StringVar(&p.BaseURL, "base-url", os.Getenv("OPENAI_BASE_URL"), "OpenAI-compatible base URL, e.g. http://localhost:11434/v1 for Ollama (env OPENAI_BASE_URL)")
	cmd.Flags().BoolVar(&p.JSONMode, "json-mode", false, "ask for JSON mode instead of structured outputs (for servers without json_schema support)")
}

// resolve fills the provider and model defaults and checks the names.
func (p *providerFlags) resolve() error {
	if p.Provider == "" {
		switch {
		case os.Getenv("OPENAI_API_KEY") != "" || p.BaseURL != "":
			p.Provider = "openai"
		case os.Getenv("ANTHROPIC_API_KEY") != "":
			p.Provider = "anthropic"
		default:
			p.Provider = "offline"
		}
	}
	p.Provider = strings.ToLower(p.Provider)
	def, ok := defaultModels[p.Provider]
	if !ok {
		return modeldoc.Errorf(modeldoc.EINVALID, "Unknown provider %q: use openai (also for Azure, Ollama, vLLM and LiteLLM with --base-url), anthropic or offline.", p.Provider)
	}
	if p.Model == "" {
		p.Model = def
	}
	return nil
}

// newWriter builds the writer for a provider. Keys come from the
// environment (OPENAI_API_KEY, ANTHROPIC_API_KEY) or else the
// organization's stored key; never from a job row or a flag, so they do not
// end up in shell history or the database in clear.
func (a *App) newWriter(ctx context.Context, orgID int64, p providerFlags) (writer.Writer, error) {
	switch p.Provider {
	case "offline":
		return offlinewriter.New(), nil
	case "openai":
		key, err := a.providerKey(ctx, orgID, "openai", "OPENAI_API_KEY")
		if err != nil {
			return nil, err
		}
		return openaiwriter.New(openaiwriter.Config{APIKey: key, BaseURL: p.BaseURL, JSONMode: p.JSONMode})
	case "anthropic":
		key, err := a.providerKey(ctx, orgID, "anthropic", "ANTHROPIC_API_KEY")
		if err != nil {
			return nil, err
		}
		return anthropicwriter.New(anthropicwriter.Config{APIKey: key, BaseURL: os.Getenv("ANTHROPIC_BASE_URL")})
	}
	return nil, modeldoc.Errorf(modeldoc.EINVALID, "Unknown provider %q.", p.Provider)
}

// providerKey returns the key from env, else the organization's stored key,
// else "" (the writer then reports a missing key without calling anyone).
func (a *App) providerKey(ctx context.Context, orgID int64, provider, env string) (string, error) {
	if k := os.Getenv(env); k != "" {
		return k, nil
	}
	return a.storedProviderKey(ctx, orgID, provider)
}
