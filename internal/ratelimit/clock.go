package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Clock is the time source of whatever waits: a Limiter, and retry's
// backoffs. Tests pass a FakeClock so that no test depends on wall time.
type Clock interface {
	Now() time.Time
	// Sleep returns after d, or with ctx's error as soon as ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// FakeClock is a manual clock for tests: time moves only when Advance is
// called, and Sleep blocks until it has moved far enough. With AutoAdvance
// set, Sleep moves the clock itself and returns at once, which suits tests
// with a single caller.
type FakeClock struct {
	mu          sync.Mutex
	now         time.Time
	sleepers    []*sleeper
	changed     chan struct{} // closed and replaced whenever sleepers change
	AutoAdvance bool
	slept       time.Duration
}

type sleeper struct {
	until time.Time
	done  chan struct{}
}

// NewFakeClock returns a clock set to an arbitrary fixed instant.
func NewFakeClock() *FakeClock {
	return &FakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), changed: make(chan struct{})}
}

func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	c.mu.Lock()
	c.slept += d
	if c.AutoAdvance {
		c.mu.Unlock()
		c.Advance(d)
		return nil
	}
	s := &sleeper{until: c.now.Add(d), done: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.notify()
	c.mu.Unlock()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, o := range c.sleepers {
			if o == s {
				c.sleepers = append(c.sleepers[:i], c.sleepers[i+1:]...)
				break
			}
		}
		c.notify()
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Advance moves the clock forward by d and wakes the sleepers whose time has come.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if !s.until.After(c.now) {
			close(s.done)
		} else {
			kept = append(kept, s)
		}
	}
	c.sleepers = kept
	c.notify()
}

// Slept is the total duration callers have asked to sleep.
func (c *FakeClock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// BlockUntilSleepers waits until exactly n callers are sleeping, so a test
// can advance the clock knowing who is waiting, without sleeping itself.
func (c *FakeClock) BlockUntilSleepers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		got, ch := len(c.sleepers), c.changed
		c.mu.Unlock()
		if got == n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Sleepers is the number of callers sleeping now.
func (c *FakeClock) Sleepers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleepers)
}

// NextWake is the earliest time a sleeper waits for, and false when none sleeps.
func (c *FakeClock) NextWake() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sleepers) == 0 {
		return time.Time{}, false
	}
	min := c.sleepers[0].until
	for _, s := range c.sleepers[1:] {
		if s.until.Before(min) {
			min = s.until
		}
	}
	return min, true
}

func (c *FakeClock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}
