package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// openPG opens a new pool (a process of its own) on the test's migrated
// database, or skips when MODELDOC_TEST_POSTGRES is not set. The pools of
// one test share the database, and with it the rate_limits rows.
func openPG(t *testing.T) RateStore {
	t.Helper()
	pgMu.Lock()
	dsn, ok := pgDSN[t]
	if !ok {
		dsn = modeldoctest.PostgresDSN(t)
		pgDSN[t] = dsn
		t.Cleanup(func() {
			pgMu.Lock()
			delete(pgDSN, t)
			pgMu.Unlock()
		})
	}
	pgMu.Unlock()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the database's cleanup, so it runs first.
	t.Cleanup(func() { st.Close() })
	return st.JobStore()
}

var (
	pgMu  sync.Mutex
	pgDSN = map[*testing.T]string{}
)

func uniqueKey(t *testing.T) string {
	return fmt.Sprintf("test:%s:%d", t.Name(), time.Now().UnixNano())
}

func TestPGBucketSharedBetweenProcesses(t *testing.T) {
	t.Parallel()
	// Two pools stand for two worker processes using one key.
	key := uniqueKey(t)
	buckets := []*PGBucket{NewPGBucket(openPG(t), key), NewPGBucket(openPG(t), key)}
	const n = 20
	take := Take{RequestCost: time.Second} // no tolerance: one call a second, no burst
	var mu sync.Mutex
	var starts []time.Time
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start, _, err := buckets[i%2].take(t.Context(), take)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			starts = append(starts, start)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(starts) != n {
		t.Fatalf("%d takes succeeded, want %d", len(starts), n)
	}
	slices.SortFunc(starts, time.Time.Compare)
	// Every caller after the first queued behind the one before: the
	// starts are exactly one cost apart, whichever process took them.
	for i := 1; i < n; i++ {
		if d := starts[i].Sub(starts[i-1]); d != time.Second {
			t.Fatalf("starts %d and %d are %v apart, want 1s: %v", i-1, i, d, starts)
		}
	}
}

func TestPGBucketCorrections(t *testing.T) {
	t.Parallel()
	db := openPG(t)
	ctx := t.Context()
	hour := time.Hour
	take := Take{RequestCost: time.Second, RequestTolerance: 10 * time.Second, TokenCost: time.Second, TokenTolerance: 10 * time.Second}

	// A new bucket starts empty: the first call waits about one cost
	// (less the time the statement took).
	b := NewPGBucket(db, uniqueKey(t))
	if _, w, err := b.take(ctx, take); err != nil || w <= 0 || w > time.Second {
		t.Fatalf("first take waits %v, %v; want (0, 1s]", w, err)
	}
	// Giving it back makes the next call wait no longer than the first.
	if err := b.Adjust(ctx, -time.Second, -time.Second); err != nil {
		t.Fatal(err)
	}
	if _, w, err := b.take(ctx, take); err != nil || w > time.Second {
		t.Fatalf("after a refund the next take waits %v, %v; want <= 1s", w, err)
	}
	// A charge of an hour of tokens pushes the next call an hour out.
	if err := b.Adjust(ctx, 0, hour); err != nil {
		t.Fatal(err)
	}
	if _, w, err := b.take(ctx, take); err != nil || w < 50*time.Minute {
		t.Fatalf("after an hour's charge the next take waits %v, %v", w, err)
	}

	// Drain: the provider says nothing remains for an hour.
	b = NewPGBucket(db, uniqueKey(t))
	b.take(ctx, take)
	if err := b.Drain(ctx, hour, 0); err != nil {
		t.Fatal(err)
	}
	if _, w, err := b.take(ctx, take); err != nil || w < 50*time.Minute {
		t.Fatalf("after a drain the next take waits %v, %v", w, err)
	}

	// Hold: a 429 stops everyone, whatever the buckets hold.
	b = NewPGBucket(db, uniqueKey(t))
	b.take(ctx, take)
	if err := b.Hold(ctx, hour); err != nil {
		t.Fatal(err)
	}
	if _, w, err := b.take(ctx, Take{}); err != nil || w < 50*time.Minute {
		t.Fatalf("after a hold the next take waits %v, %v", w, err)
	}
	// A shorter hold does not shorten a longer one.
	b.Hold(ctx, time.Second)
	if _, w, _ := b.take(ctx, Take{}); w < 50*time.Minute {
		t.Fatalf("a shorter hold cut the longer one: wait %v", w)
	}
}

func TestLimitersShareAHoldThroughPostgres(t *testing.T) {
	t.Parallel()
	key := uniqueKey(t)
	regA := NewRegistry(func(k string) Bucket { return NewPGBucket(openPG(t), k) })
	regB := NewRegistry(func(k string) Bucket { return NewPGBucket(openPG(t), k) })
	a, b := regA.Get(key, Config{RPM: 6000}), regB.Get(key, Config{RPM: 6000})
	r, err := a.Wait(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Process A sees a 429 asking for an hour: process B is held too.
	r.RateLimited(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := b.Wait(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("process B's Wait returned %v during A's hold, want it to block until its deadline", err)
	}
	if s := b.Stats(); s.BucketErrors != 0 || s.Waits != 1 {
		t.Fatalf("B's stats %+v", s)
	}
}
