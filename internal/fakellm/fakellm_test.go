package fakellm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tiktoken-go/tokenizer"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// frozenClock is a clock tests move by hand, so rate-limit buckets do not
// refill while a test runs.
type frozenClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *frozenClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *frozenClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startServer(t *testing.T, cfg fakellm.Config) (*fakellm.Server, string) {
	t.Helper()
	srv := fakellm.New(cfg)
	root, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, root
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	return m
}

func post(t *testing.T, url string, body any, headers ...string) reply {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, data}
}

func getStats(t *testing.T, root string) fakellm.Stats {
	t.Helper()
	resp, err := http.Get(root + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s fakellm.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

const columnsPrompt = `# Model: fct_orders

- Type: model
- Materialization: table

## SQL (compiled)
` + "```sql" + `
with orders as (select * from stg_orders)
select order_id, customer_id, sum(amount) as amount_usd
from orders
where status <> 'returned'
group by 1, 2
` + "```" + `

## Columns (3)
- order_id (integer)
- customer_id (integer): The customer who placed the order. [human-written]
- amount_usd (numeric)

## Upstream: what this model reads (1)

### stg_orders (model)
Summary: One row per order from the shop.

## Downstream: what reads this model (1)
- revenue_dashboard (exposure)

# Task: column descriptions

Describe every column of fct_orders.
- description: one or two sentences.
`

func chatBody(user string, rf any) map[string]any {
	b := map[string]any{
		"model": "gpt-4o-mini",
		"messages": []any{
			map[string]any{"role": "system", "content": "You document dbt models for business readers."},
			map[string]any{"role": "user", "content": user},
		},
	}
	if rf != nil {
		b["response_format"] = rf
	}
	return b
}

func schemaFormat(name, schema string) map[string]any {
	return map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": name, "strict": true, "schema": json.RawMessage(schema)}}
}

// content returns choices[0].message.content and finish_reason.
func content(t *testing.T, r reply) (string, string) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil || len(resp.Choices) != 1 {
		t.Fatalf("bad response (%v): %s", err, r.body)
	}
	return resp.Choices[0].Message.Content, resp.Choices[0].FinishReason
}

func compileSchema(t *testing.T, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("mem://schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, content string) any {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(content))
	if err != nil {
		t.Fatalf("content is not JSON: %v\n%s", err, content)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("content does not match the schema: %v\n%s", err, content)
	}
	return inst
}

var nestedSchemas = map[string]string{
	"strict_nested": `{
		"type": "object", "additionalProperties": false,
		"required": ["summary", "cards", "impact", "score", "ratio", "active", "tags"],
		"properties": {
			"summary": {"type": "string", "minLength": 20, "maxLength": 400},
			"cards": {"type": "array", "minItems": 3, "maxItems": 7, "items": {
				"type": "object", "additionalProperties": false,
				"required": ["stepNumber", "title", "details"],
				"properties": {
					"stepNumber": {"type": "integer", "minimum": 1},
					"title": {"type": "string", "maxLength": 30},
					"details": {"type": "object", "additionalProperties": false, "required": ["input", "output"],
						"properties": {"input": {"type": "string"}, "output": {"type": ["string", "null"]}}}
				}}},
			"impact": {"type": "object", "additionalProperties": false, "required": ["usedBy", "level"],
				"properties": {
					"usedBy": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["team", "frequency"],
						"properties": {"team": {"type": "string"}, "frequency": {"type": "string", "enum": ["daily", "weekly", "monthly"]}}}},
					"level": {"enum": ["low", "medium", "high"]}}},
			"score": {"type": "integer", "minimum": 1, "maximum": 5},
			"ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
			"active": {"type": "boolean"},
			"tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "uniqueItems": true, "minItems": 2}
		}}`,
	"refs_and_unions": `{
		"$defs": {
			"node": {"type": "object", "additionalProperties": false, "required": ["name", "children"],
				"properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}},
			"when": {"type": "string", "format": "date-time"}
		},
		"type": "object", "additionalProperties": false,
		"required": ["tree", "when", "either", "one", "both", "code", "fixed", "map"],
		"properties": {
			"tree": {"$ref": "#/$defs/node"},
			"when": {"$ref": "#/$defs/when"},
			"either": {"anyOf": [{"type": "integer", "minimum": 10, "maximum": 20}, {"type": "string"}]},
			"one": {"oneOf": [{"type": "object", "required": ["kind"], "properties": {"kind": {"const": "x"}}, "additionalProperties": false}, {"type": "null"}]},
			"both": {"allOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}, {"required": ["b"], "properties": {"b": {"type": "integer", "multipleOf": 5, "minimum": 1}}}]},
			"code": {"type": "string", "pattern": "^[a-z_]+$"},
			"fixed": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false},
			"map": {"type": "object", "additionalProperties": {"type": "string", "format": "email"}, "minProperties": 1}
		}}`,
	"draft7_definitions": `{
		"$schema": "http://json-schema.org/draft-07/schema#",
		"definitions": {"rule": {"type": "object", "required": ["rule", "codeReference"], "properties": {"rule": {"type": "string"}, "codeReference": {"type": "string"}}}},
		"type": "object", "required": ["rules"],
		"properties": {"rules": {"type": "array", "items": {"$ref": "#/definitions/rule"}, "minItems": 1}}}`,
}

func TestSchemaValidNestedAnswers(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	for name, schema := range nestedSchemas {
		t.Run(name, func(t *testing.T) {
			sch := compileSchema(t, schema)
			for _, user := range []string{columnsPrompt, "Document model `dim_customers`: one row per customer with lifetime_value and first_order_date."} {
				c, finish := content(t, post(t, root+"/v1/chat/completions", chatBody(user, schemaFormat(name, schema)), nil...))
				if finish != "stop" {
					t.Errorf("finish_reason = %q, want stop", finish)
				}
				validate(t, sch, c)
			}
		})
	}
}

// The schemas modeldoc asks for: every layer's answer must validate, and the
// column layer must list exactly the prompt's columns in order.
func TestLayerSchemasFromPrompt(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	files, _ := filepath.Glob("../prompt/schemas/*.json")
	if len(files) == 0 {
		t.Skip("no layer schemas in ../prompt/schemas yet")
	}
	for _, f := range files {
		schema, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			sch := compileSchema(t, string(schema))
			c, _ := content(t, post(t, root+"/chat/completions", chatBody(columnsPrompt, schemaFormat(name, string(schema)))))
			validate(t, sch, c)
			if !strings.Contains(c, "fct_orders") && name != "column_descriptions" {
				t.Errorf("answer does not mention the model named in the prompt: %s", c)
			}
			if name == "column_descriptions" {
				var out struct {
					Columns []struct{ Name, Lineage, UpstreamModel string }
				}
				_ = json.Unmarshal([]byte(c), &out)
				var names []string
				for _, col := range out.Columns {
					names = append(names, col.Name)
					if col.UpstreamModel != "stg_orders" {
						t.Errorf("upstreamModel = %q, want the prompt's upstream model stg_orders", col.UpstreamModel)
					}
				}
				if got := strings.Join(names, ","); got != "order_id,customer_id,amount_usd" {
					t.Errorf("columns = %s, want the prompt's columns in order", got)
				}
			}
		})
	}
}

