package jobs

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// On SQLite River learns of new River jobs by polling: its fetch poll and
// its listener's poll of the river_notification table (every 50 ms). An
// item's completion releases the next items in the same transaction, so
// each object waited for the next poll before it could start, which at
// concurrency 1 was most of an object's time. This process knows the
// moment it committed a release, so it wakes its own River listener then;
// River's polls remain for the releases other processes commit.

// waker coalesces wake-ups: one pending is as good as many.
type waker struct{ ch chan struct{} }

func newWaker() *waker { return &waker{ch: make(chan struct{}, 1)} }

func (w *waker) wake() {
	if w == nil {
		return
	}
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// wakingDriver is River's SQLite driver with a listener that w can wake.
type wakingDriver struct {
	*riversqlite.Driver
	w *waker
}

func (d *wakingDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &wakingListener{Listener: d.Driver.GetListener(params), w: d.w}
}

type wakingListener struct {
	riverdriver.Listener
	w       *waker
	stashed *riverdriver.Notification // a real one that arrived as we were woken
}

// insertNotification is what River itself sends when jobs are inserted in
// a queue: its producer answers with a fetch.
var insertNotification = func() riverdriver.Notification {
	payload, _ := json.Marshal(struct {
		Queue string `json:"queue"`
	}{queueName})
	return riverdriver.Notification{Topic: "river_insert", Payload: string(payload)}
}()

// WaitForNotification returns the inner listener's next notification, or
// an insert notification as soon as this process wakes it. River's
// notifier calls it from one goroutine at a time and cancels ctx to change
// its subscriptions, expecting ctx's error back.
func (l *wakingListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	if n := l.stashed; n != nil {
		l.stashed = nil
		return n, nil
	}
	select {
	case <-l.w.ch:
		n := insertNotification
		return &n, nil
	default:
	}
	type result struct {
		n   *riverdriver.Notification
		err error
	}
	innerCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		n, err := l.Listener.WaitForNotification(innerCtx)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-l.w.ch:
		cancel()
		if r := <-done; r.err == nil && r.n != nil {
			l.stashed = r.n
		}
		n := insertNotification
		return &n, nil
	}
}
