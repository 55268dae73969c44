// Package jobstore is the job engine's storage: every statement on jobs,
// job_items, job_item_deps, job_layer_counts, job_errors, generation_logs,
// job_batches, batch_calls and River's job rows that internal/jobs runs
// goes through Store, as River's drivers put its SQL behind riverdriver.
// One implementation (New) runs on database/sql for SQLite and
// PostgreSQL over the store's handles, so that SQLite keeps its
// prepared statements (internal/sqlitestmt) and its one write connection.
// jobstoretest is the conformance suite every implementation passes.
package jobstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/modeldoc/modeldoc"
)

// ErrNotFound is returned by the methods that read one row when there is
// none.
var ErrNotFound = errors.New("jobstore: not found")

// Store is the job store: Executor on the store's handles (reads on the
// read handle, writes on the write handle), and transactions.
type Store interface {
	Executor
	// Begin opens a write transaction. On SQLite the write handle has one
	// connection: a goroutine must never hold two.
	Begin(ctx context.Context) (*Tx, error)
	// Within is the job store in tx, a write transaction begun elsewhere
	// on the same database (the store's), which its owner commits.
	Within(tx *sql.Tx) *Tx
	// RiverHandle is the handle River's driver must share: on SQLite the
	// store's one write connection, so that River's statements and the
	// items' transactions queue in database/sql rather than on SQLite's
	// lock.
	RiverHandle() *sql.DB
	// LockRiverMigration holds PostgreSQL's advisory lock that serializes
	// River's migrations between processes until unlock is called.
	LockRiverMigration(ctx context.Context) (unlock func(), err error)
	IsPostgres() bool
	// DeleteGenerationLogsBefore deletes the generation logs created
	// before before, batch rows (DefaultLogDeleteBatch when <= 0) per
	// transaction, folding their calls into generation_log_totals, and
	// returns how many it deleted.
	DeleteGenerationLogsBefore(ctx context.Context, before time.Time, batch int) (int64, error)

	// Rate limits, shared by every process using a provider key: the
	// statements of ratelimit.PGBucket (see ratelimit.Bucket for what each
	// does), on PostgreSQL only. TakeRate also returns the start on the
	// database's clock.
	TakeRate(ctx context.Context, key string, requestCost, requestTolerance, tokenCost, tokenTolerance time.Duration) (start time.Time, wait time.Duration, err error)
	AdjustRate(ctx context.Context, key string, requests, tokens time.Duration) error
	DrainRate(ctx context.Context, key string, requests, tokens time.Duration) error
	HoldRate(ctx context.Context, key string, d time.Duration) error
	CutRateFactor(ctx context.Context, key string, f float64) error
	// RateFactor returns the factor of the key's last cut and how long
	// ago it was made; since < 0 (and f 1) when there was none.
	RateFactor(ctx context.Context, key string) (f float64, since time.Duration, err error)
}

