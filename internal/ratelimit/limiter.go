// Package ratelimit keeps the calls made with one provider key under that
// key's requests-per-minute and tokens-per-minute limits. A Limiter paces
// calls with two token buckets (kept as GCRA schedules in a Bucket), corrects
// them from the provider's x-ratelimit-* facts, and adapts to 429s with
// AIMD: on a 429 it halves its effective rate and holds every caller until
// the provider's retry-after has passed, then it climbs back slowly. All
// jobs in a process that share a key share its Limiter through a Registry;
// processes share a limit through a database-backed Bucket (PGBucket).
package ratelimit

import (
	"cmp"
	"context"
	"math"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// Config sets a Limiter's ceilings and how it adapts.
type Config struct {
	// RPM and TPM are the provider's limits per minute; 0 means unlimited,
	// in which case a limit the provider reports in its headers is used.
	RPM, TPM int
	// Burst is each bucket's capacity as a span of its rate: at most this
	// much of the per-minute rate goes at once. Providers enforce their
	// per-minute limits over short windows, so a minute's burst is refused.
	// Defaults to 1s.
	Burst time.Duration
	// MinRateFraction is the floor of the effective rate after decreases,
	// as a fraction of the configured rate. Defaults to 0.1.
	MinRateFraction float64
	// DecreaseFactor multiplies the effective rate on a 429. Defaults to 0.5.
	DecreaseFactor float64
	// IncreaseEvery is how long the effective rate must go without a 429
	// before it climbs one step. Defaults to 5s.
	IncreaseEvery time.Duration
	// IncreaseStep is the fraction of the configured rate added per step.
	// Defaults to 0.1.
	IncreaseStep float64
	// Clock defaults to the system clock.
	Clock Clock
	// Bucket holds the schedules; nil means a MemoryBucket on Clock.
	Bucket Bucket
}

func (c Config) withDefaults() Config {
	c.Burst = cmp.Or(c.Burst, time.Second)
	c.MinRateFraction = cmp.Or(c.MinRateFraction, 0.1)
	c.DecreaseFactor = cmp.Or(c.DecreaseFactor, 0.5)
	c.IncreaseEvery = cmp.Or(c.IncreaseEvery, 5*time.Second)
	c.IncreaseStep = cmp.Or(c.IncreaseStep, 0.1)
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Bucket == nil {
		c.Bucket = NewMemoryBucket(c.Clock)
	}
	c.RPM, c.TPM = max(c.RPM, 0), max(c.TPM, 0)
	c.MinRateFraction = math.Min(math.Max(c.MinRateFraction, 0.001), 1)
	c.DecreaseFactor = math.Min(math.Max(c.DecreaseFactor, 0.01), 1)
	return c
}

// Limiter paces the calls made with one provider key. It is safe for
// concurrent use; every caller sharing a key must share one Limiter.
type Limiter struct {
	cfg    Config
	clock  Clock
	bucket Bucket

	mu           sync.Mutex
	rpm, tpm     float64 // the ceilings: configured, or learned from headers
	factor       float64 // effective rate = factor × ceiling
	lastStep     time.Time
	lastDecrease time.Time
	penalty      time.Time // this process's copy of the bucket's hold
	stats        Stats
	lastSync     time.Time // of the shared factor (FactorBucket)
	syncing      bool
}

// New returns a Limiter for cfg.
func New(cfg Config) *Limiter {
	cfg = cfg.withDefaults()
	return &Limiter{cfg: cfg, clock: cfg.Clock, bucket: cfg.Bucket,
		rpm: float64(cfg.RPM), tpm: float64(cfg.TPM), factor: 1}
}

// Stats describes a Limiter for progress reports and metrics.
type Stats struct {
	ConfiguredRPM, ConfiguredTPM int
	// EffectiveRPM and EffectiveTPM are the rates the limiter paces at now
	// (0 = unlimited); below the configured rates after 429s.
	EffectiveRPM, EffectiveTPM float64
	Requests                   int64         // reservations granted
	Waits                      int64         // reservations that had to wait
	Waited                     time.Duration // total time callers waited
	RateLimited                int64         // 429s reported
	Decreases                  int64         // times the rate was cut
	BucketErrors               int64         // corrections a shared bucket failed to apply
}

// Stats returns a snapshot.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recover(l.clock.Now())
	s := l.stats
	s.ConfiguredRPM, s.ConfiguredTPM = l.cfg.RPM, l.cfg.TPM
	s.EffectiveRPM, s.EffectiveTPM = l.rpm*l.factor, l.tpm*l.factor
	return s
}

