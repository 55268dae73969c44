// Package anthropicwriter writes documentation layers with Anthropic's
// Messages API through the official SDK. Structured output comes from a
// forced tool call: the layer's JSON Schema is the input schema of one tool
// the model must call, and the tool's input is the answer. That works on
// every Claude model the API serves, unlike output_config.format, and
// Anthropic validates the input against the schema's shape. It makes
// exactly one HTTP request per Write: the SDK's retries are off because the
// orchestrator owns retries and waits.
package anthropicwriter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// DefaultTimeout bounds one call when Config.Timeout is zero.
const DefaultTimeout = 120 * time.Second

// DefaultMaxTokens is sent when a request names none: Anthropic requires
// max_tokens on every call.
const DefaultMaxTokens = 4096

// Config configures a Writer. The package reads no environment variables
// (the SDK's own ANTHROPIC_* lookups are switched off): the CLI resolves
// ANTHROPIC_API_KEY or the organization's stored key and passes it here.
type Config struct {
	// APIKey is sent as "Authorization: Bearer" (how anthropic-sdk-go v2
	// sends an API key; the API also takes x-api-key). It may be empty only when BaseURL is set
	// (a gateway that adds credentials itself).
	APIKey string
	// BaseURL replaces https://api.anthropic.com.
	BaseURL string
	// HTTPClient replaces the default client (tests, proxies).
	HTTPClient *http.Client
	// Timeout bounds each call; DefaultTimeout when zero. A call that runs
	// out of it fails as Transient.
	Timeout time.Duration
	// ExtraHeaders are sent on every request (anthropic-beta, gateways).
	ExtraHeaders map[string]string
}

// Writer is an Anthropic writer.Writer.
type Writer struct {
	svc     anthropic.MessageService
	batches *anthropic.MessageBatchService
	timeout time.Duration
	secrets []string
}

var _ writer.Writer = (*Writer)(nil)

// New checks cfg and builds a Writer. It makes no network call. A missing
// key fails as AuthFailed unless BaseURL is set.
func New(cfg Config) (*Writer, error) {
	if cfg.APIKey == "" && cfg.BaseURL == "" {
		return nil, &writer.Error{Kind: writer.AuthFailed, Provider: provider,
			Message: "no API key configured for provider anthropic: set ANTHROPIC_API_KEY or store a key for the organization"}
	}
	w := &Writer{timeout: cfg.Timeout, secrets: []string{cfg.APIKey}}
	if w.timeout <= 0 {
		w.timeout = DefaultTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
	}
	if cfg.BaseURL != "" {
		if err := writer.CheckBaseURL(provider, cfg.BaseURL, "https://api.anthropic.com"); err != nil {
			return nil, err
		}
		opts = append(opts, option.WithBaseURL(cfg.BaseURL))
	}
	if cfg.APIKey != "" {
		// Anthropic's API documents x-api-key for API keys. SDK v2's
		// WithAPIKey sends "Authorization: Bearer" instead, which is meant for
		// OAuth tokens, so the header is set directly.
		opts = append(opts, option.WithHeader("X-Api-Key", cfg.APIKey))
	}
	for k, v := range cfg.ExtraHeaders {
		opts = append(opts, option.WithHeader(k, v))
	}
	c := anthropic.NewClient(opts...)
	w.svc, w.batches = c.Messages, &c.Messages.Batches
	return w, nil
}

// Provider implements writer.Writer.
func (w *Writer) Provider() string { return provider }

// ToolName is the name of the forced tool for req: its schema name, or
// "write_layer" when it has none. Tool names must match ^[a-zA-Z0-9_-]{1,64}$.
func ToolName(req writer.Request) string {
	n := req.SchemaName
	ok := n != "" && len(n) <= 64
	for _, r := range n {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			ok = false
		}
	}
	if !ok {
		return "write_layer"
	}
	return n
}