// Executor is every statement of the job engine. Store runs them outside
// a transaction, a Tx inside it.
type Executor interface {
	// Jobs.

	// GetJob reads job id of orgID; GetJobByID whatever its organization.
	GetJob(ctx context.Context, orgID, id int64) (*JobRow, error)
	GetJobByID(ctx context.Context, id int64) (*JobRow, error)
	// LockJob reads job id of orgID and, on PostgreSQL, locks its row;
	// LockJobByID whatever its organization.
	LockJob(ctx context.Context, orgID, id int64) (*JobRow, error)
	LockJobByID(ctx context.Context, id int64) (*JobRow, error)
	// LockJobState reads (and on PostgreSQL locks) what releasing items
	// needs of job id.
	LockJobState(ctx context.Context, id int64) (status string, inFlight, concurrency int64, err error)
	// ListJobs returns orgID's jobs newest first, those in status when set.
	ListJobs(ctx context.Context, orgID int64, status string, limit, offset int) ([]*JobRow, error)
	// ControlStates reads what a running job's control needs of ids.
	ControlStates(ctx context.Context, ids []int64) ([]ControlState, error)
	InsertJob(ctx context.Context, j NewJob) (int64, error)
	// CompleteJob marks a job with nothing to document completed.
	CompleteJob(ctx context.Context, id int64, now time.Time) error
	// PauseJob puts the job's enqueued items back to ready under a new
	// run and leaves the job pausing (items still running) or paused.
	PauseJob(ctx context.Context, id int64, reason string, now time.Time) error
	ResumeJob(ctx context.Context, id int64, status string, now time.Time) error
	// StopJob cancels every item neither running nor final and ends the
	// job with status.
	StopJob(ctx context.Context, id int64, status, reason, message string, now time.Time) error
	SetJobBudget(ctx context.Context, id int64, usd float64, options string, now time.Time) error
	// SettleJob completes the job when every item is final, or makes a
	// pausing job paused, once nothing is in flight.
	SettleJob(ctx context.Context, id int64, now time.Time) error
	// MarkJobRunning moves a queued job to running.
	MarkJobRunning(ctx context.Context, id int64, now time.Time) error
	// CountFinish adds an item's outcome to its job's counters, takes it
	// out of flight and returns the job's actual cost after it.
	CountFinish(ctx context.Context, id int64, c FinishCounts, now time.Time) (float64, error)
	// AddSpend adds calls whose outcome is dropped to their item and job.
	AddSpend(ctx context.Context, jobID, itemID int64, s Spend, now time.Time) error
	// ReleaseTakenOver takes an item taken over out of its job's flight.
	ReleaseTakenOver(ctx context.Context, jobID int64, cancelled int, now time.Time) error

	// Items.

	// InsertItems writes a new job's items and their dependencies.
	InsertItems(ctx context.Context, jobID int64, items []NewItem, now time.Time) error
	// Items returns a page of the job's items in position order (all of
	// them when limit <= 0), those in status when set; CountItems counts
	// the same filter.
	Items(ctx context.Context, jobID int64, status string, limit, offset int) ([]Item, error)
	CountItems(ctx context.Context, jobID int64, status string) (int, error)
	RunningObjectNames(ctx context.Context, jobID int64) ([]string, error)
	// ReadyItems returns up to n ready items of the job, in position order.
	ReadyItems(ctx context.Context, jobID int64, n int64) ([]ItemRun, error)
	// EnqueueItems marks items enqueued and counts them in flight.
	EnqueueItems(ctx context.Context, jobID int64, ids []int64) error
	// ItemForStart reads item id of job jobID as a worker starts it.
	ItemForStart(ctx context.Context, jobID, id int64) (*StartItem, error)
	// RequeueItem puts an enqueued item of a paused job back to ready;
	// CancelItem cancels one of a stopped job. Both take it out of flight.
	RequeueItem(ctx context.Context, jobID, id int64, now time.Time) error
	CancelItem(ctx context.Context, jobID, id int64, now time.Time) error
	StartItem(ctx context.Context, id int64, w Worker, now time.Time) error
	// FinishItem writes an item's outcome if it is still run f.Run and
	// running, and reports whether it was.
	FinishItem(ctx context.Context, f ItemFinish) (bool, error)
	SetItemDocVersion(ctx context.Context, id, versionID int64) error
	// CountDownDependents counts item id down in its dependents and
	// readies those it was the last for.
	CountDownDependents(ctx context.Context, id int64) error
	// Heartbeat refreshes the heartbeat of worker's running items.
	Heartbeat(ctx context.Context, worker string, now time.Time) error
	// RunningHeldByOthers returns the running items of workers other than
	// worker, with their holders.
	RunningHeldByOthers(ctx context.Context, worker string) ([]Held, error)
	// RunningHeldIn returns the running items of orgID's running or
	// pausing jobs among jobIDs, with their holders.
	RunningHeldIn(ctx context.Context, orgID int64, jobIDs []int64) ([]Held, error)
	// StaleFetched returns the items whose River job of kind is running
	// and was fetched before before.
	StaleFetched(ctx context.Context, kind string, before time.Time) ([]ItemRun, error)
	// EnqueuedItemJob returns the job of item id if it is enqueued under
	// run, or ErrNotFound.
	EnqueuedItemJob(ctx context.Context, id, run int64) (int64, error)
	// TakeOverFetched and TakeOverRunning move an orphaned item to next
	// under a new run if it is still as its dead holder left it, and
	// report whether it was.
	TakeOverFetched(ctx context.Context, id, run int64, next string) (bool, error)
	TakeOverRunning(ctx context.Context, id int64, worker, next string) (bool, error)

	// JobWorkingOn returns a job of orgID that is not final (queued,
	// running, pausing or paused) and works on projectID, as its project
	// or through an item's object, the oldest first; ErrNotFound when
	// there is none.
	JobWorkingOn(ctx context.Context, orgID, projectID int64) (id int64, status string, err error)
	// CountJobs counts orgID's jobs, those in status when set.
	CountJobs(ctx context.Context, orgID int64, status string) (int, error)
	// JobsByStatus counts the jobs by status, JobTotals sums their
	// counters, and CallOutcomes counts their calls (those still logged
	// and those retention folded into totals) by model, outcome and
	// latency bucket: of orgID, or of every organization when orgID is 0.
	JobsByStatus(ctx context.Context, orgID int64) (map[string]int64, error)
	JobTotals(ctx context.Context, orgID int64) (*JobTotals, error)
	CallOutcomes(ctx context.Context, orgID int64) ([]CallOutcome, error)

	// Logs.

	AppendError(ctx context.Context, e ErrorEntry) error
	Errors(ctx context.Context, jobID int64, limit, offset int) ([]ErrorEntry, error)
	CountErrors(ctx context.Context, jobID int64) (int, error)
	InsertGenerationLogs(ctx context.Context, logs []GenerationLog) error
	GenerationLogs(ctx context.Context, jobID int64, limit, offset int) ([]GenerationLog, error)
	CountGenerationLogs(ctx context.Context, jobID int64) (int, error)
	AddLayerCounts(ctx context.Context, jobID int64, counts []LayerDelta) error
	LayerCounts(ctx context.Context, jobID int64) (map[modeldoc.Layer]LayerCount, error)

	// Provider batches.

	BatchProgress(ctx context.Context, jobID int64) (*BatchProgress, error)
	// BatchCall reads a recorded call of the job with its chunk, or
	// ErrNotFound.
	BatchCall(ctx context.Context, jobID int64, customID string) (*BatchCallRow, error)
	// InsertChunk records a chunk about to be submitted and its calls.
	InsertChunk(ctx context.Context, jobID int64, provider, key string, calls []ChunkCall, now time.Time) (int64, error)
	// DeleteChunk drops a chunk; DeleteUnsubmittedChunk only one never
	// known submitted.
	DeleteChunk(ctx context.Context, chunk int64) error
	DeleteUnsubmittedChunk(ctx context.Context, chunk int64) error
	RecordBatch(ctx context.Context, chunk int64, b BatchState, now time.Time) error
	SetBatchCallResult(ctx context.Context, jobID, chunk int64, customID, status, result string) error
	// ChargeBatchCall marks a call's result charged and reports whether
	// this was its first charge.
	ChargeBatchCall(ctx context.Context, jobID int64, customID string) (bool, error)
	// OpenBatches returns the job's submitted batches not ended.
	OpenBatches(ctx context.Context, jobID int64) ([]OpenBatch, error)
	MarkBatchCancelling(ctx context.Context, chunk int64, now time.Time) error
}

