package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/riverqueue/river/rivertype"
)

// Many concurrent outcomes: each is committed exactly once, in batches no
// larger than maxGroup, never two batches at once, and each submitter gets
// its own outcome's error back.
func TestGroupCommit(t *testing.T) {
	var g groupCommit[*finish]
	var mu sync.Mutex
	committed := map[*finish]int{}
	inCommit, batches, largest := 0, 0, 0
	commit := func(fs []*finish) {
		mu.Lock()
		inCommit++
		if inCommit > 1 {
			t.Error("two batches committed at once")
		}
		batches++
		largest = max(largest, len(fs))
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // let others queue up
		mu.Lock()
		for _, f := range fs {
			committed[f]++
			if f.st.objectName == "bad" {
				f.err = errors.New("bad item")
			}
		}
		inCommit--
		mu.Unlock()
	}
	const n = 500
	var wg sync.WaitGroup
	errs := make([]error, n)
	fs := make([]*finish, n)
	for i := range n {
		name := fmt.Sprint(i)
		if i%7 == 0 {
			name = "bad"
		}
		fs[i] = &finish{st: &started{objectName: name}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.submit(fs[i], commit, func(f *finish, err error) { f.err = err })
			errs[i] = fs[i].err
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("submitters still waiting: a batch was never led")
	}
	for i, f := range fs {
		if committed[f] != 1 {
			t.Fatalf("outcome %d committed %d times", i, committed[f])
		}
		if bad := i%7 == 0; bad != (errs[i] != nil) {
			t.Fatalf("outcome %d: err = %v", i, errs[i])
		}
	}
	if largest > maxGroup {
		t.Fatalf("a batch of %d, more than %d", largest, maxGroup)
	}
	if batches >= n {
		t.Errorf("%d batches for %d outcomes: nothing was grouped", batches, n)
	}
	if g.busy || len(g.pending) != 0 {
		t.Fatalf("left busy=%v with %d pending", g.busy, len(g.pending))
	}
	t.Logf("%d outcomes in %d batches, largest %d", n, batches, largest)
}

// An item whose outcome fails inside a group commit is rolled back alone
// (its savepoint); the others in its transaction are kept, and River runs
// the failed one again. The job ends with every object documented once
// and exact counters.
func TestFailedOutcomeInAGroupIsRetriedAlone(t *testing.T) {
	s := modeldoctest.NewSQLiteStore(t)
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("m%02d", i))
	}
	e := newEnv(t, s, names, nil)
	var mu sync.Mutex
	failed := map[int64]bool{}
	e.m.runtime.finishFault = func(f *finish) error {
		mu.Lock()
		defer mu.Unlock()
		if f.batch > 1 && len(failed) < 3 && !failed[f.rj.Args.ItemID] {
			failed[f.rj.Args.ItemID] = true
			return errors.New("injected: the disk is full")
		}
		return nil
	}
	j := e.create(Options{Concurrency: 8})
	done := e.run(j.ID)
	if len(failed) == 0 {
		t.Fatal("no outcome was ever committed in a group of more than one: the savepoint path went untested")
	}
	if done.Status != StatusCompleted || done.Processed != 40 || done.Failed != 0 {
		t.Fatalf("job %+v", done)
	}
	e.checkCounters(done)
	for _, n := range names {
		if v := e.versions()[n]; v != 1 {
			t.Fatalf("%s has %d versions, want 1", n, v)
		}
	}
	t.Logf("%d outcomes failed inside a group and were retried", len(failed))
}

// The River job is completed by River after the item's transaction
// commits. A crash in between leaves a River job for a finished item;
// when River runs it again (after its rescue), it must change nothing:
// no second version, no counter moved.
func TestRiverJobOfAFinishedItemDoesNothing(t *testing.T) {
	s := modeldoctest.NewSQLiteStore(t)
	e := newEnv(t, s, []string{"a", "b", "c"}, []string{"a>b"})
	j := e.create(Options{Concurrency: 2})
	done := e.run(j.ID)
	if done.Status != StatusCompleted || done.Processed != 3 {
		t.Fatalf("job %+v", done)
	}
	items, err := e.m.Items(context.Background(), e.org, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The same River job again, as River would run it after a crash: the
	// item's current run, the item done.
	var ids []int64
	for _, it := range items {
		var run int64
		if err := s.ReadDB().QueryRow(`SELECT run FROM job_items WHERE id = ?`, it.ID).Scan(&run); err != nil {
			t.Fatal(err)
		}
		res, err := e.m.runtime.client.Insert(ctx, ItemArgs{JobID: j.ID, ItemID: it.ID, Run: run}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Job.ID)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			rj, err := e.m.runtime.client.JobGet(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if rj.State == rivertype.JobStateCompleted {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("River job %d still %s", id, rj.State)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	after, err := e.m.Get(ctx, e.org, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Processed != done.Processed || after.PromptTokens != done.PromptTokens || after.ActualCost != done.ActualCost || after.Status != StatusCompleted {
		t.Fatalf("counters moved: before %+v after %+v", done, after)
	}
	for n, v := range e.versions() {
		if v != 1 {
			t.Fatalf("%s has %d versions", n, v)
		}
	}
}

// A batch whose commit panics gives every operation in it an error, the
// panic reaches the leader, and the next batches are still led.
func TestGroupCommitSurvivesAPanic(t *testing.T) {
	var g groupCommit[*finish]
	fail := func(f *finish, err error) { f.err = err }
	release := make(chan struct{})
	first := &finish{st: &started{objectName: "first"}}
	firstDone := make(chan any, 1)
	go func() {
		defer func() { firstDone <- recover() }()
		g.submit(first, func(fs []*finish) {
			<-release // the others queue up behind this batch
			panic("boom")
		}, fail)
	}()
	for !func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy }() {
		time.Sleep(time.Millisecond)
	}
	const n = 5
	var wg sync.WaitGroup
	others := make([]*finish, n)
	for i := range n {
		others[i] = &finish{st: &started{objectName: fmt.Sprint(i)}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.submit(others[i], func(fs []*finish) {}, fail)
		}()
	}
	for func() int { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) }() < n {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if r := <-firstDone; r != "boom" {
		t.Fatalf("the leader recovered %v, want the panic", r)
	}
	if first.err == nil || !strings.Contains(first.err.Error(), "panicked: boom") {
		t.Fatalf("leader's err = %v", first.err)
	}
	wg.Wait()
	for i, f := range others {
		if f.err != nil {
			t.Fatalf("outcome %d, in the next batch, got %v", i, f.err)
		}
	}
	if g.busy || len(g.pending) != 0 {
		t.Fatalf("left busy=%v with %d pending", g.busy, len(g.pending))
	}
}
