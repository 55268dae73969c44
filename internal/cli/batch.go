package cli

import (
	"os"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

// batchTimings reads how batch-mode jobs poll and gather calls from
// MODELDOC_BATCH_POLL (how often a submitted batch is polled, 30s) and
// MODELDOC_BATCH_LINGER (how long a chunk waits for more calls, 2s): a
// real provider takes minutes to hours over a batch, a test's fake
// milliseconds.
func batchTimings(cfg jobs.Config) (jobs.Config, error) {
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{{"MODELDOC_BATCH_POLL", &cfg.BatchPoll}, {"MODELDOC_BATCH_LINGER", &cfg.BatchLinger}} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return cfg, modeldoc.Errorf(modeldoc.EINVALID, "%s is %q: give a duration such as 30s or 500ms.", v.name, s)
		}
		*v.dst = d
	}
	return cfg, nil
}
