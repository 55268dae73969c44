package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// FactorBucket is a Bucket that also shares the AIMD rate factor, so that
// a 429 seen by one process cuts the rate of every process using the key,
// not only its own (its hold stops everyone already; without the shared
// factor the others would resume at full rate and meet the next 429).
type FactorBucket interface {
	Bucket
	// CutFactor records that the rate factor was cut to f now.
	CutFactor(ctx context.Context, f float64) error
	// Factor returns the factor of the last cut and how long ago, on the
	// bucket's clock, it was made; since < 0 means there was never one.
	Factor(ctx context.Context) (f float64, since time.Duration, err error)
}

// factorSyncEvery is how often a Limiter on a FactorBucket reads the
// shared factor: one small query a second per key and process.
const factorSyncEvery = time.Second

var _ FactorBucket = (*PGBucket)(nil)

func (b *PGBucket) CutFactor(ctx context.Context, f float64) error {
	return b.wrap("cut rate", b.rs.CutRateFactor(ctx, b.key, f))
}

func (b *PGBucket) Factor(ctx context.Context) (float64, time.Duration, error) {
	f, since, err := b.rs.RateFactor(ctx, b.key)
	if err != nil {
		return 1, -1, fmt.Errorf("rate limit %s: read rate: %w", b.key, err)
	}
	return f, since, nil
}

// syncFactor adopts the shared factor when it is lower than ours once
// recovered to now, as if this process had made that cut itself: it climbs
// back on the same steps, and calls admitted before the cut do not cut
// again. At most one caller syncs at a time, at most once a factorSyncEvery.
func (l *Limiter) syncFactor(ctx context.Context, now time.Time) {
	fb, ok := l.bucket.(FactorBucket)
	if !ok {
		return
	}
	l.mu.Lock()
	if l.syncing || now.Sub(l.lastSync) < factorSyncEvery {
		l.mu.Unlock()
		return
	}
	l.syncing, l.lastSync = true, now
	l.mu.Unlock()
	f, since, err := fb.Factor(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.syncing = false
	if err != nil {
		l.stats.BucketErrors++
		return
	}
	if since < 0 {
		return
	}
	cut := now.Add(-since)
	steps := int(since / l.cfg.IncreaseEvery)
	shared := min(1, f+float64(steps)*l.cfg.IncreaseStep)
	l.recover(now)
	if shared >= l.factor-1e-9 {
		return
	}
	l.factor = shared
	l.lastStep = cut.Add(time.Duration(steps) * l.cfg.IncreaseEvery)
	if cut.After(l.lastDecrease) {
		l.lastDecrease = cut
	}
}

// shareCut records this process's cut in a FactorBucket.
func (l *Limiter) shareCut(f float64) {
	fb, ok := l.bucket.(FactorBucket)
	if !ok {
		return
	}
	if err := fb.CutFactor(context.Background(), f); err != nil {
		l.count(func(s *Stats) { s.BucketErrors++ })
	}
}