// JobRow is a jobs row; Options is its JSON text.
type JobRow struct {
	ID, OrgID, ProjectID                             int64
	Status, StatusReason, Message, Options           string
	Total, Processed, Partial, Failed, Skipped       int64
	Cancelled, InFlight                              int64
	PromptTokens, CachedTokens, CompletionTokens     int64
	EstimatedCost                                    float64
	EstimatedPromptTokens, EstimatedCompletionTokens int64
	ActualCost, Budget                               float64
	ItemDurationMS                                   int64
	TriggeredByUserID, TriggeredByEmail              string
	CreatedAt, UpdatedAt                             time.Time
	StartedAt, FinishedAt                            *time.Time
}

// NewJob is a job to insert, queued.
type NewJob struct {
	OrgID, ProjectID                                 int64 // ProjectID 0: several projects
	Options                                          string
	Total, Skipped                                   int64
	EstimatedCost                                    float64
	EstimatedPromptTokens, EstimatedCompletionTokens int64
	Budget                                           float64
	Concurrency                                      int
	TriggeredByUserID, TriggeredByEmail              string
	Now                                              time.Time
}

// NewItem is an item to insert. A skipped item (SkipReason set) is final;
// Deps are the object ids of the upstream items it waits for, which must
// be items of the same job that are not skipped.
type NewItem struct {
	ObjectID      int64
	ObjectName    string
	Position      int
	SkipReason    string
	EstimatedCost float64
	Deps          []int64
}

// ControlState is what a process writing for a job polls of its row.
type ControlState struct {
	ID                 int64
	Status             string
	Budget, ActualCost float64
}

// ItemRun is an item and its run.
type ItemRun struct{ ID, Run int64 }

