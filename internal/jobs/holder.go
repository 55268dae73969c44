package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/modeldoc/modeldoc/internal/jobstore"
)

// holder is the process that writes a running item, as recorded in its
// row: its host name and process id beside the worker id and heartbeat.
type holder struct {
	worker string
	host   string
	pid    int64
	beat   *time.Time // nil: it never beat
}

func holderOf(h jobstore.Held) holder {
	return holder{worker: h.Worker, host: h.Host, pid: h.PID, beat: h.Heartbeat}
}

// thisHost is the host name recorded with this process's items.
func thisHost() string {
	h, _ := os.Hostname()
	return h
}

// gone says why an item's holder is certainly dead, or "" when it may be
// alive. Only a process on this host can be asked: its pid is looked up
// (signal 0). A pid reused by another process since reads as alive, which
// only means waiting out the lease, as before.
func (m *Manager) gone(h holder) string {
	if h.host == "" || h.host != m.host || h.pid <= 0 || h.pid == int64(os.Getpid()) {
		return ""
	}
	if pidAlive(int(h.pid)) {
		return ""
	}
	return fmt.Sprintf("its process %d on this host (%s) is no longer running", h.pid, h.host)
}

// lapsed reports whether the holder stopped beating for a lease.
func (m *Manager) lapsed(h holder, deadline time.Time) bool {
	return h.beat == nil || h.beat.Before(deadline)
}

func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Orphaned returns, for those of ids that are running (or pausing) with an
// item whose holder is gone (its heartbeat older than the lease, or its
// process dead on this host), why: nothing moves such a job until some
// process resumes it.
func (m *Manager) Orphaned(ctx context.Context, orgID int64, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	held, err := m.js.RunningHeldIn(ctx, orgID, ids)
	if err != nil {
		return nil, fmt.Errorf("jobs: orphaned items: %w", err)
	}
	deadline := m.clock().Add(-m.cfg.Lease)
	for _, hd := range held {
		job, h := hd.JobID, holderOf(hd)
		if _, seen := out[job]; seen {
			continue
		}
		if why := m.gone(h); why != "" {
			out[job] = "worker " + h.worker + " stopped: " + why
		} else if m.lapsed(h, deadline) {
			out[job] = fmt.Sprintf("worker %s has sent no heartbeat for over %s", h.worker, m.cfg.Lease)
		}
	}
	return out, nil
}
