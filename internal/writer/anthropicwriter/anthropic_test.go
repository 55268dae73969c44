package anthropicwriter

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/writer"
	wt "github.com/modeldoc/modeldoc/internal/writer/writertest"
)

// Headers and bodies below are as api.anthropic.com sends them: the twelve
// anthropic-ratelimit-* headers with RFC 3339 resets, the error envelope
// {"type":"error","error":{…},"request_id":…}, ids shortened.

var okHeaders = map[string]string{
	"Content-Type":                                "application/json",
	"Date":                                        "Thu, 21 Aug 2025 12:40:57 GMT",
	"request-id":                                  "req_011CSMVxk7Yh2Hq",
	"anthropic-organization-id":                   "5f1c1b7e-0000-4000-8000-0a1b2c3d4e5f",
	"anthropic-ratelimit-requests-limit":          "4000",
	"anthropic-ratelimit-requests-remaining":      "3999",
	"anthropic-ratelimit-requests-reset":          "2025-08-21T12:40:58Z",
	"anthropic-ratelimit-tokens-limit":            "2400000",
	"anthropic-ratelimit-tokens-remaining":        "2399000",
	"anthropic-ratelimit-tokens-reset":            "2025-08-21T12:40:59Z",
	"anthropic-ratelimit-input-tokens-limit":      "2000000",
	"anthropic-ratelimit-input-tokens-remaining":  "2000000",
	"anthropic-ratelimit-input-tokens-reset":      "2025-08-21T12:40:59Z",
	"anthropic-ratelimit-output-tokens-limit":     "400000",
	"anthropic-ratelimit-output-tokens-remaining": "399000",
	"anthropic-ratelimit-output-tokens-reset":     "2025-08-21T12:40:59Z",
}

const summary = `{"summary":"Orders placed on the web shop, one row per order, with status and totals."}`

func message(content, stop string) string {
	return `{
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [` + content + `],
  "stop_reason": "` + stop + `",
  "stop_sequence": null,
  "usage": {
    "input_tokens": 472,
    "cache_creation_input_tokens": 100,
    "cache_read_input_tokens": 2048,
    "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 89,
    "service_tier": "standard"
  }
}`
}

func toolUse(input string) string {
	return `{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"executive_summary","input":` + input + `}`
}

