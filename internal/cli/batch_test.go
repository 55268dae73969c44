package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

const batchKey = "sk-test-batch-key-0123456789"

// batchFake starts the fake with its prompt cache off, so that the same
// calls report the same tokens whether they go one by one or in a batch.
func batchFake(t *testing.T, set fakellm.BatchSettings) *fakellm.Server {
	t.Helper()
	offlineEnv(t)
	t.Setenv("OPENAI_API_KEY", batchKey)
	t.Setenv("MODELDOC_BATCH_POLL", "50ms")
	t.Setenv("MODELDOC_BATCH_LINGER", "100ms")
	s := fakellm.New(fakellm.Config{APIKey: batchKey, NoCache: true, Batch: set})
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func noDuplicates(t *testing.T, s *fakellm.Server) {
	t.Helper()
	bs := s.BatchStats()
	for id, n := range bs.Submissions {
		if n != 1 {
			t.Errorf("custom id %s submitted %d times", id, n)
		}
	}
	if bs.Duplicates != 0 || bs.Refused != 0 {
		t.Errorf("%d calls submitted twice, %d batches refused", bs.Duplicates, bs.Refused)
	}
}

// TestBatchCostsHalf is issue 16's batch figure: the same job through the
// batch API costs 50% (±1%) of the interactive job, for the same calls
// (the same tokens), and no call goes to the chat endpoint.
func TestBatchCostsHalf(t *testing.T) {
	forEachDB(t, func(t *testing.T, db string) {
		s := batchFake(t, fakellm.BatchSettings{})
		inter := runJSON(t, filepath.Join(t.TempDir(), "interactive.db"), "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", s.BaseURL())
		checkJob(t, inter)
		chat := s.Stats().Requests

		dry := runJSON(t, db, "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", s.BaseURL(), "--batch", "--dry-run")
		if e, b := num(t, dry, "estimated_cost"), num(t, dry, "estimated_batch_cost"); dry["batch_price_known"] != true || math.Abs(b/e-0.5) > 0.01 {
			t.Errorf("the estimate's two prices: %v interactive, %v batch (known %v)", e, b, dry["batch_price_known"])
		}
		job := runJSON(t, db, "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", s.BaseURL(), "--batch")
		checkJob(t, job)
		if n := s.Stats().Requests - chat; n != int64(s.BatchStats().Lines) {
			// Every chat request the fake saw after the interactive job is a
			// batch line it ran itself.
			t.Errorf("%d chat requests during the batch job, %d batch lines", n, s.BatchStats().Lines)
		}
		for _, k := range []string{"prompt_tokens", "completion_tokens"} {
			if num(t, job, k) != num(t, inter, k) {
				t.Errorf("%s: batch %v, interactive %v: not the same calls", k, job[k], inter[k])
			}
		}
		ratio := num(t, job, "actual_cost") / num(t, inter, "actual_cost")
		t.Logf("batch cost %.6f / interactive cost %.6f = %.4f (%d batches, %d calls)", num(t, job, "actual_cost"), num(t, inter, "actual_cost"), ratio, s.BatchStats().Batches, s.BatchStats().Lines)
		if math.Abs(ratio-0.5) > 0.005 {
			t.Errorf("batch/interactive cost = %.4f, want 0.50 ± 1%%", ratio)
		}
		b, _ := job["batch"].(map[string]any)
		if b == nil || num(t, b, "submitted") != float64(s.BatchStats().Lines) || num(t, b, "completed") != num(t, b, "submitted") || num(t, b, "open") != 0 {
			t.Errorf("the job's batch progress: %v (fake: %+v)", job["batch"], s.BatchStats())
		}
		noDuplicates(t, s)
	})
}

// TestBatchRetriesFailuresInAFollowUpBatch: calls that fail inside a batch
// (a 500 in its error file) go again, each under a new custom id, in a
// later batch, and the job ends with every object documented.
func TestBatchRetriesFailuresInAFollowUpBatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db string) {
		s := batchFake(t, fakellm.BatchSettings{FailRate: 0.3})
		job := runJSON(t, db, "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", s.BaseURL(), "--batch")
		checkJob(t, job)
		if job["failed"].(float64) != 0 || job["processed"] != job["total"] {
			t.Fatalf("after retries every object is documented: %v", job)
		}
		b, _ := job["batch"].(map[string]any)
		if b == nil || num(t, b, "failed") == 0 || num(t, b, "completed")+num(t, b, "failed") != num(t, b, "submitted") {
			t.Errorf("batch progress with failures: %v", job["batch"])
		}
		failed := num(t, b, "failed")
		// Each failed call went again: the later batches hold as many
		// calls as failed (or more, when a retry failed again).
		if bs := s.BatchStats(); float64(bs.Lines) < num(t, b, "completed")+failed || bs.Batches < 2 {
			t.Errorf("no follow-up batch: %+v, progress %v", bs, b)
		}
		noDuplicates(t, s)
	})
}

