package ratelimit

import (
	"math"
	"testing"
	"time"
)

func TestLimitersShareARateCutThroughPostgres(t *testing.T) {
	t.Parallel()
	key := uniqueKey(t)
	regA := NewRegistry(func(k string) Bucket { return NewPGBucket(openPG(t), k) })
	regB := NewRegistry(func(k string) Bucket { return NewPGBucket(openPG(t), k) })
	// A large burst so that no Wait below sleeps: only the factor matters.
	cfg := Config{RPM: 6000, Burst: time.Minute, IncreaseEvery: time.Hour}
	a, b := regA.Get(key, cfg), regB.Get(key, cfg)
	rb, err := b.Wait(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	rb.Done(0)
	ra, err := a.Wait(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Process A sees a 429 without retry-after: it halves its rate, and
	// so must process B, which saw nothing.
	ra.RateLimited(0)
	if got := a.Stats().EffectiveRPM; got != 3000 {
		t.Fatalf("A's effective RPM after its 429 is %v, want 3000", got)
	}
	// B reads the shared factor at most once a second; its first Wait
	// after that adopts the cut.
	b.mu.Lock()
	b.lastSync = time.Time{}
	b.mu.Unlock()
	if _, err := b.Wait(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if got := b.Stats().EffectiveRPM; math.Abs(got-3000) > 1e-6 {
		t.Fatalf("B's effective RPM after A's 429 is %v, want 3000", got)
	}
	if s := b.Stats(); s.Decreases != 0 || s.BucketErrors != 0 {
		t.Fatalf("B's stats %+v: adopting a cut is not a cut of its own", s)
	}
	// A 429 that B's call admitted before A's cut reports does not cut
	// again: one burst of 429s across processes cuts once.
	rb.RateLimited(0)
	if got := b.Stats().EffectiveRPM; math.Abs(got-3000) > 1e-6 {
		t.Fatalf("B cut again for a call admitted before the shared cut: %v RPM", got)
	}
	// A later 429 on B cuts from the shared rate, and A adopts that.
	rb2, err := b.Wait(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	rb2.RateLimited(0)
	a.mu.Lock()
	a.lastSync = time.Time{}
	a.mu.Unlock()
	if _, err := a.Wait(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if got := a.Stats().EffectiveRPM; math.Abs(got-1500) > 1e-6 {
		t.Fatalf("A's effective RPM after B's second cut is %v, want 1500", got)
	}
}
