package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/store"
)

func init() { register(newGenerateCmd) }

type generateFlags struct {
	providerFlags
	selectPattern string
	layers        []string
	concurrency   int
	rpm, tpm      int
	calls         string
	budget        float64
	maxRetries    int
	dryRun        bool
	skipExisting  bool
	regenerateAll bool
	onlyStale     bool
	yes           bool
	batch         bool
}

func newGenerateCmd(a *App) *cobra.Command {
	var f generateFlags
	cmd := &cobra.Command{
		Use:   "generate [PATH]",
		Short: "Document a project (or a selection of models) in a durable job",
		Long: `Document every model of a project in one durable job: upstream models first,
many at a time under the provider's rate limits, with retries, a budget, live
progress and exact token and cost accounting.

PATH is imported first (or re-imported in place) and the whole project is
documented; without PATH, --select picks models already in the catalog by name
pattern. When a project is documented again, only the undocumented models and
the stale ones are written (--only-stale, the default): exactly what
'modeldoc objects list --stale' lists (use --regenerate-all to write all).

--dry-run prints the estimate and changes nothing in the store: PATH is
imported into a temporary copy of it (so what is documented already is
seen), estimated there, and the copy deleted.

Ctrl-C pauses the job cleanly (calls in flight finish and are kept); a second
Ctrl-C cancels it. 'modeldoc jobs resume ID' carries on, also after a crash.`,
		Example: `  modeldoc generate examples/shop
  modeldoc generate examples/shop --dry-run
  modeldoc generate --select 'stg_*' --layers executive_summary,column_descriptions
  OPENAI_API_KEY=sk-... modeldoc generate target/ --model gpt-5-mini --budget 5 --concurrency 16 --rpm 500`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &cobraUsageError{fmt.Errorf("generate takes at most one PATH (got %d). See 'modeldoc generate --help'", len(args))}
			}
			if len(args) == 0 && f.selectPattern == "" {
				return &cobraUsageError{fmt.Errorf("say what to document: a project PATH, or --select PATTERN for models already imported. See 'modeldoc generate --help'")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.runGenerate(cmd, args, &f) },
	}
	f.providerFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.selectPattern, "select", "", "document models whose name matches this pattern (* and ?), e.g. 'stg_*'")
	fl.StringVar(&a.Project, "project", "", "with --select: only models of this project (its name or id); needed when the pattern matches models of several projects")
	fl.StringSliceVar(&f.layers, "layers", nil, "only these layers (comma-separated); default all")
	fl.IntVar(&f.concurrency, "concurrency", jobs.DefaultConcurrency, "models written at once (1 to 1000)")
	fl.StringVar(&f.calls, "calls", "combined", "how each object's layers are split into requests: combined (the model-level layers in one call, the columns in another) or per-layer (one call per layer)")
	fl.IntVar(&f.rpm, "rpm", 0, "the provider key's requests-per-minute limit (0: learn it from the provider's headers)")
	fl.IntVar(&f.tpm, "tpm", 0, "the provider key's tokens-per-minute limit (0: learn it from the provider's headers)")
	fl.Float64Var(&f.budget, "budget", 0, "stop (pause) before spending more than this many USD (0: no budget; at most 1000000)")
	fl.IntVar(&f.maxRetries, "max-retries", jobs.DefaultMaxRetries, "retries of a call after a transient error, 0 for none (rate limits are waited out, not counted)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the estimate and stop; nothing in the store changes (PATH is imported into a temporary copy of a SQLite store)")
	fl.BoolVar(&f.skipExisting, "skip-existing", false, "skip models that have any documentation")
	fl.BoolVar(&f.regenerateAll, "regenerate-all", false, "document every selected model, even when nothing changed")
	fl.BoolVar(&f.onlyStale, "only-stale", true, "document only undocumented and stale models, as 'objects list --stale' lists them (the default; =false documents all)")
	fl.BoolVarP(&f.yes, "yes", "y", false, "start without asking when the estimate exceeds --budget")
	fl.BoolVar(&f.batch, "batch", false, "send the calls through the provider's batch API (openai, anthropic): half the price, answered within 24 hours; the job polls and survives restarts without submitting a call twice")
	return cmd
}

