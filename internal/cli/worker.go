package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
)

func init() { register(newWorkerCmd) }

type workerFlags struct {
	id              string
	maxWorkers      int
	rpm, tpm        int
	envKeys         bool
	logLevel        string
	shutdownTimeout time.Duration
	heartbeat       time.Duration
	lease           time.Duration
	dbMaxConns      int
}

func newWorkerCmd(a *App) *cobra.Command {
	var f workerFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run job workers only (no HTTP), to scale out on PostgreSQL",
		Long: `Run the job workers of modeldoc without the API: the process takes objects of
every job of every organization from the store and writes their documentation.
Start any number of workers (and 'modeldoc serve' processes) on any number of
machines against one PostgreSQL database: they share all jobs, the objects of
one job run on several workers at once (upstream models still first), one rate
limit per provider key holds for all of them together, and a pause or cancel
issued anywhere reaches every worker within a second. On SQLite one worker (or
one serve) per database file is the sensible number.

Rate limits belong to jobs ('generate --rpm/--tpm', or the API's job options);
--rpm and --tpm here are the ceilings of provider keys whose jobs set none.
Jobs use their organization's stored provider keys; OPENAI_API_KEY and
ANTHROPIC_API_KEY are used only with --env-keys. Every process on one database
must share MODELDOC_SECRET_KEY to read the stored keys.

SIGTERM or SIGINT stops the worker gracefully: it takes no new object, lets the
calls in flight finish (up to --shutdown-timeout, after which they are
cancelled and their objects written again by another worker). A worker that
dies (kill -9, a lost machine) stops renewing the lease of its objects; other
workers take them over once the lease (--lease) has run out.`,
		Example: `  modeldoc worker --db postgres://modeldoc@db:5432/modeldoc
  modeldoc worker --db postgres://modeldoc@db:5432/modeldoc --max-workers 32 --id "$(hostname)-1"`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runWorker(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.id, "id", "", "name of this worker in job items, logs and River (default: the host name and a random suffix)")
	fl.IntVar(&f.maxWorkers, "max-workers", 64, "objects this process writes at once, over all jobs (each job also has its own window, --concurrency)")
	fl.IntVar(&f.rpm, "rpm", 0, "requests-per-minute ceiling of provider keys whose jobs set none (0: learn it from the provider's headers)")
	fl.IntVar(&f.tpm, "tpm", 0, "tokens-per-minute ceiling of provider keys whose jobs set none (0: learn it from the provider's headers)")
	fl.BoolVar(&f.envKeys, "env-keys", false, "let jobs use OPENAI_API_KEY / ANTHROPIC_API_KEY from this process's environment when their organization has no stored key")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", time.Minute, "how long a stopping worker lets calls in flight finish before cancelling them")
	fl.DurationVar(&f.heartbeat, "heartbeat", 2*time.Second, "how often the worker renews the lease of the objects it writes")
	fl.DurationVar(&f.lease, "lease", 15*time.Second, "how long an object may go without a heartbeat before another worker takes it over (use the same value on every worker)")
	fl.IntVar(&f.dbMaxConns, "db-max-conns", 0, "most PostgreSQL connections of the store's pool (0: the store's default, 32); River's listener adds a few")
	return cmd
}

func (a *App) runWorker(cmd *cobra.Command, f *workerFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return &cobraUsageError{fmt.Errorf("--log-level must be debug, info, warn or error (got %q)", f.logLevel)}
	}
	switch {
	case f.maxWorkers < 1 || f.maxWorkers > 10000:
		return modeldoc.Errorf(modeldoc.EINVALID, "--max-workers must be between 1 and 10000 (got %d).", f.maxWorkers)
	case f.rpm < 0 || f.tpm < 0 || f.dbMaxConns < 0:
		return modeldoc.Errorf(modeldoc.EINVALID, "--rpm, --tpm and --db-max-conns cannot be negative.")
	case f.heartbeat <= 0 || f.lease < 2*f.heartbeat:
		return modeldoc.Errorf(modeldoc.EINVALID, "--lease (%s) must be at least twice --heartbeat (%s), so that one late heartbeat does not hand a live worker's objects to another.", f.lease, f.heartbeat)
	}
	id := f.id
	if id == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "worker"
		}
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	logger := slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: level})).With("worker", id)
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	if err := providerkeys.VerifyStore(ctx, st); err != nil {
		return err
	}
	st.SetPoolSize(f.dbMaxConns)
	jc, err := batchTimings(jobs.Config{MaxWorkers: f.maxWorkers, WorkerID: id, Heartbeat: f.heartbeat, Lease: f.lease})
	if err != nil {
		return err
	}
	eng, err := engine.New(ctx, withEnv(engine.Config{
		Store: st, Logger: logger, NoEnvKeys: !f.envKeys, DefaultRPM: f.rpm, DefaultTPM: f.tpm, Jobs: jc,
	}))
	if err != nil {
		return err
	}
	a.onClose(eng.Close)
	if err := eng.Jobs.Start(ctx); err != nil {
		return err
	}
	backend := "SQLite " + st.Path()
	if st.IsPostgres() {
		backend = "PostgreSQL"
	}
	logger.Info("worker started", "store", backend, "max_workers", f.maxWorkers, "lease", f.lease, "pid", os.Getpid())
	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	logger.Info("worker stopping: calls in flight finish", "timeout", f.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	if err := eng.Jobs.Stop(sctx); err != nil {
		logger.Warn("worker stopped with calls cancelled; their objects go back to ready", "err", err)
		return nil
	}
	logger.Info("worker stopped")
	return nil
}
