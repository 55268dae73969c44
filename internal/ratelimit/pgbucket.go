package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// RateStore keeps buckets in shared rows, one per key: the statements of
// a PGBucket, which the job store (internal/jobstore) runs on PostgreSQL's
// rate_limits table (migration 0011). It is an interface so that this
// package does not depend on the store layer.
type RateStore interface {
	TakeRate(ctx context.Context, key string, requestCost, requestTolerance, tokenCost, tokenTolerance time.Duration) (start time.Time, wait time.Duration, err error)
	AdjustRate(ctx context.Context, key string, requests, tokens time.Duration) error
	DrainRate(ctx context.Context, key string, requests, tokens time.Duration) error
	HoldRate(ctx context.Context, key string, d time.Duration) error
	CutRateFactor(ctx context.Context, key string, f float64) error
	RateFactor(ctx context.Context, key string) (f float64, since time.Duration, err error)
}

// PGBucket is a Bucket in a PostgreSQL row, so that every process using a
// provider key shares one limit and one 429 hold (issue 7). Each method is
// one statement, atomic under the row lock, and uses the database's clock,
// so workers on machines with skewed clocks agree; waits come back as
// durations, never as timestamps.
//
// The AIMD rate factor is shared too (see FactorBucket): a 429 cuts the
// rate of every process, and its hold stops everyone.
type PGBucket struct {
	rs  RateStore
	key string
}

var _ Bucket = (*PGBucket)(nil)

// NewPGBucket returns the bucket for key in rs.
func NewPGBucket(rs RateStore, key string) *PGBucket { return &PGBucket{rs: rs, key: key} }

func (b *PGBucket) Take(ctx context.Context, t Take) (time.Duration, error) {
	_, wait, err := b.take(ctx, t)
	return wait, err
}

// take also returns the start time on the database's clock, for tests.
func (b *PGBucket) take(ctx context.Context, t Take) (time.Time, time.Duration, error) {
	start, wait, err := b.rs.TakeRate(ctx, b.key, t.RequestCost, t.RequestTolerance, t.TokenCost, t.TokenTolerance)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("rate limit %s: %w", b.key, err)
	}
	return start, wait, nil
}

func (b *PGBucket) Adjust(ctx context.Context, requests, tokens time.Duration) error {
	if requests == 0 && tokens == 0 {
		return nil
	}
	return b.wrap("adjust", b.rs.AdjustRate(ctx, b.key, requests, tokens))
}

func (b *PGBucket) Drain(ctx context.Context, requests, tokens time.Duration) error {
	if requests <= 0 && tokens <= 0 {
		return nil
	}
	return b.wrap("drain", b.rs.DrainRate(ctx, b.key, requests, tokens))
}

func (b *PGBucket) Hold(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	return b.wrap("hold", b.rs.HoldRate(ctx, b.key, d))
}

func (b *PGBucket) wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("rate limit %s: %s: %w", b.key, what, err)
	}
	return nil
}
