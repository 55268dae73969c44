package jobs

import (
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
func (h holder) gone(here string) string {
	if h.host == "" || h.host != here || h.pid <= 0 || h.pid == int64(os.Getpid()) {
		return ""
	}
	if pidAlive(int(h.pid)) {
		return ""
	}
	return fmt.Sprintf("its process %d on this host (%s) is no longer running", h.pid, h.host)
}

// lapsed reports whether the holder stopped beating for a lease.
func (h holder) lapsed(deadline time.Time) bool {
	return h.beat == nil || h.beat.Before(deadline)
}

func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
