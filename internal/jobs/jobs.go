// Package jobs runs documentation jobs: a job documents a selection of
// objects, upstream first, many at a time, and survives pauses, cancels,
// budgets and crashes. The jobs and job_items tables are the source of
// truth; River executes one River job per item. Every final effect of an
// item (its documentation version, its state, the job's counters, its
// dependents' readiness, the next items released and the River job's
// completion) commits in one transaction, so counters are exact and a crash
// at any point neither loses nor double counts anything.
//
// Job states and the actions that move them (anything else is ECONFLICT):
//
//	from \ action   pause              resume            cancel      internal
//	queued          pausing | paused   -                 cancelled   running (first item starts)
//	running         pausing | paused   -                 cancelled   completed, failed (fatal writer error),
//	                                                                 pausing|paused (budget_exceeded)
//	pausing         - (already)        running           cancelled   paused (last in-flight item ends)
//	paused          - (already)        running           cancelled
//	completed       -                  -                 -
//	failed          -                  -                 -
//	cancelled       -                  -                 -
//
// pausing means calls are still in flight: no new object starts, the
// objects already writing finish and are kept, and the job becomes paused
// when the last of them ends. Item states: blocked (waiting for upstream
// items) → ready → enqueued (a River job exists) → running → done | partial
// | failed; skipped at creation; cancelled by a cancel or a fatal error. A
// pause or a crash takes a running or enqueued item back to ready.
//
// Manager (manager.go) is a facade; each role is a type of its own that
// holds only what it uses, and all share jobDB (db.go: the job store, the
// clock, price facts, write transactions):
//
//   - creator (create.go): Create and Estimate, resolving, planning
//     through Documenter.PlanBriefs, inserting the job and its items;
//   - queries (queries.go, holder.go): Get, List, the pages of items,
//     errors and calls, Orphaned;
//   - control (control.go): Pause, Resume, Cancel, SetBudget and this
//     process's per-job control state and writer stacks;
//   - events (events.go): Subscribe and the notifications that wake it;
//   - runtime (runtime.go, worker.go, batch.go): the River client and
//     workers, item execution, heartbeat and take-over, batch mode.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/jobstore"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Job statuses (named in the root package, for the packages below jobs).
const (
	StatusQueued    = modeldoc.JobQueued
	StatusRunning   = modeldoc.JobRunning
	StatusPausing   = modeldoc.JobPausing
	StatusPaused    = modeldoc.JobPaused
	StatusCompleted = modeldoc.JobCompleted
	StatusFailed    = modeldoc.JobFailed
	StatusCancelled = modeldoc.JobCancelled
)

// Item statuses.
const (
	ItemBlocked   = "blocked"
	ItemReady     = "ready"
	ItemEnqueued  = "enqueued"
	ItemRunning   = "running"
	ItemDone      = "done"
	ItemPartial   = "partial"
	ItemFailed    = "failed"
	ItemSkipped   = "skipped"
	ItemCancelled = "cancelled"
)

// Status reasons.
const (
	ReasonBudgetExceeded = "budget_exceeded"
	ReasonUserPaused     = "paused_by_user"
	ReasonUserCancelled  = "cancelled_by_user"
)

// Terminal reports whether status is final.
func Terminal(status string) bool {
	return status == StatusCompleted || status == StatusFailed || status == StatusCancelled
}

// Documenter writes one object's documentation. *generate.Service
// satisfies it; tests script it.
type Documenter interface {
	Plan(ctx context.Context, orgID, objectID int64, opts generate.Options) (*generate.Plan, error)
	// PlanBriefs plans the objects of a new job, all at once (a few
	// queries in all, whatever their number): briefs[i] is ids[i]'s input
	// hash and estimate. It is the one way a job is planned, whether it
	// selects one object or 100,000, so that an object's estimate does not
	// depend on what else was selected with it.
	PlanBriefs(ctx context.Context, orgID int64, ids []int64, opts generate.Options, mo generate.ManyOptions) ([]generate.Brief, error)
	// Write returns an unsaved version; layer failures are inside its
	// LayerStatus. The error is only for a fatal writer error or ctx; when
	// ctx ends, the version (if not nil) holds the layers answered so far.
	// It does not call the writer for the layers of plan.Kept.
	Write(ctx context.Context, plan *generate.Plan, w writer.Writer) (*modeldoc.DocVersion, error)
	// Cost prices one call: every call a provider answered is counted at
	// this price, whatever becomes of its object.
	Cost(provider, model string, u writer.Usage) float64
}

