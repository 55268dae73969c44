package cli

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

func init() { register(newJobsCmd) }

func newJobsCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "jobs",
		Aliases: []string{"job"},
		Short:   "List, inspect and control documentation jobs",
		Long: `List, inspect and control documentation jobs.

A job moves through these states (anything else is refused):
  queued → running → completed | failed
  queued | running → pausing → paused → (resume) running
  any state before completed | failed → cancelled
A job pauses by itself when its budget would be crossed (reason budget_exceeded).`,
	}
	cmd.AddCommand(newJobsListCmd(a), newJobsShowCmd(a), newJobsControlCmd(a, "pause"), newJobsResumeCmd(a),
		newJobsControlCmd(a, "cancel"), newJobsLogsCmd(a))
	return cmd
}

func parseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, modeldoc.Errorf(modeldoc.EINVALID, "%q is not a job id: job ids are positive numbers (see: modeldoc jobs list).", s)
	}
	return id, nil
}

// jobTarget parses a job id argument and returns it with the organization
// and the engine a job command acts through.
func (a *App) jobTarget(ctx context.Context, arg string) (*modeldoc.Organization, *engine.Engine, int64, error) {
	id, err := parseJobID(arg)
	if err != nil {
		return nil, nil, 0, err
	}
	org, eng, err := a.orgEngine(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	return org, eng, id, nil
}

func newJobsListCmd(a *App) *cobra.Command {
	var status string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, eng, err := a.orgEngine(ctx)
			if err != nil {
				return err
			}
			list, err := eng.Jobs.List(ctx, org.ID, jobs.ListFilter{Status: status, Limit: limit})
			if err != nil {
				return err
			}
			views, err := jobViews(ctx, eng, org.ID, list)
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"jobs": views})
			}
			if len(list) == 0 {
				fmt.Fprintln(a.Stdout, "No jobs yet. Start one with: modeldoc generate PATH")
				return nil
			}
			projects, err := a.projectNames(ctx, org.ID)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tPROJECT\tSTATUS\tPROGRESS\tFAILED\tPROVIDER/MODEL\tCOST\tCREATED")
			for _, v := range views {
				j := v.Job
				st := j.Status
				if j.StatusReason != "" && j.StatusReason != jobs.ReasonUserPaused && j.StatusReason != jobs.ReasonUserCancelled {
					st += " (" + j.StatusReason + ")"
				}
				if v.Orphaned {
					st = "orphaned"
				}
				spent := fmt.Sprintf("$%.4f", j.ActualCost)
				if !j.PriceKnown {
					spent = "price unknown"
				}
				project := "(several)"
				if j.ProjectID != 0 {
					project = cmpOr(projects[j.ProjectID], fmt.Sprintf("#%d", j.ProjectID))
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%d/%d (%.0f%%)\t%d\t%s/%s\t%s\t%s\n", j.ID, project, st, j.Processed+j.Failed+j.Skipped, j.Total, j.Percentage,
					j.Failed, j.Options.Provider, j.Options.Model, spent, j.CreatedAt.Local().Format(time.DateTime))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			for _, v := range views {
				if v.Orphaned {
					fmt.Fprintf(a.Stdout, "Job %d: %s\n", v.ID, v.Hint)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only jobs in this status (queued, running, pausing, paused, completed, failed, cancelled)")
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many")
	return cmd
}

func newJobsShowCmd(a *App) *cobra.Command {
	var items bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a job: progress, tokens, cost against the estimate, per-layer counts",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, eng, id, err := a.jobTarget(ctx, args[0])
			if err != nil {
				return err
			}
			j, err := eng.Jobs.Get(ctx, org.ID, id)
			if err != nil {
				return err
			}
			var list []jobs.Item
			if items {
				if list, err = eng.Jobs.Items(ctx, org.ID, id); err != nil {
					return err
				}
			}
			views, err := jobViews(ctx, eng, org.ID, []*jobs.Job{j})
			if err != nil {
				return err
			}
			if a.JSON {
				if items {
					return a.printJSON(map[string]any{"job": views[0], "items": list})
				}
				return a.printJSON(views[0])
			}
			fmt.Fprintln(a.Stdout, progressLine(j))
			if views[0].Orphaned {
				fmt.Fprintf(a.Stdout, "  orphaned: %s\n", views[0].Hint)
			}
			printResults(a, j)
			if len(j.Layers) > 0 {
				fmt.Fprintln(a.Stdout)
				w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "  LAYER\tOK\tFAILED")
				for _, l := range modeldoc.AllLayers {
					if c, ok := j.Layers[l]; ok {
						fmt.Fprintf(w, "  %s\t%d\t%d\n", l, c.OK, c.Failed)
					}
				}
				w.Flush()
			}
			if len(j.Running) > 0 {
				fmt.Fprintf(a.Stdout, "\n  writing now: %v\n", j.Running)
			}
			if items {
				fmt.Fprintln(a.Stdout)
				w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "  #\tOBJECT\tSTATUS\tATTEMPTS\tTOKENS\tCOST\tERROR")
				for _, it := range list {
					fmt.Fprintf(w, "  %d\t%s\t%s\t%d\t%d\t$%.4f\t%s\n", it.Position, it.ObjectName, it.Status, it.Attempts,
						it.PromptTokens+it.CompletionTokens, it.Cost, oneLine(it.LastError, 80))
				}
				w.Flush()
			}
			printNextSteps(ctx, a, eng, org.ID, j)
			return nil
		},
	}
	cmd.Flags().BoolVar(&items, "items", false, "also list every object of the job with its state")
	return cmd
}