// Params builds the request body Write sends for req; exported so tests
// and dry runs can see exactly what goes on the wire.
func (w *Writer) Params(req writer.Request) (anthropic.MessageNewParams, error) {
	var schema map[string]any
	if err := json.Unmarshal(req.Schema, &schema); err != nil || schema == nil {
		return anthropic.MessageNewParams{}, &writer.Error{Kind: writer.InvalidRequest, Provider: provider,
			Message: fmt.Sprintf("the JSON Schema of layer %s is not a JSON object: %v", req.Layer, err)}
	}
	// input_schema must be an object schema. Properties and required have
	// their own fields in the SDK; everything else (additionalProperties,
	// $defs, descriptions) travels as extra fields.
	in := anthropic.ToolInputSchemaParam{ExtraFields: map[string]any{}}
	for k, v := range schema {
		switch k {
		case "type":
		case "properties":
			in.Properties = v
		case "required":
			if arr, ok := v.([]any); ok {
				for _, s := range arr {
					if s, ok := s.(string); ok {
						in.Required = append(in.Required, s)
					}
				}
			}
		default:
			in.ExtraFields[k] = v
		}
	}
	name := ToolName(req)
	maxTokens := int64(req.MaxTokens)
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}
	what := "the " + string(req.Layer) + " documentation layer"
	if len(req.Layers) > 0 {
		// A combined request: name its layers, not its log name.
		names := make([]string, len(req.Layers))
		for i, l := range req.Layers {
			names[i] = string(l)
		}
		what = "the documentation layers " + strings.Join(names, ", ") + ", one key each"
	}
	tool := anthropic.ToolParam{
		Name:        name,
		Description: anthropic.String("Record " + what + ". Call it exactly once with the complete answer."),
		InputSchema: in,
	}
	p := anthropic.MessageNewParams{
		Model:      anthropic.Model(req.Model),
		MaxTokens:  maxTokens,
		Messages:   []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(req.User))},
		Tools:      []anthropic.ToolUnionParam{{OfTool: &tool}},
		ToolChoice: anthropic.ToolChoiceParamOfTool(name),
	}
	if req.System != "" {
		p.System = []anthropic.TextBlockParam{{Text: req.System}}
	}
	return p, nil
}

// Write implements writer.Writer. Usage reports PromptTokens as every input
// token the call processed (input_tokens + cache_read_input_tokens +
// cache_creation_input_tokens, since Anthropic's input_tokens counts only
// the uncached part) and CachedTokens as cache_read_input_tokens, so the
// fields mean what they mean for OpenAI. On Malformed and InvalidRequest
// answers that did arrive the returned Result still carries Usage and
// RateLimit alongside the error: those tokens are billed.
func (w *Writer) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	params, err := w.Params(req)
	if err != nil {
		return writer.Result{}, err
	}
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	msg, err := w.svc.New(callCtx, params, option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return x.Capture(r, next) }))
	if err != nil {
		if ctx.Err() != nil {
			return writer.Result{}, writer.Canceled(provider, ctx)
		}
		e := Classify(x.Status, x.Header, x.Body, err)
		e.Message = writer.Redact(e.Message, w.secrets...)
		return writer.Result{}, e
	}
	rl := writer.ParseAnthropicRateLimit(x.Header, writer.ResponseTime(x.Header, time.Now()))
	return check(req, params, msg, x.Status, rl)
}

// check turns a message into a Result, or the error its answer calls for;
// the Message Batches' answers go through it too.
func check(req writer.Request, params anthropic.MessageNewParams, msg *anthropic.Message, status int, rl writer.RateLimit) (writer.Result, error) {
	u := msg.Usage
	res := writer.Result{Model: string(msg.Model), FinishReason: string(msg.StopReason), RateLimit: rl, Usage: writer.Usage{
		PromptTokens:     u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		CompletionTokens: u.OutputTokens,
		CachedTokens:     u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheCreationInputTokens,
	}}
	fail := func(kind writer.Kind, m string) (writer.Result, error) {
		return res, &writer.Error{Kind: kind, Provider: provider, Status: status, RateLimit: rl, Message: m}
	}
	switch msg.StopReason {
	case anthropic.StopReasonMaxTokens:
		return fail(writer.Malformed, fmt.Sprintf("anthropic output truncated at max tokens (%d): raise the layer's max tokens or shorten the prompt", params.MaxTokens))
	case anthropic.StopReasonRefusal:
		return fail(writer.InvalidRequest, "anthropic model refused to write this layer: this layer cannot be written by this model as is")
	case anthropic.StopReasonModelContextWindowExceeded:
		return fail(writer.InvalidRequest, "anthropic: the prompt and answer do not fit the model's context window: lower the SQL token budget")
	}
	name := ToolName(req)
	for _, b := range msg.Content {
		if b.Type != "tool_use" || b.Name != name {
			continue
		}
		in := bytes.TrimSpace(b.Input)
		if len(in) == 0 || string(in) == "null" || string(in) == "{}" {
			return fail(writer.Malformed, "anthropic called the tool with an empty input: ask again")
		}
		if !json.Valid(in) || in[0] != '{' {
			return fail(writer.Malformed, fmt.Sprintf("anthropic tool input is not a JSON object (%d bytes): ask again", len(in)))
		}
		res.Content = string(in)
		return res, nil
	}
	return fail(writer.Malformed, fmt.Sprintf("anthropic answered without calling the %s tool (stop reason %q): ask again", name, msg.StopReason))
}
