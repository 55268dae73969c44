package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc/internal/store"
)

// parseRetention reads --retain-logs: a number of days ("90d") or a Go
// duration ("36h"); "" and "0" keep the logs forever (0).
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	bad := fmt.Errorf("%q is not a retention period: write a number of days like 90d, or a duration like 36h", s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || !(n >= 0 && n <= 100000) {
			return 0, bad
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d < time.Hour {
		return 0, fmt.Errorf("%q is too short: keep the logs at least an hour (1h), or give 0 to keep them forever", s)
	}
	return d, nil
}

// pruneLogs deletes the generation logs older than retain at once and then
// every interval until ctx ends. Several serve processes may run it on one
// database: each deleted row is counted once (jobstore.Store.DeleteGenerationLogsBefore).
func pruneLogs(ctx context.Context, st *store.Store, retain, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := st.JobStore().DeleteGenerationLogsBefore(ctx, st.Now().Add(-retain), 0)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("retention: deleting old generation logs failed; retrying at the next round", "err", err, "deleted", n)
		case n > 0:
			logger.Info("retention: deleted old generation logs", "rows", n, "older_than", retain.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
