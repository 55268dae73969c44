// Package writer declares what every documentation writer (an LLM provider
// or the offline writer) does: answer one layer's request with JSON, report
// the tokens it used and the rate-limit facts the provider sent, and
// classify every failure so the orchestrator knows whether to wait, retry,
// give up on a layer or stop the whole job.
package writer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/modeldoc/modeldoc"
)

// Writer writes one layer of documentation per call. Implementations must
// not retry on their own: the orchestrator owns retries and waits.
type Writer interface {
	// Provider is the provider's name: "openai", "anthropic" or "offline".
	Provider() string
	// Write answers req. Every error it returns is an *Error.
	Write(ctx context.Context, req Request) (Result, error)
}

// Request is one layer's call. System and User are the exact prompts an
// LLM receives; Subject holds the facts they were built from, which is what
// the offline writer reads instead.
type Request struct {
	Layer      modeldoc.Layer
	Model      string
	System     string
	User       string
	SchemaName string
	Schema     json.RawMessage // JSON Schema the answer must satisfy
	// MaxTokens caps the answer, reasoning included: for a request with
	// a ReasoningEffort it holds the layer's cap plus the effort's
	// ReasoningAllowance.
	MaxTokens int
	// ReasoningEffort is sent as reasoning_effort when set; see
	// ReasoningEffortFor.
	ReasoningEffort string
	Subject         *Subject
	// Layers lists the layers a combined request asks for in one answer
	// (a JSON object with one key per layer); nil for a one-layer request,
	// whose layer is Layer. A combined request's Layer is only its name
	// in logs ("model_layers"): a writer that cannot answer several
	// layers at once (the offline writer) is never sent one.
	Layers []modeldoc.Layer
	// Columns lists the columns a column_descriptions request asks for
	// by name, the ones nobody documented; when the model's column list
	// is not known in full, the request also asks for every other column
	// its SQL returns.
	Columns []string
	// CachePrefix is how many bytes at the start of User every request for
	// the same object shares (the model's context, which the prompt puts
	// first); with System before it, it is the prefix a provider's prompt
	// cache can serve to the object's later calls. 0 when nothing is shared.
	CachePrefix int
}

// CacheKey is what an OpenAI request sends as prompt_cache_key: a name
// for the prefix it shares with other requests, so that they reach the
// machine that cached it. OpenAI reads a json_schema response format
// before the system prompt, so requests whose schemas differ share
// nothing, and the calls of one object (a combined call, column calls)
// differ from their first token; what requests do share is a schema and
// the system prompt, across every object (and for the calls of one
// schema, also the object's context). The key names that: a hash of the
// schema and the system prompt, never of the object, which a per-object
// key would only cut off from the others' cache (TestCacheCostReport
// measured it). A hash says nothing of the project and fits OpenAI's 64
// characters. "" for a request without a schema.
func (r Request) CacheKey() string {
	if len(r.Schema) == 0 {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(r.SchemaName))
	h.Write([]byte{0})
	h.Write(r.Schema)
	h.Write([]byte{0})
	h.Write([]byte(r.System))
	return "modeldoc-" + hex.EncodeToString(h.Sum(nil))[:40]
}

// Subject is the model being documented with its lineage.
type Subject struct {
	Object     modeldoc.Object // with Columns
	Upstream   []Neighbor
	Downstream []Neighbor
	// Dependents counts every object downstream of Object, directly or
	// through others (what a change can reach); 0 when not known.
	// Downstream lists the direct ones.
	Dependents int
	// Exposures are the project's declared uses (dashboards, notebooks,
	// applications) that read Object or anything downstream of it; one
	// reads Object directly when its Reads holds Object.ID.
	Exposures []modeldoc.ExposureUse
	// Lineage says where each of Object's columns comes from as its SQL
	// shows it, by lower-case column name; nil when not worked out.
	Lineage map[string]ColumnSource
	// OutputColumns counts the columns the SQL returns as far as its
	// lineage shows (stars resolved through CTEs and upstream column
	// lists); 0 when not worked out. It sizes the column layer's budget
	// when the project lists fewer columns than the model has.
	OutputColumns int
	// Nearby are objects 2 to 3 hops away in the lineage, up or down,
	// nearest first: where the prompt's style examples come from once the
	// direct neighbours' are used up. Not part of the input hash.
	Nearby []Neighbor
}

