// Package openaiwriter writes documentation layers with OpenAI's Chat
// Completions API through the official SDK, and with any server that speaks
// it (Azure OpenAI's v1 API, Ollama, vLLM, LiteLLM, llama.cpp) through a
// base URL. It makes exactly one HTTP request per Write: the SDK's retries
// are off because the orchestrator owns retries and waits.
package openaiwriter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// DefaultTimeout bounds one call when Config.Timeout is zero. Layers are
// short answers; a call still running after two minutes is stuck.
const DefaultTimeout = 120 * time.Second

// DefaultTemperature keeps answers close to the facts in the prompt.
const DefaultTemperature = 0.2

// Config configures a Writer. The package reads no environment variables:
// the CLI resolves OPENAI_API_KEY, OPENAI_BASE_URL or the organization's
// stored key and passes them here, so a server process never picks up a
// key that belongs to whoever started it.
type Config struct {
	// APIKey is sent as "Authorization: Bearer". It may be empty only when
	// BaseURL is set: local servers (Ollama, vLLM without --api-key) need
	// none, and then no Authorization header is sent at all.
	APIKey string
	// BaseURL replaces https://api.openai.com/v1/, e.g.
	// http://localhost:11434/v1 for Ollama or
	// https://NAME.openai.azure.com/openai/v1 for Azure's v1 API.
	BaseURL string
	// Organization is sent as OpenAI-Organization when set.
	Organization string
	// JSONMode asks for response_format json_object instead of a strict
	// json_schema, for servers without structured outputs; the schema is then
	// appended to the system prompt so the model can still follow it.
	JSONMode bool
	// MaxTokensParam names the request field that carries Request.MaxTokens:
	// "max_completion_tokens" or "max_tokens", whatever the model. Empty
	// chooses: max_completion_tokens for an OpenAI reasoning model (see
	// writer.ReasoningModel) wherever it is served, since OpenAI and Azure
	// refuse max_tokens for them and a proxy in front of them (LiteLLM, a
	// gateway, our fake) passes the field on; for other models
	// max_completion_tokens on OpenAI and Azure, and max_tokens on every
	// other base URL (Ollama and older vLLM and llama.cpp builds only know
	// max_tokens).
	MaxTokensParam string
	// Temperature defaults to DefaultTemperature. It is not sent to
	// reasoning models (o1, o3, o4, gpt-5), which refuse any value but the
	// default.
	Temperature *float64
	// HTTPClient replaces the default client (tests, proxies).
	HTTPClient *http.Client
	// Timeout bounds each call; DefaultTimeout when zero. A call that runs
	// out of it fails as Transient.
	Timeout time.Duration
	// ExtraHeaders are sent on every request, e.g. "api-key" for Azure's
	// key-in-header authentication.
	ExtraHeaders map[string]string
}

// Writer is an OpenAI-compatible writer.Writer.
type Writer struct {
	svc         openai.ChatCompletionService
	key         string
	timeout     time.Duration
	jsonMode    bool
	maxParam    string // Config.MaxTokensParam
	official    bool   // the base URL is OpenAI's or Azure's
	temperature float64
	secrets     []string
	opts        []option.RequestOption // the services' options, for the batch API
}

var _ writer.Writer = (*Writer)(nil)

