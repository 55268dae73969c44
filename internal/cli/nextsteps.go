package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

// dataLocation says where the store is, as a user would look for it: the
// SQLite file's absolute path, or the PostgreSQL URL without its password.
func (a *App) dataLocation() string {
	if strings.HasPrefix(a.DB, "postgres://") || strings.HasPrefix(a.DB, "postgresql://") {
		if u, err := url.Parse(a.DB); err == nil {
			return "PostgreSQL " + u.Redacted()
		}
		return "PostgreSQL"
	}
	p := a.DB
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return "SQLite " + p
}

// dbFlag is the --db the next commands need to find the same store: none
// when they would find it anyway (the default path, or MODELDOC_DB).
func (a *App) dbFlag() string {
	if a.DB == DefaultDB || a.DB == os.Getenv("MODELDOC_DB") {
		return ""
	}
	return " --db " + shellQuote(a.DB)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@=+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printNextSteps ends a finished job's report with where its data went and
// three commands that work as printed, naming a model the job documented: a
// new user's next question is "where is it, and how do I look at it?".
func printNextSteps(ctx context.Context, a *App, eng *engine.Engine, orgID int64, j *jobs.Job) {
	if j.Status != jobs.StatusCompleted {
		return
	}
	out := a.Stdout
	fmt.Fprintf(out, "\nThe documentation is in the store: %s\n", a.dataLocation())
	name, project := exampleModel(ctx, a, eng, orgID, j)
	if name == "" {
		fmt.Fprintf(out, "Next:\n  modeldoc%s docs show NAME\n", a.dbFlag())
		return
	}
	sel := shellQuote(name)
	if project != "" {
		sel += " --project " + shellQuote(project)
	}
	db := a.dbFlag()
	fmt.Fprintf(out, "Next:\n")
	w := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintf(w, "  modeldoc%s docs show %s\tread it\n", db, sel)
	fmt.Fprintf(w, "  modeldoc%s review accept %s\tpublish it once you agree (review list --state draft lists the rest)\n", db, sel)
	fmt.Fprintf(w, "  modeldoc%s export site --out site\tevery model, to browse from disk: open site/index.html\n", db)
	w.Flush()
}

// exampleModel picks a model the job documented, the last in lineage order
// (a mart rather than a staging model, usually), and the project to name
// when that name alone would be refused as ambiguous.
func exampleModel(ctx context.Context, a *App, eng *engine.Engine, orgID int64, j *jobs.Job) (name, project string) {
	items, err := eng.Jobs.Items(ctx, orgID, j.ID)
	if err != nil {
		return "", ""
	}
	st, err := a.store(ctx)
	if err != nil {
		return "", ""
	}
	var fallback string
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if it.ObjectName == "" || (it.Status != jobs.ItemDone && it.Status != jobs.ItemPartial && it.Status != jobs.ItemSkipped) {
			continue
		}
		obj, err := st.GetObject(ctx, orgID, it.ObjectID)
		if err != nil {
			continue
		}
		if obj.Type != modeldoc.TypeModel {
			if fallback == "" {
				fallback = it.ObjectName
			}
			continue
		}
		name = it.ObjectName
		break
	}
	if name == "" {
		name = fallback
	}
	if name == "" {
		return "", ""
	}
	if _, err := st.ResolveObjectIn(ctx, orgID, 0, name); err != nil {
		names, _ := a.projectNames(ctx, orgID)
		project = names[j.ProjectID]
	}
	return name, project
}

// jobDuration is how long a job has worked: the union of its items' run
// intervals, so that the hours a job sat paused (or waited for a resume
// after a crash) do not count. Wall time is said beside it when they
// differ. The store keeps no pause history, so the items are the measure.
func jobDuration(a *App, j *jobs.Job) string {
	end := time.Now()
	switch {
	case j.FinishedAt != nil:
		end = *j.FinishedAt
	case j.Status == jobs.StatusPaused:
		end = j.UpdatedAt
	}
	wall := end.Sub(*j.StartedAt).Round(time.Millisecond)
	if a.eng == nil {
		return wall.String()
	}
	items, err := a.eng.Jobs.Items(context.Background(), j.OrgID, j.ID)
	if err != nil {
		return wall.String()
	}
	working := busyTime(items, end).Round(time.Millisecond)
	if working <= 0 || wall-working < time.Second {
		return wall.String()
	}
	return fmt.Sprintf("%s working, %s since the start (pauses and waits excluded)", working, wall)
}

// busyTime is the length of the union of the items' [start, finish]
// intervals; an item still running counts up to now.
func busyTime(items []jobs.Item, now time.Time) time.Duration {
	type span struct{ from, to time.Time }
	var spans []span
	for _, it := range items {
		if it.StartedAt == nil {
			continue
		}
		to := now
		if it.FinishedAt != nil {
			to = *it.FinishedAt
		} else if it.Status != jobs.ItemRunning {
			continue // went back to ready (a pause): its run left no end
		}
		if to.After(*it.StartedAt) {
			spans = append(spans, span{*it.StartedAt, to})
		}
	}
	sort.Slice(spans, func(i, k int) bool { return spans[i].from.Before(spans[k].from) })
	var total time.Duration
	var cur span
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case !s.from.After(cur.to):
			if s.to.After(cur.to) {
				cur.to = s.to
			}
		default:
			total += cur.to.Sub(cur.from)
			cur = s
		}
	}
	if len(spans) > 0 {
		total += cur.to.Sub(cur.from)
	}
	return total
}
