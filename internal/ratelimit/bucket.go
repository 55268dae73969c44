package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Bucket holds the shared state of one provider key's limits: two virtual
// schedules (requests and tokens) kept as GCRA "theoretical arrival times",
// and a penalty time before which nobody may call. Costs and tolerances are
// passed as durations, so a Bucket knows nothing about rates: the Limiter
// turns counts into time at its current effective rate.
//
// A Bucket in memory serves one process; a Bucket in a database row (see
// PGBucket) lets many processes share one limit. Every method is atomic on
// the bucket and uses the bucket's own clock ("now"), so callers on
// machines with skewed clocks still agree.
type Bucket interface {
	// Take reserves one call and returns how long the caller must wait
	// before starting it (zero or negative: start now). The reservation is
	// made whatever the wait, so callers queue in order.
	Take(ctx context.Context, t Take) (time.Duration, error)
	// Adjust moves the schedules by signed costs: positive charges more
	// (a call used more tokens than reserved), negative gives time back
	// (a call used fewer, or a reservation was abandoned). Giving back never
	// moves a schedule before now.
	Adjust(ctx context.Context, requests, tokens time.Duration) error
	// Drain moves each schedule to at least now+d, so that at most the
	// capacity left at that point remains. Non-positive values change nothing.
	Drain(ctx context.Context, requests, tokens time.Duration) error
	// Hold stops every Take from starting before now+d.
	Hold(ctx context.Context, d time.Duration) error
}

// Take is one reservation in time units. A cost is count × interval; a
// tolerance is how far ahead of now the schedule may run, which is the
// bucket's capacity: a schedule conforms while it is at most Tolerance in
// the future after the cost is added. A cost larger than its tolerance
// (a request bigger than the bucket) goes when the bucket is full.
type Take struct {
	RequestCost, RequestTolerance time.Duration
	TokenCost, TokenTolerance     time.Duration
}

// MemoryBucket is a Bucket for one process. It starts empty, so the first
// second is paced like every other instead of allowing a burst on top of a
// provider window that may already be partly used.
type MemoryBucket struct {
	clock    Clock
	mu       sync.Mutex
	started  bool
	requests time.Time
	tokens   time.Time
	penalty  time.Time
}

// NewMemoryBucket returns an empty bucket on clock (nil means the system clock).
func NewMemoryBucket(clock Clock) *MemoryBucket {
	if clock == nil {
		clock = SystemClock{}
	}
	return &MemoryBucket{clock: clock}
}

func (b *MemoryBucket) Take(ctx context.Context, t Take) (time.Duration, error) {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.started {
		b.started = true
		b.requests = now.Add(t.RequestTolerance)
		b.tokens = now.Add(t.TokenTolerance)
	}
	start := latest(now, b.penalty,
		b.requests.Add(min(t.RequestCost-t.RequestTolerance, 0)),
		b.tokens.Add(min(t.TokenCost-t.TokenTolerance, 0)))
	b.requests = latest(b.requests, start).Add(t.RequestCost)
	b.tokens = latest(b.tokens, start).Add(t.TokenCost)
	return start.Sub(now), nil
}

func (b *MemoryBucket) Adjust(ctx context.Context, requests, tokens time.Duration) error {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests = adjust(b.requests, requests, now)
	b.tokens = adjust(b.tokens, tokens, now)
	return nil
}

func (b *MemoryBucket) Drain(ctx context.Context, requests, tokens time.Duration) error {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if requests > 0 {
		b.requests = latest(b.requests, now.Add(requests))
	}
	if tokens > 0 {
		b.tokens = latest(b.tokens, now.Add(tokens))
	}
	return nil
}

func (b *MemoryBucket) Hold(ctx context.Context, d time.Duration) error {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.penalty = latest(b.penalty, now.Add(d))
	return nil
}

// adjust applies a signed cost to a schedule: a charge counts from now at
// the earliest (an idle bucket is full, not in credit), a refund never
// moves the schedule before now.
func adjust(at time.Time, d time.Duration, now time.Time) time.Time {
	switch {
	case d > 0:
		return latest(at, now).Add(d)
	case d < 0 && at.After(now):
		return latest(at.Add(d), now)
	}
	return at
}

func latest(t time.Time, more ...time.Time) time.Time {
	for _, m := range more {
		if m.After(t) {
			t = m
		}
	}
	return t
}
