package openaiwriter

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/writer"
	wt "github.com/modeldoc/modeldoc/internal/writer/writertest"
)

// Headers and bodies below are as api.openai.com sends them (field order,
// nulls, the type/code pairs of each error class), with ids shortened.

var okHeaders = map[string]string{
	"Content-Type":                   "application/json",
	"Date":                           "Thu, 21 Aug 2025 12:40:57 GMT",
	"openai-organization":            "user-abc123",
	"openai-processing-ms":           "812",
	"openai-version":                 "2020-10-01",
	"x-ratelimit-limit-requests":     "10000",
	"x-ratelimit-limit-tokens":       "30000000",
	"x-ratelimit-remaining-requests": "9999",
	"x-ratelimit-remaining-tokens":   "29998837",
	"x-ratelimit-reset-requests":     "6ms",
	"x-ratelimit-reset-tokens":       "2ms",
	"x-request-id":                   "req_7d2f0c1b9a",
}

func completion(content, finish string) string {
	b, _ := json.Marshal(content)
	c := string(b[1 : len(b)-1])
	return `{
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1755780057,
  "model": "gpt-4.1-mini-2025-04-14",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "` + c + `",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "` + finish + `"
    }
  ],
  "usage": {
    "prompt_tokens": 1117,
    "completion_tokens": 46,
    "total_tokens": 1163,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_6f2eabb9a5"
}`
}

const summary = `{"summary":"Orders placed on the web shop, one row per order, with status and totals."}`

