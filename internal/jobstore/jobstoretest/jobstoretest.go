// Package jobstoretest is the conformance suite of jobstore.Store: every
// implementation, on every backend, passes Exercise.
package jobstoretest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobstore"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// Harness is a job store under test and what the suite needs around it.
type Harness struct {
	Store jobstore.Store
	// NewOrg creates an organization jobs can belong to.
	NewOrg func(t *testing.T) int64
	// NewProject imports a project of orgID and returns it and the ids of
	// its objects.
	NewProject func(t *testing.T, orgID int64) (projectID int64, objectIDs []int64)
	// RiverKind is the kind of River job StaleFetched is asked about;
	// River's tables must exist on Store's handle.
	RiverKind string
}

// Exercise runs the suite; open returns a harness on a fresh or shared
// database (the subtests keep to organizations and workers of their own).
func Exercise(t *testing.T, open func(t *testing.T) Harness) {
	h := open(t)
	t.Run("Jobs", func(t *testing.T) { testJobs(t, h) })
	t.Run("Control", func(t *testing.T) { testControl(t, h) })
	t.Run("Items", func(t *testing.T) { testItems(t, h) })
	t.Run("Finish", func(t *testing.T) { testFinish(t, h) })
	t.Run("Holders", func(t *testing.T) { testHolders(t, h) })
	t.Run("TakeOver", func(t *testing.T) { testTakeOver(t, h) })
	t.Run("Logs", func(t *testing.T) { testLogs(t, h) })
	t.Run("Batches", func(t *testing.T) { testBatches(t, h) })
	t.Run("Counts", func(t *testing.T) { testCounts(t, h) })
	t.Run("WorkingOn", func(t *testing.T) { testWorkingOn(t, h) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, h) })
	t.Run("Transactions", func(t *testing.T) { testTransactions(t, h) })
	t.Run("RiverLock", func(t *testing.T) { testRiverLock(t, h) })
	t.Run("RateLimits", func(t *testing.T) { testRateLimits(t, h) })
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// inTx runs fn in a transaction it commits.
func inTx(t *testing.T, s jobstore.Store, fn func(tx *jobstore.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	must(t, err, "Begin")
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	must(t, tx.Commit(), "Commit")
}

func newJob(t *testing.T, s jobstore.Store, orgID int64, mod func(*jobstore.NewJob)) int64 {
	t.Helper()
	j := jobstore.NewJob{OrgID: orgID, Options: `{"provider":"offline"}`, Total: 3, Skipped: 1, EstimatedCost: 1.5,
		EstimatedPromptTokens: 100, EstimatedCompletionTokens: 50, Budget: 2, Concurrency: 2,
		TriggeredByUserID: "u1", TriggeredByEmail: "u1@example.com", Now: t0}
	if mod != nil {
		mod(&j)
	}
	var id int64
	inTx(t, s, func(tx *jobstore.Tx) error {
		var err error
		id, err = tx.InsertJob(context.Background(), j)
		return err
	})
	return id
}

func getJob(t *testing.T, s jobstore.Store, id int64) *jobstore.JobRow {
	t.Helper()
	j, err := s.GetJobByID(context.Background(), id)
	must(t, err, "GetJobByID")
	return j
}

var seq atomic.Int64

// objectIDs returns n object ids no other subtest uses (job_items does not
// reference objects).
func objectIDs(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = 1_000_000 + seq.Add(1)
	}
	return out
}

// chain inserts a job of org with items a <- b <- c (c reads b reads a)
// and returns the job and the item ids by object name.
func chain(t *testing.T, h Harness, orgID int64) (int64, map[string]int64) {
	t.Helper()
	s := h.Store
	job := newJob(t, s, orgID, func(j *jobstore.NewJob) { j.Total, j.Skipped = 3, 0 })
	ids := objectIDs(3)
	items := []jobstore.NewItem{
		{ObjectID: ids[0], ObjectName: "a", Position: 0, EstimatedCost: 0.1},
		{ObjectID: ids[1], ObjectName: "b", Position: 1, EstimatedCost: 0.2, Deps: []int64{ids[0]}},
		{ObjectID: ids[2], ObjectName: "c", Position: 2, EstimatedCost: 0.3, Deps: []int64{ids[1]}},
	}
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.InsertItems(context.Background(), job, items, t0) })
	return job, itemIDs(t, s, job)
}

func itemIDs(t *testing.T, s jobstore.Store, job int64) map[string]int64 {
	t.Helper()
	its, err := s.Items(context.Background(), job, "", 0, 0)
	must(t, err, "Items")
	out := map[string]int64{}
	for _, it := range its {
		out[it.ObjectName] = it.ID
	}
	return out
}

func items(t *testing.T, s jobstore.Store, job int64) map[string]jobstore.Item {
	t.Helper()
	its, err := s.Items(context.Background(), job, "", 0, 0)
	must(t, err, "Items")
	out := map[string]jobstore.Item{}
	for _, it := range its {
		out[it.ObjectName] = it
	}
	return out
}

