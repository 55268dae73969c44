package scaletest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/secrets"
	"github.com/modeldoc/modeldoc/internal/store"
)

// The provider key every worker reads from the organization's stored
// keys, which they can only decrypt with the shared master key.
const providerKey = "sk-scaleout-test-0123456789abcdef"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	masterKey string
)

// modeldocBinary builds ./cmd/modeldoc once per test run: the workers
// are the real command, not a test double.
func modeldocBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "modeldoc-scaletest-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "modeldoc")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/modeldoc/modeldoc/cmd/modeldoc")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/modeldoc: %v\n%s", err, out.String())
		}
		var b [32]byte
		_, _ = rand.Read(b[:])
		masterKey = hex.EncodeToString(b[:])
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// cluster is one PostgreSQL database, the fake provider, the test's own
// job manager (it creates and controls jobs but runs no worker) and the
// worker processes.
type cluster struct {
	tb    testing.TB
	dsn   string
	st    *store.Store
	eng   *engine.Engine
	fake  *fakellm.Server
	org   int64
	bin   string
	dir   string
	procs []*worker
}

type worker struct {
	id   string
	cmd  *exec.Cmd
	log  string
	done chan error
}

func newCluster(tb testing.TB, fcfg fakellm.Config) *cluster {
	tb.Helper()
	dsn := modeldoctest.PostgresDSN(tb)
	bin := modeldocBinary(tb)
	tb.Setenv(secrets.EnvMasterKey, masterKey)
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	fcfg.APIKey = providerKey
	fake := fakellm.New(fcfg)
	if _, err := fake.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	eng, err := engine.New(ctx, engine.Config{Store: st, NoEnvKeys: true})
	if err != nil {
		tb.Fatal(err)
	}
	c := &cluster{tb: tb, dsn: dsn, st: st, eng: eng, fake: fake, bin: bin, dir: tb.TempDir()}
	// Cleanups run last-in first-out: workers stop before the store closes
	// and the database is dropped.
	tb.Cleanup(func() {
		st.Close()
		eng.Close()
		fake.Close()
	})
	tb.Cleanup(c.stopAll)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	c.org = org.ID
	ring, err := providerkeys.Open(st)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ring.Put(ctx, org.ID, "openai", providerKey); err != nil {
		tb.Fatal(err)
	}
	return c
}

// importDataset imports one of the shared dbt projects and returns its id.
func (c *cluster) importDataset(rel string) int64 {
	c.tb.Helper()
	cat, err := dbt.Load(filepath.Join(modeldoctest.DatasetsDir(c.tb), rel))
	if err != nil {
		c.tb.Fatal(err)
	}
	sum, err := c.st.ImportCatalog(context.Background(), c.org, cat)
	if err != nil {
		c.tb.Fatal(err)
	}
	return sum.ProjectID
}

// createJob documents the project's models with the fake provider.
func (c *cluster) createJob(project int64, o jobs.Options) *jobs.Job {
	c.tb.Helper()
	o.Selection = jobs.Selection{ProjectID: project}
	o.Provider, o.Model, o.BaseURL = "openai", "gpt-5-mini", c.fake.BaseURL()
	o.RegenerateAll = true
	j, err := c.eng.Jobs.Create(context.Background(), c.org, jobs.CreateRequest{Options: o})
	if err != nil {
		c.tb.Fatal(err)
	}
	return j
}

// start runs `modeldoc worker` as a child process.
func (c *cluster) start(id string, args ...string) *worker {
	c.tb.Helper()
	w := &worker{id: id, log: filepath.Join(c.dir, id+".log"), done: make(chan error, 1)}
	f, err := os.Create(w.log)
	if err != nil {
		c.tb.Fatal(err)
	}
	args = append([]string{"worker", "--db", c.dsn, "--id", id, "--db-max-conns", "12"}, args...)
	w.cmd = exec.Command(c.bin, args...)
	w.cmd.Env = append(os.Environ(), secrets.EnvMasterKey+"="+masterKey)
	w.cmd.Stdout, w.cmd.Stderr = f, f
	if err := w.cmd.Start(); err != nil {
		c.tb.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait(); f.Close() }()
	c.procs = append(c.procs, w)
	return w
}

// stop sends SIGTERM and waits for a graceful exit.
func (w *worker) stop(tb testing.TB) {
	tb.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			tb.Errorf("worker %s exited with %v after SIGTERM", w.id, err)
		}
	case <-time.After(2 * time.Minute):
		_ = w.cmd.Process.Kill()
		tb.Errorf("worker %s did not stop within 2 minutes of SIGTERM", w.id)
	}
}