// SetLimits changes the configured ceilings, for a job that names other
// limits than the one that created the shared limiter.
func (l *Limiter) SetLimits(rpm, tpm int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg.RPM, l.cfg.TPM = max(rpm, 0), max(tpm, 0)
	l.rpm, l.tpm = float64(l.cfg.RPM), float64(l.cfg.TPM)
}

// Reservation is one granted call. Exactly one of Done or RateLimited
// should be called when the call has ended.
type Reservation struct {
	l             *Limiter
	tokens        int
	tokenInterval time.Duration // cost of one token when reserved
	take          Take
	// Admitted is the time the call was scheduled to start.
	Admitted time.Time
	// Waited is how long Wait blocked.
	Waited time.Duration
}

// Wait blocks until both buckets allow one call of estimatedTokens, and no
// hold from a 429 is in force. It returns ctx's error as soon as ctx is
// done, giving the reservation back.
func (l *Limiter) Wait(ctx context.Context, estimatedTokens int) (Reservation, error) {
	estimatedTokens = max(estimatedTokens, 0)
	var waited time.Duration
	counted := false
	for {
		now := l.clock.Now()
		l.syncFactor(ctx, now)
		l.mu.Lock()
		take, tokInterval := l.take(now, estimatedTokens)
		l.mu.Unlock()
		wait, err := l.bucket.Take(ctx, take)
		if err != nil {
			return Reservation{}, err
		}
		admitted := now.Add(max(wait, 0))
		if wait > 0 {
			if !counted {
				counted = true
				l.count(func(s *Stats) { s.Waits++ })
			}
			if err := l.clock.Sleep(ctx, wait); err != nil {
				l.refund(ctx, take)
				return Reservation{}, err
			}
			waited += wait
		}
		// A 429 seen by another caller while we slept holds us too. Our
		// slot was computed before that hold, so we queue again after it:
		// otherwise every held caller would fire the moment it ends. The
		// slot is not given back: the hold drained the buckets past it.
		now = latest(l.clock.Now(), admitted)
		l.mu.Lock()
		hold := l.penalty.Sub(now)
		l.mu.Unlock()
		if hold <= 0 {
			l.count(func(s *Stats) { s.Requests++; s.Waited += waited })
			return Reservation{l: l, tokens: estimatedTokens, tokenInterval: tokInterval, take: take, Admitted: admitted, Waited: waited}, nil
		}
		if !counted {
			counted = true
			l.count(func(s *Stats) { s.Waits++ })
		}
		if err := l.clock.Sleep(ctx, hold); err != nil {
			return Reservation{}, err
		}
		waited += hold
	}
}

// Done ends the call with the tokens the provider counted, correcting the
// token bucket for the difference from the estimate.
func (r Reservation) Done(actualTokens int) {
	if r.l == nil || r.tokenInterval == 0 || actualTokens == r.tokens {
		return
	}
	d := time.Duration(actualTokens-r.tokens) * r.tokenInterval
	if err := r.l.bucket.Adjust(context.Background(), 0, d); err != nil {
		r.l.count(func(s *Stats) { s.BucketErrors++ })
	}
}

// Cancel gives back a reservation whose call was never made.
func (r Reservation) Cancel() {
	if r.l == nil {
		return
	}
	r.l.refund(context.Background(), r.take)
}

// RateLimited ends the call with a 429: see Limiter.RateLimited. The rate
// is cut only if this call was admitted after the last cut, so that the
// many calls of one burst that fail together cut it once.
func (r Reservation) RateLimited(retryAfter time.Duration) {
	if r.l == nil {
		return
	}
	r.l.rateLimited(r.Admitted, retryAfter)
}

// RateLimited reports a 429 that retryAfter says to wait out (the caller's
// own backoff when the provider named none): every caller is held until
// then, and the effective rate is cut by DecreaseFactor unless it was cut
// within the last Burst.
func (l *Limiter) RateLimited(retryAfter time.Duration) {
	l.rateLimited(l.clock.Now().Add(-l.cfg.Burst), retryAfter)
}

