package writer

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads how long the provider asked the caller to wait, from
// the first header present of retry-after-ms (OpenAI, Azure), x-ms-retry-after-ms
// (Azure) and retry-after (seconds, possibly fractional, or an HTTP date
// relative to now). ok is false when none is present or readable, which is
// not the same as "retry now": the caller backs off on its own then.
func ParseRetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	for _, name := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) {
				return time.Duration(ms * float64(time.Millisecond)), true
			}
		}
	}
	v := strings.TrimSpace(h.Get("retry-after"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// ParseOpenAIRateLimit reads OpenAI's x-ratelimit-* headers. Their reset
// values are Go-style durations ("6m0s", "12ms"), the time until the bucket
// is full again; Azure and some proxies send plain seconds instead, which
// are accepted too. Values a header does not carry, or that do not parse
// (Azure has sent -1), stay zero rather than failing the call.
func ParseOpenAIRateLimit(h http.Header, now time.Time) RateLimit {
	var rl RateLimit
	rl.LimitRequests, rl.Known = headerInt(h, "x-ratelimit-limit-requests", rl.Known)
	rl.LimitTokens, rl.Known = headerInt(h, "x-ratelimit-limit-tokens", rl.Known)
	rl.RemainingRequests, rl.Known = headerInt(h, "x-ratelimit-remaining-requests", rl.Known)
	rl.RemainingTokens, rl.Known = headerInt(h, "x-ratelimit-remaining-tokens", rl.Known)
	rl.ResetRequests, rl.Known = headerDuration(h, "x-ratelimit-reset-requests", rl.Known)
	rl.ResetTokens, rl.Known = headerDuration(h, "x-ratelimit-reset-tokens", rl.Known)
	rl.RetryAfter, _ = ParseRetryAfter(h, now)
	return rl
}

// ParseAnthropicRateLimit reads Anthropic's anthropic-ratelimit-* headers.
// Their reset values are RFC 3339 timestamps, turned into a wait relative to
// now (the response's Date header is preferred by callers that have it, so a
// skewed local clock does not distort the wait). Anthropic limits input and
// output tokens separately as well as in total; RateLimit has one token
// figure, so it takes the total when sent and otherwise the input-token
// bucket, which is the one a documentation workload (long prompts, short
// answers) exhausts first.
func ParseAnthropicRateLimit(h http.Header, now time.Time) RateLimit {
	var rl RateLimit
	rl.LimitRequests, rl.Known = headerInt(h, "anthropic-ratelimit-requests-limit", rl.Known)
	rl.RemainingRequests, rl.Known = headerInt(h, "anthropic-ratelimit-requests-remaining", rl.Known)
	rl.ResetRequests, rl.Known = headerTime(h, "anthropic-ratelimit-requests-reset", now, rl.Known)
	prefix := "anthropic-ratelimit-tokens-"
	if h.Get(prefix+"limit") == "" && h.Get(prefix+"remaining") == "" {
		prefix = "anthropic-ratelimit-input-tokens-"
	}
	rl.LimitTokens, rl.Known = headerInt(h, prefix+"limit", rl.Known)
	rl.RemainingTokens, rl.Known = headerInt(h, prefix+"remaining", rl.Known)
	rl.ResetTokens, rl.Known = headerTime(h, prefix+"reset", now, rl.Known)
	rl.RetryAfter, _ = ParseRetryAfter(h, now)
	return rl
}

// ResponseTime is the server's clock from the Date header, or local if it
// is missing or unreadable; resets in absolute time are read against it.
func ResponseTime(h http.Header, local time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return local
}

func headerInt(h http.Header, name string, known bool) (int64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, known
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, known
	}
	return n, true
}

func headerDuration(h http.Header, name string, known bool) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, known
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, true
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		return time.Duration(s * float64(time.Second)), true
	}
	return 0, known
}

func headerTime(h http.Header, name string, now time.Time, known bool) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, known
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return 0, known
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
