// Package retry wraps a writer.Writer with the orchestrator's one retry
// loop: it paces every call through the provider key's rate limiter, waits
// out 429s without counting them as failures, backs off on transient
// errors, and gives up at once on errors that no retry can fix. Writers
// themselves never retry (see writer.Writer).
package retry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/modeldoc/modeldoc/internal/ratelimit"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Config says how a Writer retries.
type Config struct {
	// Limiter paces calls for the provider key; nil means no pacing.
	Limiter *ratelimit.Limiter
	// Estimate is the tokens a request will count against the TPM limit,
	// reserved before the call. Defaults to (len(System)+len(User))/4 +
	// MaxTokens, OpenAI's own admission estimate.
	Estimate func(writer.Request) int
	// Actual is the tokens a finished call counted against the TPM limit.
	// Defaults to prompt tokens + max(completion tokens, MaxTokens): OpenAI
	// reserves max_tokens at admission and counts that reservation, so
	// counting less lets the next calls through too early. Anthropic's
	// OTPM ignores max_tokens; pass prompt + completion for it.
	Actual func(writer.Request, writer.Usage) int
	// MaxRetries is how many times a call that failed with a transient
	// error is tried again. Defaults to 3; a negative value means never.
	MaxRetries int
	// MaxRateLimitWait caps the total time one Write spends waiting out
	// 429s; the 429 that would cross it is returned. Defaults to 10 min.
	MaxRateLimitWait time.Duration
	// BaseBackoff and MaxBackoff bound the exponential backoff with full
	// jitter used for transient errors and for 429s without a retry-after.
	// Default to 1 s and 60 s.
	BaseBackoff, MaxBackoff time.Duration
	// OnAttempt is called after every call of the wrapped writer, so the
	// caller can log one row per layer per attempt.
	OnAttempt func(Attempt)
	// BeforeCall is called before every call, after the limiter's wait, so
	// the caller can refuse it (pause requested, budget would be crossed).
	// Its error is returned as is and the call is not made.
	BeforeCall func(context.Context, writer.Request) error
	// Clock times each call (Now) and waits out backoffs and retry-afters
	// (Sleep, which returns early when ctx is done). Defaults to
	// ratelimit.SystemClock; tests pass a ratelimit.FakeClock.
	Clock ratelimit.Clock
	// Jitter returns a number in [0, 1). Defaults to math/rand/v2.
	Jitter func() float64
}

// Attempt describes one call of the wrapped writer.
type Attempt struct {
	Layer        string
	Number       int         // 1 for the first call of a Write, then 2, 3, ...
	Kind         writer.Kind // "" on success
	Err          error
	Usage        writer.Usage
	Duration     time.Duration // of the call itself
	FinishReason string
	RateLimited  bool
	// Waited is the time spent before this call since the previous one
	// (or the start): limiter pacing plus backoff.
	Waited time.Duration
}

// Writer is a writer.Writer that retries. It is safe for concurrent use
// when the wrapped writer is.
type Writer struct {
	inner writer.Writer
	cfg   Config
}

var _ writer.Writer = (*Writer)(nil)