func testJobs(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org, other := h.NewOrg(t), h.NewOrg(t)
	id := newJob(t, s, org, nil)
	j, err := s.GetJob(ctx, org, id)
	must(t, err, "GetJob")
	want := jobstore.JobRow{ID: id, OrgID: org, Status: "queued", Options: `{"provider":"offline"}`, Total: 3, Skipped: 1,
		EstimatedCost: 1.5, EstimatedPromptTokens: 100, EstimatedCompletionTokens: 50, Budget: 2,
		TriggeredByUserID: "u1", TriggeredByEmail: "u1@example.com", CreatedAt: t0, UpdatedAt: t0}
	if !reflect.DeepEqual(*j, want) {
		t.Fatalf("GetJob = %+v\nwant %+v", *j, want)
	}
	if _, err := s.GetJob(ctx, other, id); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("GetJob of another organization: %v, want ErrNotFound", err)
	}
	if _, err := s.GetJobByID(ctx, id+1_000_000); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("GetJobByID of no job: %v, want ErrNotFound", err)
	}
	if got := getJob(t, s, id); got.OrgID != org {
		t.Fatalf("GetJobByID org = %d", got.OrgID)
	}

	// ListJobs: newest first, by status, paged, within the organization.
	id2 := newJob(t, s, org, nil)
	id3 := newJob(t, s, org, nil)
	newJob(t, s, other, nil)
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.CompleteJob(ctx, id2, t0.Add(time.Minute)) })
	list := func(status string, limit, offset int) []int64 {
		t.Helper()
		rows, err := s.ListJobs(ctx, org, status, limit, offset)
		must(t, err, "ListJobs")
		var ids []int64
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got := list("", 10, 0); !reflect.DeepEqual(got, []int64{id3, id2, id}) {
		t.Fatalf("ListJobs = %v, want %v", got, []int64{id3, id2, id})
	}
	if got := list("queued", 10, 0); !reflect.DeepEqual(got, []int64{id3, id}) {
		t.Fatalf("ListJobs(queued) = %v", got)
	}
	if got := list("", 1, 1); !reflect.DeepEqual(got, []int64{id2}) {
		t.Fatalf("ListJobs(limit 1, offset 1) = %v", got)
	}
	done := getJob(t, s, id2)
	if done.Status != "completed" || done.FinishedAt == nil || !done.FinishedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("CompleteJob: %+v", done)
	}

	// A job over several projects has no project.
	if getJob(t, s, id).ProjectID != 0 {
		t.Fatal("a job without a project reads project 0")
	}

	// Locks read the same row; the organization scopes LockJob.
	inTx(t, s, func(tx *jobstore.Tx) error {
		l, err := tx.LockJob(ctx, org, id)
		if err != nil || l.ID != id || l.Status != "queued" {
			return fmt.Errorf("LockJob = %+v, %v", l, err)
		}
		if _, err := tx.LockJob(ctx, other, id); !errors.Is(err, jobstore.ErrNotFound) {
			return fmt.Errorf("LockJob of another organization: %v", err)
		}
		if l, err := tx.LockJobByID(ctx, id); err != nil || l.OrgID != org {
			return fmt.Errorf("LockJobByID = %+v, %v", l, err)
		}
		st, inFlight, conc, err := tx.LockJobState(ctx, id)
		if err != nil || st != "queued" || inFlight != 0 || conc != 2 {
			return fmt.Errorf("LockJobState = %s %d %d %v", st, inFlight, conc, err)
		}
		if _, _, _, err := tx.LockJobState(ctx, id+1_000_000); !errors.Is(err, jobstore.ErrNotFound) {
			return fmt.Errorf("LockJobState of no job: %v", err)
		}
		return nil
	})

	// MarkJobRunning keeps the first start.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.MarkJobRunning(ctx, id, t0.Add(time.Second)) })
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.MarkJobRunning(ctx, id, t0.Add(time.Hour)) })
	if r := getJob(t, s, id); r.Status != "running" || r.StartedAt == nil || !r.StartedAt.Equal(t0.Add(time.Second)) || !r.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("MarkJobRunning: status %s started %v updated %v", r.Status, r.StartedAt, r.UpdatedAt)
	}

	// SetJobBudget and ControlStates.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.SetJobBudget(ctx, id, 7.25, `{"budget":7.25}`, t0) })
	if r := getJob(t, s, id); r.Budget != 7.25 || r.Options != `{"budget":7.25}` {
		t.Fatalf("SetJobBudget: budget %v options %s", r.Budget, r.Options)
	}
	cs, err := s.ControlStates(ctx, []int64{id, id3, id + 1_000_000})
	must(t, err, "ControlStates")
	byID := map[int64]jobstore.ControlState{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	if len(cs) != 2 || byID[id] != (jobstore.ControlState{ID: id, Status: "running", Budget: 7.25}) || byID[id3].Status != "queued" {
		t.Fatalf("ControlStates = %+v", cs)
	}
}

func testControl(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org := h.NewOrg(t)
	job, ids := chain(t, h, org)
	// Enqueue a; start it: pausing leaves the job pausing (a runs).
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.EnqueueItems(ctx, job, []int64{ids["a"]}) })
	inTx(t, s, func(tx *jobstore.Tx) error {
		return tx.StartItem(ctx, ids["a"], jobstore.Worker{ID: "w-control", Host: "h", PID: 1}, t0)
	})
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.PauseJob(ctx, job, "user_paused", t0) })
	if r := getJob(t, s, job); r.Status != "pausing" || r.StatusReason != "user_paused" || r.InFlight != 1 {
		t.Fatalf("PauseJob with an item running: %s %s in flight %d", r.Status, r.StatusReason, r.InFlight)
	}
	// Settle does nothing while an item is in flight.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.SettleJob(ctx, job, t0) })
	if r := getJob(t, s, job); r.Status != "pausing" {
		t.Fatalf("SettleJob with one in flight: %s", r.Status)
	}
	// a goes back: the pause drains, and settle makes the job paused.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.RequeueItem(ctx, job, ids["a"], t0) })
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.SettleJob(ctx, job, t0) })
	r := getJob(t, s, job)
	if r.Status != "paused" || r.InFlight != 0 || r.FinishedAt != nil {
		t.Fatalf("SettleJob after the pause drained: %s in flight %d finished %v", r.Status, r.InFlight, r.FinishedAt)
	}
	it := items(t, s, job)["a"]
	if it.Status != "ready" {
		t.Fatalf("RequeueItem: a is %s", it.Status)
	}
	// Resume, enqueue a again, then pause: the enqueued item goes back to
	// ready under a new run and the job is paused at once.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.ResumeJob(ctx, job, "running", t0) })
	if r := getJob(t, s, job); r.Status != "running" || r.StatusReason != "" {
		t.Fatalf("ResumeJob: %s %q", r.Status, r.StatusReason)
	}
	runBefore := readyRun(t, s, job, ids["a"])
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.EnqueueItems(ctx, job, []int64{ids["a"]}) })
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.PauseJob(ctx, job, "budget_exceeded", t0) })
	if r := getJob(t, s, job); r.Status != "paused" || r.InFlight != 0 {
		t.Fatalf("PauseJob with only enqueued items: %s in flight %d", r.Status, r.InFlight)
	}
	if got := readyRun(t, s, job, ids["a"]); got != runBefore+1 {
		t.Fatalf("PauseJob: run %d, want %d", got, runBefore+1)
	}
	// Stop: every item not running nor final is cancelled; in flight
	// loses the enqueued ones.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.ResumeJob(ctx, job, "running", t0) })
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.EnqueueItems(ctx, job, []int64{ids["a"]}) })
	inTx(t, s, func(tx *jobstore.Tx) error {
		return tx.StopJob(ctx, job, "cancelled", "user_cancelled", "bye", t0.Add(time.Hour))
	})
	r = getJob(t, s, job)
	if r.Status != "cancelled" || r.StatusReason != "user_cancelled" || r.Message != "bye" || r.Cancelled != 3 || r.InFlight != 0 ||
		r.FinishedAt == nil || !r.FinishedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("StopJob: %+v", r)
	}
	for n, it := range items(t, s, job) {
		if it.Status != "cancelled" || it.FinishedAt == nil {
			t.Fatalf("StopJob: item %s is %s (finished %v)", n, it.Status, it.FinishedAt)
		}
	}
	// Settle completes a job whose items are all final.
	job2 := newJob(t, s, org, func(j *jobstore.NewJob) { j.Total, j.Skipped = 1, 0 })
	inTx(t, s, func(tx *jobstore.Tx) error {
		_, err := tx.CountFinish(ctx, job2, jobstore.FinishCounts{Processed: 1}, t0)
		return err
	})
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.SettleJob(ctx, job2, t0.Add(2*time.Hour)) })
	if r := getJob(t, s, job2); r.Status != "completed" || r.FinishedAt == nil || !r.FinishedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("SettleJob of a finished job: %s %v", r.Status, r.FinishedAt)
	}
}

// readyRun is the run of item id, read as a worker would.
func readyRun(t *testing.T, s jobstore.Store, job, id int64) int64 {
	t.Helper()
	var run int64
	inTx(t, s, func(tx *jobstore.Tx) error {
		it, err := tx.ItemForStart(context.Background(), job, id)
		if err != nil {
			return err
		}
		run = it.Run
		return nil
	})
	return run
}