func (l *Limiter) rateLimited(admitted time.Time, retryAfter time.Duration) {
	now := l.clock.Now()
	l.mu.Lock()
	l.recover(now)
	l.stats.RateLimited++
	cut := -1.0
	if !admitted.Before(l.lastDecrease) {
		l.factor = math.Max(l.factor*l.cfg.DecreaseFactor, l.cfg.MinRateFraction)
		l.lastDecrease, l.lastStep = now, now
		l.stats.Decreases++
		cut = l.factor
	}
	var reqTol, tokTol time.Duration
	if retryAfter > 0 {
		l.penalty = latest(l.penalty, now.Add(retryAfter))
		// Empty the buckets at the end of the hold, so that the callers
		// queued behind it resume at the (cut) rate instead of in a burst.
		if l.rpm > 0 {
			reqTol = retryAfter + l.cfg.Burst
		}
		if l.tpm > 0 {
			tokTol = retryAfter + l.cfg.Burst
		}
	}
	l.mu.Unlock()
	if cut >= 0 {
		l.shareCut(cut)
	}
	if retryAfter > 0 {
		ctx := context.Background()
		err := l.bucket.Hold(ctx, retryAfter)
		if err == nil {
			err = l.bucket.Drain(ctx, reqTol, tokTol)
		}
		if err != nil {
			l.count(func(s *Stats) { s.BucketErrors++ })
		}
	}
}

// Observe corrects the buckets from what the provider said about its
// limits: when it says fewer requests or tokens remain than the buckets
// hold, they are drained to that. Reset times are not used: they are the
// time until the provider's bucket is full again, and its capacity (often
// a minute) differs from ours. When a ceiling is not configured, the
// provider's reported limit becomes the ceiling.
func (l *Limiter) Observe(rl writer.RateLimit) {
	if !rl.Known {
		return
	}
	l.mu.Lock()
	if l.cfg.RPM == 0 && rl.LimitRequests > 0 {
		l.rpm = float64(rl.LimitRequests)
	}
	if l.cfg.TPM == 0 && rl.LimitTokens > 0 {
		l.tpm = float64(rl.LimitTokens)
	}
	var reqDrain, tokDrain time.Duration
	// Remaining 0 is meaningful only when the provider named the limit too.
	if i := interval(l.rpm, l.factor); i > 0 && rl.LimitRequests > 0 {
		reqDrain = l.cfg.Burst - time.Duration(rl.RemainingRequests)*i
	}
	if i := interval(l.tpm, l.factor); i > 0 && rl.LimitTokens > 0 {
		tokDrain = l.cfg.Burst - time.Duration(rl.RemainingTokens)*i
	}
	l.mu.Unlock()
	if reqDrain > 0 || tokDrain > 0 {
		if err := l.bucket.Drain(context.Background(), reqDrain, tokDrain); err != nil {
			l.count(func(s *Stats) { s.BucketErrors++ })
		}
	}
}

// take converts one call into bucket time at the current effective rate.
// Called with l.mu held.
func (l *Limiter) take(now time.Time, tokens int) (Take, time.Duration) {
	l.recover(now)
	var t Take
	if i := interval(l.rpm, l.factor); i > 0 {
		t.RequestCost, t.RequestTolerance = i, l.cfg.Burst
	}
	ti := interval(l.tpm, l.factor)
	if ti > 0 {
		t.TokenCost, t.TokenTolerance = time.Duration(tokens)*ti, l.cfg.Burst
	}
	return t, ti
}

// recover climbs the effective rate back one IncreaseStep for every
// IncreaseEvery without a 429. Called with l.mu held.
func (l *Limiter) recover(now time.Time) {
	if l.factor >= 1 {
		return
	}
	steps := int(now.Sub(l.lastStep) / l.cfg.IncreaseEvery)
	if steps <= 0 {
		return
	}
	l.factor = math.Min(1, l.factor+float64(steps)*l.cfg.IncreaseStep)
	l.lastStep = l.lastStep.Add(time.Duration(steps) * l.cfg.IncreaseEvery)
}

func (l *Limiter) refund(ctx context.Context, t Take) {
	if err := l.bucket.Adjust(context.WithoutCancel(ctx), -t.RequestCost, -t.TokenCost); err != nil {
		l.count(func(s *Stats) { s.BucketErrors++ })
	}
}

func (l *Limiter) count(f func(*Stats)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}

// interval is the time one unit costs at perMinute × factor, or 0 when
// unlimited. Fractions of a nanosecond matter at high TPM, so it is
// rounded up: pacing slightly under the ceiling is safe, over it is not.
func interval(perMinute, factor float64) time.Duration {
	if perMinute <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(time.Minute) / (perMinute * factor)))
}