// New checks cfg and builds a Writer. It makes no network call. A missing
// key fails as AuthFailed unless BaseURL is set.
func New(cfg Config) (*Writer, error) {
	if cfg.APIKey == "" && cfg.BaseURL == "" {
		return nil, &writer.Error{Kind: writer.AuthFailed, Provider: provider,
			Message: "no API key configured for provider openai: set OPENAI_API_KEY or store a key for the organization"}
	}
	w := &Writer{key: cfg.APIKey, timeout: cfg.Timeout, jsonMode: cfg.JSONMode, temperature: DefaultTemperature}
	if w.timeout <= 0 {
		w.timeout = DefaultTimeout
	}
	if cfg.Temperature != nil {
		w.temperature = *cfg.Temperature
	}
	w.secrets = []string{cfg.APIKey}
	for k, v := range cfg.ExtraHeaders {
		if strings.EqualFold(k, "api-key") || strings.EqualFold(k, "authorization") {
			w.secrets = append(w.secrets, v)
		}
	}
	w.maxParam, w.official = cfg.MaxTokensParam, officialHost(cfg.BaseURL)
	switch cfg.MaxTokensParam {
	case "max_tokens", "max_completion_tokens", "":
	default:
		return nil, &writer.Error{Kind: writer.InvalidRequest, Provider: provider,
			Message: fmt.Sprintf("unknown max tokens parameter %q: use max_completion_tokens or max_tokens", cfg.MaxTokensParam)}
	}

	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	// The service is built without openai.NewClient on purpose: NewClient
	// reads OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID and
	// OPENAI_CUSTOM_HEADERS from the environment, which would send a key the
	// caller did not choose (to a local server, say).
	opts := []option.RequestOption{
		option.WithEnvironmentProduction(),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
	}
	if cfg.BaseURL != "" {
		if err := writer.CheckBaseURL(provider, cfg.BaseURL, "http://localhost:11434/v1"); err != nil {
			return nil, err
		}
		opts = append(opts, option.WithBaseURL(cfg.BaseURL))
	}
	if cfg.APIKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	if cfg.Organization != "" {
		opts = append(opts, option.WithOrganization(cfg.Organization))
	}
	for k, v := range cfg.ExtraHeaders {
		opts = append(opts, option.WithHeader(k, v))
	}
	w.svc = openai.NewChatCompletionService(opts...)
	w.opts = opts
	return w, nil
}

// officialHost reports whether base is OpenAI's or Azure OpenAI's API,
// which want max_completion_tokens.
func officialHost(base string) bool {
	if base == "" {
		return true
	}
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return h == "api.openai.com" || strings.HasSuffix(h, ".openai.azure.com") || strings.HasSuffix(h, ".cognitiveservices.azure.com")
}

// Provider implements writer.Writer.
func (w *Writer) Provider() string { return provider }

// Params builds the request body Write sends for req; exported so tests
// and dry runs can see exactly what goes on the wire.
func (w *Writer) Params(req writer.Request) openai.ChatCompletionNewParams {
	user := req.User
	p := openai.ChatCompletionNewParams{Model: shared.ChatModel(req.Model)}
	if w.jsonMode {
		// After the user prompt, not in the system prompt: the system
		// prompt and the model's context open every call for the object
		// byte for byte, so that the provider's cache serves them, and
		// the schema differs between those calls.
		user += "\n\nAnswer with one JSON object, and nothing else, that conforms to this JSON Schema:\n```json\n" +
			string(req.Schema) + "\n```"
		p.ResponseFormat.OfJSONObject = &shared.ResponseFormatJSONObjectParam{}
	} else {
		p.ResponseFormat.OfJSONSchema = &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
				Name:   req.SchemaName,
				Schema: req.Schema,
				Strict: openai.Bool(true),
			},
		}
	}
	p.Messages = []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(req.System), openai.UserMessage(user)}
	if key := req.CacheKey(); key != "" {
		p.PromptCacheKey = openai.String(key)
	}
	reasoning := writer.ReasoningModel(req.Model)
	if req.MaxTokens > 0 {
		if w.legacyMaxTokens(reasoning) {
			p.MaxTokens = openai.Int(int64(req.MaxTokens))
		} else {
			p.MaxCompletionTokens = openai.Int(int64(req.MaxTokens))
		}
	}
	if req.ReasoningEffort != "" {
		p.ReasoningEffort = shared.ReasoningEffort(req.ReasoningEffort)
	}
	if !reasoning {
		p.Temperature = openai.Float(w.temperature)
	}
	return p
}

// legacyMaxTokens reports whether the cap travels as max_tokens; see
// Config.MaxTokensParam.
func (w *Writer) legacyMaxTokens(reasoningModel bool) bool {
	switch w.maxParam {
	case "max_tokens":
		return true
	case "max_completion_tokens":
		return false
	}
	return !reasoningModel && !w.official
}