// startBatchJob runs `generate --batch` in the background and waits until
// its first batch is submitted.
func startBatchJob(t *testing.T, s *fakellm.Server, db string) (wait func() result) {
	t.Helper()
	var r result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r = run(t, db, "--json", "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", s.BaseURL(), "--batch")
	}()
	deadline := time.Now().Add(time.Minute)
	for s.BatchStats().Batches == 0 {
		if time.Now().After(deadline) {
			wg.Wait()
			t.Fatalf("no batch submitted: %+v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() result { wg.Wait(); return r }
}

// TestBatchPauseStopsNewChunks: a paused batch job submits nothing more
// (its objects stop waiting and go back to ready); the resume reads the
// batch it had submitted and submits no call twice.
func TestBatchPauseStopsNewChunks(t *testing.T) {
	forEachDB(t, func(t *testing.T, db string) {
		s := batchFake(t, fakellm.BatchSettings{Delay: time.Hour})
		wait := startBatchJob(t, s, db)
		paused := runJSON(t, db, "jobs", "pause", "1")
		if st := paused["status"]; st != "paused" && st != "pausing" {
			t.Fatalf("pause: %v", paused)
		}
		r := wait()
		var j map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j["status"] != "paused" {
			t.Fatalf("generate after the pause: exit %d, %s\n%s", r.code, r.stdout, r.stderr)
		}
		before := s.BatchStats()
		// The batch ends while the job is paused: nobody polls it, and no
		// new chunk goes out.
		s.SetBatch(fakellm.BatchSettings{})
		show := runJSON(t, db, "jobs", "show", "1")
		if after := s.BatchStats(); after.Batches != before.Batches || after.Lines != before.Lines || show["status"] != "paused" {
			t.Fatalf("a paused job submitted more: %+v then %+v (%v)", before, after, show["status"])
		}
		done := runJSON(t, db, "jobs", "resume", "1")
		if done["status"] != "completed" || done["processed"] != done["total"] {
			t.Fatalf("after the resume: %v", done)
		}
		noDuplicates(t, s)
	})
}

// TestBatchCancelCancelsTheProvidersBatches: cancelling a batch job
// cancels its open batches at the provider.
func TestBatchCancelCancelsTheProvidersBatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, db string) {
		s := batchFake(t, fakellm.BatchSettings{Delay: time.Hour})
		wait := startBatchJob(t, s, db)
		c := runJSON(t, db, "jobs", "cancel", "1")
		if c["status"] != "cancelled" {
			t.Fatalf("cancel: %v", c)
		}
		wait()
		bs := s.BatchStats()
		if bs.Cancelled != bs.Batches || bs.Cancelled == 0 {
			t.Fatalf("the provider's batches after the cancel: %+v", bs)
		}
		show := runJSON(t, db, "jobs", "show", "1")
		if b, _ := show["batch"].(map[string]any); b == nil || num(t, b, "submitted") == 0 {
			t.Errorf("progress of the cancelled job: %v", show["batch"])
		}
	})
}

