package retry

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/ratelimit"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// step is one scripted answer of the fake writer.
type step struct {
	res writer.Result
	err error
}

// script is a writer that answers from a list, one step per call.
type script struct {
	mu    sync.Mutex
	steps []step
	calls int
}

func (s *script) Provider() string { return "scripted" }

func (s *script) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls >= len(s.steps) {
		return writer.Result{}, errors.New("script exhausted: too many calls")
	}
	st := s.steps[s.calls]
	s.calls++
	return st.res, st.err
}

func ok() step {
	return step{res: writer.Result{Content: `{"ok":true}`, FinishReason: "stop",
		Usage: writer.Usage{PromptTokens: 100, CompletionTokens: 20}}}
}

func fail(kind writer.Kind, retryAfter time.Duration) step {
	return step{err: &writer.Error{Kind: kind, Provider: "scripted", Message: string(kind), RetryAfter: retryAfter}}
}

// harness records sleeps and attempts; its sleeps return at once.
type harness struct {
	mu       sync.Mutex
	sleeps   []time.Duration
	attempts []Attempt
}

// sleepFunc is a ratelimit.Clock on wall time whose Sleep is the func.
type sleepFunc func(ctx context.Context, d time.Duration) error

func (sleepFunc) Now() time.Time                                     { return time.Now() }
func (f sleepFunc) Sleep(ctx context.Context, d time.Duration) error { return f(ctx, d) }

func (h *harness) config(cfg Config) Config {
	cfg.Clock = sleepFunc(func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.sleeps = append(h.sleeps, d)
		h.mu.Unlock()
		return ctx.Err()
	})
	cfg.OnAttempt = func(a Attempt) {
		h.mu.Lock()
		h.attempts = append(h.attempts, a)
		h.mu.Unlock()
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0.5 }
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff, cfg.MaxBackoff = 10*time.Millisecond, 80*time.Millisecond
	}
	return cfg
}

func (h *harness) kinds() []writer.Kind {
	var out []writer.Kind
	for _, a := range h.attempts {
		out = append(out, a.Kind)
	}
	return out
}

var req = writer.Request{Layer: modeldoc.Layer("summary"), System: "system", User: "user", MaxTokens: 100}

func TestSuccessFirstTime(t *testing.T) {
	t.Parallel()
	var h harness
	s := &script{steps: []step{ok()}}
	res, err := New(s, h.config(Config{})).Write(context.Background(), req)
	if err != nil || res.Content != `{"ok":true}` {
		t.Fatalf("Write = %+v, %v", res, err)
	}
	if len(h.attempts) != 1 || len(h.sleeps) != 0 {
		t.Fatalf("attempts %+v sleeps %v", h.attempts, h.sleeps)
	}
	a := h.attempts[0]
	if a.Number != 1 || a.Kind != "" || a.Err != nil || a.RateLimited || a.Layer != "summary" ||
		a.Usage.PromptTokens != 100 || a.FinishReason != "stop" {
		t.Fatalf("attempt %+v", a)
	}
}

