// Package engine wires the job machinery from concrete parts: the store,
// the generation service, the writers for each provider with their keys,
// the retry layer and the shared rate limiters. The CLI, the server, the
// worker command and the benchmarks all build it the same way here.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/ratelimit"
	"github.com/modeldoc/modeldoc/internal/retry"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/anthropicwriter"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
	"github.com/modeldoc/modeldoc/internal/writer/openaiwriter"
)

// DefaultModels per provider: the cheapest current model that writes good
// documentation. A user picks another with --model.
var DefaultModels = map[string]string{
	modeldoc.ProviderOpenAI:    "gpt-5-mini",
	modeldoc.ProviderAnthropic: "claude-haiku-4-5",
	modeldoc.ProviderOffline:   "offline-v1",
}

// Provider names a writer and how to reach it. Keys are not part of it:
// they come from the environment or the organization's stored keys.
type Provider struct {
	Name     string `json:"provider"`
	Model    string `json:"model"`
	BaseURL  string `json:"base_url,omitempty"`
	JSONMode bool   `json:"json_mode,omitempty"`
	// ReasoningEffort is asked of reasoning models; "" means the default
	// (low for OpenAI's reasoning models, none sent to other models).
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
}

// DefaultProvider is the provider a run that names none uses: openai when
// it has an OpenAI key or a base URL (an OpenAI-compatible server), else
// anthropic when it has an Anthropic key, else the offline writer. keys
// maps a provider to its key, as Config.EnvKeys does.
func DefaultProvider(keys map[string]string, baseURL string) string {
	switch {
	case keys[modeldoc.ProviderOpenAI] != "" || baseURL != "":
		return modeldoc.ProviderOpenAI
	case keys[modeldoc.ProviderAnthropic] != "":
		return modeldoc.ProviderAnthropic
	}
	return modeldoc.ProviderOffline
}

// Resolve fills the provider and model defaults and checks the names. An
// empty Name is the offline writer, or openai with a base URL: the CLI
// picks a default from its keys first (DefaultProvider).
func (p Provider) Resolve() (Provider, error) {
	if p.Name == "" {
		p.Name = DefaultProvider(nil, p.BaseURL)
	}
	p.Name = strings.ToLower(strings.TrimSpace(p.Name))
	def, ok := DefaultModels[p.Name]
	if !ok {
		return p, modeldoc.Errorf(modeldoc.EINVALID, "Unknown provider %q: use openai (also for Azure, Ollama, vLLM and LiteLLM with a base URL), anthropic or offline.", p.Name)
	}
	if p.Model == "" {
		p.Model = def
	}
	if err := writer.CheckReasoningEffort(p.ReasoningEffort); err != nil {
		return p, modeldoc.Errorf(modeldoc.EINVALID, "%s.", upperFirst(err.Error()))
	}
	if p.Name == modeldoc.ProviderAnthropic && p.ReasoningEffort != "" && p.ReasoningEffort != "none" {
		// Extended thinking would be the way to honour it, and Anthropic
		// refuses thinking with the forced tool call each layer is.
		return p, modeldoc.Errorf(modeldoc.EINVALID, "A reasoning effort (%s) cannot be honoured for anthropic: each layer is a forced tool call, which Anthropic does not allow with extended thinking, so thinking stays off. Leave out the reasoning effort.", p.ReasoningEffort)
	}
	return p, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// envKeys names the environment variable of each provider's key.
var envKeys = map[string]string{modeldoc.ProviderOpenAI: "OPENAI_API_KEY", modeldoc.ProviderAnthropic: "ANTHROPIC_API_KEY"}

// Config configures an Engine.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	// Limits shares rate limiters between jobs. When nil: on PostgreSQL a
	// registry of PGBuckets, so that every process using a provider key
	// paces against one limit (and one 429 slows them all); on SQLite an
	// in-memory registry, one process owning the file.
	Limits *ratelimit.Registry
	// DefaultRPM and DefaultTPM are the provider key's ceilings for jobs
	// that set none (0: learn them from the provider's headers).
	DefaultRPM, DefaultTPM int
	// Jobs tunes the job manager; Store, Documenter, Writers and Retry are
	// set by New.
	Jobs jobs.Config
	// Retry tunes the retry layer (backoffs, waits); Limiter and Estimate
	// are set per job.
	Retry retry.Config
	// PricesFile overrides or extends the embedded price table (JSON or
	// YAML, the shape of internal/cost/prices.json); the CLI passes the
	// MODELDOC_PRICES environment variable. "" keeps the embedded table.
	PricesFile string
	// EnvKeys maps a provider to the key its environment variable holds
	// (OPENAI_API_KEY, ANTHROPIC_API_KEY); the CLI reads them (EnvKeysFrom)
	// so that nothing below it reads the environment for keys.
	EnvKeys map[string]string
	// NoEnvKeys ignores EnvKeys, so that only organizations' stored keys
	// are used (the server's mode).
	NoEnvKeys bool
	// AnthropicBaseURL replaces Anthropic's API address (ANTHROPIC_BASE_URL,
	// read by the CLI): a proxy, or the fake's Anthropic endpoints.
	AnthropicBaseURL string
}