func testItems(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org := h.NewOrg(t)
	job := newJob(t, s, org, func(j *jobstore.NewJob) { j.Total, j.Skipped = 4, 1 })
	ids := objectIDs(4)
	// d is skipped; c reads a, b and d: it waits for a and b only.
	in := []jobstore.NewItem{
		{ObjectID: ids[0], ObjectName: "a", Position: 0, EstimatedCost: 0.1},
		{ObjectID: ids[3], ObjectName: "d", Position: 1, SkipReason: "has current documentation", EstimatedCost: 9},
		{ObjectID: ids[1], ObjectName: "b", Position: 2, EstimatedCost: 0.2},
		{ObjectID: ids[2], ObjectName: "c", Position: 3, EstimatedCost: 0.3, Deps: []int64{ids[0], ids[1], ids[3]}},
	}
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.InsertItems(ctx, job, in, t0) })
	all, err := s.Items(ctx, job, "", 0, 0)
	must(t, err, "Items")
	var names, statuses []string
	for _, it := range all {
		names, statuses = append(names, it.ObjectName), append(statuses, it.Status)
	}
	if strings.Join(names, ",") != "a,d,b,c" || strings.Join(statuses, ",") != "ready,skipped,ready,blocked" {
		t.Fatalf("Items: %v %v", names, statuses)
	}
	if all[3].DepsRemaining != 2 || all[1].SkipReason != "has current documentation" || all[1].FinishedAt == nil || all[1].EstimatedCost != 0 ||
		all[3].EstimatedCost != 0.3 || all[0].FinishedAt != nil || all[0].JobID != job || all[3].ObjectID != ids[2] {
		t.Fatalf("Items: %+v", all)
	}
	page, err := s.Items(ctx, job, "", 2, 1)
	must(t, err, "Items page")
	if len(page) != 2 || page[0].ObjectName != "d" || page[1].ObjectName != "b" {
		t.Fatalf("Items(limit 2, offset 1) = %+v", page)
	}
	ready, err := s.Items(ctx, job, "ready", 0, 0)
	must(t, err, "Items(ready)")
	if len(ready) != 2 {
		t.Fatalf("Items(ready) = %d items", len(ready))
	}
	if n, err := s.CountItems(ctx, job, ""); err != nil || n != 4 {
		t.Fatalf("CountItems = %d, %v", n, err)
	}
	if n, err := s.CountItems(ctx, job, "blocked"); err != nil || n != 1 {
		t.Fatalf("CountItems(blocked) = %d, %v", n, err)
	}
	byName := itemIDs(t, s, job)
	var got []jobstore.ItemRun
	inTx(t, s, func(tx *jobstore.Tx) error {
		var err error
		got, err = tx.ReadyItems(ctx, job, 1)
		return err
	})
	if len(got) != 1 || got[0].ID != byName["a"] || got[0].Run != 0 {
		t.Fatalf("ReadyItems(1) = %+v", got)
	}
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.EnqueueItems(ctx, job, []int64{byName["a"], byName["b"]}) })
	if r := getJob(t, s, job); r.InFlight != 2 {
		t.Fatalf("EnqueueItems: in flight %d", r.InFlight)
	}
	inTx(t, s, func(tx *jobstore.Tx) error {
		got, err := tx.ReadyItems(ctx, job, 10)
		if err != nil || len(got) != 0 {
			return fmt.Errorf("ReadyItems after enqueueing = %+v, %v", got, err)
		}
		it, err := tx.ItemForStart(ctx, job, byName["b"])
		if err != nil || it.Status != "enqueued" || it.ObjectID != ids[1] || it.ObjectName != "b" || it.Attempts != 0 {
			return fmt.Errorf("ItemForStart = %+v, %v", it, err)
		}
		if _, err := tx.ItemForStart(ctx, job+1_000_000, byName["b"]); !errors.Is(err, jobstore.ErrNotFound) {
			return fmt.Errorf("ItemForStart of another job: %v", err)
		}
		return tx.StartItem(ctx, byName["b"], jobstore.Worker{ID: "w-items", Host: "host-1", PID: 42}, t0)
	})
	b := items(t, s, job)["b"]
	if b.Status != "running" || b.Attempts != 1 || b.StartedAt == nil || !b.StartedAt.Equal(t0) {
		t.Fatalf("StartItem: %+v", b)
	}
	if names, err := s.RunningObjectNames(ctx, job); err != nil || !reflect.DeepEqual(names, []string{"b"}) {
		t.Fatalf("RunningObjectNames = %v, %v", names, err)
	}
	// CancelItem takes a out of flight and counts it cancelled.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.CancelItem(ctx, job, byName["a"], t0) })
	if r := getJob(t, s, job); r.InFlight != 1 || r.Cancelled != 1 {
		t.Fatalf("CancelItem: in flight %d cancelled %d", r.InFlight, r.Cancelled)
	}
	if a := items(t, s, job)["a"]; a.Status != "cancelled" || a.FinishedAt == nil {
		t.Fatalf("CancelItem: %+v", a)
	}
	// Many items cross the multi-row insert's batches.
	big := newJob(t, s, org, nil)
	many := objectIDs(950)
	var bigItems []jobstore.NewItem
	for i, id := range many {
		it := jobstore.NewItem{ObjectID: id, ObjectName: fmt.Sprintf("m%04d", i), Position: i}
		if i > 0 {
			it.Deps = []int64{many[i-1]}
		}
		bigItems = append(bigItems, it)
	}
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.InsertItems(ctx, big, bigItems, t0) })
	if n, _ := s.CountItems(ctx, big, "blocked"); n != 949 {
		t.Fatalf("InsertItems of 950: %d blocked, want 949", n)
	}
	last, err := s.Items(ctx, big, "", 1, 949)
	must(t, err, "Items")
	if len(last) != 1 || last[0].ObjectName != "m0949" || last[0].DepsRemaining != 1 {
		t.Fatalf("last of 950 items: %+v", last)
	}
}

