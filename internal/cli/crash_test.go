package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// TestKillNineThenJobsResume is issue 4's crash promise through the real
// binary: `generate` is killed with SIGKILL in the middle of a job, and
// `jobs resume` carries it to the end with the provider, model and base URL
// the job was created with (the key from the environment), documenting no
// finished object again and counting nothing twice.
func TestKillNineThenJobsResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits out a lease")
	}
	bin := modeldocBinary(t)
	fake := fakellm.New(fakellm.Config{Latency: 400 * time.Millisecond, APIKey: "sk-test-crash-key-0123456789"})
	if _, err := fake.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	db := filepath.Join(t.TempDir(), "m.db")
	env := append(os.Environ(), "MODELDOC_DB="+db, "OPENAI_API_KEY=sk-test-crash-key-0123456789", "OPENAI_BASE_URL=", "MODELDOC_SECRET_KEY=")
	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		return cmd
	}
	var lastShow string
	jobState := func() map[string]any {
		out, err := command("--json", "jobs", "show", "1").CombinedOutput()
		if err != nil {
			lastShow = fmt.Sprintf("%v: %s", err, out)
			return nil
		}
		var m map[string]any
		if json.Unmarshal(out, &m) != nil {
			return nil
		}
		return m
	}

	gen := command("--json", "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini",
		"--base-url", fake.BaseURL(), "--concurrency", "2")
	var genErr, genOut bytes.Buffer
	gen.Stderr, gen.Stdout = &genErr, &genOut
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	var before map[string]any
	for time.Now().Before(deadline) {
		if m := jobState(); m != nil && m["processed"].(float64) >= 3 {
			before = m
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if before == nil {
		gen.Process.Kill()
		t.Fatalf("the job never got going:\nstdout: %s\nstderr: %s\nlast jobs show: %s", genOut.String(), genErr.String(), lastShow)
	}
	if err := gen.Process.Kill(); err != nil { // SIGKILL: no clean-up at all
		t.Fatal(err)
	}
	_ = gen.Wait()
	killed := jobState()
	if killed["status"] == "completed" {
		t.Skip("the job finished before it could be killed; nothing to resume")
	}
	t.Logf("killed at %v of %v processed, %v in flight", killed["processed"], killed["total"], killed["in_flight"])
	// The killed process held running items: jobs show and jobs list say
	// the job is orphaned (its process is gone from this host) and how to
	// resume it, in JSON too.
	running, _ := killed["running"].([]any)
	t.Logf("objects being written at the kill: %v", running)
	if len(running) > 0 {
		if killed["orphaned"] != true || !strings.Contains(fmt.Sprint(killed["hint"]), "modeldoc jobs resume 1") {
			t.Errorf("jobs show after kill -9: orphaned %v, hint %q", killed["orphaned"], killed["hint"])
		}
		out, err := command("--json", "jobs", "list").Output()
		var list struct {
			Jobs []map[string]any `json:"jobs"`
		}
		if err != nil || json.Unmarshal(out, &list) != nil || len(list.Jobs) != 1 || list.Jobs[0]["orphaned"] != true {
			t.Errorf("jobs list after kill -9: %v\n%s", err, out)
		}
	}

	out, err := command("--json", "jobs", "resume", "1").Output()
	if err != nil {
		t.Fatalf("jobs resume: %v\n%s", err, out)
	}
	var job map[string]any
	if err := json.Unmarshal(out, &job); err != nil {
		t.Fatalf("jobs resume printed no job: %v\n%s", err, out)
	}
	if job["status"] != "completed" || job["processed"] != job["total"] || job["failed"].(float64) != 0 {
		t.Fatalf("after the resume: %v", job)
	}
	if o := job["options"].(map[string]any); o["base_url"] != fake.BaseURL() || o["model"] != "gpt-4o-mini" {
		t.Errorf("the resume did not keep the job's provider settings: %v", o)
	}

	// The resume took the dead process's items over because its process
	// was gone, not because their lease ran out.
	if len(running) > 0 {
		out, err := command("--json", "jobs", "logs", "1").Output()
		if err != nil {
			t.Fatal(err)
		}
		var logs struct {
			Errors []struct {
				ErrorClass string `json:"error_class"`
				Message    string `json:"message"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(out, &logs); err != nil {
			t.Fatal(err)
		}
		tookOver := 0
		for _, e := range logs.Errors {
			if e.ErrorClass == "orphaned" {
				if !strings.Contains(e.Message, "is no longer running") || !strings.Contains(e.Message, "without waiting for its lease") {
					t.Errorf("take-over not for the dead process: %s", e.Message)
				}
				tookOver++
			}
		}
		if tookOver == 0 {
			t.Errorf("no take-over recorded: %s", out)
		}
	}

	// Every object documented exactly once: no version was lost, none written twice.
	list, err := command("--json", "jobs", "show", "1", "--items").Output()
	if err != nil {
		t.Fatal(err)
	}
	var shown struct {
		Items []struct {
			ObjectName string `json:"object_name"`
			Status     string `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(list, &shown); err != nil {
		t.Fatal(err)
	}
	for _, it := range shown.Items {
		out, err := command("--json", "docs", "history", it.ObjectName).Output()
		if err != nil {
			t.Fatalf("docs history %s: %v", it.ObjectName, err)
		}
		var h struct {
			Versions []map[string]any `json:"versions"`
		}
		if err := json.Unmarshal(out, &h); err != nil {
			t.Fatal(err)
		}
		if it.Status != "done" || len(h.Versions) != 1 {
			t.Errorf("%s: item %s with %d documentation versions, want done with exactly 1", it.ObjectName, it.Status, len(h.Versions))
		}
	}
	// The tokens the job counted are exactly what the provider served,
	// minus the calls of the killed process whose answers never committed:
	// never more than the provider served.
	s := fake.Stats()
	if pt := int64(job["prompt_tokens"].(float64)); pt > s.PromptTokens || pt == 0 {
		t.Errorf("job counted %d prompt tokens; the provider served %d", pt, s.PromptTokens)
	}
}
