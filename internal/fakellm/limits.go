package fakellm

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter enforces requests and tokens per minute as OpenAI does: the
// published limit is per minute, but it is enforced over short windows (the
// rate-limit guide: 60,000 RPM may be enforced as 1,000 requests a second).
// Each dimension is a token bucket refilled at limit/60 per second holding
// one second's worth, so a client that fires a minute's quota at once is
// refused after the first second's share.
//
// A request costing more tokens than the bucket holds is still admitted
// when the bucket is full and drives it negative (debt), so large prompts
// under a small TPM are slowed down rather than refused forever; only a
// request above the whole per-minute limit is refused outright, as OpenAI
// refuses it ("Request too large").
//
// Refused requests are not debited: if they were, a client retrying on
// every 429 could starve itself forever, which makes benchmarks meaningless.
type limiter struct {
	mu  sync.Mutex
	req bucket
	tok bucket
}

type bucket struct {
	limit    int     // per minute; 0 means unlimited
	rate     float64 // refill per second
	capacity float64 // one second's worth, at least one unit
	level    float64 // may go negative after a large request
	last     time.Time
}

func newBucket(limit int, now time.Time) bucket {
	if limit <= 0 {
		return bucket{}
	}
	rate := float64(limit) / 60
	return bucket{limit: limit, rate: rate, capacity: math.Max(1, rate), level: math.Max(1, rate), last: now}
}

func (b *bucket) refill(now time.Time) {
	if b.limit == 0 {
		return
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.level = math.Min(b.capacity, b.level+dt*b.rate)
		b.last = now
	}
}

// debt is what the bucket lacks to be full again, in units.
func (b *bucket) debt() float64 { return b.capacity - b.level }

// remaining is the per-minute allowance left, as OpenAI's
// x-ratelimit-remaining-* headers report it.
func (b *bucket) remaining() int {
	return max(0, min(b.limit, int(math.Floor(float64(b.limit)-b.debt()))))
}

// reset is the time until the bucket is full again; OpenAI's
// x-ratelimit-reset-* headers are such full-refill times, not waits.
func (b *bucket) reset() time.Duration { return secondsToDuration(b.debt() / b.rate) }

// wait is how long until the bucket holds need units.
func (b *bucket) wait(need float64) time.Duration {
	return secondsToDuration((need - b.level) / b.rate)
}

func secondsToDuration(sec float64) time.Duration {
	if sec <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(sec*1e3)) * time.Millisecond
}

func newLimiter(rpm, tpm int, now time.Time) *limiter {
	return &limiter{req: newBucket(rpm, now), tok: newBucket(tpm, now)}
}

// Kinds of refusal, as OpenAI names them in error.type.
const (
	limitRequests = "requests"
	limitTokens   = "tokens"
)

// verdict is the limiter's answer and what the response headers report.
type verdict struct {
	ok       bool
	kind     string // limitRequests or limitTokens when refused
	tooLarge bool   // the request alone exceeds the per-minute token limit
	wait     time.Duration
	limit    int
	used     int
	cost     int

	reqLimit, reqRemaining int
	tokLimit, tokRemaining int
	reqReset, tokReset     time.Duration
}

// admit debits one request costing cost tokens if both buckets allow it.
func (l *limiter) admit(cost int, now time.Time) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.req.refill(now)
	l.tok.refill(now)
	v := verdict{ok: true, cost: cost}
	switch {
	case l.tok.limit > 0 && cost > l.tok.limit:
		v = verdict{kind: limitTokens, tooLarge: true, limit: l.tok.limit, cost: cost}
	case l.req.limit > 0 && l.req.level < 1:
		v = verdict{kind: limitRequests, wait: l.req.wait(1), limit: l.req.limit, used: l.req.limit - l.req.remaining(), cost: 1}
	case l.tok.limit > 0 && l.tok.level < math.Min(float64(cost), l.tok.capacity):
		need := math.Min(float64(cost), l.tok.capacity)
		v = verdict{kind: limitTokens, wait: l.tok.wait(need), limit: l.tok.limit, used: l.tok.limit - l.tok.remaining(), cost: cost}
	default:
		if l.req.limit > 0 {
			l.req.level--
		}
		if l.tok.limit > 0 {
			l.tok.level -= float64(cost)
		}
	}
	v.reqLimit, v.tokLimit = l.req.limit, l.tok.limit
	if l.req.limit > 0 {
		v.reqRemaining, v.reqReset = l.req.remaining(), l.req.reset()
	}
	if l.tok.limit > 0 {
		v.tokRemaining, v.tokReset = l.tok.remaining(), l.tok.reset()
	}
	return v
}

// setHeaders writes OpenAI's x-ratelimit-* headers for the configured
// dimensions. Unlimited dimensions get none, as local OpenAI-compatible
// servers send none.
func (v verdict) setHeaders(h http.Header) {
	if v.reqLimit > 0 {
		h.Set("x-ratelimit-limit-requests", strconv.Itoa(v.reqLimit))
		h.Set("x-ratelimit-remaining-requests", strconv.Itoa(v.reqRemaining))
		h.Set("x-ratelimit-reset-requests", formatDuration(v.reqReset))
	}
	if v.tokLimit > 0 {
		h.Set("x-ratelimit-limit-tokens", strconv.Itoa(v.tokLimit))
		h.Set("x-ratelimit-remaining-tokens", strconv.Itoa(v.tokRemaining))
		h.Set("x-ratelimit-reset-tokens", formatDuration(v.tokReset))
	}
}

// formatDuration writes d the way OpenAI writes reset times and waits: Go
// duration strings at millisecond precision ("20ms", "1.338s", "6m0s"),
// which time.ParseDuration reads back.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.Round(time.Millisecond).String()
}

// retryAfterHeaders sets retry-after-ms (what the official SDKs read first)
// and retry-after in whole seconds rounded up, because RFC 9110 allows only
// integers there and a client reading only it must not come back too early.
func retryAfterHeaders(h http.Header, wait time.Duration) {
	ms := max(1, int64(math.Ceil(float64(wait)/float64(time.Millisecond))))
	h.Set("retry-after-ms", strconv.FormatInt(ms, 10))
	h.Set("retry-after", strconv.FormatInt((ms+999)/1000, 10))
}