func TestRateLimitedRetriesSameCallWithoutCountingIt(t *testing.T) {
	t.Parallel()
	var h harness
	// MaxRetries < 0 means no retry for failures; 429s are not failures.
	s := &script{steps: []step{
		fail(writer.RateLimited, 2*time.Second),
		fail(writer.RateLimited, 3*time.Second),
		fail(writer.RateLimited, 0), // no retry-after: backoff
		ok(),
	}}
	_, err := New(s, h.config(Config{MaxRetries: -1})).Write(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Provider waits as given plus up to 10% jitter (0.5 × 10% here, as
	// there is no shared limiter to spread callers); the third is the 3rd
	// backoff: 0.5 × 10ms × 2².
	if want := []time.Duration{2100 * time.Millisecond, 3150 * time.Millisecond, 20 * time.Millisecond}; !slices.Equal(h.sleeps, want) {
		t.Fatalf("slept %v, want %v", h.sleeps, want)
	}
	if want := []writer.Kind{writer.RateLimited, writer.RateLimited, writer.RateLimited, ""}; !slices.Equal(h.kinds(), want) {
		t.Fatalf("attempt kinds %v, want %v", h.kinds(), want)
	}
	for i, a := range h.attempts {
		if a.Number != i+1 || a.RateLimited != (i < 3) {
			t.Fatalf("attempt %d: %+v", i, a)
		}
	}
	if h.attempts[1].Waited != 2100*time.Millisecond || h.attempts[3].Waited != 20*time.Millisecond {
		t.Fatalf("attempts did not record their waits: %+v", h.attempts)
	}
}

func TestRateLimitWaitIsCapped(t *testing.T) {
	t.Parallel()
	var h harness
	s := &script{steps: []step{
		fail(writer.RateLimited, 2*time.Second),
		fail(writer.RateLimited, 2*time.Second),
		fail(writer.RateLimited, 2*time.Second), // 6.3 s would pass the 5 s cap
		ok(),
	}}
	_, err := New(s, h.config(Config{MaxRateLimitWait: 5 * time.Second})).Write(context.Background(), req)
	if writer.KindOf(err) != writer.RateLimited {
		t.Fatalf("Write error %v, want the last 429", err)
	}
	if s.calls != 3 || !slices.Equal(h.sleeps, []time.Duration{2100 * time.Millisecond, 2100 * time.Millisecond}) {
		t.Fatalf("%d calls, slept %v", s.calls, h.sleeps)
	}
}

func TestTransientRetriesUpToMaxRetries(t *testing.T) {
	t.Parallel()
	var h harness
	s := &script{steps: []step{fail(writer.Transient, 0), fail(writer.Transient, 0), ok()}}
	if _, err := New(s, h.config(Config{})).Write(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if s.calls != 3 {
		t.Fatalf("%d calls, want 3", s.calls)
	}

	// Defaults to 3 retries: 4 calls, then the error.
	h = harness{}
	s = &script{steps: slices.Repeat([]step{fail(writer.Transient, 0)}, 10)}
	_, err := New(s, h.config(Config{})).Write(context.Background(), req)
	if writer.KindOf(err) != writer.Transient || s.calls != 4 || len(h.attempts) != 4 {
		t.Fatalf("err %v after %d calls, %d attempts; want transient after 4", err, s.calls, len(h.attempts))
	}

	// An unclassified error is treated as transient.
	h = harness{}
	s = &script{steps: []step{{err: errors.New("boom")}, ok()}}
	if _, err := New(s, h.config(Config{})).Write(context.Background(), req); err != nil || s.calls != 2 {
		t.Fatalf("err %v after %d calls", err, s.calls)
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	t.Parallel()
	var h harness
	s := &script{steps: slices.Repeat([]step{fail(writer.Transient, 0)}, 10)}
	cfg := h.config(Config{MaxRetries: 7, Jitter: func() float64 { return 0.999 }})
	New(s, cfg).Write(context.Background(), req)
	// 10, 20, 40, 80 ms, then capped at 80 ms; times the jitter.
	var want []time.Duration
	for _, d := range []int{10, 20, 40, 80, 80, 80, 80} {
		want = append(want, time.Duration(0.999*float64(time.Duration(d)*time.Millisecond)))
	}
	if !slices.Equal(h.sleeps, want) {
		t.Fatalf("slept %v, want %v", h.sleeps, want)
	}
	// Full jitter: a draw of 0 retries at once.
	h = harness{}
	s = &script{steps: []step{fail(writer.Transient, 0), ok()}}
	New(s, h.config(Config{Jitter: func() float64 { return 0 }})).Write(context.Background(), req)
	if !slices.Equal(h.sleeps, []time.Duration{0}) {
		t.Fatalf("slept %v", h.sleeps)
	}
	// The default bounds are 1 s and 60 s.
	w := New(&script{}, Config{Jitter: func() float64 { return 1 }})
	if got := w.backoff(1); got != time.Second {
		t.Fatalf("first default backoff %v", got)
	}
	if got := w.backoff(100); got != time.Minute {
		t.Fatalf("100th default backoff %v", got)
	}
}

func TestFatalAndFinalKindsReturnAtOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range []writer.Kind{writer.AuthFailed, writer.QuotaExhausted, writer.InvalidRequest, writer.Malformed} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			var h harness
			s := &script{steps: []step{fail(kind, time.Second), ok()}}
			_, err := New(s, h.config(Config{})).Write(context.Background(), req)
			var werr *writer.Error
			if !errors.As(err, &werr) || werr.Kind != kind {
				t.Fatalf("err %v, want the %s error as is", err, kind)
			}
			if s.calls != 1 || len(h.sleeps) != 0 || len(h.attempts) != 1 || h.attempts[0].Kind != kind {
				t.Fatalf("%d calls, sleeps %v, attempts %+v", s.calls, h.sleeps, h.attempts)
			}
		})
	}
}

