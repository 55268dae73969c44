package scaletest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

const hubspot = "fivetran__dbt_hubspot"

// Workers renew their leases every second and give up a silent worker's
// objects after five, so that a take-over happens within the test.
var fastLease = []string{"--heartbeat", "1s", "--lease", "5s"}

func TestKillNineWorkerMidJob(t *testing.T) {
	c := newCluster(t, fakellm.Config{Latency: 700 * time.Millisecond, Jitter: 300 * time.Millisecond})
	project := c.importDataset(hubspot)
	j := c.createJob(project, jobs.Options{Concurrency: 12})
	ws := []*worker{c.start("w1", fastLease...), c.start("w2", fastLease...), c.start("w3", fastLease...)}
	victim := ws[1]

	// Kill w2 once a fifth of the job is done and w2 is writing objects.
	var inFlight []int64
	c.waitJob(j.ID, "w2 writing mid-job", 2*time.Minute, func(j *jobs.Job) bool {
		inFlight = c.running(j.ID)[victim.id]
		return j.Processed >= j.Total/5 && len(inFlight) > 0
	})
	killedAt := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup at all
		t.Fatal(err)
	}
	<-victim.done
	victim.done <- nil
	// What the dead worker left running: an object it finished between the
	// snapshot above and the kill is done, not orphaned.
	inFlight = c.running(j.ID)[victim.id]
	mid, _ := c.eng.Jobs.Get(context.Background(), c.org, j.ID)
	t.Logf("killed %s with %d objects in flight; job at %d/%d", victim.id, len(inFlight), mid.Processed, mid.Total)

	done := c.waitJob(j.ID, "completion", 3*time.Minute, func(j *jobs.Job) bool { return jobs.Terminal(j.Status) && j.InFlight == 0 })
	if done.Status != jobs.StatusCompleted || done.Failed != 0 || done.Processed+done.Skipped != done.Total {
		t.Fatalf("job ended %+v", done)
	}
	c.checkExact(j.ID)

	// Every object w2 was writing was taken over, once, by a live worker.
	errs, err := c.eng.Jobs.Errors(context.Background(), c.org, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	orphaned := map[int64]time.Time{}
	fetchedOnly := map[int64]bool{}
	for _, e := range errs {
		if e.ErrorClass == "orphaned" {
			if _, dup := orphaned[e.ItemID]; dup {
				t.Fatalf("item %d taken over twice", e.ItemID)
			}
			orphaned[e.ItemID] = e.CreatedAt
			// An item whose River job the killed worker had fetched but
			// not yet started is taken over too (it was enqueued, not
			// running, so c.running did not list it).
			fetchedOnly[e.ItemID] = strings.HasPrefix(e.Message, "The worker that fetched it")
		}
	}
	var slowest time.Duration
	for _, id := range inFlight {
		at, ok := orphaned[id]
		if !ok {
			t.Fatalf("item %d was running on the killed worker and was never taken over (taken over: %v)", id, orphaned)
		}
		slowest = max(slowest, at.Sub(killedAt))
	}
	running := map[int64]bool{}
	for _, id := range inFlight {
		running[id] = true
	}
	for id := range orphaned {
		if !running[id] && !fetchedOnly[id] {
			t.Fatalf("item %d was taken over though the killed worker was neither writing nor holding it (taken over: %v)", id, orphaned)
		}
	}
	t.Logf("take-over of %d objects within %s of the kill (lease 5s, heartbeat 1s)", len(inFlight), slowest.Round(time.Millisecond))
	st := c.fake.Stats()
	t.Logf("fake provider: %d requests, %d prompt tokens; the job counted %d (calls cut short by the kill are not billed by the fake)",
		st.Requests, st.PromptTokens, done.PromptTokens)
	for _, w := range ws {
		if w != victim {
			w.stop(t)
		}
	}
}

