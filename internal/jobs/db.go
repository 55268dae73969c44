package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/jobstore"
)

// jobDB is the job store as every role uses it: jobs read with their
// price facts, write transactions that wake this process's River when
// they released items, and the clock.
type jobDB struct {
	js    jobstore.Store
	clock func() time.Time
	// documenter, when it has a price table, tells which models' prices
	// are known.
	documenter Documenter
	// waker is set on SQLite once River's driver is made (runtime.go).
	waker *waker

	releasedMu sync.Mutex
	released   map[*jobstore.Tx]bool // transactions that inserted River jobs
}

// scanJob converts a job row read with err, and says whether its model's
// price is known.
func (db *jobDB) scanJob(r *jobstore.JobRow, err error) (*Job, error) {
	if err != nil {
		return nil, err
	}
	j, err := fromRow(r)
	if err == nil {
		j.PriceKnown = db.priceKnown(&j.Options)
		if t := db.prices(); t != nil && j.Options.GivenPrice() == nil {
			if p, ok := t.Price(j.Options.Provider, j.Options.Model); ok {
				j.CacheSaved = p.CacheSaved(j.CachedTokens)
			}
		}
	}
	return j, err
}

// prices is the price table of the Documenter, or nil when it has none
// (a scripted one in tests): every price is then taken as known.
func (db *jobDB) prices() *cost.Table {
	if p, ok := db.documenter.(interface{ Prices() *cost.Table }); ok {
		return p.Prices()
	}
	return nil
}

// priceKnown reports whether the cost of o's calls can be known.
func (db *jobDB) priceKnown(o *Options) bool {
	t := db.prices()
	return t == nil || t.Known(o.Provider, o.Model, o.GivenPrice())
}

// checkBudget refuses a budget that cannot hold: one on a model whose
// price is unknown (see cost.CheckBudget).
func (db *jobDB) checkBudget(o *Options, usd float64) error {
	if usd <= 0 || db.priceKnown(o) {
		return nil
	}
	return cost.BudgetNeedsPrice(o.Provider, o.Model, usd)
}

func (db *jobDB) loadJob(ctx context.Context, ex jobstore.Executor, orgID, id int64) (*Job, error) {
	j, err := db.scanJob(ex.GetJob(ctx, orgID, id))
	if errors.Is(err, jobstore.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: load job %d: %w", id, err)
	}
	return j, nil
}

func (db *jobDB) fillDetails(ctx context.Context, ex jobstore.Executor, j *Job) error {
	var err error
	if j.Layers, err = ex.LayerCounts(ctx, j.ID); err != nil {
		return fmt.Errorf("jobs: layer counts: %w", err)
	}
	if j.Running, err = ex.RunningObjectNames(ctx, j.ID); err != nil {
		return fmt.Errorf("jobs: running items: %w", err)
	}
	if j.Options.Batch {
		if j.Batch, err = ex.BatchProgress(ctx, j.ID); err != nil {
			return fmt.Errorf("jobs: batch progress: %w", err)
		}
	}
	j.derive(db.clock())
	return nil
}

// withTx runs fn in a write transaction. It must never be called while
// this goroutine holds another transaction: on SQLite the write handle has
// one connection.
func (db *jobDB) withTx(ctx context.Context, fn func(tx *jobstore.Tx) error) error {
	tx, err := db.js.Begin(ctx)
	if err != nil {
		return fmt.Errorf("jobs: begin: %w", err)
	}
	// Rolled back on an error and also on a panic in fn, which must not
	// leave the transaction open: on SQLite it holds the only write
	// connection, and every writer would wait on it.
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
			db.takeReleased(tx)
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("jobs: commit: %w", err)
	}
	if db.takeReleased(tx) {
		db.waker.wake()
	}
	return nil
}

// markReleased notes that tx inserted River jobs, so that this process's
// River is woken once tx commits (see wake.go).
func (db *jobDB) markReleased(tx *jobstore.Tx) {
	db.releasedMu.Lock()
	db.released[tx] = true
	db.releasedMu.Unlock()
}

func (db *jobDB) takeReleased(tx *jobstore.Tx) bool {
	db.releasedMu.Lock()
	defer db.releasedMu.Unlock()
	ok := db.released[tx]
	delete(db.released, tx)
	return ok
}

func (db *jobDB) now() time.Time { return db.clock().UTC().Round(time.Microsecond) }

// fromRow is the job of row r.
func fromRow(r *jobstore.JobRow) (*Job, error) {
	j := Job{ID: r.ID, OrgID: r.OrgID, ProjectID: r.ProjectID, Status: r.Status, StatusReason: r.StatusReason, Message: r.Message,
		Total: r.Total, Processed: r.Processed, Partial: r.Partial, Failed: r.Failed, Skipped: r.Skipped, Cancelled: r.Cancelled, InFlight: r.InFlight,
		PromptTokens: r.PromptTokens, CachedTokens: r.CachedTokens, CompletionTokens: r.CompletionTokens, EstimatedCost: r.EstimatedCost,
		EstimatedPromptTokens: r.EstimatedPromptTokens, EstimatedCompletionTokens: r.EstimatedCompletionTokens,
		ActualCost: r.ActualCost, Budget: r.Budget, itemDurationMS: r.ItemDurationMS,
		TriggeredByUserID: r.TriggeredByUserID, TriggeredByEmail: r.TriggeredByEmail,
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, UpdatedAt: r.UpdatedAt}
	// A row written before options were validated may hold an empty
	// options column (a budget of Inf could not be encoded) or a budget
	// JSON cannot carry: it is read as a job without options or budget,
	// so that one bad row does not break every listing of its organization.
	if r.Options != "" {
		if err := json.Unmarshal([]byte(r.Options), &j.Options); err != nil {
			return nil, fmt.Errorf("jobs: job %d options: %w", j.ID, err)
		}
	}
	if validBudget(j.Budget) != nil {
		j.Budget = 0
	}
	j.Options.Budget = j.Budget
	return &j, nil
}

func notFound(id int64) error {
	return modeldoc.Errorf(modeldoc.ENOTFOUND, "Job %d was not found: list the jobs with `modeldoc jobs list`.", id)
}
