package jobs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// The crash test re-executes this test binary as the worker process, so
// that it can be killed with SIGKILL mid-job like a real modeldoc.
const (
	childEnv = "MODELDOC_JOBS_CRASH_CHILD"
	childDB  = "MODELDOC_JOBS_CRASH_DB"
	childJob = "MODELDOC_JOBS_CRASH_JOB"
)

// TestCrashChild is the worker process; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs only as the child of TestKillNineMidJob")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, os.Getenv(childDB))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	org, err := s.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseInt(os.Getenv(childJob), 10, 64)
	w := newScriptWriter()
	w.delay = 60 * time.Millisecond // the provider's latency
	m, err := NewManager(ctx, Config{
		Store: s, Documenter: &scriptDoc{store: s},
		Writers:   FixedWriter(w),
		Heartbeat: 200 * time.Millisecond, Lease: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	j, err := m.RunJob(ctx, org.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != StatusCompleted {
		t.Fatalf("job ended %s", j.Status)
	}
}

func TestKillNineMidJob(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	s := modeldoctest.NewSQLiteStore(t)
	var names, edges []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("m%02d", i))
		if i >= 4 {
			edges = append(edges, fmt.Sprintf("m%02d>m%02d", i-4, i))
		}
	}
	e := newEnv(t, s, names, edges)
	j := e.create(Options{Concurrency: 3})

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"=1", childDB+"="+s.Path(), childJob+"="+strconv.FormatInt(j.ID, 10))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := start()
	mid := e.waitFor(e.m, j.ID, "a third done", func(j *Job) bool { return j.Processed >= 12 })
	if err := first.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = first.Wait()
	before, err := e.m.Items(context.Background(), e.org, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	doneBefore := map[int64]int64{}
	inFlight, running := 0, 0
	for _, it := range before {
		switch it.Status {
		case ItemDone:
			doneBefore[it.ObjectID] = it.DocVersionID
		case ItemRunning:
			running++
			inFlight++
		case ItemEnqueued:
			inFlight++
		}
	}
	t.Logf("killed with %d done (%d seen), %d in flight", len(doneBefore), mid.Processed, inFlight)
	if len(doneBefore) == len(names) {
		t.Fatal("the job finished before the kill: nothing was tested")
	}

	second := start()
	waitErr := make(chan error, 1)
	go func() { waitErr <- second.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
	case <-time.After(3 * time.Minute):
		_ = second.Process.Kill()
		t.Fatal("the second run never ended")
	}
	done, err := e.m.Get(context.Background(), e.org, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != StatusCompleted || done.Processed != int64(len(names)) || done.Failed != 0 {
		t.Fatalf("job %+v", done)
	}
	e.checkCounters(done)
	for n, c := range e.versions() {
		if c != 1 {
			t.Fatalf("%s documented %d times", n, c)
		}
	}
	if len(e.versions()) != len(names) {
		t.Fatalf("%d objects documented, want %d", len(e.versions()), len(names))
	}
	errs, _ := e.m.Errors(context.Background(), e.org, j.ID)
	orphaned := 0
	for _, er := range errs {
		if er.ErrorClass == "orphaned" {
			orphaned++
		}
	}
	// Every item running at the kill is taken over; so is an enqueued one
	// whose River job the dead process had already fetched (it would
	// otherwise wait for River's stuck-job rescue). Nothing else is.
	if orphaned < running || orphaned > inFlight {
		t.Fatalf("%d items were running and %d in flight at the kill, %d taken over", running, inFlight, orphaned)
	}
	after, _ := e.m.Items(context.Background(), e.org, j.ID)
	for _, it := range after {
		if v, ok := doneBefore[it.ObjectID]; ok && it.DocVersionID != v {
			t.Fatalf("%s was written again: version %d, was %d", it.ObjectName, it.DocVersionID, v)
		}
	}
}