func testFinish(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org := h.NewOrg(t)
	job, ids := chain(t, h, org)
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.EnqueueItems(ctx, job, []int64{ids["a"]}) })
	inTx(t, s, func(tx *jobstore.Tx) error {
		return tx.StartItem(ctx, ids["a"], jobstore.Worker{ID: "w-finish", Host: "h", PID: 1}, t0)
	})
	fin := t0.Add(time.Second)
	f := jobstore.ItemFinish{ID: ids["a"], Run: 1, Status: "partial", FinishedAt: &fin, DurationMS: 1000,
		Spend: jobstore.Spend{PromptTokens: 10, CompletionTokens: 5, CachedTokens: 2, Cost: 0.5}, LastError: "one layer failed",
		MissingLayers: "tests,columns"}
	// The fence: a run that is not the item's writes nothing.
	var ok bool
	inTx(t, s, func(tx *jobstore.Tx) error {
		var err error
		ok, err = tx.FinishItem(ctx, f)
		return err
	})
	if ok {
		t.Fatal("FinishItem of another run reported the item as its")
	}
	f.Run = 0
	inTx(t, s, func(tx *jobstore.Tx) error {
		var err error
		if ok, err = tx.FinishItem(ctx, f); err != nil {
			return err
		}
		if err := tx.SetItemDocVersion(ctx, ids["a"], 77); err != nil {
			return err
		}
		actual, err := tx.CountFinish(ctx, job, jobstore.FinishCounts{Processed: 1, Partial: 1, Spend: f.Spend, ItemDurationMS: 1000}, fin)
		if err != nil || actual != 0.5 {
			return fmt.Errorf("CountFinish = %v, %v", actual, err)
		}
		return tx.CountDownDependents(ctx, ids["a"])
	})
	if !ok {
		t.Fatal("FinishItem of the item's run did not write")
	}
	it := items(t, s, job)
	a := it["a"]
	if a.Status != "partial" || a.FinishedAt == nil || !a.FinishedAt.Equal(fin) || a.DurationMS != 1000 || a.PromptTokens != 10 ||
		a.CompletionTokens != 5 || a.CachedTokens != 2 || a.Cost != 0.5 || a.LastError != "one layer failed" ||
		!reflect.DeepEqual(a.MissingLayers, []string{"tests", "columns"}) || a.DocVersionID != 77 {
		t.Fatalf("finished item: %+v", a)
	}
	if it["b"].Status != "ready" || it["b"].DepsRemaining != 0 || it["c"].Status != "blocked" || it["c"].DepsRemaining != 1 {
		t.Fatalf("CountDownDependents: b %s/%d c %s/%d", it["b"].Status, it["b"].DepsRemaining, it["c"].Status, it["c"].DepsRemaining)
	}
	r := getJob(t, s, job)
	if r.Processed != 1 || r.Partial != 1 || r.InFlight != 0 || r.PromptTokens != 10 || r.CompletionTokens != 5 || r.CachedTokens != 2 ||
		r.ActualCost != 0.5 || r.ItemDurationMS != 1000 {
		t.Fatalf("CountFinish: %+v", r)
	}
	// A finished item cannot be finished again.
	inTx(t, s, func(tx *jobstore.Tx) error {
		var err error
		ok, err = tx.FinishItem(ctx, f)
		return err
	})
	if ok {
		t.Fatal("FinishItem wrote an item no longer running")
	}
	// AddSpend counts calls whose outcome is dropped.
	inTx(t, s, func(tx *jobstore.Tx) error {
		return tx.AddSpend(ctx, job, ids["b"], jobstore.Spend{PromptTokens: 1, CompletionTokens: 2, CachedTokens: 3, Cost: 0.25}, t0)
	})
	r = getJob(t, s, job)
	b := items(t, s, job)["b"]
	if r.ActualCost != 0.75 || r.PromptTokens != 11 || r.CachedTokens != 5 || b.Cost != 0.25 || b.CompletionTokens != 2 || b.Status != "ready" {
		t.Fatalf("AddSpend: job %+v item %+v", r, b)
	}
	// Back to ready: no finish time, kept layers kept, the run bumped.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.EnqueueItems(ctx, job, []int64{ids["b"]}) })
	inTx(t, s, func(tx *jobstore.Tx) error {
		return tx.StartItem(ctx, ids["b"], jobstore.Worker{ID: "w-finish", Host: "h", PID: 1}, t0)
	})
	inTx(t, s, func(tx *jobstore.Tx) error {
		ok, err := tx.FinishItem(ctx, jobstore.ItemFinish{ID: ids["b"], Run: 0, Status: "ready", RunBump: 1, KeptLayers: `{"k":1}`})
		if err != nil || !ok {
			return fmt.Errorf("FinishItem to ready = %v, %v", ok, err)
		}
		st, err := tx.ItemForStart(ctx, job, ids["b"])
		if err != nil || st.Run != 1 || st.KeptLayers != `{"k":1}` || st.Attempts != 1 {
			return fmt.Errorf("after going back to ready: %+v, %v", st, err)
		}
		return nil
	})
	if b := items(t, s, job)["b"]; b.Status != "ready" || b.FinishedAt != nil {
		t.Fatalf("item back to ready: %+v", b)
	}
}

func testHolders(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org, other := h.NewOrg(t), h.NewOrg(t)
	job, ids := chain(t, h, org)
	job2, ids2 := chain(t, h, other)
	me, them := fmt.Sprintf("w-me-%d", seq.Add(1)), fmt.Sprintf("w-them-%d", seq.Add(1))
	inTx(t, s, func(tx *jobstore.Tx) error {
		for _, x := range []struct {
			job, item int64
			w         string
		}{{job, ids["a"], me}, {job, ids["b"], them}, {job2, ids2["a"], them}} {
			if err := tx.EnqueueItems(ctx, x.job, []int64{x.item}); err != nil {
				return err
			}
			if err := tx.StartItem(ctx, x.item, jobstore.Worker{ID: x.w, Host: "host-" + x.w, PID: 7}, t0); err != nil {
				return err
			}
			if err := tx.MarkJobRunning(ctx, x.job, t0); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, s.Heartbeat(ctx, me, t0.Add(time.Minute)), "Heartbeat")
	held, err := s.RunningHeldByOthers(ctx, me)
	must(t, err, "RunningHeldByOthers")
	mine := map[int64]jobstore.Held{}
	for _, x := range held {
		if x.Worker == me {
			t.Fatalf("RunningHeldByOthers returned an item of the worker itself: %+v", x)
		}
		mine[x.ItemID] = x
	}
	hb := mine[ids["b"]]
	if hb.JobID != job || hb.Worker != them || hb.Host != "host-"+them || hb.PID != 7 || hb.Heartbeat == nil || !hb.Heartbeat.Equal(t0) {
		t.Fatalf("RunningHeldByOthers: b held as %+v", hb)
	}
	if _, ok := mine[ids2["a"]]; !ok {
		t.Fatal("RunningHeldByOthers misses another organization's item")
	}
	// My heartbeat moved; theirs did not.
	in, err := s.RunningHeldIn(ctx, org, []int64{job, job2})
	must(t, err, "RunningHeldIn")
	if len(in) != 2 {
		t.Fatalf("RunningHeldIn = %+v, want the two items of the organization's job", in)
	}
	for _, x := range in {
		if x.JobID != job {
			t.Fatalf("RunningHeldIn crossed organizations: %+v", x)
		}
		want := t0
		if x.Worker == me {
			want = t0.Add(time.Minute)
		}
		if x.Heartbeat == nil || !x.Heartbeat.Equal(want) {
			t.Fatalf("heartbeat of %s = %v, want %v", x.Worker, x.Heartbeat, want)
		}
	}
	// Only running (or pausing) jobs count.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.PauseJob(ctx, job, "user_paused", t0) })
	if in, _ := s.RunningHeldIn(ctx, org, []int64{job}); len(in) != 2 {
		t.Fatalf("RunningHeldIn of a pausing job = %d items", len(in))
	}
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.StopJob(ctx, job, "cancelled", "", "", t0) })
	if in, _ := s.RunningHeldIn(ctx, org, []int64{job}); len(in) != 0 {
		t.Fatalf("RunningHeldIn of a cancelled job = %+v", in)
	}
}