// EnvKeysFrom reads the providers' key variables with getenv (os.Getenv).
func EnvKeysFrom(getenv func(string) string) map[string]string {
	keys := map[string]string{}
	for provider, name := range envKeys {
		if v := getenv(name); v != "" {
			keys[provider] = v
		}
	}
	return keys
}

// Engine is the wired job machinery.
type Engine struct {
	Store  *store.Store
	Gen    *generate.Service
	Jobs   *jobs.Manager
	Limits *ratelimit.Registry

	cfg Config

	// ringMu guards ring, built on the first Key call: the workers of one
	// process ask for keys at once. A failed build is not kept, so that a
	// key file or database that was briefly unreadable is tried again.
	ringMu sync.Mutex
	ring   *providerkeys.Ring
}

// New wires an Engine on cfg.Store. It starts no workers.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limits == nil {
		cfg.Limits = ratelimit.NewRegistry(nil)
		if cfg.Store.IsPostgres() {
			rs := cfg.Store.JobStore()
			cfg.Limits = ratelimit.NewRegistry(func(key string) ratelimit.Bucket { return ratelimit.NewPGBucket(rs, key) })
		}
	}
	prices, err := cost.Load(cfg.PricesFile)
	if err != nil {
		return nil, err
	}
	gen, err := generate.New(generate.Config{Catalog: cfg.Store, Logger: cfg.Logger, Prices: prices})
	if err != nil {
		return nil, err
	}
	e := &Engine{Store: cfg.Store, Gen: gen, Limits: cfg.Limits, cfg: cfg}
	jc := cfg.Jobs
	jc.Store = cfg.Store
	jc.Documenter = gen
	jc.Logger = cfg.Logger
	jc.Writers = e.writerStack
	if e.Jobs, err = jobs.NewManager(ctx, jc); err != nil {
		return nil, err
	}
	return e, nil
}

// Close releases the job manager.
func (e *Engine) Close() error { return e.Jobs.Close() }

// Key returns the key a provider's writer uses for an organization: the
// environment's (Config.EnvKeys, unless NoEnvKeys), else the organization's stored key,
// else "" (the writer then reports the missing key without calling out).
func (e *Engine) Key(ctx context.Context, orgID int64, provider string) (string, error) {
	if _, ok := envKeys[provider]; !ok {
		return "", nil
	}
	if !e.cfg.NoEnvKeys {
		if k := e.cfg.EnvKeys[provider]; k != "" {
			return k, nil
		}
	}
	ring, err := e.keyRing()
	if err != nil {
		return "", err
	}
	key, err := ring.Get(ctx, orgID, provider)
	if providerkeys.IsNotFound(err) {
		return "", nil
	}
	return key, err
}

func (e *Engine) keyRing() (*providerkeys.Ring, error) {
	e.ringMu.Lock()
	defer e.ringMu.Unlock()
	if e.ring == nil {
		ring, err := providerkeys.Open(e.Store)
		if err != nil {
			return nil, err
		}
		e.ring = ring
	}
	return e.ring, nil
}

// Writer builds the writer for p, with the organization's key.
func (e *Engine) Writer(ctx context.Context, orgID int64, p Provider) (writer.Writer, error) {
	p, err := p.Resolve()
	if err != nil {
		return nil, err
	}
	key, err := e.Key(ctx, orgID, p.Name)
	if err != nil {
		return nil, err
	}
	return e.newWriter(p, key)
}