func (a *App) runGenerate(cmd *cobra.Command, args []string, f *generateFlags) error {
	ctx := cmd.Context()
	if err := f.resolve(); err != nil {
		return err
	}
	layers, err := parseLayers(f.layers)
	if err != nil {
		return err
	}
	priceIn, priceOut, err := f.givenPrice()
	if err != nil {
		return err
	}
	if len(args) == 1 && a.Project != "" {
		return modeldoc.Errorf(modeldoc.EINVALID, "--project is for --select: PATH already names the project to document.")
	}
	if f.skipExisting && f.regenerateAll {
		return modeldoc.Errorf(modeldoc.EINVALID, "--skip-existing and --regenerate-all contradict each other: choose one.")
	}
	if cmd.Flags().Changed("only-stale") && f.onlyStale && (f.skipExisting || f.regenerateAll) {
		return modeldoc.Errorf(modeldoc.EINVALID, "--only-stale cannot be combined with --skip-existing or --regenerate-all: choose one.")
	}
	if !f.onlyStale && !f.skipExisting {
		f.regenerateAll = true
	}
	opts := jobs.Options{
		Selection:       jobs.Selection{Pattern: f.selectPattern},
		SkipExisting:    f.skipExisting,
		OnlyStale:       !f.skipExisting && !f.regenerateAll,
		RegenerateAll:   f.regenerateAll,
		Layers:          layers,
		MaxRetries:      f.maxRetries,
		Concurrency:     f.concurrency,
		Provider:        f.Name,
		Model:           f.Model,
		BaseURL:         f.BaseURL,
		JSONMode:        f.JSONMode,
		ReasoningEffort: f.ReasoningEffort,
		Calls:           f.calls,
		Budget:          f.budget,
		RPM:             f.rpm,
		TPM:             f.tpm,
		PriceIn:         priceIn,
		PriceOut:        priceOut,
		Batch:           f.batch,
	}
	if f.batch && !cmd.Flags().Changed("concurrency") {
		// A chunk holds the calls of the objects in flight: the window is
		// what fills it.
		opts.Concurrency = jobs.MaxConcurrency
	}
	// The options are checked before PATH is imported, so that a bad flag
	// changes nothing; the project is known only after the import.
	check := opts
	if len(args) == 1 {
		check.Selection.ProjectID = 1
	}
	if err := check.Validate(); err != nil {
		return err
	}
	var dry *dryRun
	if f.dryRun {
		if dry, err = a.prepareDryRun(ctx, args); err != nil {
			return err
		}
	}
	org, err := a.org(ctx)
	if err != nil {
		return err
	}
	// A budget that cannot hold is refused before PATH is imported.
	eng, err := a.engine(ctx)
	if err != nil {
		return err
	}
	if err := eng.Gen.Prices().CheckBudget(opts.Provider, opts.Model, opts.Budget, opts.GivenPrice()); err != nil {
		return err
	}
	sel := opts.Selection
	if sel.ProjectID, err = a.projectID(ctx, org.ID); err != nil {
		return err
	}
	if len(args) == 1 && dry != nil && dry.asImported {
		sel.ProjectID = dry.projectID
	} else if len(args) == 1 {
		summary, err := a.importPath(cmd, args[0])
		if err != nil {
			return err
		}
		if !a.JSON {
			into := ""
			if dry != nil {
				into = " into a temporary copy of the store"
			}
			fmt.Fprintf(a.Stderr, "Imported %q%s: %s, %s, %s, %s (%d new, %d updated, %d unchanged).\n",
				summary.ProjectName, into, plural(summary.Models, "model", "models"), plural(summary.Sources, "source", "sources"), plural(summary.Seeds, "seed", "seeds"),
				plural(summary.Snapshots, "snapshot", "snapshots"), summary.Created, summary.Updated, summary.Unchanged)
			printImportWarnings(a, summary.Warnings, 5)
		}
		sel.ProjectID = summary.ProjectID
	}
	opts.Selection = sel
	req := jobs.CreateRequest{Options: opts, TriggeredByUserID: currentUser(), TriggeredByEmail: os.Getenv("MODELDOC_USER_EMAIL")}
	est, err := eng.Jobs.Estimate(ctx, org.ID, req)
	if err != nil {
		return err
	}
	if est.ProjectID == 0 && sel.ProjectID == 0 {
		return a.severalProjects(ctx, org.ID, f.selectPattern)
	}
	if f.dryRun {
		if a.JSON {
			return a.printJSON(est)
		}
		printEstimate(a, est, f.budget)
		fmt.Fprintln(a.Stdout, "\n"+dry.lastLine(args))
		return nil
	}
	if !a.JSON {
		printEstimate(a, est, f.budget)
	}
	if est.ToDocument == 0 {
		if a.JSON {
			return a.printJSON(est)
		}
		fmt.Fprintln(a.Stdout, "\nNothing to document: every selected model is up to date. Use --regenerate-all to write them again.")
		return nil
	}
	if f.batch && est.BatchPriceKnown {
		// The budget is weighed against what the batch job will cost.
		batchEst := *est
		batchEst.EstimatedCost = est.EstimatedBatchCost
		est = &batchEst
	}
	if err := a.confirmOverBudget(cmd, est, f.budget, f.yes); err != nil {
		return err
	}
	job, err := eng.Jobs.Create(ctx, org.ID, req)
	if err != nil {
		return err
	}
	if !a.JSON {
		fmt.Fprintf(a.Stderr, "\nJob %d created. Ctrl-C pauses; a second Ctrl-C cancels.\n", job.ID)
	}
	return a.followJob(ctx, eng, org.ID, job.ID)
}

