package openaiwriter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

const provider = modeldoc.ProviderOpenAI

// apiError is the "error" object of an OpenAI error body. code is a string
// on OpenAI, but some compatible servers send a number or null.
type apiError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
}

func (e apiError) code() string {
	var s string
	if json.Unmarshal(e.Code, &s) == nil {
		return s
	}
	return strings.Trim(string(e.Code), `"`)
}

// quotaCodes are the codes OpenAI gives a 429 whose cause is billing, not
// speed. The type stays insufficient_quota for all of them, but both are
// checked because proxies sometimes keep only one.
var quotaCodes = map[string]bool{
	"insufficient_quota":                true,
	"credit_balance_exhausted":          true,
	"organization_spend_limit_exceeded": true,
	"project_spend_limit_exceeded":      true,
	"organization_usage_limit_exceeded": true,
	"billing_hard_limit_reached":        true,
}

// tryAgain finds the wait OpenAI writes into a rate-limit message ("Please
// try again in 1.898s", "in 20ms", "in 6m0s").
var tryAgain = regexp.MustCompile(`(?i)try again in ([0-9][0-9.a-z]*)`)

// Classify turns one failed call into a *writer.Error. status, header and
// body are the HTTP response's (status 0 when none arrived); err is what the
// SDK or transport returned. Write uses it for every failure; it is exported
// so tests can drive it with recorded responses.
//
// Decisions that the provider's documentation leaves open:
//   - Every 403 is AuthFailed, including unsupported_country_region_territory
//     and a project without access to the model: each makes every further
//     call fail the same way, and AuthFailed is the kind that stops a job.
//   - A 429 is QuotaExhausted when error.type or error.code says quota
//     (billing), and RateLimited otherwise; the wait comes from
//     retry-after-ms, retry-after, the "try again in" of the message, then
//     the reset of the bucket whose remaining count is 0.
//   - 408, 409, 425 and every 5xx are Transient; other 4xx are InvalidRequest.
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
	var env struct {
		Error apiError `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	ae := env.Error
	code := ae.code()
	detail := writer.Redact(strings.TrimSpace(ae.Message))
	if detail == "" {
		detail = writer.BodySnippet(body, 200)
	}
	label := fmt.Sprint(status)
	if c := firstNonEmpty(code, ae.Type); c != "" {
		label += " " + c
	}
	now := writer.ResponseTime(header, time.Now())
	rl := writer.ParseOpenAIRateLimit(header, now)
	e := &writer.Error{Provider: provider, Status: status, RateLimit: rl, Err: fmt.Errorf("openai HTTP %d %s %s", status, ae.Type, code)}

	switch {
	case status == http.StatusUnauthorized:
		e.Kind = writer.AuthFailed
		e.Message = fmt.Sprintf("openai rejected the API key (%s): check OPENAI_API_KEY or the organization's stored key (%s)", label, detail)
	case status == http.StatusForbidden:
		e.Kind = writer.AuthFailed
		if code == "unsupported_country_region_territory" {
			e.Message = fmt.Sprintf("openai refuses requests from this country or region (%s): run modeldoc from a supported region or use another provider", label)
		} else {
			e.Message = fmt.Sprintf("openai refused this key access (%s): check that the key's project may use this model and endpoint (%s)", label, detail)
		}
	case status == http.StatusTooManyRequests && (ae.Type == "insufficient_quota" || quotaCodes[code]):
		e.Kind = writer.QuotaExhausted
		e.Message = fmt.Sprintf("openai says the account's quota is exhausted (%s): add credit or raise the spend limit at platform.openai.com, then resume the job (%s)", label, detail)
	case status == http.StatusTooManyRequests:
		e.Kind = writer.RateLimited
		e.RetryAfter = retryAfter(header, now, ae.Message, rl)
		e.RateLimit.RetryAfter = e.RetryAfter
		e.Message = fmt.Sprintf("openai rate limit reached (%s): wait %s and call again, or lower --rpm/--tpm/--concurrency (%s)", label, e.RetryAfter, detail)
	case code == "context_length_exceeded" || strings.Contains(ae.Message, "maximum context length"):
		e.Kind = writer.InvalidRequest
		e.Message = fmt.Sprintf("openai: the prompt is longer than the model's context window (%s): lower the SQL token budget or pick a model with a larger context (%s)", label, detail)
	case code == "content_filter" || code == "content_policy_violation" || code == "invalid_prompt":
		e.Kind = writer.InvalidRequest
		e.Message = fmt.Sprintf("openai refused the content of the prompt (%s): this layer cannot be written by this model as is (%s)", label, detail)
	case status == http.StatusNotFound:
		e.Kind = writer.InvalidRequest
		e.Message = fmt.Sprintf("openai does not know this model or endpoint (%s): check --model and --base-url (%s)", label, detail)
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status == http.StatusTooEarly || status >= 500:
		e.Kind = writer.Transient
		e.Message = fmt.Sprintf("openai server error (%s): the call can be retried (%s)", label, detail)
	default:
		e.Kind = writer.InvalidRequest
		e.Message = fmt.Sprintf("openai rejected the request (%s): %s", label, detail)
	}
	return e
}

func retryAfter(h http.Header, now time.Time, message string, rl writer.RateLimit) time.Duration {
	if d, ok := writer.ParseRetryAfter(h, now); ok {
		return d
	}
	if m := tryAgain.FindStringSubmatch(message); m != nil {
		if d, err := time.ParseDuration(strings.TrimRight(m[1], ".")); err == nil {
			return d
		}
	}
	var d time.Duration
	if h.Get("x-ratelimit-remaining-requests") == "0" {
		d = max(d, rl.ResetRequests)
	}
	if h.Get("x-ratelimit-remaining-tokens") == "0" {
		d = max(d, rl.ResetTokens)
	}
	return d
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