func errHeaders(extra map[string]string) map[string]string {
	h := map[string]string{
		"Content-Type": "application/json; charset=utf-8",
		"Date":         "Thu, 21 Aug 2025 12:40:57 GMT",
		"x-request-id": "req_1a2b3c",
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

const (
	body401 = `{
    "error": {
        "message": "Incorrect API key provided: ` + wt.Key + `. You can find your API key at https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": null,
        "code": "invalid_api_key"
    }
}`
	body401Masked = `{
    "error": {
        "message": "Incorrect API key provided: sk-proj-********************************************Ab3d. You can find your API key at https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": null,
        "code": "invalid_api_key"
    }
}`
	body429Rate = `{
    "error": {
        "message": "Rate limit reached for gpt-4.1-mini in organization org-abc123 on tokens per min (TPM): Limit 200000, Used 199550, Requested 1320. Please try again in 261ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
        "type": "tokens",
        "param": null,
        "code": "rate_limit_exceeded"
    }
}`
	body429RateNoHint = `{
    "error": {
        "message": "Rate limit reached for gpt-4.1-mini in organization org-abc123 on requests per min (RPM): Limit 500, Used 500, Requested 1.",
        "type": "requests",
        "param": null,
        "code": "rate_limit_exceeded"
    }
}`
	body429Quota = `{
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "type": "insufficient_quota",
        "param": null,
        "code": "insufficient_quota"
    }
}`
	body429Spend = `{
    "error": {
        "message": "You have exceeded your organization's spend limit.",
        "type": "insufficient_quota",
        "param": null,
        "code": "organization_spend_limit_exceeded"
    }
}`
	body400Context = `{
    "error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130542 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded"
    }
}`
	body400Filter = `{
    "error": {
        "message": "Invalid prompt: your prompt was flagged as potentially violating our usage policy.",
        "type": "invalid_request_error",
        "param": null,
        "code": "invalid_prompt"
    }
}`
	body404 = `{
    "error": {
        "message": "The model ` + "`gpt-9-ultra`" + ` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": null,
        "code": "model_not_found"
    }
}`
	body403Region = `{
    "error": {
        "code": "unsupported_country_region_territory",
        "message": "Country, region, or territory not supported",
        "param": null,
        "type": "request_forbidden"
    }
}`
	body500 = `{
    "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": null,
        "code": null
    }
}`
	body503 = `{
    "error": {
        "message": "The engine is currently overloaded, please try again later.",
        "type": "server_error",
        "param": null,
        "code": null
    }
}`
	body502HTML = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)

func newTestWriter(t *testing.T, cfg Config) func(string) writer.Writer {
	return func(base string) writer.Writer {
		cfg := cfg
		cfg.APIKey = wt.Key
		cfg.BaseURL = base + "/v1"
		cfg.Timeout = wt.Timeout
		w, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
}

// checkStrictRequest asserts the request body of the default (structured
// outputs) mode and its headers.
func checkStrictRequest(t *testing.T, r wt.Recorded) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" {
		t.Errorf("request %s %s, want POST /v1/chat/completions", r.Method, r.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+wt.Key {
		t.Errorf("Authorization = %q, want the bearer key", got)
	}
	if got := r.Header.Get("X-Stainless-Retry-Count"); got != "0" {
		t.Errorf("X-Stainless-Retry-Count = %q, want 0", got)
	}
	m := r.JSON(t)
	if m["model"] != "test-model" {
		t.Errorf("model = %v", m["model"])
	}
	rf, _ := m["response_format"].(map[string]any)
	js, _ := rf["json_schema"].(map[string]any)
	if rf["type"] != "json_schema" || js["name"] != "executive_summary" || js["strict"] != true {
		t.Errorf("response_format = %v, want json_schema executive_summary strict", rf)
	}
	schema, _ := js["schema"].(map[string]any)
	if schema["additionalProperties"] != false || schema["type"] != "object" {
		t.Errorf("response_format schema = %v, want the request's schema", schema)
	}
	// api.openai.com-style servers get max_completion_tokens only: OpenAI's
	// reasoning models reject max_tokens. This test server is not OpenAI, so
	// the writer is configured for it explicitly.
	if m["max_completion_tokens"] != float64(777) {
		t.Errorf("max_completion_tokens = %v, want 777", m["max_completion_tokens"])
	}
	if _, ok := m["max_tokens"]; ok {
		t.Errorf("max_tokens sent alongside max_completion_tokens")
	}
	if m["temperature"] != DefaultTemperature {
		t.Errorf("temperature = %v, want %v", m["temperature"], DefaultTemperature)
	}
	msgs, _ := m["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages = %v, want system and user", msgs)
	}
	sys, _ := msgs[0].(map[string]any)
	usr, _ := msgs[1].(map[string]any)
	if sys["role"] != "system" || sys["content"] != wt.Request().System || usr["role"] != "user" || usr["content"] != wt.Request().User {
		t.Errorf("messages = %v", msgs)
	}
}

func TestOpenAIReplay(t *testing.T) {
	cases := []wt.Case{
		{
			Name:        "success with usage and rate-limit headers",
			Reply:       wt.Reply{Status: 200, Header: okHeaders, Body: completion(summary, "stop")},
			WantContent: summary,
			WantUsage:   &writer.Usage{PromptTokens: 1117, CompletionTokens: 46, CachedTokens: 1024},
			WantFinish:  "stop",
			WantModel:   "gpt-4.1-mini-2025-04-14",
			WantRateLimit: &writer.RateLimit{
				LimitRequests: 10000, LimitTokens: 30000000, RemainingRequests: 9999, RemainingTokens: 29998837,
				ResetRequests: 6 * time.Millisecond, ResetTokens: 2 * time.Millisecond, Known: true,
			},
		},
		{
			Name:        "401 echoing the key",
			Reply:       wt.Reply{Status: 401, Header: errHeaders(nil), Body: body401},
			WantKind:    writer.AuthFailed,
			WantStatus:  401,
			WantMessage: []string{"openai rejected the API key (401 invalid_api_key)", "OPENAI_API_KEY"},
		},
		{
			Name:       "401 with a masked key",
			Reply:      wt.Reply{Status: 401, Header: errHeaders(nil), Body: body401Masked},
			WantKind:   writer.AuthFailed,
			WantStatus: 401,
			Check: func(t *testing.T, _ writer.Result, err error) {
				if strings.Contains(err.Error(), "Ab3d") {
					t.Errorf("masked key tail leaked: %v", err)
				}
			},
		},
		{
			Name:       "403 unsupported region",
			Reply:      wt.Reply{Status: 403, Header: errHeaders(nil), Body: body403Region},
			WantKind:   writer.AuthFailed,
			WantStatus: 403,
		},
		{
			Name: "429 rate limit with retry-after-ms",
			Reply: wt.Reply{Status: 429, Body: body429Rate, Header: errHeaders(map[string]string{
				"retry-after-ms": "261", "retry-after": "1",
				"x-ratelimit-limit-tokens": "200000", "x-ratelimit-remaining-tokens": "450", "x-ratelimit-reset-tokens": "261ms",
			})},
			WantKind:       writer.RateLimited,
			WantStatus:     429,
			WantRetryAfter: wt.Dur(261 * time.Millisecond),
		},
		{
			Name:           "429 rate limit with retry-after seconds",
			Reply:          wt.Reply{Status: 429, Body: body429RateNoHint, Header: errHeaders(map[string]string{"retry-after": "20"})},
			WantKind:       writer.RateLimited,
			WantStatus:     429,
			WantRetryAfter: wt.Dur(20 * time.Second),
		},
		{
			Name:           "429 rate limit with retry-after HTTP date",
			Reply:          wt.Reply{Status: 429, Body: body429RateNoHint, Header: errHeaders(map[string]string{"retry-after": "Thu, 21 Aug 2025 12:41:02 GMT"})},
			WantKind:       writer.RateLimited,
			WantStatus:     429,
			WantRetryAfter: wt.Dur(5 * time.Second),
		},
		{
			Name:           "429 rate limit, wait only in the message",
			Reply:          wt.Reply{Status: 429, Body: body429Rate, Header: errHeaders(nil)},
			WantKind:       writer.RateLimited,
			WantStatus:     429,
			WantRetryAfter: wt.Dur(261 * time.Millisecond),
		},
		{
			Name: "429 rate limit, wait only in the reset headers",
			Reply: wt.Reply{Status: 429, Body: body429RateNoHint, Header: errHeaders(map[string]string{
				"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m30s",
				"x-ratelimit-limit-tokens": "200000", "x-ratelimit-remaining-tokens": "190000", "x-ratelimit-reset-tokens": "3s",
			})},
			WantKind:       writer.RateLimited,
			WantStatus:     429,
			WantRetryAfter: wt.Dur(90 * time.Second),
		},
		{
			Name:        "429 insufficient_quota",
			Reply:       wt.Reply{Status: 429, Header: errHeaders(nil), Body: body429Quota},
			WantKind:    writer.QuotaExhausted,
			WantStatus:  429,
			WantMessage: []string{"quota"},
		},
		{
			Name:       "429 organization spend limit",
			Reply:      wt.Reply{Status: 429, Header: errHeaders(nil), Body: body429Spend},
			WantKind:   writer.QuotaExhausted,
			WantStatus: 429,
		},
		{
			Name:        "400 context_length_exceeded",
			Reply:       wt.Reply{Status: 400, Header: errHeaders(nil), Body: body400Context},
			WantKind:    writer.InvalidRequest,
			WantStatus:  400,
			WantMessage: []string{"context window"},
		},
		{
			Name:       "400 prompt flagged",
			Reply:      wt.Reply{Status: 400, Header: errHeaders(nil), Body: body400Filter},
			WantKind:   writer.InvalidRequest,
			WantStatus: 400,
		},
		{
			Name:       "404 model not found",
			Reply:      wt.Reply{Status: 404, Header: errHeaders(nil), Body: body404},
			WantKind:   writer.InvalidRequest,
			WantStatus: 404,
		},
		{
			Name:       "500",
			Reply:      wt.Reply{Status: 500, Header: errHeaders(nil), Body: body500},
			WantKind:   writer.Transient,
			WantStatus: 500,
		},
		{
			Name:       "503",
			Reply:      wt.Reply{Status: 503, Header: errHeaders(nil), Body: body503},
			WantKind:   writer.Transient,
			WantStatus: 503,
		},
		{
			Name:       "502 HTML from a proxy",
			Reply:      wt.Reply{Status: 502, Header: map[string]string{"Content-Type": "text/html"}, Body: body502HTML},
			WantKind:   writer.Transient,
			WantStatus: 502,
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
			Reply:      wt.Reply{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: completion(summary, "stop"), CloseMidBody: true},
			WantKind:   writer.Transient,
			WantStatus: 200,
		},
		{
			Name:        "finish_reason length",
			Reply:       wt.Reply{Status: 200, Header: okHeaders, Body: completion(`{"summary":"Orders placed on the web`, "length")},
			WantKind:    writer.Malformed,
			WantStatus:  200,
			WantMessage: []string{"truncated at max tokens (777)"},
			Check: func(t *testing.T, res writer.Result, _ error) {
				if res.Usage.CompletionTokens != 46 {
					t.Errorf("a truncated answer must still report its billed usage, got %+v", res.Usage)
				}
			},
		},
		{
			Name:       "content that is not JSON",
			Reply:      wt.Reply{Status: 200, Header: okHeaders, Body: completion(`Sure! Here is the summary: orders`, "stop")},
			WantKind:   writer.Malformed,
			WantStatus: 200,
		},
		{
			Name:       "empty content",
			Reply:      wt.Reply{Status: 200, Header: okHeaders, Body: completion(``, "stop")},
			WantKind:   writer.Malformed,
			WantStatus: 200,
		},
		{
			Name: "refusal",
			Reply: wt.Reply{Status: 200, Header: okHeaders, Body: strings.Replace(completion(``, "stop"),
				`"refusal": null`, `"refusal": "I'm sorry, I can't help with that."`, 1)},
			WantKind:   writer.InvalidRequest,
			WantStatus: 200,
		},
	}
	for i := range cases {
		cases[i].CheckRequest = checkStrictRequest
	}
	wt.Run(t, newTestWriter(t, Config{MaxTokensParam: "max_completion_tokens"}), cases)
}

func TestOpenAIJSONModeRequest(t *testing.T) {
	wt.Run(t, newTestWriter(t, Config{JSONMode: true}), []wt.Case{{
		Name:        "json_object with the schema after the user prompt, max_tokens for a compatible server",
		Reply:       wt.Reply{Status: 200, Header: okHeaders, Body: completion("```json\n"+summary+"\n```", "stop")},
		WantContent: summary,
		CheckRequest: func(t *testing.T, r wt.Recorded) {
			m := r.JSON(t)
			rf, _ := m["response_format"].(map[string]any)
			if rf["type"] != "json_object" || rf["json_schema"] != nil {
				t.Errorf("response_format = %v, want json_object", rf)
			}
			msgs, _ := m["messages"].([]any)
			sys, _ := msgs[0].(map[string]any)
			user, _ := msgs[1].(map[string]any)
			content, _ := user["content"].(string)
			// The schema differs between an object's calls: it comes
			// after the prompt they share, never in the system prompt.
			if req := wt.Request(); sys["content"] != req.System || !strings.HasPrefix(content, req.User) || !strings.HasSuffix(content, "```json\n"+wt.Schema+"\n```") {
				t.Errorf("want the system prompt as is and the fenced schema after the user prompt; got system %q, user:\n%s", sys["content"], content)
			}
			if m["max_tokens"] != float64(777) || m["max_completion_tokens"] != nil {
				t.Errorf("max_tokens = %v, max_completion_tokens = %v; want max_tokens only for a non-OpenAI base URL", m["max_tokens"], m["max_completion_tokens"])
			}
		},
	}})
}

func TestOpenAINoKeyNoAuthorization(t *testing.T) {
	srv := wt.NewServer(t, wt.Reply{Status: 200, Header: okHeaders, Body: completion(summary, "stop")})
	w, err := New(Config{BaseURL: srv.URL + "/v1", ExtraHeaders: map[string]string{"X-Gateway": "modeldoc"}})
	if err != nil {
		t.Fatal(err)
	}
	req := wt.Request()
	req.Model = "gpt-5-mini"
	if _, err := w.Write(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if h := r.Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization = %q, want none without a key", h)
	}
	if r.Header.Get("X-Gateway") != "modeldoc" {
		t.Errorf("extra header not sent")
	}
	if _, ok := r.JSON(t)["temperature"]; ok {
		t.Errorf("temperature sent to a reasoning model")
	}
}

func TestOpenAIMissingKey(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", wt.Key) // must not be picked up
	_, err := New(Config{})
	var we *writer.Error
	if !errors.As(err, &we) || we.Kind != writer.AuthFailed {
		t.Fatalf("New without a key = %v, want AuthFailed", err)
	}
	if we.Message != "no API key configured for provider openai: set OPENAI_API_KEY or store a key for the organization" {
		t.Errorf("message = %q", we.Message)
	}
}

func TestOpenAIIgnoresEnvironment(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "env-key-must-not-be-sent")
	t.Setenv("OPENAI_ORG_ID", "org-env")
	srv := wt.NewServer(t, wt.Reply{Status: 200, Header: okHeaders, Body: completion(summary, "stop")})
	w, err := New(Config{BaseURL: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(t.Context(), wt.Request()); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Header.Get("Authorization") != "" || r.Header.Get("OpenAI-Organization") != "" {
		t.Errorf("environment leaked into the request: %v", r.Header)
	}
}

func TestClassifyTable(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   writer.Kind
	}{
		{408, "", writer.Transient},
		{409, "", writer.Transient},
		{413, "", writer.InvalidRequest},
		{422, `{"error":{"message":"bad","type":"invalid_request_error"}}`, writer.InvalidRequest},
		{400, `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`, writer.InvalidRequest},
		{504, "upstream request timeout", writer.Transient},
		{429, `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-02-01 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds."}}`, writer.RateLimited},
	} {
		e := Classify(c.status, http.Header{}, []byte(c.body), errors.New("x"))
		if e.Kind != c.want {
			t.Errorf("Classify(%d, %s) = %s, want %s", c.status, c.body, e.Kind, c.want)
		}
	}
	if e := Classify(0, nil, nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")); e.Kind != writer.Transient {
		t.Errorf("connection refused = %s", e.Kind)
	}
}