// followJob runs a job in the foreground with a live progress line until it
// ends or pauses, then prints the results. The first SIGINT pauses it, the
// second cancels it.
func (a *App) followJob(ctx context.Context, eng *engine.Engine, orgID, id int64) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGINT)
	defer func() {
		// Once Stop returns no signal is sent on sigs, so closing it ends
		// the goroutine below instead of leaving one per job followed.
		signal.Stop(sigs)
		close(sigs)
	}()
	go func() {
		n := 0
		for range sigs {
			n++
			a.interrupt(context.WithoutCancel(ctx), eng, orgID, id, n)
		}
	}()

	progressCtx, stopProgress := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.showProgress(progressCtx, eng, id)
	}()
	job, err := eng.Jobs.RunJob(ctx, orgID, id)
	stopProgress()
	<-done
	if err != nil {
		return err
	}
	if full, err := eng.Jobs.Get(context.WithoutCancel(ctx), orgID, id); err == nil {
		job = full
	}
	var jobErr error
	switch job.Status {
	case jobs.StatusFailed:
		jobErr = modeldoc.Errorf(modeldoc.EINTERNAL, "job %d failed: %s", job.ID, job.Message)
	case jobs.StatusCancelled:
		jobErr = modeldoc.Errorf(modeldoc.ECONFLICT, "job %d was cancelled", job.ID)
	}
	if a.JSON {
		return a.printJSONWithError(job, jobErr)
	}
	printResults(a, job)
	printNextSteps(context.WithoutCancel(ctx), a, eng, orgID, job)
	if job.Status == jobs.StatusFailed {
		// printResults has just shown the reason; saying it again on the
		// error line printed the same paragraph twice.
		return modeldoc.Errorf(modeldoc.EINTERNAL, "job %d failed (the reason is above).", job.ID)
	}
	return jobErr
}