// New wraps inner.
func New(inner writer.Writer, cfg Config) *Writer {
	if cfg.Estimate == nil {
		cfg.Estimate = func(r writer.Request) int { return (len(r.System)+len(r.User))/4 + r.MaxTokens }
	}
	if cfg.Actual == nil {
		cfg.Actual = func(r writer.Request, u writer.Usage) int {
			return int(u.PromptTokens + max(u.CompletionTokens, int64(r.MaxTokens)))
		}
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = 3
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	cfg.MaxRateLimitWait = cmp.Or(cfg.MaxRateLimitWait, 10*time.Minute)
	cfg.BaseBackoff = cmp.Or(cfg.BaseBackoff, time.Second)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, 60*time.Second)
	if cfg.Clock == nil {
		cfg.Clock = ratelimit.SystemClock{}
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	return &Writer{inner: inner, cfg: cfg}
}

// Provider is the wrapped writer's provider.
func (w *Writer) Provider() string { return w.inner.Provider() }

// Write calls the wrapped writer until it succeeds or fails for good:
//   - RateLimited: the limiter is told (which slows every caller of the
//     key), the provider's retry-after (else a backoff) is waited out and
//     the same call is made again; this is not a failed attempt. Once the
//     total of those waits would pass MaxRateLimitWait, the 429 is returned.
//   - Transient: backoff, then again, up to MaxRetries times.
//   - ReasoningExhausted: asked once more with the cap doubled (at most
//     writer.MaxOutputTokens), whatever MaxRetries says, since it is a
//     different request rather than the same one again; if that runs out
//     too, the error is returned saying both caps.
//   - AuthFailed, QuotaExhausted, InvalidRequest, Malformed: returned at once.
//
// When ctx is done, waits stop at once and ctx's error is returned.
func (w *Writer) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	var (
		number, failures, limited int
		rateLimitWaited, waited   time.Duration
		firstCap                  int // the cap before a ReasoningExhausted raised it
	)
	estimate := w.cfg.Estimate(req)
	for {
		var res ratelimit.Reservation
		if w.cfg.Limiter != nil {
			var err error
			res, err = w.cfg.Limiter.Wait(ctx, estimate)
			if err != nil {
				return writer.Result{}, err
			}
			waited += res.Waited
		}
		if err := ctx.Err(); err != nil {
			res.Cancel()
			return writer.Result{}, err
		}
		if w.cfg.BeforeCall != nil {
			if err := w.cfg.BeforeCall(ctx, req); err != nil {
				res.Cancel()
				return writer.Result{}, err
			}
		}

		number++
		start := w.cfg.Clock.Now()
		result, err := w.inner.Write(ctx, req)
		a := Attempt{Layer: string(req.Layer), Number: number, Err: err, Usage: result.Usage,
			Duration: w.cfg.Clock.Now().Sub(start), FinishReason: result.FinishReason, Waited: waited}
		waited = 0

		var werr *writer.Error
		errors.As(err, &werr)
		if w.cfg.Limiter != nil {
			rl := result.RateLimit
			if werr != nil && werr.RateLimit.Known {
				rl = werr.RateLimit
			}
			w.cfg.Limiter.Observe(rl)
		}
		a.Kind = writer.KindOf(err)
		a.RateLimited = a.Kind == writer.RateLimited
		if a.RateLimited {
			// A 429's reservation stays charged: providers count refused
			// requests against the limit too.
		} else if result.Usage != (writer.Usage{}) {
			res.Done(w.cfg.Actual(req, result.Usage))
		} else if err == nil {
			res.Done(0)
		}
		if w.cfg.OnAttempt != nil {
			w.cfg.OnAttempt(a)
		}
		if err == nil {
			return result, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return result, cerr
		}

		var wait time.Duration
		switch a.Kind {
		case writer.RateLimited:
			limited++
			if werr != nil {
				wait = cmp.Or(werr.RetryAfter, werr.RateLimit.RetryAfter)
			}
			if wait <= 0 {
				wait = w.backoff(limited)
			} else if w.cfg.Limiter == nil {
				// Without a shared limiter, spread the callers that were
				// refused together; with one, its hold and pacing do that.
				wait += time.Duration(w.cfg.Jitter() * float64(wait) / 10)
			}
			res.RateLimited(wait)
			if rateLimitWaited+wait > w.cfg.MaxRateLimitWait {
				return result, err
			}
			rateLimitWaited += wait
		case writer.Transient:
			failures++
			if failures > w.cfg.MaxRetries {
				return result, err
			}
			wait = w.backoff(failures)
		case writer.ReasoningExhausted:
			if firstCap != 0 || req.MaxTokens <= 0 || req.MaxTokens >= writer.MaxOutputTokens {
				return result, exhaustedTwice(err, werr, firstCap)
			}
			firstCap = req.MaxTokens
			req.MaxTokens = min(2*req.MaxTokens, writer.MaxOutputTokens)
			estimate = w.cfg.Estimate(req)
			continue // a different request: nothing to wait for
		default:
			return result, err
		}
		if err := w.cfg.Clock.Sleep(ctx, wait); err != nil {
			return writer.Result{}, err
		}
		waited += wait
	}
}

// exhaustedTwice is the error of a call that ran out of its cap on
// reasoning after the cap was raised from firstCap (0: never raised).
func exhaustedTwice(err error, werr *writer.Error, firstCap int) error {
	if werr == nil || firstCap == 0 {
		return err
	}
	e := *werr
	e.Message += fmt.Sprintf(" (asked twice: the first call, with a cap of %d tokens, ran out the same way)", firstCap)
	return &e
}

// backoff is the n-th (from 1) exponential backoff with full jitter:
// uniform in [0, min(MaxBackoff, BaseBackoff·2^(n-1))).
func (w *Writer) backoff(n int) time.Duration {
	ceil := w.cfg.MaxBackoff
	if n-1 < 62 {
		if d := w.cfg.BaseBackoff << (n - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	return time.Duration(w.cfg.Jitter() * float64(ceil))
}