// TestControlReachesEveryWorker pauses, resumes and cancels a job from
// the test's own process while three worker processes write it, and reads
// from the items' timestamps when each worker obeyed.
func TestControlReachesEveryWorker(t *testing.T) {
	c := newCluster(t, fakellm.Config{Latency: 1500 * time.Millisecond, Jitter: 500 * time.Millisecond})
	project := c.importDataset(hubspot)
	j := c.createJob(project, jobs.Options{Concurrency: 12})
	ids := []string{"w1", "w2", "w3"}
	// Four objects at most per worker: River lets one worker fetch a whole
	// window otherwise, and the test needs every worker writing.
	for _, id := range ids {
		c.start(id, "--max-workers", "4")
	}
	everyone := func(what string) map[string][]int64 {
		var run map[string][]int64
		c.waitJob(j.ID, what, 2*time.Minute, func(j *jobs.Job) bool {
			run = c.running(j.ID)
			for _, id := range ids {
				if len(run[id]) == 0 {
					return false
				}
			}
			return true
		})
		return run
	}
	ctx := context.Background()

	// Pause: no worker starts an object after the pause committed; the
	// objects in flight on every worker finish and are kept.
	before := everyone("every worker writing")
	if _, err := c.eng.Jobs.Pause(ctx, c.org, j.ID); err != nil {
		t.Fatal(err)
	}
	pausedAt := c.eventTime(`SELECT updated_at FROM jobs WHERE id = $1`, j.ID)
	paused := c.waitJob(j.ID, "paused", time.Minute, func(j *jobs.Job) bool { return j.Status == jobs.StatusPaused })
	var late int
	if err := c.st.DB().QueryRow(`SELECT COUNT(*) FROM job_items WHERE job_id = $1 AND started_at > $2`, j.ID, pausedAt).Scan(&late); err != nil {
		t.Fatal(err)
	}
	if late != 0 {
		t.Fatalf("%d objects started after the pause", late)
	}
	for w, items := range before {
		for _, id := range items {
			var st string
			if err := c.st.DB().QueryRow(`SELECT status FROM job_items WHERE id = $1`, id).Scan(&st); err != nil {
				t.Fatal(err)
			}
			if st == jobs.ItemDone || st == jobs.ItemPartial {
				continue
			}
			// An object still being planned when the pause landed had
			// made no call: it is put back, and nothing was spent on it.
			var calls int
			if err := c.st.DB().QueryRow(`SELECT COUNT(*) FROM generation_logs WHERE item_id = $1 AND status <> 'refused'`, id).Scan(&calls); err != nil {
				t.Fatal(err)
			}
			if st != jobs.ItemReady || calls != 0 {
				t.Fatalf("object %d, in flight on %s at the pause, ended %s after %d calls: it should have finished and been kept", id, w, st, calls)
			}
		}
	}
	t.Logf("paused at %d/%d with objects in flight on %d workers; none started after", paused.Processed, paused.Total, len(before))

	// Cancel: calls in flight on every worker are cancelled within a
	// second, learned by each worker's control poll (300 ms).
	c.fake.SetLatency(time.Minute, 0) // calls now stay in flight until cancelled
	if _, err := c.eng.Jobs.Resume(ctx, c.org, j.ID); err != nil {
		t.Fatal(err)
	}
	inFlight := everyone("every worker writing after the resume")
	if _, err := c.eng.Jobs.Cancel(ctx, c.org, j.ID); err != nil {
		t.Fatal(err)
	}
	cancelledAt := c.eventTime(`SELECT finished_at FROM jobs WHERE id = $1`, j.ID)
	c.waitJob(j.ID, "cancelled with nothing in flight", time.Minute, func(j *jobs.Job) bool { return j.Status == jobs.StatusCancelled && j.InFlight == 0 })
	for w, items := range inFlight {
		var slowest time.Duration
		for _, id := range items {
			var st string
			if err := c.st.DB().QueryRow(`SELECT status FROM job_items WHERE id = $1`, id).Scan(&st); err != nil {
				t.Fatal(err)
			}
			if st != jobs.ItemCancelled {
				t.Fatalf("object %d on %s ended %s after the cancel", id, w, st)
			}
			slowest = max(slowest, c.eventTime(`SELECT finished_at FROM job_items WHERE id = $1`, id).Sub(cancelledAt))
		}
		t.Logf("%s: %d calls in flight stopped within %s of the cancel", w, len(items), slowest.Round(time.Millisecond))
		// The issue promises a second; each worker polls every 300 ms, and
		// the measured figure is logged above. On a shared, noisy machine
		// only a failure of the mechanism is asserted: a cancel that did
		// not propagate would leave the calls hanging for the fake's
		// one-minute latency.
		if slowest > 10*time.Second {
			t.Errorf("worker %s took %s to stop its objects after the cancel: the cancel did not propagate", w, slowest)
		}
	}
	c.checkExact(j.ID)
}

func (c *cluster) eventTime(q string, args ...any) time.Time {
	c.tb.Helper()
	var at time.Time
	if err := c.st.DB().QueryRow(q, args...).Scan(&at); err != nil {
		c.tb.Fatal(err)
	}
	return at
}

// TestDatabaseRestartMidJob restarts PostgreSQL while two workers write a
// job: they reconnect and the job completes with nothing lost. Opt-in: it
// cuts every connection to the server, other tests' too.
func TestDatabaseRestartMidJob(t *testing.T) {
	if os.Getenv("MODELDOC_TEST_PG_RESTART") != "1" {
		t.Skip("restarts PostgreSQL: set MODELDOC_TEST_PG_RESTART=1 (and MODELDOC_TEST_POSTGRES=1) to run it alone")
	}
	c := newCluster(t, fakellm.Config{Latency: 700 * time.Millisecond, Jitter: 300 * time.Millisecond})
	project := c.importDataset(hubspot)
	j := c.createJob(project, jobs.Options{Concurrency: 12})
	ws := []*worker{c.start("w1", fastLease...), c.start("w2", fastLease...)}
	c.waitJob(j.ID, "a fifth done", 2*time.Minute, func(j *jobs.Job) bool { return j.Processed >= j.Total/5 })
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", pgVersion(t), "main", "restart").CombinedOutput()
	if err != nil {
		t.Fatalf("restart PostgreSQL: %v\n%s", err, out)
	}
	t.Log("PostgreSQL restarted")
	done := c.waitJob(j.ID, "completion after the restart", 5*time.Minute, func(j *jobs.Job) bool { return jobs.Terminal(j.Status) && j.InFlight == 0 })
	if done.Status != jobs.StatusCompleted || done.Failed != 0 || done.Processed+done.Skipped != done.Total {
		t.Fatalf("job ended %+v", done)
	}
	c.checkExact(j.ID)
	for _, w := range ws {
		w.stop(t)
		b, _ := os.ReadFile(w.log)
		t.Logf("%s logged %d warnings and %d errors across the restart", w.id,
			strings.Count(string(b), "level=WARN"), strings.Count(string(b), "level=ERROR"))
	}
}

func pgVersion(t *testing.T) string {
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(entries) != 1 {
		t.Fatalf("cannot tell the PostgreSQL cluster version from /etc/postgresql: %v %v", entries, err)
	}
	return entries[0].Name()
}