func testTakeOver(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org := h.NewOrg(t)
	job, ids := chain(t, h, org)
	inTx(t, s, func(tx *jobstore.Tx) error {
		if err := tx.EnqueueItems(ctx, job, []int64{ids["a"]}); err != nil {
			return err
		}
		return tx.StartItem(ctx, ids["a"], jobstore.Worker{ID: "w-dead", Host: "h", PID: 1}, t0)
	})
	inTx(t, s, func(tx *jobstore.Tx) error {
		if ok, err := tx.TakeOverRunning(ctx, ids["a"], "w-alive", "ready"); err != nil || ok {
			return fmt.Errorf("TakeOverRunning of another holder = %v, %v", ok, err)
		}
		if ok, err := tx.TakeOverRunning(ctx, ids["a"], "w-dead", "ready"); err != nil || !ok {
			return fmt.Errorf("TakeOverRunning = %v, %v", ok, err)
		}
		if ok, err := tx.TakeOverRunning(ctx, ids["a"], "w-dead", "ready"); err != nil || ok {
			return fmt.Errorf("TakeOverRunning twice = %v, %v", ok, err)
		}
		return tx.ReleaseTakenOver(ctx, job, 0, t0)
	})
	if r := getJob(t, s, job); r.InFlight != 0 || r.Cancelled != 0 {
		t.Fatalf("ReleaseTakenOver: %+v", r)
	}
	if run := readyRun(t, s, job, ids["a"]); run != 1 {
		t.Fatalf("taken over item's run = %d, want 1", run)
	}
	// Fetched but never started: found by its run while enqueued.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.EnqueueItems(ctx, job, []int64{ids["a"]}) })
	if got, err := s.EnqueuedItemJob(ctx, ids["a"], 1); err != nil || got != job {
		t.Fatalf("EnqueuedItemJob = %d, %v", got, err)
	}
	if _, err := s.EnqueuedItemJob(ctx, ids["a"], 0); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("EnqueuedItemJob of an old run: %v", err)
	}
	inTx(t, s, func(tx *jobstore.Tx) error {
		if ok, err := tx.TakeOverFetched(ctx, ids["a"], 0, "cancelled"); err != nil || ok {
			return fmt.Errorf("TakeOverFetched of an old run = %v, %v", ok, err)
		}
		if ok, err := tx.TakeOverFetched(ctx, ids["a"], 1, "cancelled"); err != nil || !ok {
			return fmt.Errorf("TakeOverFetched = %v, %v", ok, err)
		}
		return tx.ReleaseTakenOver(ctx, job, 1, t0)
	})
	if r := getJob(t, s, job); r.InFlight != 0 || r.Cancelled != 1 {
		t.Fatalf("ReleaseTakenOver of a cancelled item: %+v", r)
	}
	if a := items(t, s, job)["a"]; a.Status != "cancelled" {
		t.Fatalf("TakeOverFetched: a is %s", a.Status)
	}

	// StaleFetched reads River's running jobs of the kind fetched before
	// the deadline.
	if h.RiverKind == "" {
		return
	}
	riverJob(t, s, h.RiverKind, 501, 3, t0)
	riverJob(t, s, h.RiverKind, 502, 4, t0.Add(time.Hour))
	riverJob(t, s, "other_kind", 503, 5, t0)
	got, err := s.StaleFetched(ctx, h.RiverKind, t0.Add(time.Minute))
	must(t, err, "StaleFetched")
	found := false
	for _, f := range got {
		switch f.ID {
		case 501:
			found = f.Run == 3
		case 502, 503:
			t.Fatalf("StaleFetched returned %+v", f)
		}
	}
	if !found {
		t.Fatalf("StaleFetched = %+v, want item 501 run 3", got)
	}
}

// riverJob inserts a running River job for item under run, attempted at.
func riverJob(t *testing.T, s jobstore.Store, kind string, item, run int64, at time.Time) {
	t.Helper()
	args := fmt.Sprintf(`{"job_id":1,"item_id":%d,"run":%d}`, item, run)
	q := `INSERT INTO river_job (args, kind, max_attempts, state, attempted_at, attempt) VALUES (?, ?, 5, 'running', ?, 1)`
	var a any = at
	if !s.IsPostgres() {
		a = at.Format("2006-01-02 15:04:05.999999")
	}
	if _, err := s.RiverHandle().Exec(sqldialect.Rebind(s.IsPostgres(), q), args, kind, a); err != nil {
		t.Fatalf("insert a River job: %v", err)
	}
}

func testLogs(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org := h.NewOrg(t)
	job, ids := chain(t, h, org)
	other, _ := chain(t, h, org)
	inTx(t, s, func(tx *jobstore.Tx) error {
		if err := tx.AppendError(ctx, jobstore.ErrorEntry{JobID: job, ErrorClass: "orphaned", Message: "first", CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.AppendError(ctx, jobstore.ErrorEntry{JobID: other, ErrorClass: "x", Message: "elsewhere", CreatedAt: t0}); err != nil {
			return err
		}
		return tx.AppendError(ctx, jobstore.ErrorEntry{JobID: job, ItemID: ids["a"], ObjectID: 5, ObjectName: "a", Layer: "summary",
			ErrorClass: "rate_limit", Message: "second", Attempt: 2, CreatedAt: t0.Add(time.Second)})
	})
	es, err := s.Errors(ctx, job, 0, 0)
	must(t, err, "Errors")
	if len(es) != 2 || es[0].Message != "first" || es[0].ItemID != 0 || es[0].ObjectID != 0 || !es[0].CreatedAt.Equal(t0) ||
		es[1] != (jobstore.ErrorEntry{ID: es[1].ID, JobID: job, ItemID: ids["a"], ObjectID: 5, ObjectName: "a", Layer: "summary",
			ErrorClass: "rate_limit", Message: "second", Attempt: 2, CreatedAt: t0.Add(time.Second)}) {
		t.Fatalf("Errors = %+v", es)
	}
	if p, _ := s.Errors(ctx, job, 1, 1); len(p) != 1 || p[0].Message != "second" {
		t.Fatalf("Errors(limit 1, offset 1) = %+v", p)
	}
	if n, err := s.CountErrors(ctx, job); err != nil || n != 2 {
		t.Fatalf("CountErrors = %d, %v", n, err)
	}

	var logs []jobstore.GenerationLog
	for i := range 250 {
		logs = append(logs, jobstore.GenerationLog{JobID: job, ItemID: ids["a"], ObjectID: 5, Layer: fmt.Sprintf("l%03d", i), Attempt: 1,
			Status: "ok", Model: "m", PromptTokens: int64(i), CompletionTokens: 2, CachedTokens: 1, ReasoningTokens: 1, Cost: 0.01,
			DurationMS: 3, FinishReason: "stop", CreatedAt: t0})
	}
	logs[249].Status, logs[249].ErrorClass, logs[249].Error = "failed", "timeout", "slow"
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.InsertGenerationLogs(ctx, logs) })
	gl, err := s.GenerationLogs(ctx, job, 0, 0)
	must(t, err, "GenerationLogs")
	if len(gl) != 250 || gl[0].Layer != "l000" || gl[249].Layer != "l249" {
		t.Fatalf("GenerationLogs: %d rows", len(gl))
	}
	want := logs[249]
	want.ID = gl[249].ID
	if gl[249] != want {
		t.Fatalf("GenerationLogs[249] = %+v\nwant %+v", gl[249], want)
	}
	if p, _ := s.GenerationLogs(ctx, job, 2, 10); len(p) != 2 || p[0].Layer != "l010" {
		t.Fatalf("GenerationLogs(limit 2, offset 10) = %+v", p)
	}
	if n, err := s.CountGenerationLogs(ctx, job); err != nil || n != 250 {
		t.Fatalf("CountGenerationLogs = %d, %v", n, err)
	}
	if n, _ := s.CountGenerationLogs(ctx, other); n != 0 {
		t.Fatalf("CountGenerationLogs of another job = %d", n)
	}

	inTx(t, s, func(tx *jobstore.Tx) error {
		if err := tx.AddLayerCounts(ctx, job, nil); err != nil {
			return err
		}
		if err := tx.AddLayerCounts(ctx, job, []jobstore.LayerDelta{{Layer: "summary", OK: 1}, {Layer: "tests", Failed: 1}}); err != nil {
			return err
		}
		return tx.AddLayerCounts(ctx, job, []jobstore.LayerDelta{{Layer: "summary", OK: 1}})
	})
	lc, err := s.LayerCounts(ctx, job)
	must(t, err, "LayerCounts")
	if !reflect.DeepEqual(lc, map[modeldoc.Layer]jobstore.LayerCount{"summary": {OK: 2}, "tests": {Failed: 1}}) {
		t.Fatalf("LayerCounts = %+v", lc)
	}
	if lc, _ := s.LayerCounts(ctx, other); len(lc) != 0 {
		t.Fatalf("LayerCounts of another job = %+v", lc)
	}
}

