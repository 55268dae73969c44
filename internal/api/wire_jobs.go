package api

import (
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

// The API's wire types for jobs. They are the API's own, not the job
// engine's: a field added to a jobs struct reaches a client only when it
// is added here, to openapi.json (TestWireMatchesOpenAPI) and to a
// mapping below. Keys, omitempty and nil-ness are those the API has
// always answered.

// selection is the selection of a job request, and of a job's options.
type selection struct {
	ObjectIDs []int64               `json:"object_ids,omitempty"`
	Names     []string              `json:"names,omitempty"`
	Pattern   string                `json:"pattern,omitempty"`
	ProjectID int64                 `json:"project_id,omitempty"`
	Types     []modeldoc.ObjectType `json:"types,omitempty"`
}

func (s selection) jobs() jobs.Selection {
	return jobs.Selection{ObjectIDs: s.ObjectIDs, Names: s.Names, Pattern: s.Pattern, ProjectID: s.ProjectID, Types: s.Types}
}

func selectionOf(s jobs.Selection) selection {
	return selection{ObjectIDs: s.ObjectIDs, Names: s.Names, Pattern: s.Pattern, ProjectID: s.ProjectID, Types: s.Types}
}

// jobRequest is the body of POST /jobs and POST /jobs/estimate: the
// options of a job. Who triggered it comes from the token, never from the
// body.
type jobRequest struct {
	Selection     selection        `json:"selection"`
	SkipExisting  bool             `json:"skip_existing"`
	OnlyStale     bool             `json:"only_stale"`
	RegenerateAll bool             `json:"regenerate_all"`
	Layers        []modeldoc.Layer `json:"layers"`
	// MaxRetries and Concurrency are pointers so that an absent field
	// takes the default and a zero that was sent is what it says: no
	// retry, or a concurrency that Validate refuses.
	MaxRetries  *int    `json:"max_retries"`
	Concurrency *int    `json:"concurrency"`
	Provider    string  `json:"provider"`
	Model       string  `json:"model"`
	BaseURL     string  `json:"base_url"`
	JSONMode    bool    `json:"json_mode"`
	Budget      float64 `json:"budget"`
	RPM         int     `json:"rpm"`
	TPM         int     `json:"tpm"`
	// ReasoningEffort is asked of reasoning models; "" means the default.
	ReasoningEffort string `json:"reasoning_effort"`
	// PriceIn and PriceOut price a model the price table does not know, in
	// USD per million prompt and completion tokens (both or neither).
	PriceIn  *float64 `json:"price_in"`
	PriceOut *float64 `json:"price_out"`
	// Batch sends the calls through the provider's batch API.
	Batch bool `json:"batch"`
}

// budgetRequest is the body of POST /jobs/{id}/budget, and the optional
// body of POST /jobs/{id}/resume.
type budgetRequest struct {
	Budget *float64 `json:"budget"`
}

// jobOptions are a job's options as its answers show them.
type jobOptions struct {
	Selection       selection        `json:"selection"`
	SkipExisting    bool             `json:"skip_existing,omitempty"`
	OnlyStale       bool             `json:"only_stale,omitempty"`
	RegenerateAll   bool             `json:"regenerate_all,omitempty"`
	Layers          []modeldoc.Layer `json:"layers,omitempty"`
	MaxRetries      int              `json:"max_retries"`
	Concurrency     int              `json:"concurrency"`
	Provider        string           `json:"provider"`
	Model           string           `json:"model"`
	BaseURL         string           `json:"base_url,omitempty"`
	JSONMode        bool             `json:"json_mode,omitempty"`
	ReasoningEffort string           `json:"reasoning_effort,omitempty"`
	Calls           string           `json:"calls,omitempty"`
	Budget          float64          `json:"budget,omitempty"`
	RPM             int              `json:"rpm,omitempty"`
	TPM             int              `json:"tpm,omitempty"`
	PriceIn         *float64         `json:"price_in,omitempty"`
	PriceOut        *float64         `json:"price_out,omitempty"`
	Batch           bool             `json:"batch,omitempty"`
}

func jobOptionsOf(o jobs.Options) jobOptions {
	return jobOptions{
		Selection: selectionOf(o.Selection), SkipExisting: o.SkipExisting, OnlyStale: o.OnlyStale, RegenerateAll: o.RegenerateAll,
		Layers: o.Layers, MaxRetries: o.MaxRetries, Concurrency: o.Concurrency, Provider: o.Provider, Model: o.Model,
		BaseURL: o.BaseURL, JSONMode: o.JSONMode, ReasoningEffort: o.ReasoningEffort, Calls: o.Calls, Budget: o.Budget,
		RPM: o.RPM, TPM: o.TPM, PriceIn: o.PriceIn, PriceOut: o.PriceOut, Batch: o.Batch,
	}
}

// layerCount counts one layer's outcomes over a job.
type layerCount struct {
	OK     int64 `json:"ok"`
	Failed int64 `json:"failed"`
}

// batchProgress is a batch-mode job's provider batches.
type batchProgress struct {
	Batches   int64      `json:"batches"`
	Open      int64      `json:"open"`
	Submitted int64      `json:"submitted"`
	Completed int64      `json:"completed"`
	Failed    int64      `json:"failed"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// job is the Job of openapi.json: every job answer, and the data of
// every event of a job's stream.
type job struct {
	ID           int64      `json:"id"`
	OrgID        int64      `json:"org_id"`
	ProjectID    int64      `json:"project_id,omitempty"`
	Status       string     `json:"status"`
	StatusReason string     `json:"status_reason,omitempty"`
	Message      string     `json:"message,omitempty"`
	Options      jobOptions `json:"options"`

	Total     int64 `json:"total"`
	Processed int64 `json:"processed"`
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
	CacheSaved                float64 `json:"cache_saved"`
	Budget                    float64 `json:"budget,omitempty"`
	PriceKnown                bool    `json:"price_known"`

	Layers map[modeldoc.Layer]layerCount `json:"layers,omitempty"`

	Percentage float64        `json:"percentage"`
	AvgItemMS  int64          `json:"avg_item_ms"`
	ETASeconds float64        `json:"eta_seconds"`
	Running    []string       `json:"running,omitempty"`
	Batch      *batchProgress `json:"batch,omitempty"`

	TriggeredByUserID string     `json:"triggered_by_user_id,omitempty"`
	TriggeredByEmail  string     `json:"triggered_by_email,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	StartedAt         *time.Time `json:"started_at,omitempty"`
	FinishedAt        *time.Time `json:"finished_at,omitempty"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

func jobOf(j *jobs.Job) *job {
	if j == nil {
		return nil
	}
	out := &job{
		ID: j.ID, OrgID: j.OrgID, ProjectID: j.ProjectID, Status: j.Status, StatusReason: j.StatusReason, Message: j.Message,
		Options: jobOptionsOf(j.Options),
		Total:   j.Total, Processed: j.Processed, Partial: j.Partial, Failed: j.Failed, Skipped: j.Skipped, Cancelled: j.Cancelled, InFlight: j.InFlight,
		PromptTokens: j.PromptTokens, CachedTokens: j.CachedTokens, CompletionTokens: j.CompletionTokens,
		EstimatedCost: j.EstimatedCost, EstimatedPromptTokens: j.EstimatedPromptTokens, EstimatedCompletionTokens: j.EstimatedCompletionTokens,
		ActualCost: j.ActualCost, CacheSaved: j.CacheSaved, Budget: j.Budget, PriceKnown: j.PriceKnown,
		Percentage: j.Percentage, AvgItemMS: j.AvgItemMS, ETASeconds: j.ETASeconds, Running: j.Running,
		TriggeredByUserID: j.TriggeredByUserID, TriggeredByEmail: j.TriggeredByEmail,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, UpdatedAt: j.UpdatedAt,
	}
	if j.Layers != nil {
		out.Layers = make(map[modeldoc.Layer]layerCount, len(j.Layers))
		for l, c := range j.Layers {
			out.Layers[l] = layerCount{OK: c.OK, Failed: c.Failed}
		}
	}
	if b := j.Batch; b != nil {
		out.Batch = &batchProgress{Batches: b.Batches, Open: b.Open, Submitted: b.Submitted, Completed: b.Completed, Failed: b.Failed, ExpiresAt: b.ExpiresAt}
	}
	return out
}

// jobAnswer maps a job answer of the job manager, keeping its error.
func jobAnswer(j *jobs.Job, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return jobOf(j), nil
}

// estimate is what a job would do and cost.
type estimate struct {
	Total                     int64   `json:"total"`
	ToDocument                int64   `json:"to_document"`
	Skipped                   int64   `json:"skipped"`
	Calls                     int64   `json:"calls"`
	EstimatedPromptTokens     int64   `json:"estimated_prompt_tokens"`
	EstimatedCompletionTokens int64   `json:"estimated_completion_tokens"`
	EstimatedCost             float64 `json:"estimated_cost"`
	ProjectID                 int64   `json:"project_id,omitempty"`
	PriceKnown                bool    `json:"price_known"`
	PriceGiven                bool    `json:"price_given,omitempty"`
	Provider                  string  `json:"provider"`
	Model                     string  `json:"model"`
	EstimatedBatchCost        float64 `json:"estimated_batch_cost"`
	BatchPriceKnown           bool    `json:"batch_price_known"`
	Extrapolated              int64   `json:"extrapolated,omitempty"`
}

func estimateOf(e *jobs.Estimate) *estimate {
	if e == nil {
		return nil
	}
	return &estimate{
		Total: e.Total, ToDocument: e.ToDocument, Skipped: e.Skipped, Calls: e.Calls,
		EstimatedPromptTokens: e.EstimatedPromptTokens, EstimatedCompletionTokens: e.EstimatedCompletionTokens, EstimatedCost: e.EstimatedCost,
		ProjectID: e.ProjectID, PriceKnown: e.PriceKnown, PriceGiven: e.PriceGiven, Provider: e.Provider, Model: e.Model,
		EstimatedBatchCost: e.EstimatedBatchCost, BatchPriceKnown: e.BatchPriceKnown, Extrapolated: e.Extrapolated,
	}
}

// jobItem is one object of a job.
type jobItem struct {
	ID               int64      `json:"id"`
	JobID            int64      `json:"job_id"`
	ObjectID         int64      `json:"object_id"`
	ObjectName       string     `json:"object_name"`
	Position         int        `json:"position"`
	Status           string     `json:"status"`
	SkipReason       string     `json:"skip_reason,omitempty"`
	DepsRemaining    int        `json:"deps_remaining"`
	Attempts         int        `json:"attempts"`
	PromptTokens     int64      `json:"prompt_tokens"`
	CompletionTokens int64      `json:"completion_tokens"`
	CachedTokens     int64      `json:"cached_tokens"`
	EstimatedCost    float64    `json:"estimated_cost"`
	Cost             float64    `json:"cost"`
	StartedAt        *time.Time `json:"started_at,omitempty"`
	FinishedAt       *time.Time `json:"finished_at,omitempty"`
	DurationMS       int64      `json:"duration_ms"`
	LastError        string     `json:"last_error,omitempty"`
	MissingLayers    []string   `json:"missing_layers,omitempty"`
	DocVersionID     int64      `json:"doc_version_id,omitempty"`
}

func jobItemOf(it jobs.Item) jobItem {
	return jobItem{
		ID: it.ID, JobID: it.JobID, ObjectID: it.ObjectID, ObjectName: it.ObjectName, Position: it.Position, Status: it.Status,
		SkipReason: it.SkipReason, DepsRemaining: it.DepsRemaining, Attempts: it.Attempts,
		PromptTokens: it.PromptTokens, CompletionTokens: it.CompletionTokens, CachedTokens: it.CachedTokens,
		EstimatedCost: it.EstimatedCost, Cost: it.Cost, StartedAt: it.StartedAt, FinishedAt: it.FinishedAt, DurationMS: it.DurationMS,
		LastError: it.LastError, MissingLayers: it.MissingLayers, DocVersionID: it.DocVersionID,
	}
}

// errorEntry is one row of a job's error log.
type errorEntry struct {
	ID         int64     `json:"id"`
	JobID      int64     `json:"job_id"`
	ItemID     int64     `json:"item_id,omitempty"`
	ObjectID   int64     `json:"object_id,omitempty"`
	ObjectName string    `json:"object_name,omitempty"`
	Layer      string    `json:"layer,omitempty"`
	ErrorClass string    `json:"error_class"`
	Message    string    `json:"message"`
	Attempt    int       `json:"attempt"`
	CreatedAt  time.Time `json:"created_at"`
}

func errorEntryOf(e jobs.ErrorEntry) errorEntry {
	return errorEntry{
		ID: e.ID, JobID: e.JobID, ItemID: e.ItemID, ObjectID: e.ObjectID, ObjectName: e.ObjectName, Layer: e.Layer,
		ErrorClass: e.ErrorClass, Message: e.Message, Attempt: e.Attempt, CreatedAt: e.CreatedAt,
	}
}

// generationLog is one call of a job: one layer, one attempt.
type generationLog struct {
	ID               int64     `json:"id"`
	JobID            int64     `json:"job_id"`
	ItemID           int64     `json:"item_id"`
	ObjectID         int64     `json:"object_id"`
	Layer            string    `json:"layer"`
	Attempt          int       `json:"attempt"`
	Status           string    `json:"status"`
	Model            string    `json:"model,omitempty"`
	PromptTokens     int64     `json:"prompt_tokens"`
	CompletionTokens int64     `json:"completion_tokens"`
	CachedTokens     int64     `json:"cached_tokens"`
	ReasoningTokens  int64     `json:"reasoning_tokens"`
	Cost             float64   `json:"cost"`
	DurationMS       int64     `json:"duration_ms"`
	FinishReason     string    `json:"finish_reason,omitempty"`
	ErrorClass       string    `json:"error_class,omitempty"`
	Error            string    `json:"error,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
}

func generationLogOf(l jobs.GenerationLog) generationLog {
	return generationLog{
		ID: l.ID, JobID: l.JobID, ItemID: l.ItemID, ObjectID: l.ObjectID, Layer: l.Layer, Attempt: l.Attempt, Status: l.Status,
		Model: l.Model, PromptTokens: l.PromptTokens, CompletionTokens: l.CompletionTokens, CachedTokens: l.CachedTokens,
		ReasoningTokens: l.ReasoningTokens, Cost: l.Cost, DurationMS: l.DurationMS, FinishReason: l.FinishReason,
		ErrorClass: l.ErrorClass, Error: l.Error, CreatedAt: l.CreatedAt,
	}
}

// mapSlice maps a slice, keeping nil as nil: a nil slice answers null
// where an empty one answers [], and the wire keeps the difference.
func mapSlice[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}
