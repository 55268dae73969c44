package ratelimit

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// newAuto returns a limiter on a clock that moves itself when a caller
// sleeps: sequential callers then see exact virtual times.
func newAuto(t *testing.T, cfg Config) (*Limiter, *FakeClock) {
	t.Helper()
	c := NewFakeClock()
	c.AutoAdvance = true
	cfg.Clock = c
	return New(cfg), c
}

// admitTimes runs n sequential Waits and returns when each was admitted,
// relative to the start.
func admitTimes(t *testing.T, l *Limiter, c *FakeClock, n, tokens int) []time.Duration {
	t.Helper()
	start := c.Now()
	var out []time.Duration
	for range n {
		r, err := l.Wait(context.Background(), tokens)
		if err != nil {
			t.Fatal(err)
		}
		r.Done(tokens)
		out = append(out, c.Now().Sub(start))
	}
	return out
}

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestRequestBucketPacesFromEmpty(t *testing.T) {
	t.Parallel()
	// 600 RPM is one request every 100 ms. A new bucket starts empty, so
	// even the first second is paced rather than burst.
	l, c := newAuto(t, Config{RPM: 600})
	got := admitTimes(t, l, c, 5, 0)
	if want := ms(100, 200, 300, 400, 500); !slices.Equal(got, want) {
		t.Fatalf("admitted at %v, want %v", got, want)
	}
	// After an idle spell the bucket is full again: one Burst (1 s) worth
	// of requests go at once, then pacing resumes.
	c.Advance(10 * time.Second)
	got = admitTimes(t, l, c, 12, 0)
	want := ms(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 200)
	if !slices.Equal(got, want) {
		t.Fatalf("after idle admitted at %v, want %v", got, want)
	}
}

func TestUnlimitedNeverWaits(t *testing.T) {
	t.Parallel()
	l, c := newAuto(t, Config{})
	got := admitTimes(t, l, c, 100, 1_000_000)
	if got[99] != 0 {
		t.Fatalf("unlimited limiter waited %v", got[99])
	}
}