// Write implements writer.Writer. On Malformed and InvalidRequest answers
// that did arrive (truncated, refused, not JSON) the returned Result still
// carries Usage and RateLimit alongside the error: those tokens are billed.
func (w *Writer) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	resp, err := w.svc.New(callCtx, w.Params(req), option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return x.Capture(r, next) }))
	if err != nil {
		if ctx.Err() != nil {
			return writer.Result{}, writer.Canceled(provider, ctx)
		}
		e := Classify(x.Status, x.Header, x.Body, err)
		e.Message = writer.Redact(e.Message, w.secrets...)
		return writer.Result{}, e
	}
	rl := writer.ParseOpenAIRateLimit(x.Header, writer.ResponseTime(x.Header, time.Now()))
	return w.check(req, resp, x.Status, rl)
}

// check turns a completion into a Result, or the error its answer calls
// for; the batch API's answers go through it too.
func (w *Writer) check(req writer.Request, resp *openai.ChatCompletion, status int, rl writer.RateLimit) (writer.Result, error) {
	res := writer.Result{Model: resp.Model, RateLimit: rl, Usage: writer.Usage{
		PromptTokens:     resp.Usage.PromptTokens,
		CompletionTokens: resp.Usage.CompletionTokens,
		CachedTokens:     resp.Usage.PromptTokensDetails.CachedTokens,
		CacheWriteTokens: resp.Usage.PromptTokensDetails.CacheWriteTokens,
		ReasoningTokens:  resp.Usage.CompletionTokensDetails.ReasoningTokens,
	}}
	fail := func(kind writer.Kind, msg string) (writer.Result, error) {
		return res, &writer.Error{Kind: kind, Provider: provider, Status: status, RateLimit: rl, Message: msg}
	}
	if len(resp.Choices) == 0 {
		return fail(writer.Malformed, "openai answered with no choices: ask again")
	}
	ch := resp.Choices[0]
	res.FinishReason = ch.FinishReason
	switch {
	case ch.FinishReason == "length" && StripFence(ch.Message.Content) == "" && ch.Message.Refusal == "":
		return fail(writer.ReasoningExhausted, ReasoningExhaustedMessage(req, res.Usage))
	case ch.FinishReason == "length":
		return fail(writer.Malformed, fmt.Sprintf("openai output truncated at max tokens (%d): raise the layer's max tokens or shorten the prompt", req.MaxTokens))
	case ch.Message.Refusal != "":
		return fail(writer.InvalidRequest, "openai model refused to write this layer: "+writer.Redact(ch.Message.Refusal, w.secrets...))
	case ch.FinishReason == "content_filter":
		return fail(writer.InvalidRequest, "openai content filter stopped the answer: this layer cannot be written by this model as is")
	}
	content := StripFence(ch.Message.Content)
	if content == "" {
		return fail(writer.Malformed, "openai answered with empty content: ask again")
	}
	if !json.Valid([]byte(content)) {
		return fail(writer.Malformed, fmt.Sprintf("openai answered with text that is not valid JSON (%d bytes, starting %q): ask again", len(content), head(content, 40)))
	}
	res.Content = content
	return res, nil
}

// ReasoningExhaustedMessage says that the model spent the request's whole
// output cap without answering, and what the user can change.
func ReasoningExhaustedMessage(req writer.Request, u writer.Usage) string {
	spent := ""
	if u.ReasoningTokens > 0 {
		spent = fmt.Sprintf(" (%d reasoning tokens)", u.ReasoningTokens)
	}
	effort := req.ReasoningEffort
	if effort == "" {
		effort = "the model's default"
	}
	// The cap is the layer's budget plus the effort's allowance; the effort
	// is what a user can change (--reasoning-effort, the job option).
	return fmt.Sprintf("%s spent its whole output budget of %d tokens on reasoning%s and wrote no answer: "+
		"lower --reasoning-effort (the job option reasoning_effort; this request asked for %s, and minimal or none spend least where the model takes them)",
		req.Model, req.MaxTokens, spent, effort)
}

// StripFence removes the ```json fence that models in JSON mode sometimes
// put around the object despite being told not to.
func StripFence(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "```") {
		return s
	}
	s = strings.TrimPrefix(s, "```")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSpace(s)
	return strings.TrimSpace(strings.TrimSuffix(s, "```"))
}

func head(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
