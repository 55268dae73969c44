package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
)

// pollingListener stands for River's SQLite listener: it answers from its
// queue, or blocks until ctx ends.
type pollingListener struct {
	riverdriver.Listener
	queue chan *riverdriver.Notification
}

func (l *pollingListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	select {
	case n := <-l.queue:
		return n, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func wait(t *testing.T, l *wakingListener, ctx context.Context) (*riverdriver.Notification, error) {
	t.Helper()
	type result struct {
		n   *riverdriver.Notification
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := l.WaitForNotification(ctx)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("WaitForNotification did not return")
		return nil, nil
	}
}

func TestWakingListener(t *testing.T) {
	inner := &pollingListener{queue: make(chan *riverdriver.Notification, 4)}
	w := newWaker()
	l := &wakingListener{Listener: inner, w: w}
	ctx := context.Background()

	t.Run("a wake becomes River's insert notification for our queue", func(t *testing.T) {
		go func() { time.Sleep(20 * time.Millisecond); w.wake() }()
		n, err := wait(t, l, ctx)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Queue string }
		if n.Topic != "river_insert" || json.Unmarshal([]byte(n.Payload), &p) != nil || p.Queue != queueName {
			t.Fatalf("got %+v, want an insert notification for queue %q", n, queueName)
		}
	})

	t.Run("wakes coalesce", func(t *testing.T) {
		w.wake()
		w.wake()
		w.wake()
		if _, err := wait(t, l, ctx); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if n, err := wait(t, l, short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second wait: %+v, %v; want nothing until the deadline", n, err)
		}
	})

	t.Run("the inner listener's notifications pass through", func(t *testing.T) {
		real := &riverdriver.Notification{Topic: "river_leadership", Payload: "{}"}
		inner.queue <- real
		if n, err := wait(t, l, ctx); err != nil || n != real {
			t.Fatalf("got %+v, %v; want the inner notification", n, err)
		}
	})

	t.Run("ending ctx returns its error, as River's notifier expects", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		if _, err := wait(t, l, c); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("a real notification that races a wake is kept for the next call", func(t *testing.T) {
		real := &riverdriver.Notification{Topic: "river_control", Payload: "{}"}
		// The inner listener answers only once it is cancelled, as if its
		// query had returned a row just as the wake came.
		racing := &racingListener{n: real, waiting: make(chan struct{}, 1)}
		l := &wakingListener{Listener: racing, w: w}
		w.wake()
		// The pending wake is served first, without asking the inner one.
		if n, _ := wait(t, l, ctx); n.Topic != "river_insert" {
			t.Fatalf("got %+v", n)
		}
		// Wake only once the inner listener is waiting, however slow the
		// machine: a wake pending before would be served without it.
		go func() { <-racing.waiting; w.wake() }()
		if n, _ := wait(t, l, ctx); n.Topic != "river_insert" {
			t.Fatalf("got %+v", n)
		}
		if n, err := wait(t, l, ctx); err != nil || n != real {
			t.Fatalf("got %+v, %v; want the notification that raced the wake", n, err)
		}
	})
}

type racingListener struct {
	riverdriver.Listener
	n       *riverdriver.Notification
	waiting chan struct{}
}

func (l *racingListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	select {
	case l.waiting <- struct{}{}:
	default:
	}
	if l.n == nil {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	<-ctx.Done()
	n := l.n
	l.n = nil
	return n, nil
}