// WriterFactory builds a job's writer stack from its provider, model and
// base URL, with a key from the environment or the job's organization
// (never from the job row). It is called once per job per process. An
// error fails the job with its message (a missing key is the classic
// case), so it should say which provider and what to do; only a
// *writer.Error of kind writer.Transient (the key could not be read just
// now: a database error) is not kept, and the item is tried again later.
type WriterFactory func(ctx context.Context, job *Job) (WriterStack, error)

// WriterStack is a job's provider writer and the layer each item's calls
// go through on their way to it, built together so that the layer paces
// against the limits of the key the writer uses.
type WriterStack struct {
	Writer writer.Writer
	// Wrap puts the retry and rate-limit layer around an item's guarded
	// writer g; nil leaves g bare. Every call that reaches g is one real
	// attempt, which g logs and refuses once the job is paused, cancelled
	// or out of budget (with a writer.InvalidRequest error, which must not
	// be retried).
	Wrap func(g writer.Writer) writer.Writer
}

// FixedWriter is a WriterFactory that gives every job w, bare: for tests
// and benchmarks that call no provider.
func FixedWriter(w writer.Writer) WriterFactory {
	return func(context.Context, *Job) (WriterStack, error) { return WriterStack{Writer: w}, nil }
}

// Selection says which objects a job documents. Exactly one of the ways
// is used: IDs, Names (exact), Pattern (a glob on the name, "*" and "?",
// e.g. "stg_*"), or ProjectID alone (the whole project). ProjectID also
// narrows names and patterns to one project.
type Selection struct {
	ObjectIDs []int64  `json:"object_ids,omitempty"`
	Names     []string `json:"names,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
	ProjectID int64    `json:"project_id,omitempty"`
	// Types limits the selection to these object types; empty means
	// models, snapshots and seeds (sources have no SQL to explain).
	Types []modeldoc.ObjectType `json:"types,omitempty"`
}

// Options are the job's options as stored in its row.
type Options struct {
	Selection Selection `json:"selection"`
	// SkipExisting skips objects that have current documentation.
	SkipExisting bool `json:"skip_existing,omitempty"`
	// OnlyStale skips objects whose current documentation is not stale by
	// the store's one definition (store.StaleIDs, the same as `objects list
	// --stale`): it documents the undocumented and the stale ones.
	OnlyStale bool `json:"only_stale,omitempty"`
	// RegenerateAll documents every selected object whatever it has.
	RegenerateAll bool             `json:"regenerate_all,omitempty"`
	Layers        []modeldoc.Layer `json:"layers,omitempty"`
	// MaxRetries is how many times a call that failed with a transient
	// error is tried again, from 0 (never) to 20. Entry points default it
	// to DefaultMaxRetries.
	MaxRetries int `json:"max_retries"`
	// Concurrency is the window of objects in flight, from 1 to
	// MaxConcurrency. Manager.Create fills a zero with the Manager's
	// default (8); the CLI and the API default it themselves, so that a
	// zero a user typed is refused.
	Concurrency int    `json:"concurrency"`
	Provider    string `json:"provider"`
	Model       string `json:"model"`
	BaseURL     string `json:"base_url,omitempty"`
	// JSONMode asks OpenAI-compatible servers for JSON mode instead of
	// structured outputs.
	JSONMode bool `json:"json_mode,omitempty"`
	// ReasoningEffort is the reasoning_effort asked of a reasoning model
	// ("" means writer.DefaultReasoningEffort for OpenAI's reasoning
	// models); one of writer.ReasoningEfforts.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
	// Calls is how each object's layers are split into requests:
	// "combined" (the default, also ""): the model-level layers in one
	// request and the columns in another; "per-layer": one request per
	// layer, as before, to compare. The offline writer is always per layer.
	Calls string `json:"calls,omitempty"`
	// Budget in USD; 0 means none.
	Budget float64 `json:"budget,omitempty"`
	// RPM and TPM are the limits the CLI was given, kept for the resume.
	RPM int `json:"rpm,omitempty"`
	TPM int `json:"tpm,omitempty"`
	// PriceIn and PriceOut are the model's price the user gave, in USD per
	// million prompt and completion tokens (both or neither): estimates and
	// calls are priced with it instead of the price table's. It is how a
	// budget holds on a model the table does not know.
	PriceIn  *float64 `json:"price_in,omitempty"`
	PriceOut *float64 `json:"price_out,omitempty"`
	// Batch sends the job's calls through the provider's batch API (half
	// the price, answered within 24 hours) instead of one request each;
	// see batch.go. OpenAI and Anthropic only.
	Batch bool `json:"batch,omitempty"`
}

