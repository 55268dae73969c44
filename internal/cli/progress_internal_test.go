package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

func TestNoETAUnlessRunning(t *testing.T) {
	j := &jobs.Job{Total: 10, Processed: 4, ETASeconds: 30, PriceKnown: true}
	for status, want := range map[string]string{jobs.StatusRunning: "ETA 30s", jobs.StatusPaused: "ETA –", jobs.StatusPausing: "ETA –", jobs.StatusCompleted: "ETA –"} {
		j.Status = status
		if got := progressLine(j); !strings.Contains(got, want) {
			t.Errorf("%s: %q lacks %q", status, got, want)
		}
	}
}

// busyTime leaves out the hours between two runs of a job (a pause).
func TestBusyTimeLeavesPausesOut(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	at := func(m int) *time.Time { v := t0.Add(time.Duration(m) * time.Minute); return &v }
	items := []jobs.Item{
		{Status: jobs.ItemDone, StartedAt: at(0), FinishedAt: at(2)},
		{Status: jobs.ItemDone, StartedAt: at(1), FinishedAt: at(3)},     // overlaps: 0–3
		{Status: jobs.ItemDone, StartedAt: at(120), FinishedAt: at(124)}, // after a two-hour pause
		{Status: jobs.ItemSkipped},
		{Status: jobs.ItemReady, StartedAt: at(5)}, // went back to ready: no end
	}
	if got := busyTime(items, *at(130)); got != 7*time.Minute {
		t.Errorf("busy %s, want 7m", got)
	}
}

// SQLite's words for a store it cannot write become what to do; other
// errors pass unchanged. (The CLI test of a read-only file cannot run as
// root, who writes read-only files.)
func TestReadOnlyStoreMessage(t *testing.T) {
	err := readOnlyStore("/data/m.db", errors.New("migrate: attempt to write a readonly database (8)"))
	if modeldoc.ErrorCode(err) != modeldoc.EINVALID || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), "--db") || !strings.Contains(err.Error(), "/data/m.db") {
		t.Errorf("read-only: %v", err)
	}
	other := errors.New("disk I/O error")
	if got := readOnlyStore("/data/m.db", other); got != other {
		t.Errorf("another error was rewritten: %v", got)
	}
}