func testBatches(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org := h.NewOrg(t)
	job, ids := chain(t, h, org)
	var calls []jobstore.ChunkCall
	for i := range 230 {
		calls = append(calls, jobstore.ChunkCall{CustomID: fmt.Sprintf("c%03d", i), ItemID: ids["a"]})
	}
	var chunk, chunk2 int64
	inTx(t, s, func(tx *jobstore.Tx) error {
		var err error
		if chunk, err = tx.InsertChunk(ctx, job, "openai", "key-1", calls, t0); err != nil {
			return err
		}
		chunk2, err = tx.InsertChunk(ctx, job, "openai", "key-2", []jobstore.ChunkCall{{CustomID: "lone", ItemID: ids["b"]}}, t0)
		return err
	})
	c, err := s.BatchCall(ctx, job, "c229")
	must(t, err, "BatchCall")
	if *c != (jobstore.BatchCallRow{Status: "submitted", Chunk: chunk, Key: "key-1"}) {
		t.Fatalf("BatchCall = %+v", c)
	}
	if _, err := s.BatchCall(ctx, job, "nope"); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("BatchCall of no call: %v", err)
	}
	// Chunks not known submitted count for nothing.
	p, err := s.BatchProgress(ctx, job)
	must(t, err, "BatchProgress")
	if *p != (jobstore.BatchProgress{}) {
		t.Fatalf("BatchProgress before any batch id = %+v", p)
	}
	exp := t0.Add(24 * time.Hour)
	must(t, s.RecordBatch(ctx, chunk, jobstore.BatchState{ID: "batch_1", Status: "in_progress", Completed: 3, Message: "m", ExpiresAt: exp}, t0), "RecordBatch")
	if c, _ := s.BatchCall(ctx, job, "c000"); c.BatchID != "batch_1" {
		t.Fatalf("BatchCall after RecordBatch = %+v", c)
	}
	must(t, s.SetBatchCallResult(ctx, job, chunk, "c000", "succeeded", `{"r":1}`), "SetBatchCallResult")
	must(t, s.SetBatchCallResult(ctx, job, chunk, "c001", "failed", `{"e":1}`), "SetBatchCallResult")
	must(t, s.SetBatchCallResult(ctx, job, chunk2, "c002", "failed", `{}`), "SetBatchCallResult of another chunk")
	p, err = s.BatchProgress(ctx, job)
	must(t, err, "BatchProgress")
	if p.Batches != 1 || p.Open != 1 || p.Submitted != 230 || p.Completed != 1 || p.Failed != 1 || p.ExpiresAt == nil || !p.ExpiresAt.Equal(exp) {
		t.Fatalf("BatchProgress = %+v", p)
	}
	if c, _ := s.BatchCall(ctx, job, "c000"); c.Status != "succeeded" || c.Result != `{"r":1}` {
		t.Fatalf("BatchCall after its result = %+v", c)
	}
	if first, err := s.ChargeBatchCall(ctx, job, "c000"); err != nil || !first {
		t.Fatalf("ChargeBatchCall = %v, %v", first, err)
	}
	if first, err := s.ChargeBatchCall(ctx, job, "c000"); err != nil || first {
		t.Fatalf("ChargeBatchCall twice = %v, %v", first, err)
	}
	open, err := s.OpenBatches(ctx, job)
	must(t, err, "OpenBatches")
	if !reflect.DeepEqual(open, []jobstore.OpenBatch{{Chunk: chunk, BatchID: "batch_1"}}) {
		t.Fatalf("OpenBatches = %+v", open)
	}
	must(t, s.MarkBatchCancelling(ctx, chunk, t0), "MarkBatchCancelling")
	var status string
	must(t, s.RiverHandle().QueryRow(sqldialect.Rebind(s.IsPostgres(), `SELECT status FROM job_batches WHERE id = ?`), chunk).Scan(&status), "read status")
	if status != "cancelling" {
		t.Fatalf("MarkBatchCancelling: status %q", status)
	}
	// An ended batch keeps its expiry when none is given, and is no
	// longer open nor marked cancelling.
	must(t, s.RecordBatch(ctx, chunk, jobstore.BatchState{ID: "batch_1", Status: "ended", Ended: true}, t0), "RecordBatch")
	must(t, s.MarkBatchCancelling(ctx, chunk, t0), "MarkBatchCancelling")
	must(t, s.RiverHandle().QueryRow(sqldialect.Rebind(s.IsPostgres(), `SELECT status FROM job_batches WHERE id = ?`), chunk).Scan(&status), "read status")
	if open, _ := s.OpenBatches(ctx, job); len(open) != 0 || status != "ended" {
		t.Fatalf("after the batch ended: open %+v, status %q", open, status)
	}
	if p, _ := s.BatchProgress(ctx, job); p.Open != 0 || p.ExpiresAt != nil || p.Batches != 1 {
		t.Fatalf("BatchProgress after the end = %+v", p)
	}
	// Only an unsubmitted chunk is dropped by DeleteUnsubmittedChunk.
	must(t, s.DeleteUnsubmittedChunk(ctx, chunk), "DeleteUnsubmittedChunk")
	if _, err := s.BatchCall(ctx, job, "c000"); err != nil {
		t.Fatalf("DeleteUnsubmittedChunk dropped a submitted chunk: %v", err)
	}
	must(t, s.DeleteUnsubmittedChunk(ctx, chunk2), "DeleteUnsubmittedChunk")
	if _, err := s.BatchCall(ctx, job, "lone"); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("after DeleteUnsubmittedChunk: %v", err)
	}
	must(t, s.DeleteChunk(ctx, chunk), "DeleteChunk")
	if _, err := s.BatchCall(ctx, job, "c000"); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("after DeleteChunk: %v", err)
	}
}