// interrupt acts on the nth Ctrl-C: the first pauses the job, the next
// ones cancel it. A pause or cancel that fails is said, with what to do:
// the user believes the job stopped, and it goes on spending.
func (a *App) interrupt(ctx context.Context, eng *engine.Engine, orgID, id int64, n int) {
	if n == 1 {
		fmt.Fprintln(a.Stderr, "\nPausing: calls in flight finish and are kept. Ctrl-C again to cancel.")
		if _, err := eng.Jobs.Pause(ctx, orgID, id); err != nil {
			fmt.Fprintf(a.Stderr, "Job %d was not paused: %s Ctrl-C again to cancel it, or: modeldoc jobs pause %d\n", id, operatorMessage(err), id)
		}
		return
	}
	fmt.Fprintln(a.Stderr, "\nCancelling.")
	if _, err := eng.Jobs.Cancel(ctx, orgID, id); err != nil {
		fmt.Fprintf(a.Stderr, "Job %d was not cancelled: %s Try again with: modeldoc jobs cancel %d\n", id, operatorMessage(err), id)
	}
}

// operatorMessage is err as the CLI shows it: the cause too when it is
// internal, since the CLI user is the operator.
func operatorMessage(err error) string {
	if modeldoc.ErrorCode(err) == modeldoc.EINTERNAL {
		return err.Error()
	}
	return modeldoc.ErrorMessage(err)
}

// showProgress draws one progress line on stderr: redrawn in place on a
// terminal, a line every few seconds otherwise (logs, CI).
func (a *App) showProgress(ctx context.Context, eng *engine.Engine, id int64) {
	if a.JSON {
		return
	}
	tty := isTerminal(a.Stderr)
	ch, unsubscribe := eng.Jobs.Subscribe(ctx, id)
	defer unsubscribe()
	var last time.Time
	var line, printed string
	for ev := range ch {
		line = progressLine(ev.Job)
		if tty {
			fmt.Fprintf(a.Stderr, "\r\033[K%s", line)
		} else if time.Since(last) > 2*time.Second {
			fmt.Fprintln(a.Stderr, line)
			last, printed = time.Now(), line
		}
	}
	switch {
	case tty && line != "":
		fmt.Fprintln(a.Stderr)
	case !tty && line != printed:
		fmt.Fprintln(a.Stderr, line) // the final state, always shown
	}
}

func progressLine(j *jobs.Job) string {
	const width = 24
	done := j.Processed + j.Failed + j.Skipped
	filled := 0
	if j.Total > 0 {
		filled = int(float64(width) * float64(done) / float64(j.Total))
	}
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	eta := "ETA –"
	// A paused job finishes when someone resumes it: no estimate holds.
	if j.ETASeconds >= 0 && (j.Status == jobs.StatusRunning || j.Status == jobs.StatusQueued) {
		eta = "ETA " + (time.Duration(j.ETASeconds) * time.Second).String()
	}
	spent := fmt.Sprintf("$%.4f", j.ActualCost)
	if !j.PriceKnown {
		spent = "price unknown"
	}
	batch := ""
	if b := j.Batch; b != nil {
		batch = fmt.Sprintf("  batch calls %d submitted, %d completed, %d failed", b.Submitted, b.Completed, b.Failed)
		if b.ExpiresAt != nil {
			batch += ", expires " + b.ExpiresAt.UTC().Format(time.RFC3339)
		}
	}
	return fmt.Sprintf("%s %d/%d %3.0f%%  in flight %d  failed %d  tokens %d  %s  %s%s  [%s]",
		bar, done, j.Total, j.Percentage, j.InFlight, j.Failed, j.PromptTokens+j.CompletionTokens, spent, eta, batch, j.Status)
}