// TestBatchKillNineWhilePolling is issue 16's durability figure through
// the real binary: `generate --batch` is killed with SIGKILL while it
// polls a submitted batch; `jobs resume` polls that batch instead of
// submitting its calls again, and the job completes with 0 calls
// submitted twice.
func TestBatchKillNineWhilePolling(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := modeldocBinary(t)
	forEachDB(t, func(t *testing.T, db string) {
		s := batchFake(t, fakellm.BatchSettings{Delay: time.Hour})
		env := append(os.Environ(), "MODELDOC_DB="+db, "OPENAI_API_KEY="+batchKey, "OPENAI_BASE_URL=", "MODELDOC_SECRET_KEY="+os.Getenv("MODELDOC_SECRET_KEY"),
			"MODELDOC_BATCH_POLL=50ms", "MODELDOC_BATCH_LINGER=100ms")
		command := func(args ...string) *exec.Cmd {
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			return cmd
		}
		show := func() map[string]any {
			out, err := command("--json", "jobs", "show", "1").Output()
			var m map[string]any
			if err != nil || json.Unmarshal(out, &m) != nil {
				return nil
			}
			return m
		}
		gen := command("--json", "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", s.BaseURL(), "--batch")
		var stderr bytes.Buffer
		gen.Stderr = &stderr
		if err := gen.Start(); err != nil {
			t.Fatal(err)
		}
		// Polling: a batch is submitted and recorded, and the job says so.
		deadline := time.Now().Add(2 * time.Minute)
		var before map[string]any
		for before == nil {
			if time.Now().After(deadline) {
				_ = gen.Process.Kill()
				t.Fatalf("no batch recorded: %s", stderr.String())
			}
			if m := show(); m != nil {
				if b, _ := m["batch"].(map[string]any); b != nil && b["submitted"].(float64) > 0 && b["open"].(float64) > 0 {
					before = m
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := gen.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = gen.Wait()
		submitted := s.BatchStats()
		t.Logf("killed while polling: %v (fake: %d batches, %d calls)", before["batch"], submitted.Batches, submitted.Lines)

		s.SetBatch(fakellm.BatchSettings{})
		out, err := command("--json", "jobs", "resume", "1").Output()
		if err != nil {
			t.Fatalf("jobs resume: %v\n%s", err, out)
		}
		var job map[string]any
		if err := json.Unmarshal(out, &job); err != nil {
			t.Fatal(err)
		}
		if job["status"] != "completed" || job["processed"] != job["total"] || job["failed"].(float64) != 0 {
			t.Fatalf("after the resume: %v", job)
		}
		bs := s.BatchStats()
		twice := 0
		for _, n := range bs.Submissions {
			if n > 1 {
				twice++
			}
		}
		fmt.Fprintf(os.Stderr, "%s: batch kill -9: %d calls submitted before the kill, %d in all, %d submitted twice\n", t.Name(), submitted.Lines, bs.Lines, twice)
		if twice != 0 || bs.Refused != 0 {
			t.Fatalf("%d calls submitted twice after kill -9, %d batches refused: %+v", twice, bs.Refused, bs.Submissions)
		}
		if b, _ := job["batch"].(map[string]any); b == nil || int(b["submitted"].(float64)) != bs.Lines {
			t.Errorf("the job's progress %v, the fake's %d calls", job["batch"], bs.Lines)
		}
	})
}

// TestBatchAnthropic: the same job through Anthropic's Message Batches (the
// fake's), priced at claude-sonnet-4-5's batch prices: 50% of what the
// same tokens cost interactively (3.00 and 15.00 USD per million).
func TestBatchAnthropic(t *testing.T) {
	forEachDB(t, func(t *testing.T, db string) {
		s := batchFake(t, fakellm.BatchSettings{FailRate: 0.2})
		t.Setenv("OPENAI_API_KEY", "")
		t.Setenv("ANTHROPIC_API_KEY", batchKey)
		t.Setenv("ANTHROPIC_BASE_URL", s.URL())
		job := runJSON(t, db, "generate", shop(t), "--provider", "anthropic", "--model", "claude-sonnet-4-5", "--batch")
		checkJob(t, job)
		if job["failed"].(float64) != 0 || job["processed"] != job["total"] {
			t.Fatalf("every object documented through the follow-up batches: %v", job)
		}
		interactive := (num(t, job, "prompt_tokens")*3.00 + num(t, job, "completion_tokens")*15.00) / 1e6
		ratio := num(t, job, "actual_cost") / interactive
		t.Logf("anthropic batch cost %.6f / interactive price of the same tokens %.6f = %.4f", num(t, job, "actual_cost"), interactive, ratio)
		if math.Abs(ratio-0.5) > 0.005 {
			t.Errorf("batch/interactive = %.4f, want 0.50 ± 1%%", ratio)
		}
		noDuplicates(t, s)
	})
}