func TestTokenBucketAndDoneCorrection(t *testing.T) {
	t.Parallel()
	// 6000 TPM = 100 tokens/s; 50 tokens cost 500 ms of the 1 s bucket.
	l, c := newAuto(t, Config{TPM: 6000})
	if got, want := admitTimes(t, l, c, 3, 50), ms(500, 1000, 1500); !slices.Equal(got, want) {
		t.Fatalf("admitted at %v, want %v", got, want)
	}

	// A call that used 150 tokens where 50 were reserved pushes the next
	// by the extra 100 tokens (1 s).
	l, c = newAuto(t, Config{TPM: 6000})
	start := c.Now()
	r, _ := l.Wait(context.Background(), 50) // at 500 ms
	r.Done(150)
	if _, err := l.Wait(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got != 2*time.Second {
		t.Fatalf("after an overrun the next call went at %v, want 2s", got)
	}

	// A call that used nothing gives its 500 ms back: the next goes at once.
	l, c = newAuto(t, Config{TPM: 6000})
	start = c.Now()
	r, _ = l.Wait(context.Background(), 50)
	r.Done(0)
	if _, err := l.Wait(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got != 500*time.Millisecond {
		t.Fatalf("after a refund the next call went at %v, want 500ms", got)
	}
}

func TestTokenRequestLargerThanBucketGoesWhenFull(t *testing.T) {
	t.Parallel()
	// 300 tokens at 100 tokens/s is 3 s, more than the 1 s bucket: such a
	// call must still go (when the bucket is full), then the next waits
	// for the debt.
	l, c := newAuto(t, Config{TPM: 6000})
	admitTimes(t, l, c, 1, 1)
	c.Advance(time.Minute)
	got := admitTimes(t, l, c, 3, 300)
	if want := ms(0, 3000, 6000); !slices.Equal(got, want) {
		t.Fatalf("admitted at %v, want %v", got, want)
	}
}

func TestBothBucketsMustAllow(t *testing.T) {
	t.Parallel()
	// Requests allow one per 100 ms, tokens one 100-token call per second:
	// tokens bind.
	l, c := newAuto(t, Config{RPM: 600, TPM: 6000})
	if got, want := admitTimes(t, l, c, 3, 100), ms(1000, 2000, 3000); !slices.Equal(got, want) {
		t.Fatalf("admitted at %v, want %v", got, want)
	}
	// Tiny calls: requests bind.
	l, c = newAuto(t, Config{RPM: 600, TPM: 6000})
	if got, want := admitTimes(t, l, c, 3, 1), ms(100, 200, 300); !slices.Equal(got, want) {
		t.Fatalf("admitted at %v, want %v", got, want)
	}
}

func TestObserveDrainsToRemaining(t *testing.T) {
	t.Parallel()
	l, c := newAuto(t, Config{RPM: 600, TPM: 600_000})
	admitTimes(t, l, c, 1, 1)
	c.Advance(time.Minute) // full buckets: 10 requests could go at once
	// The provider says 2 requests remain (others share the key).
	l.Observe(writer.RateLimit{Known: true, LimitRequests: 600, RemainingRequests: 2, LimitTokens: 600_000, RemainingTokens: 599_000})
	got := admitTimes(t, l, c, 4, 1)
	if want := ms(0, 0, 100, 200); !slices.Equal(got, want) {
		t.Fatalf("admitted at %v, want %v", got, want)
	}

	// Remaining 0 means the next request waits one interval.
	l.Observe(writer.RateLimit{Known: true, LimitRequests: 600, RemainingRequests: 0})
	start := c.Now()
	admitTimes(t, l, c, 1, 1)
	if got := c.Now().Sub(start); got != 100*time.Millisecond {
		t.Fatalf("after remaining=0 waited %v, want 100ms", got)
	}

	// More remaining than the bucket holds changes nothing.
	l, c = newAuto(t, Config{RPM: 600})
	admitTimes(t, l, c, 1, 1)
	c.Advance(time.Minute)
	l.Observe(writer.RateLimit{Known: true, LimitRequests: 600, RemainingRequests: 590})
	if got := admitTimes(t, l, c, 10, 1); got[9] != 0 {
		t.Fatalf("a large remaining count slowed the limiter: %v", got)
	}

	// Tokens: 1000 tokens left at 10,000 tokens/s is 100 ms worth.
	l, c = newAuto(t, Config{TPM: 600_000})
	admitTimes(t, l, c, 1, 1)
	c.Advance(time.Minute)
	l.Observe(writer.RateLimit{Known: true, LimitTokens: 600_000, RemainingTokens: 1000})
	if got, want := admitTimes(t, l, c, 3, 500), ms(0, 0, 50); !slices.Equal(got, want) {
		t.Fatalf("admitted at %v, want %v", got, want)
	}

	// Headers without a limit (remaining 0 then means "not said") are ignored.
	l, c = newAuto(t, Config{RPM: 600})
	admitTimes(t, l, c, 1, 1)
	c.Advance(time.Minute)
	l.Observe(writer.RateLimit{Known: true, RetryAfter: time.Second})
	if got := admitTimes(t, l, c, 5, 1); got[4] != 0 {
		t.Fatalf("headers without limits slowed the limiter: %v", got)
	}
}

func TestObserveLearnsLimitWhenUnconfigured(t *testing.T) {
	t.Parallel()
	l, c := newAuto(t, Config{})
	l.Observe(writer.RateLimit{Known: true, LimitRequests: 60, RemainingRequests: 60})
	if s := l.Stats(); s.EffectiveRPM != 60 || s.ConfiguredRPM != 0 {
		t.Fatalf("stats %+v, want effective RPM 60 learned from headers", s)
	}
	got := admitTimes(t, l, c, 3, 1)
	if got[2]-got[1] != time.Second {
		t.Fatalf("learned 60 RPM but admitted at %v", got)
	}
	// A configured limit wins over the header.
	l, _ = newAuto(t, Config{RPM: 120})
	l.Observe(writer.RateLimit{Known: true, LimitRequests: 60, RemainingRequests: 60})
	if s := l.Stats(); s.EffectiveRPM != 120 {
		t.Fatalf("effective RPM %v, want the configured 120", s.EffectiveRPM)
	}
}

func TestRateLimitedDecreasesHoldsAndRecovers(t *testing.T) {
	t.Parallel()
	l, c := newAuto(t, Config{RPM: 600, IncreaseEvery: 10 * time.Second, IncreaseStep: 0.1, MinRateFraction: 0.2})
	admitTimes(t, l, c, 3, 1)

	l.RateLimited(2 * time.Second)
	if s := l.Stats(); s.EffectiveRPM != 300 || s.RateLimited != 1 || s.Decreases != 1 {
		t.Fatalf("after one 429: %+v, want effective 300 RPM", s)
	}
	// A second 429 from the same burst does not cut again.
	l.RateLimited(2 * time.Second)
	if s := l.Stats(); s.EffectiveRPM != 300 || s.RateLimited != 2 || s.Decreases != 1 {
		t.Fatalf("after a second 429 of the same burst: %+v", s)
	}
	// Everyone is held 2 s, then paced at the cut rate (200 ms), from an
	// empty bucket: no burst when the hold ends.
	got := admitTimes(t, l, c, 3, 1)
	if want := ms(2200, 2400, 2600); !slices.Equal(got, want) {
		t.Fatalf("after a 429 admitted at %v, want %v", got, want)
	}

	// Later 429s cut down to the floor (20% of 600).
	for range 5 {
		c.Advance(2 * time.Second)
		l.RateLimited(0)
	}
	if s := l.Stats(); math.Abs(s.EffectiveRPM-120) > 1e-9 {
		t.Fatalf("effective RPM %v, want the floor 120", s.EffectiveRPM)
	}
	// Recovery: +10% of 600 per 10 s without a 429, up to the ceiling.
	c.Advance(25 * time.Second)
	if s := l.Stats(); math.Abs(s.EffectiveRPM-240) > 1e-9 {
		t.Fatalf("after 25 s effective RPM %v, want 240", s.EffectiveRPM)
	}
	c.Advance(10 * time.Minute)
	if s := l.Stats(); s.EffectiveRPM != 600 {
		t.Fatalf("after 10 min effective RPM %v, want 600", s.EffectiveRPM)
	}
}

func TestReservationRateLimitedCutsOncePerBurst(t *testing.T) {
	t.Parallel()
	l, c := newAuto(t, Config{RPM: 6000})
	var rs []Reservation
	for range 5 {
		r, err := l.Wait(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	c.Advance(time.Second)
	// All five were admitted before the first cut: one cut only.
	for _, r := range rs {
		r.RateLimited(0)
	}
	if s := l.Stats(); s.Decreases != 1 || s.RateLimited != 5 || s.EffectiveRPM != 3000 {
		t.Fatalf("stats %+v, want one cut to 3000 RPM from five 429s", s)
	}
	// A call admitted after the cut that still gets a 429 cuts again.
	r, _ := l.Wait(context.Background(), 1)
	r.RateLimited(0)
	if s := l.Stats(); s.Decreases != 2 || s.EffectiveRPM != 1500 {
		t.Fatalf("stats %+v, want a second cut to 1500 RPM", s)
	}
}

// drive advances a manual clock to the next sleeper's wake time whenever
// every live caller is asleep, until none is live. Advancing only then
// makes each run see the same virtual times as the last.
func drive(c *FakeClock, live *atomic.Int64) {
	for {
		n := live.Load()
		if n == 0 {
			return
		}
		if int64(c.Sleepers()) == n {
			if at, ok := c.NextWake(); ok {
				c.Advance(at.Sub(c.Now()))
				continue
			}
		}
		time.Sleep(20 * time.Microsecond) // let callers reach their sleep; not a timing assumption
	}
}

func TestSharedLimiterAcrossGoroutines(t *testing.T) {
	t.Parallel()
	c := NewFakeClock()
	reg := NewRegistry(nil)
	key := Key("openai", "https://api.openai.com/v1", "sk-test")
	cfg := Config{RPM: 600, Clock: c}
	if first, again := reg.Get(key, cfg), reg.Get(key, cfg); first != again {
		t.Fatal("the registry returned two limiters for one key")
	}
	if reg.Get(key, cfg) == reg.Get(Key("openai", "https://api.openai.com/v1", "sk-other"), cfg) {
		t.Fatal("the registry shared a limiter between two keys")
	}
	start := c.Now()
	const workers, each = 8, 25
	var mu sync.Mutex
	var times []time.Duration
	var wg sync.WaitGroup
	var live atomic.Int64
	live.Store(workers)
	for range workers {
		wg.Go(func() {
			defer live.Add(-1)
			l := reg.Get(key, cfg) // each job asks the registry
			for range each {
				r, err := l.Wait(context.Background(), 1)
				if err != nil {
					t.Error(err)
					return
				}
				r.Done(1)
				mu.Lock()
				times = append(times, r.Admitted.Sub(start))
				mu.Unlock()
			}
		})
	}
	drive(c, &live)
	wg.Wait()

	slices.Sort(times)
	if len(times) != workers*each {
		t.Fatalf("%d calls admitted, want %d", len(times), workers*each)
	}
	// 200 calls at 10 a second from an empty bucket: never two in one
	// 100 ms slot, and the last at 20 s.
	for i := 1; i < len(times); i++ {
		if times[i]-times[i-1] < 100*time.Millisecond {
			t.Fatalf("calls %d and %d admitted %v apart, want >= 100ms", i-1, i, times[i]-times[i-1])
		}
	}
	if last := times[len(times)-1]; last != 20*time.Second {
		t.Fatalf("last call admitted at %v, want 20s", last)
	}
	if s := reg.Get(key, cfg).Stats(); s.Requests != workers*each {
		t.Fatalf("stats count %d requests, want %d", s.Requests, workers*each)
	}
}

func TestRateLimitSeenByOneHoldsWaitingCallers(t *testing.T) {
	t.Parallel()
	c := NewFakeClock()
	l := New(Config{RPM: 600, Clock: c})
	start := c.Now()
	const n = 5
	var mu sync.Mutex
	var times []time.Duration
	var wg sync.WaitGroup
	var live atomic.Int64
	live.Store(n)
	for range n {
		wg.Go(func() {
			defer live.Add(-1)
			r, err := l.Wait(context.Background(), 1)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			times = append(times, r.Admitted.Sub(start))
			mu.Unlock()
		})
	}
	// All five are queued in their slots (100..500 ms) when another caller
	// reports a 429 asking for 3 s.
	if err := c.BlockUntilSleepers(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	l.RateLimited(3 * time.Second)
	drive(c, &live)
	wg.Wait()
	slices.Sort(times)
	// They resume after the hold at the cut rate (one per 200 ms), not
	// all at once when it ends.
	if want := ms(3200, 3400, 3600, 3800, 4000); !slices.Equal(times, want) {
		t.Fatalf("admitted at %v, want %v", times, want)
	}
}

func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	c := NewFakeClock()
	l := New(Config{RPM: 60, Clock: c})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Wait(ctx, 1)
		errc <- err
	}()
	if err := c.BlockUntilSleepers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait returned %v, want context.Canceled", err)
	}
	if err := c.BlockUntilSleepers(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	// The abandoned slot was given back: the next caller takes it (1 s
	// after the start) rather than queueing behind it (2 s).
	c.AutoAdvance = true
	start := c.Now()
	if _, err := l.Wait(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got != time.Second {
		t.Fatalf("next caller admitted after %v, want 1s", got)
	}

	// An already-cancelled context returns at once.
	if _, err := l.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled ctx returned %v", err)
	}
}

func TestKeyHidesTheAPIKey(t *testing.T) {
	t.Parallel()
	k := Key("openai", "https://api.openai.com/v1", "sk-secret-123")
	if strings.Contains(k, "sk-secret") || !strings.HasPrefix(k, "openai:") {
		t.Fatalf("Key = %q", k)
	}
	if k != Key("openai", "https://api.openai.com/v1", "sk-secret-123") {
		t.Fatal("Key is not stable")
	}
	for _, other := range []string{
		Key("anthropic", "https://api.openai.com/v1", "sk-secret-123"),
		Key("openai", "http://127.0.0.1:8080/v1", "sk-secret-123"),
		Key("openai", "https://api.openai.com/v1", "sk-secret-124"),
		Key("openai", "https://api.openai.com/v1sk-secret-123", ""),
	} {
		if other == k {
			t.Fatalf("two different keys hash alike: %q", k)
		}
	}
}

func TestRegistryTakesLatestLimits(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(nil)
	l := reg.Get("k", Config{RPM: 600})
	reg.Get("k", Config{RPM: 300, TPM: 1000})
	if s := l.Stats(); s.ConfiguredRPM != 300 || s.ConfiguredTPM != 1000 {
		t.Fatalf("stats %+v, want the latest limits", s)
	}
	reg.Get("k", Config{}) // a job without limits keeps the shared ones
	if s := l.Stats(); s.ConfiguredRPM != 300 {
		t.Fatalf("stats %+v", s)
	}
}

// BenchmarkRealTime drives a limiter at 3000 RPM (50 requests a second)
// with real time and reports the achieved rate as a fraction of that.
func BenchmarkRealTime(b *testing.B) {
	const rpm, workers, run = 3000, 16, 3 * time.Second
	for b.Loop() {
		l := New(Config{RPM: rpm})
		ctx, cancel := context.WithTimeout(context.Background(), run)
		var mu sync.Mutex
		var n int
		var first, last time.Time
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					if _, err := l.Wait(ctx, 100); err != nil {
						return
					}
					now := time.Now()
					mu.Lock()
					if n == 0 {
						first = now
					}
					n++
					last = latest(last, now)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		cancel()
		// n-1 intervals between the first and the last admission.
		achieved := float64(n-1) / last.Sub(first).Seconds()
		b.ReportMetric(achieved/(rpm/60.0), "ceiling_fraction")
		b.ReportMetric(achieved, "req/s")
	}
}
