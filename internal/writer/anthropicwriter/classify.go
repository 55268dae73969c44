package anthropicwriter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

const provider = modeldoc.ProviderAnthropic

// errorBody is Anthropic's error envelope:
// {"type":"error","error":{"type":"rate_limit_error","message":"…","details":{"error_code":"…"}},"request_id":"req_…"}
type errorBody struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Details struct {
			ErrorCode string `json:"error_code"`
		} `json:"details"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// Classify turns one failed call into a *writer.Error. status, header and
// body are the HTTP response's (status 0 when none arrived); err is what the
// SDK or transport returned. Write uses it for every failure; it is exported
// so tests can drive it with recorded responses.
//
// Decisions:
//   - 529 overloaded_error is RateLimited, not Transient: it is capacity
//     shared by all Anthropic users, not a fault of this request, so it
//     should slow the whole job down (as a 429 does) instead of spending
//     layers' retry budgets. Its wait is retry-after when sent, otherwise 0
//     and the orchestrator backs off with jitter.
//   - A 429 with details.error_code enforced_spend_limit_reached (the
//     monthly spend cap, sent without retry-after) and a 400 saying the
//     credit balance is too low are QuotaExhausted: no wait helps.
//   - 401 and 403 are AuthFailed; 400, 404 and 413 InvalidRequest;
//     408, 409 and 5xx Transient.
func Classify(status int, header http.Header, body []byte, err error) *writer.Error {
	if status == 0 || (status < 400 && err != nil) {
		if err == nil {
			err = fmt.Errorf("no response")
		}
		return writer.TransportError(provider, status, err)
	}
	if header == nil {
		header = http.Header{}
	}
	var eb errorBody
	_ = json.Unmarshal(body, &eb)
	typ, code := eb.Error.Type, eb.Error.Details.ErrorCode
	detail := writer.Redact(strings.TrimSpace(eb.Error.Message))
	if detail == "" {
		detail = writer.BodySnippet(body, 200)
	}
	if eb.RequestID != "" {
		detail += "; request " + eb.RequestID
	} else if id := header.Get("request-id"); id != "" {
		detail += "; request " + id
	}
	label := fmt.Sprint(status)
	if typ != "" {
		label += " " + typ
	}
	if code != "" {
		label += "/" + code
	}
	now := writer.ResponseTime(header, time.Now())
	rl := writer.ParseAnthropicRateLimit(header, now)
	e := &writer.Error{Provider: provider, Status: status, RateLimit: rl, Err: fmt.Errorf("anthropic HTTP %d %s %s", status, typ, code)}
	lower := strings.ToLower(eb.Error.Message)

	switch {
	case status == http.StatusUnauthorized || typ == "authentication_error":
		e.Kind = writer.AuthFailed
		e.Message = fmt.Sprintf("anthropic rejected the API key (%s): check ANTHROPIC_API_KEY or the organization's stored key (%s)", label, detail)
	case status == http.StatusForbidden || typ == "permission_error":
		e.Kind = writer.AuthFailed
		e.Message = fmt.Sprintf("anthropic refused this key access (%s): check that the key's workspace may use this model (%s)", label, detail)
	case code == "enforced_spend_limit_reached" || strings.Contains(lower, "credit balance is too low") || typ == "billing_error":
		e.Kind = writer.QuotaExhausted
		e.Message = fmt.Sprintf("anthropic says the account cannot pay for more calls (%s): add credit or raise the spend limit in the Anthropic console, then resume the job (%s)", label, detail)
	case status == http.StatusTooManyRequests || status == 529 || typ == "rate_limit_error" || typ == "overloaded_error":
		e.Kind = writer.RateLimited
		e.RetryAfter = retryAfter(header, now, rl)
		e.RateLimit.RetryAfter = e.RetryAfter
		if status == 529 || typ == "overloaded_error" {
			e.Message = fmt.Sprintf("anthropic is overloaded for all users (%s): wait %s and call again with fewer calls in flight (%s)", label, e.RetryAfter, detail)
		} else {
			e.Message = fmt.Sprintf("anthropic rate limit reached (%s): wait %s and call again, or lower --rpm/--tpm/--concurrency (%s)", label, e.RetryAfter, detail)
		}
	case strings.Contains(lower, "prompt is too long") || strings.Contains(lower, "context window"):
		e.Kind = writer.InvalidRequest
		e.Message = fmt.Sprintf("anthropic: the prompt is longer than the model's context window (%s): lower the SQL token budget or pick a model with a larger context (%s)", label, detail)
	case status == http.StatusRequestEntityTooLarge || typ == "request_too_large":
		e.Kind = writer.InvalidRequest
		e.Message = fmt.Sprintf("anthropic: the request is larger than the API accepts (%s): lower the SQL token budget (%s)", label, detail)
	case status == http.StatusNotFound || typ == "not_found_error":
		e.Kind = writer.InvalidRequest
		e.Message = fmt.Sprintf("anthropic does not know this model or endpoint (%s): check --model and --base-url (%s)", label, detail)
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500 || typ == "api_error" || typ == "timeout_error":
		e.Kind = writer.Transient
		e.Message = fmt.Sprintf("anthropic server error (%s): the call can be retried (%s)", label, detail)
	default:
		e.Kind = writer.InvalidRequest
		e.Message = fmt.Sprintf("anthropic rejected the request (%s): %s", label, detail)
	}
	return e
}

// retryAfter prefers the provider's retry-after; without one it waits for
// the reset of a bucket whose remaining count is 0 (Anthropic rounds token
// counts to thousands, so 0 means truly empty).
func retryAfter(h http.Header, now time.Time, rl writer.RateLimit) time.Duration {
	if d, ok := writer.ParseRetryAfter(h, now); ok {
		return d
	}
	var d time.Duration
	for _, b := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		if h.Get("anthropic-ratelimit-"+b+"-remaining") != "0" {
			continue
		}
		if t, err := time.Parse(time.RFC3339, h.Get("anthropic-ratelimit-"+b+"-reset")); err == nil && t.Sub(now) > d {
			d = t.Sub(now)
		}
	}
	return d
}