func TestMalformedKeepsUsage(t *testing.T) {
	t.Parallel()
	var h harness
	st := ok()
	st.res.FinishReason = "length"
	st.err = &writer.Error{Kind: writer.Malformed, Provider: "scripted", Message: "cut short"}
	res, err := New(&script{steps: []step{st}}, h.config(Config{})).Write(context.Background(), req)
	if writer.KindOf(err) != writer.Malformed || res.Usage.CompletionTokens != 20 {
		t.Fatalf("res %+v err %v: the spent usage must reach the caller", res, err)
	}
	if a := h.attempts[0]; a.Usage.CompletionTokens != 20 || a.FinishReason != "length" {
		t.Fatalf("attempt %+v", a)
	}
}

func TestContextCancelledMidWait(t *testing.T) {
	t.Parallel()
	s := &script{steps: []step{fail(writer.RateLimited, time.Minute), ok()}}
	sleeping := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Clock: sleepFunc(func(ctx context.Context, d time.Duration) error {
		close(sleeping)
		<-ctx.Done()
		return ctx.Err()
	})}
	errc := make(chan error, 1)
	go func() {
		_, err := New(s, cfg).Write(ctx, req)
		errc <- err
	}()
	<-sleeping
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Write returned %v, want context.Canceled", err)
	}
	if s.calls != 1 {
		t.Fatalf("%d calls after cancel, want 1", s.calls)
	}

	// An error while ctx is done is reported as ctx's error.
	s = &script{steps: []step{fail(writer.Transient, 0), ok()}}
	ctx, cancel = context.WithCancel(context.Background())
	var h harness
	cfg = h.config(Config{BeforeCall: func(context.Context, writer.Request) error { cancel(); return nil }})
	if _, err := New(s, cfg).Write(ctx, req); !errors.Is(err, context.Canceled) || s.calls != 1 {
		t.Fatalf("Write returned %v after %d calls", err, s.calls)
	}
}

func TestBeforeCall(t *testing.T) {
	t.Parallel()
	refused := errors.New("budget would be crossed")
	var h harness
	var seen int
	s := &script{steps: []step{fail(writer.Transient, 0), fail(writer.RateLimited, time.Second), ok()}}
	cfg := h.config(Config{BeforeCall: func(_ context.Context, r writer.Request) error {
		seen++
		if r.Layer != req.Layer {
			t.Errorf("BeforeCall got request %+v", r)
		}
		return nil
	}})
	if _, err := New(s, cfg).Write(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if seen != 3 {
		t.Fatalf("BeforeCall called %d times, want once per call (3)", seen)
	}

	// Refusing before the second call returns the refusal as is.
	h = harness{}
	s = &script{steps: []step{fail(writer.Transient, 0), ok()}}
	calls := 0
	cfg = h.config(Config{BeforeCall: func(context.Context, writer.Request) error {
		calls++
		if calls == 2 {
			return refused
		}
		return nil
	}})
	if _, err := New(s, cfg).Write(context.Background(), req); err != refused {
		t.Fatalf("Write returned %v, want the refusal as is", err)
	}
	if s.calls != 1 || len(h.attempts) != 1 {
		t.Fatalf("%d calls, %d attempts; a refused call must not be made", s.calls, len(h.attempts))
	}
}

func TestTellsTheLimiter(t *testing.T) {
	t.Parallel()
	clock := ratelimit.NewFakeClock()
	clock.AutoAdvance = true
	lim := ratelimit.New(ratelimit.Config{RPM: 600, TPM: 600_000, Clock: clock})
	rl := writer.RateLimit{Known: true, LimitRequests: 600, RemainingRequests: 0, LimitTokens: 600_000, RemainingTokens: 500_000}
	limited := fail(writer.RateLimited, 2*time.Second)
	limited.err.(*writer.Error).RateLimit = rl
	done := ok()
	done.res.RateLimit = rl
	var h harness
	cfg := h.config(Config{Limiter: lim})
	cfg.Clock = clock
	start := clock.Now()
	if _, err := New(&script{steps: []step{limited, done}}, cfg).Write(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	s := lim.Stats()
	if s.RateLimited != 1 || s.Decreases != 1 || s.EffectiveRPM != 300 || s.Requests != 2 {
		t.Fatalf("limiter stats %+v, want one 429 and a cut to 300 RPM", s)
	}
	// First call paced at 100 ms, 2 s retry-after, then the cut rate from
	// an empty bucket (200 ms).
	if got := clock.Now().Sub(start); got != 2300*time.Millisecond {
		t.Fatalf("took %v of virtual time, want 2.3s", got)
	}
	if h.attempts[0].Waited != 100*time.Millisecond || h.attempts[1].Waited != 2200*time.Millisecond {
		t.Fatalf("attempts %+v", h.attempts)
	}
}