// StartItem is what a worker reads of the item it starts.
type StartItem struct {
	Status     string
	Run        int64
	ObjectID   int64
	ObjectName string
	Attempts   int
	KeptLayers string
}

// Worker is the process that writes an item.
type Worker struct {
	ID, Host string
	PID      int
}

// Held is a running item and the process that holds it.
type Held struct {
	ItemID, JobID int64
	Worker, Host  string
	PID           int64
	// Heartbeat is nil when the holder never beat.
	Heartbeat *time.Time
}

// ItemFinish is an item's outcome.
type ItemFinish struct {
	ID, Run       int64
	Status        string
	RunBump       int
	FinishedAt    *time.Time
	DurationMS    int64
	Spend         Spend
	LastError     string
	MissingLayers string
	KeptLayers    string
}

// Spend is what calls cost.
type Spend struct {
	PromptTokens, CompletionTokens, CachedTokens int64
	Cost                                         float64
}

// FinishCounts is what one item's outcome adds to its job's counters.
type FinishCounts struct {
	Processed, Partial, Failed, Cancelled int64
	Spend                                 Spend
	ItemDurationMS                        int64
}

// LayerDelta adds to one layer's counters of a job.
type LayerDelta struct {
	Layer      string
	OK, Failed int
}

// LayerCount counts one layer's outcomes over a job.
type LayerCount struct {
	OK     int64 `json:"ok"`
	Failed int64 `json:"failed"`
}

// Item is one object of a job.
type Item struct {
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

// ErrorEntry is one row of a job's append-only error log. AppendError
// writes ItemID and ObjectID 0 as no item or object.
type ErrorEntry struct {
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

// GenerationLog is one call: one layer, one attempt.
type GenerationLog struct {
	ID               int64  `json:"id"`
	JobID            int64  `json:"job_id"`
	ItemID           int64  `json:"item_id"`
	ObjectID         int64  `json:"object_id"`
	Layer            string `json:"layer"`
	Attempt          int    `json:"attempt"`
	Status           string `json:"status"` // ok, failed, refused
	Model            string `json:"model,omitempty"`
	PromptTokens     int64  `json:"prompt_tokens"`
	CompletionTokens int64  `json:"completion_tokens"`
	CachedTokens     int64  `json:"cached_tokens"`
	// ReasoningTokens is the part of CompletionTokens a reasoning model
	// spent thinking.
	ReasoningTokens int64 `json:"reasoning_tokens"`
	// Cost is the call's price in USD: the job's and the item's cost are
	// the sums of their calls'.
	Cost         float64   `json:"cost"`
	DurationMS   int64     `json:"duration_ms"`
	FinishReason string    `json:"finish_reason,omitempty"`
	ErrorClass   string    `json:"error_class,omitempty"`
	Error        string    `json:"error,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// BatchProgress is a batch-mode job's provider batches, as Get shows it.
type BatchProgress struct {
	// Batches counts the chunks submitted, Open those not ended yet.
	Batches int64 `json:"batches"`
	Open    int64 `json:"open"`
	// Submitted counts the calls sent in a batch; Completed those the
	// provider answered and Failed those that failed (and went into a
	// follow-up batch or failed their layer).
	Submitted int64 `json:"submitted"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	// ExpiresAt is when the earliest open batch expires (24 h after it
	// was created); nil when none is open.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// BatchCallRow is a recorded call and its chunk.
type BatchCallRow struct {
	Status, Result string
	Chunk          int64
	BatchID, Key   string
}

// ChunkCall is a call of a chunk.
type ChunkCall struct {
	CustomID string
	ItemID   int64
}

// BatchState is what a provider said of a chunk's batch.
type BatchState struct {
	ID, Status        string
	Ended             bool
	Completed, Failed int64
	Message           string
	// ExpiresAt zero keeps the recorded expiry.
	ExpiresAt time.Time
}

// OpenBatch is a submitted batch not ended.
type OpenBatch struct {
	Chunk   int64
	BatchID string
}

// JobTotals sums the counters of jobs.
type JobTotals struct {
	Processed, Partial, Failed, Skipped, Cancelled int64
	PromptTokens, CachedTokens, CompletionTokens   int64
	ActualCost, EstimatedCost                      float64
}

// CallOutcome counts calls of one model, status and error class whose
// latency falls in Bucket (an index of CallLatencyBoundsMS, or its length
// for slower calls).
type CallOutcome struct {
	Model, Status, ErrorClass string
	Bucket                    int
	Calls, DurationMS         int64
}