func (c *cluster) stopAll() {
	for _, w := range c.procs {
		if w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, w := range c.procs {
		select {
		case err := <-w.done:
			w.done <- err
		case <-time.After(90 * time.Second):
			_ = w.cmd.Process.Kill()
		}
	}
	if c.tb.Failed() {
		for _, w := range c.procs {
			b, _ := os.ReadFile(w.log)
			c.tb.Logf("--- log of worker %s ---\n%s", w.id, tail(string(b), 60))
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitJob polls the job until cond holds, failing after limit.
func (c *cluster) waitJob(id int64, what string, limit time.Duration, cond func(*jobs.Job) bool) *jobs.Job {
	c.tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		j, err := c.eng.Jobs.Get(context.Background(), c.org, id)
		if err == nil && cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("job %d: %s did not happen within %s (last: %+v, err %v)", id, what, limit, j, err)
		}
		for _, w := range c.procs {
			select {
			case err := <-w.done:
				w.done <- err
				if w.cmd.ProcessState != nil && !w.cmd.ProcessState.Exited() {
					continue // killed on purpose
				}
				c.tb.Fatalf("worker %s exited early: %v", w.id, err)
			default:
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkExact checks every invariant of a finished job: counters equal
// the items' states, one documentation version per documented object and
// none for others, tokens equal the generation logs, upstream objects
// finished before their dependents started.
func (c *cluster) checkExact(id int64) *jobs.Job {
	c.tb.Helper()
	ctx := context.Background()
	db := c.st.DB()
	j, err := c.eng.Jobs.Get(ctx, c.org, id)
	if err != nil {
		c.tb.Fatal(err)
	}
	count := map[string]int64{}
	rows, err := db.QueryContext(ctx, `SELECT status, COUNT(*) FROM job_items WHERE job_id = $1 GROUP BY status`, id)
	if err != nil {
		c.tb.Fatal(err)
	}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			c.tb.Fatal(err)
		}
		count[s] = n
	}
	rows.Close()
	var items int64
	for _, n := range count {
		items += n
	}
	if j.Total != items || j.Processed != count[jobs.ItemDone]+count[jobs.ItemPartial] || j.Partial != count[jobs.ItemPartial] ||
		j.Failed != count[jobs.ItemFailed] || j.Skipped != count[jobs.ItemSkipped] || j.Cancelled != count[jobs.ItemCancelled] || j.InFlight != 0 {
		c.tb.Fatalf("job counters %+v do not match its items %v", j, count)
	}
	var versions, objects, dupes int64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0), COUNT(*), COUNT(*) FILTER (WHERE n > 1)
		FROM (SELECT object_id, COUNT(*) AS n FROM doc_versions WHERE job_id = $1 GROUP BY object_id) v`, id).Scan(&versions, &objects, &dupes); err != nil {
		c.tb.Fatal(err)
	}
	if dupes != 0 || versions != j.Processed {
		c.tb.Fatalf("%d documentation versions over %d objects (%d documented more than once), want exactly one for each of the %d processed",
			versions, objects, dupes, j.Processed)
	}
	var itemPT, itemCT, logPT, logCT int64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) FROM job_items WHERE job_id = $1`, id).Scan(&itemPT, &itemCT); err != nil {
		c.tb.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) FROM generation_logs WHERE job_id = $1`, id).Scan(&logPT, &logCT); err != nil {
		c.tb.Fatal(err)
	}
	if j.PromptTokens != itemPT || j.CompletionTokens != itemCT || j.PromptTokens != logPT || j.CompletionTokens != logCT || j.PromptTokens == 0 {
		c.tb.Fatalf("tokens: job %d/%d, items %d/%d, generation logs %d/%d (prompt/completion)",
			j.PromptTokens, j.CompletionTokens, itemPT, itemCT, logPT, logCT)
	}
	var early int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM job_item_deps d
		JOIN job_items down ON down.id = d.item_id JOIN job_items up ON up.id = d.upstream_id
		WHERE d.job_id = $1 AND down.status IN ('done', 'partial') AND up.status IN ('done', 'partial')
		AND down.started_at < up.finished_at`, id).Scan(&early); err != nil {
		c.tb.Fatal(err)
	}
	if early != 0 {
		c.tb.Fatalf("%d objects started before an upstream object had finished", early)
	}
	return j
}

// running returns the items running now, by the worker writing them.
func (c *cluster) running(id int64) map[string][]int64 {
	c.tb.Helper()
	rows, err := c.st.DB().QueryContext(context.Background(), `SELECT worker_id, id FROM job_items WHERE job_id = $1 AND status = 'running'`, id)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]int64{}
	for rows.Next() {
		var w string
		var item int64
		if err := rows.Scan(&w, &item); err != nil {
			c.tb.Fatal(err)
		}
		out[w] = append(out[w], item)
	}
	return out
}