// ColumnSource is where one output column comes from: an upstream's
// column read unchanged (Model and Column), or an expression (Expr).
type ColumnSource struct {
	Model, Column, Expr string
}

// Neighbor is an object next to the subject in the lineage, with its
// current executive summary when it has one, so documentation stays
// consistent along the lineage.
type Neighbor struct {
	Object  modeldoc.Object // with Columns; SQL may be empty
	Summary string
	// SummaryReview is the summary's review state (modeldoc.Review*).
	SummaryReview string
	// Generated holds the neighbour's machine-written column descriptions
	// that no reviewer rejected, by lower-cased column name; prompts show
	// them after the project's own text, labelled with their review state.
	Generated map[string]GeneratedText
}

// GeneratedText is a machine-written description and its review state
// (modeldoc.ReviewDraft, ReviewAccepted or ReviewEdited).
type GeneratedText struct {
	Text, Review string
}

// Result is a successful answer.
type Result struct {
	Content      string // the JSON text of the answer
	Model        string // the model that answered, as the provider named it
	Usage        Usage
	FinishReason string
	RateLimit    RateLimit
}

// Usage counts tokens as the provider reported them. CachedTokens is the
// part of PromptTokens served from the provider's prompt cache, and
// ReasoningTokens the part of CompletionTokens a reasoning model spent
// thinking: OpenAI counts (and bills) them inside completion_tokens, so
// prices apply to CompletionTokens alone and never add them again.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens,omitempty"`
	// CacheWriteTokens is the part of PromptTokens written to the
	// provider's cache (Anthropic's cache_creation_input_tokens, OpenAI's
	// cache_write_tokens), which some models bill above the input price.
	CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
}

// Add returns u + o.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.PromptTokens + o.PromptTokens, u.CompletionTokens + o.CompletionTokens, u.CachedTokens + o.CachedTokens, u.ReasoningTokens + o.ReasoningTokens, u.CacheWriteTokens + o.CacheWriteTokens}
}

// RateLimit is what the provider said about its limits on this response.
// Zero values mean the provider did not say.
type RateLimit struct {
	LimitRequests     int64
	LimitTokens       int64
	RemainingRequests int64
	RemainingTokens   int64
	ResetRequests     time.Duration
	ResetTokens       time.Duration
	RetryAfter        time.Duration
	// Known is true when any x-ratelimit-* header was present.
	Known bool
}

// Kind classifies a failed call. The orchestrator acts on the kind alone.
type Kind string

const (
	// RateLimited: wait RetryAfter (or back off) and call again; not a
	// failed attempt.
	RateLimited Kind = "rate_limited"
	// QuotaExhausted: the account has no credit; stop the job.
	QuotaExhausted Kind = "quota_exhausted"
	// AuthFailed: the key is missing, malformed or rejected; stop the job.
	AuthFailed Kind = "auth_failed"
	// InvalidRequest: the request cannot succeed as is (context too long,
	// content refused, unknown model); fail the layer, do not retry.
	InvalidRequest Kind = "invalid_request"
	// Transient: 5xx, timeout, connection reset; retry with backoff.
	Transient Kind = "transient"
	// Malformed: the answer was not valid JSON for the schema, or was cut
	// short; ask again once with the validation error.
	Malformed Kind = "malformed_output"
	// ReasoningExhausted: a reasoning model spent its whole output cap on
	// reasoning and answered nothing (empty content, finish reason
	// "length"). Asking again as is would fail the same way and be billed
	// again; the retry layer asks once more with a larger cap.
	ReasoningExhausted Kind = "reasoning_exhausted"
)

// Fatal reports whether an error of this kind must stop the whole job:
// every further call would fail the same way and some would cost money.
func (k Kind) Fatal() bool { return k == QuotaExhausted || k == AuthFailed }

// Error is a classified failure of one call.
type Error struct {
	Kind       Kind
	Provider   string
	Status     int           // HTTP status, 0 when there was no response
	Message    string        // what happened, in words a user can act on; never a key
	RetryAfter time.Duration // for RateLimited, when the provider said
	RateLimit  RateLimit
	Err        error // the underlying error, for logs
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: %s (HTTP %d): %s", e.Provider, e.Kind, e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Provider, e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err's first *Error, or Transient for an
// unclassified error (a bug in a writer should not stop a job for good),
// and "" for nil.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Transient
}