func testTransactions(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org := h.NewOrg(t)
	// A rolled back transaction leaves nothing, whether written through
	// the job store or its SQL transaction.
	tx, err := s.Begin(ctx)
	must(t, err, "Begin")
	id, err := tx.InsertJob(ctx, jobstore.NewJob{OrgID: org, Options: "{}", Now: t0})
	must(t, err, "InsertJob")
	if j, err := tx.GetJobByID(ctx, id); err != nil || j.ID != id {
		t.Fatalf("a transaction does not read its own job: %v", err)
	}
	q := sqldialect.Rebind(s.IsPostgres(), `UPDATE jobs SET message = 'raw' WHERE id = ?`)
	if _, err := tx.SQL().ExecContext(ctx, q, id); err != nil {
		t.Fatal(err)
	}
	if j, _ := tx.GetJobByID(ctx, id); j.Message != "raw" {
		t.Fatalf("SQL is not the same transaction: message %q", j.Message)
	}
	must(t, tx.Rollback(), "Rollback")
	if _, err := s.GetJobByID(ctx, id); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("a rolled back job is there: %v", err)
	}
	// Within runs in a transaction begun elsewhere, which its owner ends.
	raw, err := s.RiverHandle().BeginTx(ctx, nil)
	must(t, err, "BeginTx")
	id, err = s.Within(raw).InsertJob(ctx, jobstore.NewJob{OrgID: org, Options: "{}", Now: t0})
	must(t, err, "Within.InsertJob")
	if s.Within(raw).SQL() != raw {
		t.Fatal("Within's SQL is not the transaction it was given")
	}
	must(t, raw.Rollback(), "Rollback")
	if _, err := s.GetJobByID(ctx, id); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("a job inserted Within a rolled back transaction is there: %v", err)
	}
	// A savepoint's failure undoes its own statements only.
	job := newJob(t, s, org, nil)
	inTx(t, s, func(tx *jobstore.Tx) error {
		if err := tx.Savepoint(ctx, func() error {
			if err := tx.ResumeJob(ctx, job, "running", t0); err != nil {
				return err
			}
			return errors.New("fail")
		}); err != nil {
			return err
		}
		return tx.Savepoint(ctx, func() error { return tx.SetJobBudget(ctx, job, 3, "{}", t0) })
	})
	if r := getJob(t, s, job); r.Status != "queued" || r.Budget != 3 {
		t.Fatalf("savepoints: status %s budget %v, want queued and 3", r.Status, r.Budget)
	}
	// Committed writes are seen outside.
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.CompleteJob(ctx, job, t0) })
	if r := getJob(t, s, job); r.Status != "completed" {
		t.Fatalf("committed: %s", r.Status)
	}
}

func testRiverLock(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	unlock, err := s.LockRiverMigration(ctx)
	if !s.IsPostgres() {
		if err == nil {
			unlock()
			t.Fatal("LockRiverMigration on SQLite returned no error")
		}
		return
	}
	must(t, err, "LockRiverMigration")
	// A second session waits for the lock until it is released.
	got := make(chan func(), 1)
	go func() {
		u, err := s.LockRiverMigration(ctx)
		if err != nil {
			got <- nil
			return
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("a second LockRiverMigration did not wait")
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case u := <-got:
		if u == nil {
			t.Fatal("the second LockRiverMigration failed")
		}
		u()
	case <-time.After(10 * time.Second):
		t.Fatal("the lock was not released")
	}
}

func testCounts(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org, other := h.NewOrg(t), h.NewOrg(t)
	a := newJob(t, s, org, nil)
	b := newJob(t, s, org, nil)
	c := newJob(t, s, other, nil)
	inTx(t, s, func(tx *jobstore.Tx) error {
		if err := tx.CompleteJob(ctx, b, t0); err != nil {
			return err
		}
		if _, err := tx.CountFinish(ctx, a, jobstore.FinishCounts{Processed: 2, Partial: 1, Failed: 1, Cancelled: 1,
			Spend: jobstore.Spend{PromptTokens: 10, CompletionTokens: 4, CachedTokens: 3, Cost: 0.5}}, t0); err != nil {
			return err
		}
		_, err := tx.CountFinish(ctx, c, jobstore.FinishCounts{Processed: 5, Spend: jobstore.Spend{Cost: 9}}, t0)
		return err
	})
	if n, err := s.CountJobs(ctx, org, ""); err != nil || n != 2 {
		t.Fatalf("CountJobs = %d, %v", n, err)
	}
	if n, err := s.CountJobs(ctx, org, "completed"); err != nil || n != 1 {
		t.Fatalf("CountJobs(completed) = %d, %v", n, err)
	}
	by, err := s.JobsByStatus(ctx, org)
	must(t, err, "JobsByStatus")
	if !reflect.DeepEqual(by, map[string]int64{"queued": 1, "completed": 1}) {
		t.Fatalf("JobsByStatus = %v", by)
	}
	all, err := s.JobsByStatus(ctx, 0)
	must(t, err, "JobsByStatus(all)")
	if all["queued"] < 2 || all["completed"] < 1 {
		t.Fatalf("JobsByStatus of every organization = %v", all)
	}
	tot, err := s.JobTotals(ctx, org)
	must(t, err, "JobTotals")
	// Each job estimated 1.5 (newJob); Skipped 1 each.
	want := jobstore.JobTotals{Processed: 2, Partial: 1, Failed: 1, Skipped: 2, Cancelled: 1, PromptTokens: 10, CachedTokens: 3,
		CompletionTokens: 4, ActualCost: 0.5, EstimatedCost: 3}
	if *tot != want {
		t.Fatalf("JobTotals = %+v\nwant %+v", *tot, want)
	}
	if tot, _ := s.JobTotals(ctx, 0); tot.Processed < 7 || tot.ActualCost < 9.5 {
		t.Fatalf("JobTotals of every organization = %+v", tot)
	}

	_, ids := chain(t, h, org)
	logs := []jobstore.GenerationLog{
		{JobID: a, ItemID: ids["a"], Layer: "summary", Status: "ok", Model: "m1", DurationMS: 50, CreatedAt: t0},
		{JobID: a, ItemID: ids["a"], Layer: "tests", Status: "ok", Model: "m1", DurationMS: 60, CreatedAt: t0},
		{JobID: a, ItemID: ids["a"], Layer: "columns", Status: "failed", ErrorClass: "timeout", Model: "m1", DurationMS: 400_000, CreatedAt: t0},
		{JobID: c, ItemID: ids["a"], Layer: "summary", Status: "ok", Model: "m2", DurationMS: 50, CreatedAt: t0},
	}
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.InsertGenerationLogs(ctx, logs) })
	got, err := s.CallOutcomes(ctx, org)
	must(t, err, "CallOutcomes")
	if len(got) != 2 {
		t.Fatalf("CallOutcomes = %+v", got)
	}
	for _, o := range got {
		switch o.Status {
		case "ok":
			if o != (jobstore.CallOutcome{Model: "m1", Status: "ok", Bucket: 0, Calls: 2, DurationMS: 110}) {
				t.Fatalf("CallOutcomes ok = %+v", o)
			}
		case "failed":
			if o != (jobstore.CallOutcome{Model: "m1", Status: "failed", ErrorClass: "timeout", Bucket: len(jobstore.CallLatencyBoundsMS), Calls: 1, DurationMS: 400_000}) {
				t.Fatalf("CallOutcomes failed = %+v", o)
			}
		default:
			t.Fatalf("CallOutcomes: %+v", o)
		}
	}
}