func TestAnswersVaryWithThePrompt(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	schema := `{"type":"object","required":["summary"],"additionalProperties":false,"properties":{"summary":{"type":"string"}}}`
	a, _ := content(t, post(t, root+"/v1/chat/completions", chatBody("Document model `fct_orders` built from stg_orders.", schemaFormat("s", schema))))
	b, _ := content(t, post(t, root+"/v1/chat/completions", chatBody("Document model `dim_customers` built from stg_customers.", schemaFormat("s", schema))))
	again, _ := content(t, post(t, root+"/v1/chat/completions", chatBody("Document model `fct_orders` built from stg_orders.", schemaFormat("s", schema))))
	if a == b || !strings.Contains(a, "fct_orders") || !strings.Contains(b, "dim_customers") {
		t.Errorf("answers should name their own model and differ:\n%s\n%s", a, b)
	}
	if a != again {
		t.Errorf("the same prompt should get the same answer:\n%s\n%s", a, again)
	}
}

func TestResponseShapeAndUsage(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	body := chatBody(columnsPrompt, nil)
	body["messages"] = append(body["messages"].([]any), map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": "Answer in one"}, map[string]any{"type": "text", "text": "paragraph."}}})
	r := post(t, root+"/v1/chat/completions", body)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content-type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var resp struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Role    string           `json:"role"`
				Content string           `json:"content"`
				Refusal *json.RawMessage `json:"refusal"`
			} `json:"message"`
			Logprobs     *json.RawMessage `json:"logprobs"`
			FinishReason string           `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens        int `json:"prompt_tokens"`
			CompletionTokens    int `json:"completion_tokens"`
			TotalTokens         int `json:"total_tokens"`
			PromptTokensDetails struct {
				CachedTokens *int `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
			CompletionTokensDetails struct {
				ReasoningTokens *int `json:"reasoning_tokens"`
			} `json:"completion_tokens_details"`
		} `json:"usage"`
		SystemFingerprint string `json:"system_fingerprint"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	m := r.json(t)
	choice := m["choices"].([]any)[0].(map[string]any)
	if _, ok := choice["logprobs"]; !ok || choice["logprobs"] != nil {
		t.Errorf("logprobs should be present and null: %s", r.body)
	}
	if msg := choice["message"].(map[string]any); msg["refusal"] != nil {
		t.Errorf("refusal should be null: %s", r.body)
	}
	if !strings.HasPrefix(resp.ID, "chatcmpl-") || resp.Object != "chat.completion" || resp.Created == 0 ||
		resp.Model != "gpt-4o-mini" || !strings.HasPrefix(resp.SystemFingerprint, "fp_") {
		t.Errorf("envelope differs from OpenAI's: %s", r.body)
	}
	c := resp.Choices[0]
	if c.Index != 0 || c.Message.Role != "assistant" || c.FinishReason != "stop" || len(c.Message.Content) < 20 {
		t.Errorf("choice differs from OpenAI's: %s", r.body)
	}
	if json.Valid([]byte(c.Message.Content)) {
		t.Errorf("text mode should answer prose, got JSON: %s", c.Message.Content)
	}
	// The cookbook's num_tokens_from_messages, computed here independently.
	enc, _ := tokenizer.Get(tokenizer.O200kBase)
	count := func(s string) int { n, _ := enc.Count(s); return n }
	want := 3
	for _, msg := range []struct{ role, text string }{{"system", "You document dbt models for business readers."}, {"user", columnsPrompt}, {"user", "Answer in one\nparagraph."}} {
		want += 3 + count(msg.role) + count(msg.text)
	}
	u := resp.Usage
	if u.PromptTokens != want {
		t.Errorf("prompt_tokens = %d, want %d", u.PromptTokens, want)
	}
	if u.CompletionTokens != count(c.Message.Content) || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("completion_tokens = %d (content has %d), total %d", u.CompletionTokens, count(c.Message.Content), u.TotalTokens)
	}
	if u.PromptTokensDetails.CachedTokens == nil || u.CompletionTokensDetails.ReasoningTokens == nil {
		t.Errorf("usage details missing: %s", r.body)
	}
	for _, h := range []string{"x-request-id", "openai-version", "openai-processing-ms"} {
		if r.header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
}

func TestJSONObjectMode(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	schema := `{"type":"object","required":["rules"],"additionalProperties":false,"properties":{"rules":{"type":"array","minItems":1,"items":{"type":"object","required":["rule","impact"],"additionalProperties":false,"properties":{"rule":{"type":"string"},"impact":{"type":"string","enum":["low","high"]}}}}}}`
	body := chatBody("Document model `fct_orders`. Answer with JSON matching:\n```json\n"+schema+"\n```\n", map[string]any{"type": "json_object"})
	c, _ := content(t, post(t, root+"/v1/chat/completions", body))
	validate(t, compileSchema(t, schema), c)

	c, _ = content(t, post(t, root+"/v1/chat/completions", chatBody("Summarize model `fct_orders` as JSON.", map[string]any{"type": "json_object"})))
	var out map[string]string
	if err := json.Unmarshal([]byte(c), &out); err != nil || len(out) != 1 || !strings.Contains(out["summary"], "fct_orders") {
		t.Errorf(`without a schema, json_object mode should answer {"summary": ...}; got %s`, c)
	}
}

func TestMaxTokensCutsTheAnswer(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	body := chatBody(columnsPrompt, schemaFormat("s", nestedSchemas["strict_nested"]))
	body["max_completion_tokens"] = 12
	r := post(t, root+"/v1/chat/completions", body)
	c, finish := content(t, r)
	var resp struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	_ = json.Unmarshal(r.body, &resp)
	if finish != "length" || resp.Usage.CompletionTokens > 12 || json.Valid([]byte(c)) {
		t.Errorf("finish %q, %d completion tokens, content %q: want length, <= 12, cut JSON", finish, resp.Usage.CompletionTokens, c)
	}
}

func TestPromptCaching(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	system := strings.Repeat("Write for business readers; name columns exactly; never invent tables. ", 120)
	ask := func(user string) (prompt, cached int) {
		body := chatBody(user, nil)
		body["messages"].([]any)[0] = map[string]any{"role": "system", "content": system}
		var resp struct {
			Usage struct {
				PromptTokens        int `json:"prompt_tokens"`
				PromptTokensDetails struct {
					CachedTokens int `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
		}
		r := post(t, root+"/v1/chat/completions", body)
		if err := json.Unmarshal(r.body, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.Usage.PromptTokens, resp.Usage.PromptTokensDetails.CachedTokens
	}
	if _, cached := ask("Document model `a_one`."); cached != 0 {
		t.Errorf("first request reports %d cached tokens, want 0", cached)
	}
	prompt, cached := ask("Document model `b_two`.")
	if cached < 1024 || cached%128 != 0 || cached >= prompt {
		t.Errorf("second request with the same system prompt: cached %d of %d, want >= 1024, a multiple of 128, less than the prompt", cached, prompt)
	}
	_, shortCached := func() (int, int) {
		r := post(t, root+"/v1/chat/completions", chatBody("short", nil))
		_ = r
		r = post(t, root+"/v1/chat/completions", chatBody("short", nil))
		var resp struct {
			Usage struct {
				PromptTokensDetails struct {
					CachedTokens int `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
		}
		_ = json.Unmarshal(r.body, &resp)
		return 0, resp.Usage.PromptTokensDetails.CachedTokens
	}()
	if shortCached != 0 {
		t.Errorf("a repeated prompt under 1024 tokens reports %d cached tokens, want 0", shortCached)
	}
}

func TestRequestLimitIsEnforcedPerSecond(t *testing.T) {
	clock := &frozenClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv, root := startServer(t, fakellm.Config{RPM: 600, Now: clock.Now})
	const n = 30
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = post(t, root+"/v1/chat/completions", chatBody("hello", nil)) })
	}
	wg.Wait()
	ok, limited := 0, 0
	for _, r := range replies {
		switch r.status {
		case 200:
			ok++
			if r.header.Get("x-ratelimit-limit-requests") != "600" || r.header.Get("x-ratelimit-remaining-requests") == "" || r.header.Get("x-ratelimit-reset-requests") == "" {
				t.Errorf("200 without x-ratelimit headers: %v", r.header)
			}
		case 429:
			limited++
			checkRateLimited(t, r, "requests", "requests per min (RPM): Limit 600, Used 10, Requested 1.")
			if got := r.header.Get("x-ratelimit-remaining-requests"); got != "590" {
				t.Errorf("x-ratelimit-remaining-requests = %s, want 590", got)
			}
			if got := r.header.Get("x-ratelimit-reset-requests"); got != "1s" {
				t.Errorf("x-ratelimit-reset-requests = %s, want 1s (ten requests at 10/s)", got)
			}
			if got := r.header.Get("retry-after-ms"); got != "100" {
				t.Errorf("retry-after-ms = %s, want 100 (one request at 10/s)", got)
			}
		default:
			t.Errorf("unexpected status %d: %s", r.status, r.body)
		}
	}
	// RPM 600 allows one second's share at once (10), not a minute's (600).
	if ok != 10 || limited != n-10 {
		t.Errorf("%d ok and %d rate limited, want 10 and %d", ok, limited, n-10)
	}
	if s := srv.Stats(); s.RateLimited != int64(n-10) || s.RateLimitedRequests != int64(n-10) || s.Requests != n || s.ByStatus["429"] != int64(n-10) {
		t.Errorf("stats: %+v", s)
	}
	clock.Add(500 * time.Millisecond)
	okAfter := 0
	for range 10 {
		if post(t, root+"/v1/chat/completions", chatBody("hello", nil)).status == 200 {
			okAfter++
		}
	}
	if okAfter != 5 {
		t.Errorf("half a second later %d requests passed, want 5", okAfter)
	}
}

func checkRateLimited(t *testing.T, r reply, kind, msgPart string) {
	t.Helper()
	var body struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    string  `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	e := body.Error
	if e.Type != kind || e.Code != "rate_limit_exceeded" || e.Param != nil ||
		!strings.HasPrefix(e.Message, "Rate limit reached for gpt-4o-mini in organization org-fakellm on "+msgPart) ||
		!strings.Contains(e.Message, ". Please try again in ") {
		t.Errorf("429 body: %s", r.body)
	}
	ms, err := strconv.Atoi(r.header.Get("retry-after-ms"))
	if err != nil || ms <= 0 {
		t.Errorf("retry-after-ms = %q", r.header.Get("retry-after-ms"))
	}
	sec, err := strconv.Atoi(r.header.Get("retry-after"))
	if err != nil || sec*1000 < ms {
		t.Errorf("retry-after = %q with retry-after-ms %d", r.header.Get("retry-after"), ms)
	}
	for _, h := range []string{"reset-requests", "reset-tokens"} {
		if v := r.header.Get("x-ratelimit-" + h); v != "" {
			if _, err := time.ParseDuration(v); err != nil {
				t.Errorf("x-ratelimit-%s = %q is not a Go duration", h, v)
			}
		}
	}
}

func TestTokenLimit(t *testing.T) {
	clock := &frozenClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv, root := startServer(t, fakellm.Config{TPM: 60_000, Now: clock.Now}) // 1,000 tokens a second
	body := chatBody("hello", nil)
	body["max_tokens"] = 300 // costs prompt tokens + 300
	codes := []int{}
	var last reply
	for range 5 {
		last = post(t, root+"/v1/chat/completions", body)
		codes = append(codes, last.status)
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Fatalf("statuses %v, want three within the second's 1,000 tokens", codes)
	}
	checkRateLimited(t, last, "tokens", "tokens per min (TPM): Limit 60000, Used ")
	if last.header.Get("x-ratelimit-limit-tokens") != "60000" {
		t.Errorf("x-ratelimit-limit-tokens = %q", last.header.Get("x-ratelimit-limit-tokens"))
	}
	// Only the three admitted requests debit the limit: their prompt and
	// their max_tokens, whatever their answers used.
	if s := srv.Stats(); s.RateLimitedTokens != 2 || s.ReservedTokens != s.PromptTokens+3*300 {
		t.Errorf("rate_limited_tokens = %d (want 2), reserved_tokens = %d (want prompt %d + 3 × 300)", s.RateLimitedTokens, s.ReservedTokens, s.PromptTokens)
	} else if n := len(s.PerSecond); n != 1 || s.PerSecond[0].Reserved != s.ReservedTokens {
		t.Errorf("per-second reserved tokens %+v, want one second holding %d", s.PerSecond, s.ReservedTokens)
	}

	body["max_tokens"] = 100_000
	r := post(t, root+"/v1/chat/completions", body)
	if r.status != 429 || !strings.Contains(string(r.body), "Request too large for gpt-4o-mini") || !strings.Contains(string(r.body), `"type":"tokens"`) {
		t.Errorf("a request above the whole TPM limit: %d %s", r.status, r.body)
	}
}

func apiErrorBody(t *testing.T, r reply) string {
	t.Helper()
	return strings.TrimSpace(string(r.body))
}

func TestFaults(t *testing.T) {
	srv, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	cases := []struct {
		name   string
		faults fakellm.Faults
		status int
		body   string
	}{
		{"auth_fail", fakellm.Faults{AuthFail: true}, 401,
			`{"error":{"message":"Incorrect API key provided: sk-************cdef. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`},
		{"quota", fakellm.Faults{Quota: true}, 429,
			`{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`},
		{"fail_rate", fakellm.Faults{FailRate: 1}, 500,
			`{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.SetFaults(tc.faults)
			r := post(t, url, chatBody("hello", nil), "Authorization", "Bearer sk-0123456789abcdef")
			if r.status != tc.status || apiErrorBody(t, r) != tc.body {
				t.Errorf("got %d %s\nwant %d %s", r.status, r.body, tc.status, tc.body)
			}
			if r.header.Get("retry-after") != "" {
				t.Errorf("%s should carry no retry-after", tc.name)
			}
		})
	}

	t.Run("malformed", func(t *testing.T) {
		srv.SetFaults(fakellm.Faults{MalformedRate: 1})
		c, finish := content(t, post(t, url, chatBody("Document model `x_y`.", schemaFormat("s", nestedSchemas["strict_nested"]))))
		if json.Valid([]byte(c)) || finish != "stop" {
			t.Errorf("malformed answer is valid JSON or finish %q: %s", finish, c)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		srv.SetFaults(fakellm.Faults{TruncateRate: 1})
		c, finish := content(t, post(t, url, chatBody("Document model `x_y`.", schemaFormat("s", nestedSchemas["strict_nested"]))))
		if json.Valid([]byte(c)) || finish != "length" || !strings.HasPrefix(c, "{") {
			t.Errorf("truncated answer: finish %q: %s", finish, c)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		srv.SetFaults(fakellm.Faults{TimeoutRate: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		_, err := http.DefaultClient.Do(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a hanging request should end with the client's deadline, got %v", err)
		}
		waitFor(t, func() bool { return srv.Stats().ClientGoneAway == 1 })
	})
	srv.SetFaults(fakellm.Faults{})
	s := srv.Stats()
	want := map[string]int64{"auth_fail": 1, "quota": 1, "server_error": 1, "malformed": 1, "truncate": 1, "timeout": 1}
	for k, v := range want {
		if s.FaultsByKind[k] != v {
			t.Errorf("faults_by_kind[%s] = %d, want %d", k, s.FaultsByKind[k], v)
		}
	}
	if s.Faults != 6 || s.RateLimited != 0 || s.ByStatus["401"] != 1 || s.ByStatus["500"] != 1 || s.ByStatus["429"] != 1 {
		t.Errorf("stats: %+v", s)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached in 5s")
}

func TestAPIKey(t *testing.T) {
	srv, root := startServer(t, fakellm.Config{APIKey: "sk-right-key-123456"})
	url := root + "/v1/chat/completions"
	r := post(t, url, chatBody("hi", nil))
	if r.status != 401 || !strings.Contains(string(r.body), "You didn't provide an API key.") {
		t.Errorf("no key: %d %s", r.status, r.body)
	}
	r = post(t, url, chatBody("hi", nil), "Authorization", "Bearer sk-wrong-key-999999")
	if r.status != 401 || r.json(t)["error"].(map[string]any)["code"] != "invalid_api_key" || strings.Contains(string(r.body), "wrong-key") {
		t.Errorf("wrong key: %d %s", r.status, r.body)
	}
	if r := post(t, url, chatBody("hi", nil), "Authorization", "Bearer sk-right-key-123456"); r.status != 200 {
		t.Errorf("right key: %d %s", r.status, r.body)
	}
	if s := srv.Stats(); s.Unauthorized != 2 || s.Faults != 0 {
		t.Errorf("unauthorized %d, faults %d; want 2, 0", s.Unauthorized, s.Faults)
	}
}

func TestFaultsAreDeterministicUnderASeed(t *testing.T) {
	run := func(seed int64) string {
		_, root := startServer(t, fakellm.Config{Seed: seed, Faults: fakellm.Faults{FailRate: 0.5}})
		var b strings.Builder
		for range 40 {
			b.WriteString(strconv.Itoa(post(t, root+"/v1/chat/completions", chatBody("hi", nil)).status / 100))
		}
		return b.String()
	}
	a, again, other := run(7), run(7), run(8)
	if a != again {
		t.Errorf("seed 7 gave %s then %s", a, again)
	}
	if a == other {
		t.Errorf("seeds 7 and 8 gave the same faults %s", a)
	}
	if n := strings.Count(a, "5"); n < 8 || n > 32 {
		t.Errorf("fail_rate 0.5 failed %d of 40", n)
	}
}

func TestControlEndpoint(t *testing.T) {
	srv, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	r := post(t, root+"/control", `{"quota": true, "fail_rate": 0.25, "latency": "5ms", "jitter": 2, "rpm": 120, "tpm": 9000}`)
	if r.status != 200 {
		t.Fatalf("control: %d %s", r.status, r.body)
	}
	st := r.json(t)
	if st["quota"] != true || st["fail_rate"] != 0.25 || st["latency"] != "5ms" || st["jitter"] != "2ms" || st["rpm"] != 120.0 || st["tpm"] != 9000.0 {
		t.Errorf("state after control: %s", r.body)
	}
	if r := post(t, url, chatBody("hi", nil)); r.status != 429 || !strings.Contains(string(r.body), "insufficient_quota") {
		t.Errorf("after quota: %d %s", r.status, r.body)
	}
	post(t, root+"/control", `{"quota": false, "auth_fail": true}`)
	if r := post(t, url, chatBody("hi", nil)); r.status != 401 {
		t.Errorf("after auth_fail: %d %s", r.status, r.body)
	}
	post(t, root+"/control", `{"auth_fail": false, "fail_rate": 0, "timeout_rate": 0, "malformed_rate": 0, "truncate_rate": 0, "latency": 0, "jitter": "0s", "rpm": 0, "tpm": 0}`)
	if r := post(t, url, chatBody("hi", nil)); r.status != 200 || r.header.Get("x-ratelimit-limit-requests") != "" {
		t.Errorf("after clearing: %d %v", r.status, r.header)
	}
	if s := srv.Stats(); s.Requests != 3 {
		t.Errorf("requests = %d before reset, want 3", s.Requests)
	}
	post(t, root+"/control", `{"reset_stats": true}`)
	if s := getStats(t, root); s.Requests != 0 || s.Faults != 0 || len(s.ByStatus) != 0 {
		t.Errorf("stats after reset_stats: %+v", s)
	}
	for _, bad := range []string{`{"fail_rate": 2}`, `{"rpm": -1}`, `{"latency": "soon"}`, `{"retry": true}`, `not json`} {
		if r := post(t, root+"/control", bad); r.status != 400 || !strings.Contains(string(r.body), "Bad control request") {
			t.Errorf("control %s: %d %s", bad, r.status, r.body)
		}
	}
	resp, err := http.Get(root + "/control")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /control: %d", resp.StatusCode)
	}
}

func TestStats(t *testing.T) {
	_, root := startServer(t, fakellm.Config{Latency: 20 * time.Millisecond})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { post(t, root+"/v1/chat/completions", chatBody("Document model `fct_orders`.", nil)) })
	}
	wg.Wait()
	post(t, root+"/v1/chat/completions", `{"model":`)
	resp, err := http.Get(root + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"requests", "rate_limited", "faults", "prompt_tokens", "completion_tokens", "by_status", "max_concurrent", "per_second"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("stats lack %q: %v", k, raw)
		}
	}
	s := getStats(t, root)
	var perSecond int64
	for _, c := range s.PerSecond {
		perSecond += c.Requests
	}
	if s.Requests != 9 || s.Succeeded != 8 || s.BadRequests != 1 || s.ByStatus["200"] != 8 || s.ByStatus["400"] != 1 ||
		s.PromptTokens == 0 || s.CompletionTokens == 0 || s.MaxConcurrent < 1 || s.InFlight != 0 || perSecond != 9 {
		t.Errorf("stats: %+v", s)
	}
}

func TestBadRequests(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	cases := map[string]string{
		`{"model":`: "We could not parse the JSON body of your request.",
		`{"messages":[{"role":"user","content":"hi"}]}`: "you must provide a model parameter",
		`{"model":"m"}`: "Missing required parameter: 'messages'.",
		`{"model":"m","messages":[{"role":"robot","content":"hi"}]}`:                                         "Invalid value: 'robot'.",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`:                           "Invalid 'max_tokens': integer below minimum value.",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}`:         "Invalid value: 'xml'.",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}`: "Missing required parameter: 'response_format.json_schema'.",
	}
	for body, want := range cases {
		r := post(t, url, body)
		if r.status != 400 || !strings.Contains(string(r.body), want) || !strings.Contains(string(r.body), `"type":"invalid_request_error"`) {
			t.Errorf("%s: %d %s, want 400 with %q", body, r.status, r.body, want)
		}
	}
	resp, err := http.Get(root + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var models struct {
		Object string `json:"object"`
		Data   []struct{ ID, Object string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&models); err != nil || models.Object != "list" || len(models.Data) == 0 || models.Data[0].Object != "model" {
		t.Errorf("GET /v1/models: %v %+v", err, models)
	}
}

func TestLatencyHonoursCancellation(t *testing.T) {
	srv, root := startServer(t, fakellm.Config{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", root+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the client's deadline", err)
	}
	waitFor(t, func() bool { s := srv.Stats(); return s.ClientGoneAway == 1 && s.InFlight == 0 })
}

// TestHoldAdmitsOneCallAtATime: a held server answers exactly the calls
// admitted, counts who waits, and lets everything go on Unhold.
func TestHoldAdmitsOneCallAtATime(t *testing.T) {
	srv, root := startServer(t, fakellm.Config{})
	srv.Hold()
	t.Cleanup(srv.Unhold)
	answered := make(chan int, 3)
	for range 3 {
		go func() {
			answered <- post(t, root+"/v1/chat/completions", chatBody("hi", nil)).status
		}()
	}
	waitFor(t, func() bool { w, _ := srv.Held(); return w == 3 })
	srv.Admit(1)
	if got := <-answered; got != 200 {
		t.Fatalf("admitted call: status %d", got)
	}
	waitFor(t, func() bool { w, p := srv.Held(); return w == 2 && p == 0 })
	select {
	case got := <-answered:
		t.Fatalf("a call not admitted was answered (status %d)", got)
	case <-time.After(100 * time.Millisecond):
	}
	srv.Unhold()
	for range 2 {
		if got := <-answered; got != 200 {
			t.Fatalf("released call: status %d", got)
		}
	}
	if w, _ := srv.Held(); w != 0 {
		t.Errorf("%d still waiting after Unhold", w)
	}
}