// severalProjects is the error of a --select pattern that matches models
// of several projects without --project: which project is meant is never
// guessed.
func (a *App) severalProjects(ctx context.Context, orgID int64, pattern string) error {
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	projects, err := a.projectNames(ctx, orgID)
	if err != nil {
		return err
	}
	objs, _, err := st.ListObjects(ctx, orgID, store.ObjectFilter{Match: pattern})
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	var names []string
	for _, o := range objs {
		if ok, _ := path.Match(pattern, o.Name); ok && !seen[o.ProjectID] {
			seen[o.ProjectID] = true
			names = append(names, cmpOr(projects[o.ProjectID], fmt.Sprintf("#%d", o.ProjectID)))
		}
	}
	sort.Strings(names)
	return modeldoc.Errorf(modeldoc.EINVALID, "--select %q matches models in several projects (%s): pick one with --project NAME.", pattern, strings.Join(names, ", "))
}

// confirmOverBudget asks before starting a job whose estimate exceeds its
// budget, as the dashboard warns: the job would pause at the budget with
// work left. --yes starts it without asking; a stdin that is not a
// terminal cannot answer, so without --yes the job is refused.
func (a *App) confirmOverBudget(cmd *cobra.Command, est *jobs.Estimate, budget float64, yes bool) error {
	if budget <= 0 || !est.PriceKnown || est.EstimatedCost <= budget {
		return nil
	}
	msg := fmt.Sprintf("The estimate ($%.4f) exceeds the budget (%s): the job will pause when the budget is spent, before every model is documented.", est.EstimatedCost, usd(budget))
	if yes {
		fmt.Fprintf(a.Stderr, "\n%s Starting anyway (--yes).\n", msg)
		return nil
	}
	in := stdin(cmd)
	if !stdinIsTerminal(in) {
		return modeldoc.Errorf(modeldoc.EBUDGET, "%s Not started: stdin is not a terminal to ask whether to start. Pass --yes to start anyway, or raise --budget.", msg)
	}
	fmt.Fprintf(a.Stderr, "\n%s\nStart anyway? [y/N] ", msg)
	line, err := bufio.NewReader(io.LimitReader(in, 256)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read the answer from stdin: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return modeldoc.Errorf(modeldoc.EBUDGET, "Not started: the estimate ($%.4f) exceeds the budget (%s). Raise --budget, or pass --yes to start anyway.", est.EstimatedCost, usd(budget))
}

// stdinOverride and stdinIsTerminal are replaced by tests, which cannot
// give cli.Main a terminal.
var (
	stdinOverride   io.Reader
	stdinIsTerminal = canAsk
)

// canAsk reports whether r is a terminal a person can answer on: a
// character device that is not the null device (`< /dev/null` is one too).
func canAsk(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok || !isTerminal(f) {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// usd formats an amount of dollars: cents, or more digits below a cent.
func usd(v float64) string {
	if v != 0 && v < 0.01 {
		return fmt.Sprintf("$%.6f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

func stdin(cmd *cobra.Command) io.Reader {
	if stdinOverride != nil {
		return stdinOverride
	}
	return cmd.InOrStdin()
}

func printEstimate(a *App, est *jobs.Estimate, budget float64) {
	out := a.Stdout
	fmt.Fprintf(out, "Estimate for %s/%s:\n", est.Provider, est.Model)
	// The import counts models, seeds and snapshots apart; a job documents
	// all three (never sources), so "models" here disagreed with it.
	fmt.Fprintf(out, "  objects selected    %d (models, seeds and snapshots; sources are not documented)\n", est.Total)
	fmt.Fprintf(out, "  to document         %d (%d skipped: documentation up to date)\n", est.ToDocument, est.Skipped)
	fmt.Fprintf(out, "  calls               %d\n", est.Calls)
	if est.Provider == modeldoc.ProviderOffline {
		fmt.Fprintf(out, "  cost                $0 (offline writer: no model, no tokens)\n")
		return
	}
	how := "estimated from the exact prompts"
	if est.Extrapolated > 0 {
		how = fmt.Sprintf("counted exactly for %d models, extrapolated by size for %d", est.ToDocument-est.Extrapolated, est.Extrapolated)
	}
	fmt.Fprintf(out, "  tokens              %d prompt + %d completion (%s)\n", est.EstimatedPromptTokens, est.EstimatedCompletionTokens, how)
	switch {
	case !est.PriceKnown:
		fmt.Fprintf(out, "  cost                price unknown (no price for %s model %s: give --price-in and --price-out, or a price file in MODELDOC_PRICES)\n", est.Provider, est.Model)
	case est.PriceGiven:
		fmt.Fprintf(out, "  cost                $%.4f (at the price given with --price-in and --price-out)\n", est.EstimatedCost)
	default:
		fmt.Fprintf(out, "  cost                $%.4f\n", est.EstimatedCost)
	}
	if est.PriceKnown && !est.PriceGiven {
		if est.BatchPriceKnown {
			fmt.Fprintf(out, "  cost with --batch   $%.4f (at the batch prices)\n", est.EstimatedBatchCost)
		} else {
			fmt.Fprintf(out, "  cost with --batch   batch price unknown for %s (a batch job is priced at the cost above)\n", est.Model)
		}
	}
	if budget > 0 {
		fmt.Fprintf(out, "  budget              %s\n", usd(budget))
	}
}

func printResults(a *App, j *jobs.Job) {
	out := a.Stdout
	fmt.Fprintf(out, "\nJob %d %s", j.ID, j.Status)
	if j.StatusReason != "" {
		fmt.Fprintf(out, " (%s)", j.StatusReason)
	}
	fmt.Fprintln(out)
	if j.Message != "" {
		fmt.Fprintf(out, "  %s\n", j.Message)
	}
	attempted := j.Processed + j.Failed
	rate := 0.0
	if attempted > 0 {
		rate = 100 * float64(j.Processed) / float64(attempted)
	}
	fmt.Fprintf(out, "  objects    %d total: %d documented (%d partial), %d failed, %d skipped, %d cancelled\n",
		j.Total, j.Processed, j.Partial, j.Failed, j.Skipped, j.Cancelled)
	fmt.Fprintf(out, "  success    %.1f%%\n", rate)
	if j.StartedAt != nil {
		fmt.Fprintf(out, "  duration   %s (average %s per model)\n", jobDuration(a, j), (time.Duration(j.AvgItemMS) * time.Millisecond).String())
	}
	fmt.Fprintf(out, "  tokens     %d prompt (%d cached) + %d completion\n", j.PromptTokens, j.CachedTokens, j.CompletionTokens)
	if j.PromptTokens > 0 {
		fmt.Fprintf(out, "  cache      %.1f%% of the prompt tokens read from the provider's cache, saving $%.4f\n",
			100*float64(j.CachedTokens)/float64(j.PromptTokens), j.CacheSaved)
	}
	if j.PriceKnown {
		fmt.Fprintf(out, "  cost       $%.4f actual against $%.4f estimated", j.ActualCost, j.EstimatedCost)
	} else {
		fmt.Fprintf(out, "  cost       price unknown (no price for %s model %s)", j.Options.Provider, j.Options.Model)
	}
	if j.Budget > 0 {
		fmt.Fprintf(out, " (budget $%.2f)", j.Budget)
	}
	fmt.Fprintln(out)
	switch j.Status {
	case jobs.StatusPaused:
		if j.StatusReason == jobs.ReasonBudgetExceeded {
			fmt.Fprintf(out, "\nRaise the budget and carry on: modeldoc jobs resume %d --budget AMOUNT\n", j.ID)
		} else {
			fmt.Fprintf(out, "\nCarry on with: modeldoc jobs resume %d\n", j.ID)
		}
	case jobs.StatusCompleted:
		if j.Failed > 0 {
			fmt.Fprintf(out, "\nSee what failed: modeldoc jobs logs %d\n", j.ID)
		}
	}
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return os.Getenv("LOGNAME")
}
