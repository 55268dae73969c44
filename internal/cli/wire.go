package cli

import (
	"context"
	"log/slog"
	"sync"

	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/ratelimit"
	"github.com/modeldoc/modeldoc/internal/retry"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// engine is everything that runs jobs, wired once per process and shared
// by the CLI commands and the server.
type engine struct {
	gen    *generate.Service
	jobs   *jobs.Manager
	limits *ratelimit.Registry

	mu sync.Mutex
	// keyIDs remembers each job's provider-key identity (a hash, never the
	// key) between building its writer and wrapping it, so that every job
	// using one key shares one limiter.
	keyIDs map[int64]string
}

// jobLimits are rate limits set on the command line for this process's
// jobs; a job created here also stores them for its resume.
type jobLimits struct{ RPM, TPM int }

// engine builds the job machinery on the store.
func (a *App) engine(ctx context.Context) (*engine, error) {
	if a.eng != nil {
		return a.eng, nil
	}
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	gen, err := generate.New(generate.Config{Catalog: st})
	if err != nil {
		return nil, err
	}
	e := &engine{gen: gen, keyIDs: map[int64]string{}}
	if e.limits, err = a.limiterRegistry(ctx); err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.jobs, err = jobs.NewManager(ctx, jobs.Config{
		Store:      st,
		Documenter: gen,
		Logger:     logger,
		Writers: func(ctx context.Context, j *jobs.Job) (writer.Writer, error) {
			pf := providerFlags{Provider: j.Options.Provider, Model: j.Options.Model, BaseURL: j.Options.BaseURL, JSONMode: j.Options.JSONMode}
			key, err := a.keyForProvider(ctx, j.OrgID, pf.Provider)
			if err != nil {
				return nil, err
			}
			e.mu.Lock()
			e.keyIDs[j.ID] = ratelimit.Key(pf.Provider, pf.BaseURL, key)
			e.mu.Unlock()
			return a.newWriter(ctx, j.OrgID, pf)
		},
		Retry: func(j *jobs.Job, w writer.Writer) writer.Writer {
			if w.Provider() == "offline" {
				return w // no provider, no limits, nothing transient
			}
			e.mu.Lock()
			keyID := e.keyIDs[j.ID]
			e.mu.Unlock()
			lim := e.limits.Get(keyID, ratelimit.Config{RPM: j.Options.RPM, TPM: j.Options.TPM})
			return retry.New(w, retry.Config{
				Limiter:    lim,
				MaxRetries: j.Options.MaxRetries,
				// OpenAI counts a request against TPM as its prompt plus
				// its max tokens, so that is what we reserve.
				Estimate: func(r writer.Request) int {
					prompt, _ := cost.EstimateRequest(r)
					return prompt + r.MaxTokens
				},
			})
		},
	})
	if err != nil {
		return nil, err
	}
	a.onClose(e.jobs.Close)
	a.eng = e
	return e, nil
}

// keyForProvider is the key a provider's writer will use, or "".
func (a *App) keyForProvider(ctx context.Context, orgID int64, provider string) (string, error) {
	switch provider {
	case "openai":
		return a.providerKey(ctx, orgID, "openai", "OPENAI_API_KEY")
	case "anthropic":
		return a.providerKey(ctx, orgID, "anthropic", "ANTHROPIC_API_KEY")
	}
	return "", nil
}