// newWriter builds the writer for p with key. A missing key is not an error
// here: the writer reports it, naming the provider, on its first call.
func (e *Engine) newWriter(p Provider, key string) (writer.Writer, error) {
	switch p.Name {
	case modeldoc.ProviderOffline:
		return offlinewriter.New(), nil
	case modeldoc.ProviderOpenAI:
		return openaiwriter.New(openaiwriter.Config{APIKey: key, BaseURL: p.BaseURL, JSONMode: p.JSONMode})
	case modeldoc.ProviderAnthropic:
		return anthropicwriter.New(anthropicwriter.Config{APIKey: key, BaseURL: e.cfg.AnthropicBaseURL})
	}
	return nil, modeldoc.Errorf(modeldoc.EINVALID, "Unknown provider %q.", p.Name)
}

// writerStack builds a job's writer and the retry and rate-limit layer
// around each item's calls, with the limiter of the key the writer uses:
// every job using one key shares one limiter.
func (e *Engine) writerStack(ctx context.Context, j *jobs.Job) (jobs.WriterStack, error) {
	p, err := Provider{Name: j.Options.Provider, Model: j.Options.Model, BaseURL: j.Options.BaseURL, JSONMode: j.Options.JSONMode}.Resolve()
	if err != nil {
		return jobs.WriterStack{}, err
	}
	key, err := e.Key(ctx, j.OrgID, p.Name)
	var me *modeldoc.Error
	if err != nil && !errors.As(err, &me) {
		// A database or file error reading the key says nothing about the
		// key: the item is tried again rather than the job failed as if
		// the key were refused.
		return jobs.WriterStack{}, &writer.Error{Kind: writer.Transient, Provider: p.Name, Message: "the organization's key could not be read: " + err.Error(), Err: err}
	}
	if err != nil {
		return jobs.WriterStack{}, err
	}
	if p.Name != modeldoc.ProviderOffline && key == "" && p.BaseURL == "" {
		org := ""
		if o, err := e.Store.GetOrganization(ctx, j.OrgID); err == nil {
			org = o.Name
		}
		return jobs.WriterStack{}, modeldoc.Errorf(modeldoc.EINVALID, "no API key configured for provider %s in organization %s: set %s, or store a key for the organization (PUT /api/v1/provider-keys/%s).", p.Name, org, envKeys[p.Name], p.Name)
	}
	w, err := e.newWriter(p, key)
	if err != nil {
		return jobs.WriterStack{}, err
	}
	stack := jobs.WriterStack{Writer: w}
	if p.Name != modeldoc.ProviderOffline { // no provider, no limits, nothing transient
		limitKey := ratelimit.Key(p.Name, p.BaseURL, key)
		stack.Wrap = func(g writer.Writer) writer.Writer { return e.retryLayer(j, limitKey, g) }
	}
	return stack, nil
}

// retryLayer is the retry layer around an item's guarded writer g, pacing
// against the limiter of limitKey.
func (e *Engine) retryLayer(j *jobs.Job, limitKey string, g writer.Writer) writer.Writer {
	rc := e.cfg.Retry
	rpm, tpm := j.Options.RPM, j.Options.TPM
	if rpm == 0 && tpm == 0 {
		rpm, tpm = e.cfg.DefaultRPM, e.cfg.DefaultTPM
	}
	lc := ratelimit.Config{RPM: rpm, TPM: tpm}
	if e.Store.IsPostgres() {
		// Several processes share the bucket, and their requests reach the
		// provider with more jitter between them than one process's: a
		// half-second burst leaves the provider's one-second windows the
		// headroom to absorb it (the steady rate is the same).
		lc.Burst = 500 * time.Millisecond
	}
	rc.Limiter = e.Limits.Get(limitKey, lc)
	if j.Options.Batch {
		// Batch calls are queued against the provider's batch pool, not
		// its request and token limits, and a retry waits for the next
		// chunk anyway: no pacing, no backoff of its own.
		rc.Limiter = nil
		rc.BaseBackoff, rc.MaxBackoff = time.Millisecond, time.Millisecond
	}
	rc.MaxRetries = j.Options.MaxRetries
	if rc.MaxRetries == 0 {
		rc.MaxRetries = -1 // the job asked for none; retry's zero means its default
	}
	// OpenAI counts a request against TPM as its prompt plus its max
	// tokens, so that is what we reserve.
	rc.Estimate = func(r writer.Request) int {
		prompt, _ := cost.EstimateRequest(r)
		return prompt + r.MaxTokens
	}
	return retry.New(g, rc)
}