func testRetention(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org := h.NewOrg(t)
	job, ids := chain(t, h, org)
	// Retention is over every organization: the rows to delete are older
	// than those of the other subtests (t0), the cutoff between the two.
	old, recent, cutoff := t0.AddDate(-1, 0, 0), t0, t0.AddDate(0, 0, -1)
	var logs []jobstore.GenerationLog
	for i := range 7 {
		at := old
		if i == 6 {
			at = recent
		}
		logs = append(logs, jobstore.GenerationLog{JobID: job, ItemID: ids["a"], Layer: "summary", Status: "ok", Model: "ret",
			DurationMS: int64(100 * (i + 1)), CreatedAt: at})
	}
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.InsertGenerationLogs(ctx, logs) })
	before, err := s.CallOutcomes(ctx, org)
	must(t, err, "CallOutcomes")
	n, err := s.DeleteGenerationLogsBefore(ctx, cutoff, 2)
	must(t, err, "DeleteGenerationLogsBefore")
	if n != 6 {
		t.Fatalf("DeleteGenerationLogsBefore deleted %d, want 6", n)
	}
	if left, _ := s.CountGenerationLogs(ctx, job); left != 1 {
		t.Fatalf("%d logs left, want 1", left)
	}
	// The counters never go down: the deleted calls are in the totals.
	after, err := s.CallOutcomes(ctx, org)
	must(t, err, "CallOutcomes")
	sum := func(os []jobstore.CallOutcome) (calls, ms int64) {
		for _, o := range os {
			calls, ms = calls+o.Calls, ms+o.DurationMS
		}
		return
	}
	bc, bms := sum(before)
	ac, ams := sum(after)
	if bc != 7 || ac != 7 || bms != ams {
		t.Fatalf("calls before %d (%d ms), after %d (%d ms)", bc, bms, ac, ams)
	}
	if n, err := s.DeleteGenerationLogsBefore(ctx, cutoff, 0); err != nil || n != 0 {
		t.Fatalf("DeleteGenerationLogsBefore again = %d, %v", n, err)
	}
}

func testRateLimits(t *testing.T, h Harness) {
	s := h.Store
	if !s.IsPostgres() {
		t.Skip("rate limits are shared through PostgreSQL only")
	}
	ctx := context.Background()
	key := fmt.Sprintf("conformance:%d", seq.Add(1))
	sec, tol := time.Second, 10*time.Second
	if f, since, err := s.RateFactor(ctx, key); err != nil || f != 1 || since >= 0 {
		t.Fatalf("RateFactor of a new key = %v, %v, %v; want 1, < 0", f, since, err)
	}
	// A new bucket starts empty: the first take waits about one cost, the
	// next starts exactly one cost later on the database's clock.
	s1, w1, err := s.TakeRate(ctx, key, sec, tol, 0, tol)
	if err != nil || w1 <= 0 || w1 > sec {
		t.Fatalf("first TakeRate waits %v, %v; want (0, 1s]", w1, err)
	}
	s2, _, err := s.TakeRate(ctx, key, sec, tol, 0, tol)
	must(t, err, "TakeRate")
	if d := s2.Sub(s1); d != sec {
		t.Fatalf("takes start %v apart, want 1s", d)
	}
	// A hold stops every take until it ends.
	must(t, s.HoldRate(ctx, key, time.Hour), "HoldRate")
	if _, w, err := s.TakeRate(ctx, key, sec, tol, 0, tol); err != nil || w < 59*time.Minute {
		t.Fatalf("TakeRate under a one-hour hold waits %v, %v", w, err)
	}
	// Drain and Adjust move the schedule of a key held by nothing.
	key2 := fmt.Sprintf("conformance:%d", seq.Add(1))
	if _, _, err := s.TakeRate(ctx, key2, 0, tol, 0, tol); err != nil {
		t.Fatal(err)
	}
	must(t, s.DrainRate(ctx, key2, 2*time.Hour, 0), "DrainRate")
	_, w, err := s.TakeRate(ctx, key2, sec, 3*time.Hour, 0, tol)
	must(t, err, "TakeRate")
	must(t, s.AdjustRate(ctx, key2, time.Hour, 0), "AdjustRate")
	_, w2, err := s.TakeRate(ctx, key2, 0, 0, 0, tol)
	must(t, err, "TakeRate")
	if w > 0 || w2 < 3*time.Hour-time.Minute || w2 > 3*time.Hour+time.Minute {
		t.Fatalf("after a 2h drain and 1h charge: waits %v then %v, want <= 0 then ~3h", w, w2)
	}
	// The last take moved the token schedule to its start too: both are
	// given back.
	must(t, s.AdjustRate(ctx, key2, -5*time.Hour, -5*time.Hour), "AdjustRate")
	if _, w, err := s.TakeRate(ctx, key2, 0, 0, 0, tol); err != nil || w > time.Second {
		t.Fatalf("a refund does not reach before now: waits %v, %v", w, err)
	}
	must(t, s.CutRateFactor(ctx, key, 0.5), "CutRateFactor")
	if f, since, err := s.RateFactor(ctx, key); err != nil || f != 0.5 || since < 0 || since > time.Minute {
		t.Fatalf("RateFactor after a cut = %v, %v, %v", f, since, err)
	}
}

func testWorkingOn(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	org, other := h.NewOrg(t), h.NewOrg(t)
	p1, _ := h.NewProject(t, org)
	p2, objs := h.NewProject(t, org)
	if _, _, err := s.JobWorkingOn(ctx, org, p1); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("JobWorkingOn with no job: %v", err)
	}
	// A job of the project, then a finished one: only the first counts.
	j1 := newJob(t, s, org, func(j *jobstore.NewJob) { j.ProjectID = p1 })
	if id, st, err := s.JobWorkingOn(ctx, org, p1); err != nil || id != j1 || st != "queued" {
		t.Fatalf("JobWorkingOn = %d %s %v, want job %d queued", id, st, err, j1)
	}
	if _, _, err := s.JobWorkingOn(ctx, other, p1); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("JobWorkingOn crossed organizations: %v", err)
	}
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.CompleteJob(ctx, j1, t0) })
	if _, _, err := s.JobWorkingOn(ctx, org, p1); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("JobWorkingOn found a completed job: %v", err)
	}
	// A job over several projects works on p2 through its items' objects.
	j2 := newJob(t, s, org, nil)
	inTx(t, s, func(tx *jobstore.Tx) error {
		return tx.InsertItems(ctx, j2, []jobstore.NewItem{{ObjectID: objs[0], ObjectName: "x"}}, t0)
	})
	inTx(t, s, func(tx *jobstore.Tx) error { return tx.PauseJob(ctx, j2, "user_paused", t0) })
	if id, st, err := s.JobWorkingOn(ctx, org, p2); err != nil || id != j2 || st != "paused" {
		t.Fatalf("JobWorkingOn through items = %d %s %v, want job %d paused", id, st, err, j2)
	}
	if _, _, err := s.JobWorkingOn(ctx, org, p1); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("JobWorkingOn of p1 found the job of p2's objects: %v", err)
	}
}