// GivenPrice is the price the user gave, or nil.
func (o *Options) GivenPrice() *cost.Price {
	if o.PriceIn == nil || o.PriceOut == nil {
		return nil
	}
	p := cost.Given(*o.PriceIn, *o.PriceOut)
	return &p
}

// CreateRequest is what Create and Estimate take.
type CreateRequest struct {
	Options
	TriggeredByUserID string `json:"triggered_by_user_id,omitempty"`
	TriggeredByEmail  string `json:"triggered_by_email,omitempty"`
}

// LayerCount counts one layer's outcomes over a job.
type LayerCount = jobstore.LayerCount

// Job is a job row with what is derived from it.
type Job struct {
	ID           int64   `json:"id"`
	OrgID        int64   `json:"org_id"`
	ProjectID    int64   `json:"project_id,omitempty"`
	Status       string  `json:"status"`
	StatusReason string  `json:"status_reason,omitempty"`
	Message      string  `json:"message,omitempty"`
	Options      Options `json:"options"`

	Total     int64 `json:"total"`
	Processed int64 `json:"processed"` // done + partial
	Partial   int64 `json:"partial"`
	Failed    int64 `json:"failed"`
	Skipped   int64 `json:"skipped"`
	Cancelled int64 `json:"cancelled"`
	InFlight  int64 `json:"in_flight"`

	PromptTokens              int64   `json:"prompt_tokens"`
	CachedTokens              int64   `json:"cached_tokens"`
	CompletionTokens          int64   `json:"completion_tokens"`
	EstimatedCost             float64 `json:"estimated_cost"`
	EstimatedPromptTokens     int64   `json:"estimated_prompt_tokens"`
	EstimatedCompletionTokens int64   `json:"estimated_completion_tokens"`
	ActualCost                float64 `json:"actual_cost"`
	// CacheSaved is what the cached prompt tokens saved (USD): their
	// price as plain input less their cached price, at the job's price
	// now. 0 when the price is unknown or given (a given price has no
	// cached rate).
	CacheSaved float64 `json:"cache_saved"`
	Budget     float64 `json:"budget,omitempty"`
	// PriceKnown is false when no price is known for the job's model: its
	// costs are then 0, which means unknown, not free.
	PriceKnown bool `json:"price_known"`

	Layers map[modeldoc.Layer]LayerCount `json:"layers,omitempty"`

	// Percentage is (processed + failed + skipped) / total × 100.
	Percentage float64 `json:"percentage"`
	// AvgItemMS is the average wall time of a finished object.
	AvgItemMS int64 `json:"avg_item_ms"`
	// ETASeconds is remaining × average / effective parallelism; -1 when
	// nothing has finished yet to measure from.
	ETASeconds float64 `json:"eta_seconds"`
	// Running names the objects being written now (filled by Get).
	Running []string `json:"running,omitempty"`
	// Batch is the progress of a batch-mode job's provider batches
	// (filled by Get); nil for an interactive job.
	Batch *BatchProgress `json:"batch,omitempty"`

	TriggeredByUserID string     `json:"triggered_by_user_id,omitempty"`
	TriggeredByEmail  string     `json:"triggered_by_email,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	StartedAt         *time.Time `json:"started_at,omitempty"`
	FinishedAt        *time.Time `json:"finished_at,omitempty"`
	UpdatedAt         time.Time  `json:"updated_at"`

	itemDurationMS int64
}

// Item is one object of a job.
type Item = jobstore.Item

// ErrorEntry is one row of a job's append-only error log.
type ErrorEntry = jobstore.ErrorEntry

// GenerationLog is one call: one layer, one attempt.
type GenerationLog = jobstore.GenerationLog

// Estimate is what a job would do and cost, before anything runs.
type Estimate struct {
	Total                     int64   `json:"total"`
	ToDocument                int64   `json:"to_document"`
	Skipped                   int64   `json:"skipped"`
	Calls                     int64   `json:"calls"`
	EstimatedPromptTokens     int64   `json:"estimated_prompt_tokens"`
	EstimatedCompletionTokens int64   `json:"estimated_completion_tokens"`
	EstimatedCost             float64 `json:"estimated_cost"`
	// ProjectID is the project of the selected objects, 0 when they are of
	// several projects.
	ProjectID int64 `json:"project_id,omitempty"`
	// PriceKnown is false when no price is known for the model (not in the
	// price table, none given): EstimatedCost is then 0, which means
	// unknown, not free, and a budget is refused.
	PriceKnown bool `json:"price_known"`
	// PriceGiven is true when the price is the one the options gave.
	PriceGiven bool   `json:"price_given,omitempty"`
	Provider   string `json:"provider"`
	Model      string `json:"model"`
	// EstimatedBatchCost is EstimatedCost at the model's batch prices
	// (both are shown); BatchPriceKnown is false when the price table has
	// no batch price for the model (a batch job is then priced at its
	// interactive price, never below what it costs).
	EstimatedBatchCost float64 `json:"estimated_batch_cost"`
	BatchPriceKnown    bool    `json:"batch_price_known"`
	// Extrapolated counts the objects whose estimate was extrapolated from
	// a sample's exact prompts (selections larger than
	// generate.DefaultExactLimit); the others were counted exactly.
	Extrapolated int64 `json:"extrapolated,omitempty"`
}

// ListFilter filters List. Limit defaults to 50.
type ListFilter struct {
	Status string
	Limit  int
	Offset int
}

// EventKind names a job event.
type EventKind string

const (
	EventProgress  EventKind = "progress"
	EventCompleted EventKind = "completed"
	EventFailed    EventKind = "failed"
	EventPaused    EventKind = "paused"
	EventCancelled EventKind = "cancelled"
)

// Event carries the job as it is after a change.
type Event struct {
	Kind EventKind `json:"kind"`
	Job  *Job      `json:"job"`
}

func eventKind(status string) EventKind {
	switch status {
	case StatusCompleted:
		return EventCompleted
	case StatusFailed:
		return EventFailed
	case StatusPaused:
		return EventPaused
	case StatusCancelled:
		return EventCancelled
	}
	return EventProgress
}

// Limits of the options, checked by Validate.
const (
	DefaultMaxRetries  = 3
	MaxMaxRetries      = 20
	DefaultConcurrency = 8
	MaxConcurrency     = 1000
	// MaxBudget is the largest budget a job takes, in USD: a larger one is
	// a typo rather than a limit.
	MaxBudget = 1e6
)

// Validate checks the options as a user gave them, before any default is
// filled: the CLI, the API and Manager.Create all call it, so that a value
// is refused the same way wherever it comes from. Errors: EINVALID, with a
// message that names the option and the values it takes.
func (o *Options) Validate() error {
	s := o.Selection
	ways := 0
	if len(s.ObjectIDs) > 0 {
		ways++
	}
	if len(s.Names) > 0 {
		ways++
	}
	if s.Pattern != "" {
		ways++
		if _, err := path.Match(s.Pattern, ""); err != nil {
			return modeldoc.Errorf(modeldoc.EINVALID, "The name pattern %q is malformed: use * and ? as wildcards, e.g. \"stg_*\".", s.Pattern)
		}
	}
	if ways > 1 {
		return modeldoc.Errorf(modeldoc.EINVALID, "Choose objects one way only: ids, names, a name pattern, or a project.")
	}
	if ways == 0 && s.ProjectID == 0 {
		return modeldoc.Errorf(modeldoc.EINVALID, "No objects selected: give object ids, names, a name pattern, or a project.")
	}
	for _, t := range s.Types {
		if !t.Valid() {
			return modeldoc.Errorf(modeldoc.EINVALID, "Unknown object type %q: choose from model, source, seed, snapshot.", t)
		}
	}
	seen := map[modeldoc.Layer]bool{}
	for _, l := range o.Layers {
		if _, err := modeldoc.ParseLayer(string(l)); err != nil {
			return err
		}
		if seen[l] {
			return modeldoc.Errorf(modeldoc.EINVALID, "The layer %q is listed twice: give each layer once.", l)
		}
		seen[l] = true
	}
	if o.SkipExisting && o.RegenerateAll || o.OnlyStale && o.RegenerateAll {
		return modeldoc.Errorf(modeldoc.EINVALID, "regenerateAll documents everything again: it cannot be combined with skipExisting or onlyStale.")
	}
	if o.MaxRetries < 0 || o.MaxRetries > MaxMaxRetries {
		return modeldoc.Errorf(modeldoc.EINVALID, "max_retries is %d: give a number from 0 (no retry) to %d.", o.MaxRetries, MaxMaxRetries)
	}
	if o.Concurrency < 1 || o.Concurrency > MaxConcurrency {
		return modeldoc.Errorf(modeldoc.EINVALID, "concurrency is %d: give a number from 1 to %d.", o.Concurrency, MaxConcurrency)
	}
	if err := validBudget(o.Budget); err != nil {
		return err
	}
	if o.RPM < 0 {
		return modeldoc.Errorf(modeldoc.EINVALID, "rpm is %d: give the requests-per-minute limit, or 0 to learn it from the provider.", o.RPM)
	}
	if o.TPM < 0 {
		return modeldoc.Errorf(modeldoc.EINVALID, "tpm is %d: give the tokens-per-minute limit, or 0 to learn it from the provider.", o.TPM)
	}
	if err := cost.CheckGiven(o.PriceIn, o.PriceOut, "price_in", "price_out"); err != nil {
		return err
	}
	if err := writer.CheckReasoningEffort(o.ReasoningEffort); err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "reasoningEffort: %v.", err)
	}
	if err := prompt.CheckCalls(o.Calls); err != nil {
		return err
	}
	if o.Batch && o.Provider != "" && o.Provider != "openai" && o.Provider != "anthropic" {
		return modeldoc.Errorf(modeldoc.EINVALID, "batch mode sends calls through a provider's batch API: use provider openai or anthropic, not %q.", o.Provider)
	}
	return nil
}

// validBudget refuses a budget that is not a number of USD from 0 (none)
// to MaxBudget: Inf and NaN cannot be stored as JSON, and a negative one
// would stop every call.
func validBudget(usd float64) error {
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 || usd > MaxBudget {
		return modeldoc.Errorf(modeldoc.EINVALID, "A budget of %v USD is not allowed: give an amount from 0 (no budget) to %.0f.", usd, float64(MaxBudget))
	}
	return nil
}

// encode is the options as stored in the job row. An error (options that
// JSON cannot hold) refuses the job: an empty column would break every
// listing of the organization's jobs.
func (o Options) encode() (string, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("jobs: encode options: %w", err)
	}
	return string(b), nil
}