func errHeaders(extra map[string]string) map[string]string {
	h := map[string]string{
		"Content-Type":   "application/json",
		"Date":           "Thu, 21 Aug 2025 12:40:57 GMT",
		"request-id":     "req_011CSMW2b4",
		"x-should-retry": "false",
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

func envelope(typ, msg, extra string) string {
	return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"` + extra + `},"request_id":"req_011CSMW2b4"}`
}

func newTestWriter(t *testing.T) func(string) writer.Writer {
	return func(base string) writer.Writer {
		w, err := New(Config{APIKey: wt.Key, BaseURL: base, Timeout: wt.Timeout})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
}

func checkRequest(t *testing.T, r wt.Recorded) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != "/v1/messages" {
		t.Errorf("request %s %s, want POST /v1/messages", r.Method, r.Path)
	}
	// Anthropic documents x-api-key for API keys; a bearer token is for
	// OAuth, and sending both would leave the API to choose.
	if got := r.Header.Get("X-Api-Key"); got != wt.Key {
		t.Errorf("X-Api-Key = %q, want the key", got)
	}
	if r.Header.Get("Authorization") != "" {
		t.Errorf("Authorization sent alongside x-api-key")
	}
	if r.Header.Get("Anthropic-Version") == "" {
		t.Errorf("anthropic-version header missing")
	}
	m := r.JSON(t)
	if m["model"] != "test-model" || m["max_tokens"] != float64(777) {
		t.Errorf("model = %v, max_tokens = %v", m["model"], m["max_tokens"])
	}
	tools, _ := m["tools"].([]any)
	if len(tools) != 1 {
		t.Fatalf("tools = %v, want one", tools)
	}
	tool, _ := tools[0].(map[string]any)
	schema, _ := tool["input_schema"].(map[string]any)
	props, _ := schema["properties"].(map[string]any)
	req, _ := schema["required"].([]any)
	if tool["name"] != "executive_summary" || schema["type"] != "object" || props["summary"] == nil ||
		len(req) != 1 || req[0] != "summary" || schema["additionalProperties"] != false {
		t.Errorf("tool = %v, want executive_summary with the request's schema", tool)
	}
	tc, _ := m["tool_choice"].(map[string]any)
	if tc["type"] != "tool" || tc["name"] != "executive_summary" {
		t.Errorf("tool_choice = %v, want the forced tool", tc)
	}
	sys, _ := m["system"].([]any)
	if len(sys) != 1 || sys[0].(map[string]any)["text"] != wt.Request().System {
		t.Errorf("system = %v", m["system"])
	}
	msgs, _ := m["messages"].([]any)
	if len(msgs) != 1 || !strings.Contains(string(r.Body), "select * from stg_orders") {
		t.Errorf("messages = %v", msgs)
	}
}

func TestAnthropicReplay(t *testing.T) {
	cases := []wt.Case{
		{
			Name:        "success with usage and rate-limit headers",
			Reply:       wt.Reply{Status: 200, Header: okHeaders, Body: message(toolUse(summary), "tool_use")},
			WantContent: summary,
			// PromptTokens counts every input token: 472 uncached + 2048 read + 100 written.
			WantUsage:  &writer.Usage{PromptTokens: 2620, CompletionTokens: 89, CachedTokens: 2048, CacheWriteTokens: 100},
			WantFinish: "tool_use",
			WantModel:  "claude-sonnet-4-5-20250929",
			WantRateLimit: &writer.RateLimit{
				LimitRequests: 4000, RemainingRequests: 3999, ResetRequests: time.Second,
				LimitTokens: 2400000, RemainingTokens: 2399000, ResetTokens: 2 * time.Second, Known: true,
			},
		},
		{
			Name:        "401 authentication_error",
			Reply:       wt.Reply{Status: 401, Header: errHeaders(nil), Body: envelope("authentication_error", "invalid x-api-key", "")},
			WantKind:    writer.AuthFailed,
			WantStatus:  401,
			WantMessage: []string{"anthropic rejected the API key (401 authentication_error)", "ANTHROPIC_API_KEY"},
		},
		{
			Name:       "401 echoing the key",
			Reply:      wt.Reply{Status: 401, Header: errHeaders(nil), Body: envelope("authentication_error", "invalid x-api-key "+wt.Key, "")},
			WantKind:   writer.AuthFailed,
			WantStatus: 401,
		},
		{
			Name:       "403 permission_error",
			Reply:      wt.Reply{Status: 403, Header: errHeaders(nil), Body: envelope("permission_error", "Your API key does not have permission to use the specified resource.", "")},
			WantKind:   writer.AuthFailed,
			WantStatus: 403,
		},
		{
			Name: "429 rate_limit_error with retry-after",
			Reply: wt.Reply{Status: 429, Header: errHeaders(map[string]string{
				"retry-after": "23", "x-should-retry": "true",
				"anthropic-ratelimit-input-tokens-limit": "50000", "anthropic-ratelimit-input-tokens-remaining": "0",
				"anthropic-ratelimit-input-tokens-reset": "2025-08-21T12:41:20Z",
			}), Body: envelope("rate_limit_error", "This request would exceed the rate limit for your organization of 50,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.", "")},
			WantKind:       writer.RateLimited,
			WantStatus:     429,
			WantRetryAfter: wt.Dur(23 * time.Second),
		},
		{
			Name: "429 rate_limit_error, wait only in the reset header",
			Reply: wt.Reply{Status: 429, Header: errHeaders(map[string]string{
				"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0",
				"anthropic-ratelimit-requests-reset": "2025-08-21T12:41:09Z",
			}), Body: envelope("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", "")},
			WantKind:       writer.RateLimited,
			WantStatus:     429,
			WantRetryAfter: wt.Dur(12 * time.Second),
		},
		{
			Name: "429 enforced spend limit",
			Reply: wt.Reply{Status: 429, Header: errHeaders(nil), Body: envelope("rate_limit_error",
				"You have reached your specified API usage limits. You will regain access on 2025-09-01 at 00:00 UTC.",
				`,"details":{"error_code":"enforced_spend_limit_reached"}`)},
			WantKind:   writer.QuotaExhausted,
			WantStatus: 429,
		},
		{
			Name: "400 credit balance too low",
			Reply: wt.Reply{Status: 400, Header: errHeaders(nil), Body: envelope("invalid_request_error",
				"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.", "")},
			WantKind:    writer.QuotaExhausted,
			WantStatus:  400,
			WantMessage: []string{"add credit"},
		},
		{
			Name:        "400 prompt too long",
			Reply:       wt.Reply{Status: 400, Header: errHeaders(nil), Body: envelope("invalid_request_error", "prompt is too long: 208617 tokens > 200000 maximum", "")},
			WantKind:    writer.InvalidRequest,
			WantStatus:  400,
			WantMessage: []string{"context window"},
		},
		{
			Name:       "400 other invalid request",
			Reply:      wt.Reply{Status: 400, Header: errHeaders(nil), Body: envelope("invalid_request_error", "tools.0.input_schema: JSON schema is invalid", "")},
			WantKind:   writer.InvalidRequest,
			WantStatus: 400,
		},
		{
			Name:       "413 request_too_large",
			Reply:      wt.Reply{Status: 413, Header: errHeaders(nil), Body: envelope("request_too_large", "Request exceeds the maximum allowed number of bytes.", "")},
			WantKind:   writer.InvalidRequest,
			WantStatus: 413,
		},
		{
			Name:       "404 not_found_error",
			Reply:      wt.Reply{Status: 404, Header: errHeaders(nil), Body: envelope("not_found_error", "model: claude-9", "")},
			WantKind:   writer.InvalidRequest,
			WantStatus: 404,
		},
		{
			Name:       "500 api_error",
			Reply:      wt.Reply{Status: 500, Header: errHeaders(map[string]string{"x-should-retry": "true"}), Body: envelope("api_error", "Internal server error", "")},
			WantKind:   writer.Transient,
			WantStatus: 500,
		},
		{
			Name:       "503",
			Reply:      wt.Reply{Status: 503, Header: map[string]string{"Content-Type": "text/plain"}, Body: "upstream connect error or disconnect/reset before headers. reset reason: overflow"},
			WantKind:   writer.Transient,
			WantStatus: 503,
		},
		{
			Name:           "529 overloaded_error",
			Reply:          wt.Reply{Status: 529, Header: errHeaders(map[string]string{"x-should-retry": "true"}), Body: envelope("overloaded_error", "Overloaded", "")},
			WantKind:       writer.RateLimited,
			WantStatus:     529,
			WantRetryAfter: wt.Dur(0),
			WantMessage:    []string{"overloaded"},
		},
		{
			Name:        "hung server hits the per-call timeout",
			Reply:       wt.Reply{Hang: true},
			WantKind:    writer.Transient,
			WantMessage: []string{"timeout"},
		},
		{
			Name:         "caller cancels",
			Reply:        wt.Reply{Hang: true},
			CancelCaller: true,
			WantKind:     writer.Transient,
		},
		{
			Name:       "connection closed mid-response",
			Reply:      wt.Reply{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: message(toolUse(summary), "tool_use"), CloseMidBody: true},
			WantKind:   writer.Transient,
			WantStatus: 200,
		},
		{
			Name:        "stop_reason max_tokens",
			Reply:       wt.Reply{Status: 200, Header: okHeaders, Body: message(toolUse(`{"summary":"Orders placed"}`), "max_tokens")},
			WantKind:    writer.Malformed,
			WantStatus:  200,
			WantMessage: []string{"truncated at max tokens (777)"},
			Check: func(t *testing.T, res writer.Result, _ error) {
				if res.Usage.CompletionTokens != 89 {
					t.Errorf("a truncated answer must still report its billed usage, got %+v", res.Usage)
				}
			},
		},
		{
			Name:       "text instead of the tool call",
			Reply:      wt.Reply{Status: 200, Header: okHeaders, Body: message(`{"type":"text","text":"Here is the summary: orders."}`, "end_turn")},
			WantKind:   writer.Malformed,
			WantStatus: 200,
		},
		{
			Name:       "tool input not an object",
			Reply:      wt.Reply{Status: 200, Header: okHeaders, Body: message(toolUse(`"orders"`), "tool_use")},
			WantKind:   writer.Malformed,
			WantStatus: 200,
		},
		{
			Name:       "refusal",
			Reply:      wt.Reply{Status: 200, Header: okHeaders, Body: message(``, "refusal")},
			WantKind:   writer.InvalidRequest,
			WantStatus: 200,
		},
	}
	for i := range cases {
		cases[i].CheckRequest = checkRequest
	}
	wt.Run(t, newTestWriter(t), cases)
}

func TestAnthropicMissingKey(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", wt.Key) // must not be picked up
	_, err := New(Config{})
	var we *writer.Error
	if !errors.As(err, &we) || we.Kind != writer.AuthFailed || !strings.Contains(we.Message, "ANTHROPIC_API_KEY") {
		t.Fatalf("New without a key = %v, want AuthFailed naming ANTHROPIC_API_KEY", err)
	}
}

func TestAnthropicIgnoresEnvironment(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "env-key-must-not-be-sent")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "env-token-must-not-be-sent")
	srv := wt.NewServer(t, wt.Reply{Status: 200, Header: okHeaders, Body: message(toolUse(summary), "tool_use")})
	w, err := New(Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(t.Context(), wt.Request()); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Header.Get("X-Api-Key") != "" || r.Header.Get("Authorization") != "" {
		t.Errorf("environment credentials leaked into the request: %v", r.Header)
	}
}

func TestToolName(t *testing.T) {
	for in, want := range map[string]string{"executive_summary": "executive_summary", "": "write_layer",
		"has space": "write_layer", strings.Repeat("a", 65): "write_layer", "a-b_9": "a-b_9"} {
		req := wt.Request()
		req.SchemaName = in
		if got := ToolName(req); got != want {
			t.Errorf("ToolName(%q) = %q, want %q", in, got, want)
		}
	}
}
