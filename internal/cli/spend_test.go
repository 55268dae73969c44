package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestSpendAfterKillNineAndSIGTERM: real child processes are cut short
// while calls are in flight, first by kill -9 (`generate`), then by SIGTERM
// with a short shutdown timeout (`worker`). After each, every job's and
// item's tokens and cost equal the sums of its generation logs; the resume
// completes the job without buying again a layer that was paid for.
func TestSpendAfterKillNineAndSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs child processes")
	}
	bin := modeldocBinary(t)
	forEachDB(t, func(t *testing.T, db string) {
		// Half of the calls hang until the client gives up: objects are cut
		// short with some of their layers paid for.
		fake := fakellm.New(fakellm.Config{Seed: 3, Faults: fakellm.Faults{TimeoutRate: 0.5}})
		if _, err := fake.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer fake.Close()
		env := append(os.Environ(), "MODELDOC_DB="+db, "OPENAI_API_KEY=sk-test-spend-0123456789", "OPENAI_BASE_URL=",
			"MODELDOC_SECRET_KEY="+os.Getenv("MODELDOC_SECRET_KEY"))
		command := func(args ...string) *exec.Cmd {
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			return cmd
		}
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		waitAnswered := func(n int64, what string, cmd *exec.Cmd, out *bytes.Buffer) {
			t.Helper()
			deadline := time.Now().Add(2 * time.Minute)
			for fake.Stats().Succeeded < n {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("%s: the fake answered %d calls, want %d\n%s", what, fake.Stats().Succeeded, n, out)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}

		var out bytes.Buffer
		gen := command("--json", "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini",
			"--base-url", fake.BaseURL(), "--concurrency", "4", "--max-retries", "0", "--calls", "per-layer")
		gen.Stdout, gen.Stderr = &out, &out
		if err := gen.Start(); err != nil {
			t.Fatal(err)
		}
		waitAnswered(6, "generate", gen, &out)
		if err := gen.Process.Kill(); err != nil { // SIGKILL: no clean-up at all
			t.Fatal(err)
		}
		_ = gen.Wait()
		modeldoctest.CheckSpend(t, st.DB())

		// A worker takes the dead process's objects over once their lease
		// ends, and is stopped with SIGTERM while its calls hang.
		out.Reset()
		worker := command("worker", "--shutdown-timeout", "100ms", "--heartbeat", "200ms", "--lease", "1s", "--env-keys")
		worker.Stdout, worker.Stderr = &out, &out
		if err := worker.Start(); err != nil {
			t.Fatal(err)
		}
		// Calls of the dead process that were in flight can still be
		// answered, so the fake's count alone does not show that the worker
		// runs (a SIGTERM before its signal handler is installed kills it
		// the default way): wait until it holds items and has been answered.
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
			var held int64
			if err := st.DB().QueryRow(st.Rebind(`SELECT COUNT(*) FROM job_items WHERE worker_pid = ?`), worker.Process.Pid).Scan(&held); err != nil {
				t.Fatal(err)
			}
			if held > 0 {
				break
			}
			if time.Now().After(deadline) {
				worker.Process.Kill()
				t.Fatalf("worker: it took no item over\n%s", out.String())
			}
		}
		waitAnswered(fake.Stats().Succeeded+2, "worker", worker, &out)
		if err := worker.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := worker.Wait(); err != nil {
			t.Fatalf("worker after SIGTERM: %v\n%s", err, out.String())
		}
		r := modeldoctest.CheckSpend(t, st.DB())
		if r.PromptTokens == 0 {
			t.Fatalf("no spend was recorded: %+v", r)
		}
		var kept, last int64
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM job_items WHERE kept_layers <> ''`).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if kept == 0 {
			t.Errorf("no item kept the layers it had bought")
		}
		paid := map[[2]int64]string{}
		rows, err := st.DB().Query(`SELECT item_id, layer, id FROM generation_logs WHERE status = 'ok'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var item, id int64
			var layer string
			if err := rows.Scan(&item, &layer, &id); err != nil {
				t.Fatal(err)
			}
			paid[[2]int64{item, id}] = layer
		}
		rows.Close()
		// The resume's calls are those logged after every call before it,
		// failed ones included: a failed re-ask logged after the paid
		// answer of the same layer is not a purchase of the resume.
		if err := st.DB().QueryRow(`SELECT COALESCE(MAX(id), 0) FROM generation_logs`).Scan(&last); err != nil {
			t.Fatal(err)
		}

		fake.SetFaults(fakellm.Faults{})
		res, err := command("--json", "jobs", "resume", "1").Output()
		if err != nil {
			t.Fatalf("jobs resume: %v\n%s", err, res)
		}
		var job map[string]any
		if err := json.Unmarshal(res, &job); err != nil || job["status"] != "completed" {
			t.Fatalf("after the resume: %v %s", err, res)
		}
		modeldoctest.CheckSpend(t, st.DB())
		again, err := st.DB().Query(st.Rebind(`SELECT item_id, layer FROM generation_logs WHERE id > ?`), last)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		bought := map[[2]any]bool{}
		for k, layer := range paid {
			bought[[2]any{k[0], layer}] = true
		}
		for again.Next() {
			var item int64
			var layer string
			if err := again.Scan(&item, &layer); err != nil {
				t.Fatal(err)
			}
			if bought[[2]any{item, layer}] {
				t.Errorf("item %d bought layer %s again after it was paid for", item, layer)
			}
		}
	})
}
