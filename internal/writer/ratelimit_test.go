package writer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 8, 21, 12, 40, 57, 0, time.UTC)
	for _, c := range []struct {
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{hdr("retry-after-ms", "261", "retry-after", "1"), 261 * time.Millisecond, true},
		{hdr("x-ms-retry-after-ms", "1500.5"), 1500*time.Millisecond + 500*time.Microsecond, true},
		{hdr("retry-after", "20"), 20 * time.Second, true},
		{hdr("retry-after", "0.5"), 500 * time.Millisecond, true},
		{hdr("retry-after", "Thu, 21 Aug 2025 12:41:02 GMT"), 5 * time.Second, true},
		{hdr("retry-after", "Thu, 21 Aug 2025 12:40:00 GMT"), 0, true},
		{hdr("retry-after", "soon"), 0, false},
		{hdr("retry-after-ms", "-3"), 0, false},
		{hdr(), 0, false},
	} {
		got, ok := ParseRetryAfter(c.h, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%v) = %s, %v; want %s, %v", c.h, got, ok, c.want, c.ok)
		}
	}
}

func TestParseOpenAIRateLimit(t *testing.T) {
	rl := ParseOpenAIRateLimit(hdr(
		"x-ratelimit-limit-requests", "60", "x-ratelimit-limit-tokens", "150000",
		"x-ratelimit-remaining-requests", "59", "x-ratelimit-remaining-tokens", "149984",
		"x-ratelimit-reset-requests", "1s", "x-ratelimit-reset-tokens", "6m0s", "retry-after", "2"), time.Now())
	want := RateLimit{60, 150000, 59, 149984, time.Second, 6 * time.Minute, 2 * time.Second, true}
	if rl != want {
		t.Errorf("got %+v\nwant %+v", rl, want)
	}
	// Azure quirks: -1 values and plain seconds; nothing sent at all.
	rl = ParseOpenAIRateLimit(hdr("x-ratelimit-remaining-tokens", "-1", "x-ratelimit-reset-tokens", "7"), time.Now())
	if rl.RemainingTokens != 0 || rl.ResetTokens != 7*time.Second || !rl.Known {
		t.Errorf("lenient parse = %+v", rl)
	}
	if rl := ParseOpenAIRateLimit(hdr(), time.Now()); rl.Known {
		t.Errorf("no headers but Known: %+v", rl)
	}
}

func TestParseAnthropicRateLimit(t *testing.T) {
	now := time.Date(2025, 8, 21, 12, 40, 57, 0, time.UTC)
	rl := ParseAnthropicRateLimit(hdr(
		"anthropic-ratelimit-requests-limit", "50", "anthropic-ratelimit-requests-remaining", "49",
		"anthropic-ratelimit-requests-reset", "2025-08-21T12:40:58Z",
		"anthropic-ratelimit-input-tokens-limit", "30000", "anthropic-ratelimit-input-tokens-remaining", "29000",
		"anthropic-ratelimit-input-tokens-reset", "2025-08-21T12:40:59Z"), now)
	want := RateLimit{LimitRequests: 50, RemainingRequests: 49, ResetRequests: time.Second,
		LimitTokens: 30000, RemainingTokens: 29000, ResetTokens: 2 * time.Second, Known: true}
	if rl != want {
		t.Errorf("got %+v\nwant %+v", rl, want)
	}
}

func TestRedact(t *testing.T) {
	s := Redact("Incorrect API key provided: sk-proj-****abcd and my-secret-value.", "my-secret-value")
	if strings.Contains(s, "abcd") || strings.Contains(s, "my-secret-value") {
		t.Errorf("Redact left a secret: %s", s)
	}
}

func TestTransportError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("Post: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), "closed the connection"},
		{errors.New("dial tcp: lookup nowhere.invalid: no such host"), "without a usable response"},
	} {
		e := TransportError("openai", 0, c.err)
		if e.Kind != Transient || !strings.Contains(e.Message, c.want) || !errors.Is(e, c.err) {
			t.Errorf("TransportError(%v) = %+v", c.err, e)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if e := Canceled("openai", ctx); !errors.Is(e, context.Canceled) {
		t.Errorf("Canceled does not wrap context.Canceled")
	}
}