func newJobsControlCmd(a *App, action string) *cobra.Command {
	short := map[string]string{
		"pause":  "Pause a job: no new call starts; calls in flight finish and are kept",
		"cancel": "Cancel a job: calls in flight are cancelled and nothing more is spent",
	}[action]
	return &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, eng, id, err := a.jobTarget(ctx, args[0])
			if err != nil {
				return err
			}
			var j *jobs.Job
			if action == "pause" {
				j, err = eng.Jobs.Pause(ctx, org.ID, id)
			} else {
				j, err = eng.Jobs.Cancel(ctx, org.ID, id)
			}
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(j)
			}
			fmt.Fprintf(a.Stdout, "Job %d is %s.\n", j.ID, j.Status)
			if j.Status == jobs.StatusPausing {
				fmt.Fprintf(a.Stdout, "Calls in flight finish first; it becomes paused when the last ends. Resume with: modeldoc jobs resume %d\n", j.ID)
			}
			return nil
		},
	}
}

func newJobsResumeCmd(a *App) *cobra.Command {
	var budget float64
	var detach bool
	cmd := &cobra.Command{
		Use:   "resume ID",
		Short: "Resume a paused job, or pick up a job whose process died, and run it to the end",
		Long: `Resume a paused job, or pick up a job whose process died (kill -9, a crash, a
reboot), and run it to the end in the foreground with the provider, model and
base URL it was created with. Keys come from the environment or the
organization, never from the job. No object already documented is written
again. --budget raises the budget of a job paused at its budget.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, eng, id, err := a.jobTarget(ctx, args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("budget") {
				if budget < 0 {
					return modeldoc.Errorf(modeldoc.EINVALID, "--budget cannot be negative.")
				}
				if _, err := eng.Jobs.SetBudget(ctx, org.ID, id, budget); err != nil {
					return err
				}
			}
			j, err := eng.Jobs.Get(ctx, org.ID, id)
			if err != nil {
				return err
			}
			switch j.Status {
			case jobs.StatusPaused, jobs.StatusPausing:
				if j, err = eng.Jobs.Resume(ctx, org.ID, id); err != nil {
					return err
				}
			case jobs.StatusQueued, jobs.StatusRunning:
				// Nothing to change: a job whose process died is still
				// running in the store; running it here takes over its
				// items once their lease has lapsed.
			default:
				return modeldoc.Errorf(modeldoc.ECONFLICT, "Job %d is %s: it cannot be resumed. Start a new job with modeldoc generate.", j.ID, j.Status)
			}
			if detach {
				if a.JSON {
					return a.printJSON(j)
				}
				fmt.Fprintf(a.Stdout, "Job %d is %s; a running 'modeldoc serve' or 'modeldoc worker' will carry it on.\n", j.ID, j.Status)
				return nil
			}
			if !a.JSON {
				fmt.Fprintf(a.Stderr, "Resuming job %d (%d of %d done). Ctrl-C pauses; a second Ctrl-C cancels.\n", j.ID, j.Processed+j.Failed+j.Skipped, j.Total)
			}
			return a.followJob(ctx, eng, org.ID, id)
		},
	}
	cmd.Flags().Float64Var(&budget, "budget", 0, "set a new budget in USD before resuming")
	cmd.Flags().BoolVar(&detach, "detach", false, "only mark the job running; leave the work to a server or worker process")
	return cmd
}

func newJobsLogsCmd(a *App) *cobra.Command {
	var calls bool
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Show a job's error log (and with --calls, one line per provider call)",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, eng, id, err := a.jobTarget(ctx, args[0])
			if err != nil {
				return err
			}
			errs, err := eng.Jobs.Errors(ctx, org.ID, id)
			if err != nil {
				return err
			}
			var logs []jobs.GenerationLog
			if calls {
				if logs, err = eng.Jobs.GenerationLogs(ctx, org.ID, id); err != nil {
					return err
				}
			}
			if a.JSON {
				return a.printJSON(map[string]any{"errors": errs, "calls": logs})
			}
			if len(errs) == 0 {
				fmt.Fprintf(a.Stdout, "Job %d has no errors.\n", id)
			} else {
				w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "TIME\tOBJECT\tLAYER\tCLASS\tATTEMPT\tMESSAGE")
				for _, e := range errs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", e.CreatedAt.Local().Format(time.TimeOnly), orDash(e.ObjectName), orDash(e.Layer), e.ErrorClass, e.Attempt, oneLine(e.Message, 120))
				}
				w.Flush()
			}
			if calls {
				// A call row keeps the object's id; the job's items know its name.
				names := map[int64]string{}
				if items, err := eng.Jobs.Items(ctx, org.ID, id); err == nil {
					for _, it := range items {
						names[it.ObjectID] = it.ObjectName
					}
				}
				w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "\nTIME\tOBJECT\tLAYER\tATTEMPT\tSTATUS\tTOKENS (in/out)\tREASONING\tMS\tFINISH\tERROR")
				for _, l := range logs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%d/%d\t%d\t%d\t%s\t%s\n", l.CreatedAt.Local().Format(time.TimeOnly), cmpOr(names[l.ObjectID], fmt.Sprintf("#%d", l.ObjectID)), l.Layer, l.Attempt, l.Status,
						l.PromptTokens, l.CompletionTokens, l.ReasoningTokens, l.DurationMS, l.FinishReason, oneLine(l.Error, 80))
				}
				w.Flush()
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&calls, "calls", false, "also list every provider call (one row per layer per attempt)")
	return cmd
}

// jobView is a job as jobs list and show print it. A running job whose
// worker is gone (its heartbeat lapsed, or its process died on this host)
// still reads running in the store, and nothing moves it until a process
// resumes it: it is shown orphaned, with the command that does.
type jobView struct {
	*jobs.Job
	Orphaned bool   `json:"orphaned"`
	Hint     string `json:"hint,omitempty"`
}

func jobViews(ctx context.Context, eng *engine.Engine, orgID int64, list []*jobs.Job) ([]jobView, error) {
	ids := make([]int64, 0, len(list))
	for _, j := range list {
		ids = append(ids, j.ID)
	}
	orphaned, err := eng.Jobs.Orphaned(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	views := make([]jobView, len(list))
	for i, j := range list {
		views[i].Job = j
		if why, ok := orphaned[j.ID]; ok {
			views[i].Orphaned = true
			views[i].Hint = fmt.Sprintf("%s. Resume it with: modeldoc jobs resume %d", why, j.ID)
		}
	}
	return views, nil
}
