package fakellm_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiktoken-go/tokenizer"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// longSystem is a system prompt well past the 1,024 tokens OpenAI needs
// before it caches anything.
var longSystem = strings.Repeat("Write for business readers; name columns exactly; never invent tables. ", 120)

func cachedBody(system, user string, rf any, key string) map[string]any {
	b := chatBody(user, rf)
	b["messages"].([]any)[0] = map[string]any{"role": "system", "content": system}
	if key != "" {
		b["prompt_cache_key"] = key
	}
	return b
}

type cacheUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func cacheUsageOf(t *testing.T, r reply) cacheUsage {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp struct {
		Usage cacheUsage `json:"usage"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Usage
}

func o200k(t *testing.T, s string) int {
	t.Helper()
	c, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Count(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The cache serves the whole 128-token blocks the two prompts share from
// their start: the system message (start, role, message, content, end)
// and the user message's opening (start, role, message) before the users'
// texts part.
func TestCacheServesWholeBlocksOfTheSharedPrefix(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	if u := cacheUsageOf(t, post(t, url, cachedBody(longSystem, "alpha: document `a_one`.", nil, ""))); u.PromptTokensDetails.CachedTokens != 0 {
		t.Fatalf("first request: %d cached tokens, want 0", u.PromptTokensDetails.CachedTokens)
	}
	u := cacheUsageOf(t, post(t, url, cachedBody(longSystem, "omega: document `b_two`.", nil, "")))
	shared := 4 + o200k(t, longSystem) + 1 + 3
	want := shared / 128 * 128
	if want < 1024 {
		t.Fatalf("test prompt too short: %d shared tokens", shared)
	}
	if u.PromptTokensDetails.CachedTokens != want {
		t.Errorf("cached %d of %d prompt tokens; the prompts share %d tokens, so want %d", u.PromptTokensDetails.CachedTokens, u.PromptTokens, shared, want)
	}
}

func TestCacheNeedsAThousandTokens(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	system := strings.Repeat("Name columns exactly. ", 40) // about 200 tokens
	for range 2 {
		if u := cacheUsageOf(t, post(t, url, cachedBody(system, "document `a_one`.", nil, ""))); u.PromptTokensDetails.CachedTokens != 0 {
			t.Fatalf("a repeated %d-token prompt reports %d cached tokens, want 0", u.PromptTokens, u.PromptTokensDetails.CachedTokens)
		}
	}
}

// Requests sent together all miss: a prefix is cached only once a
// request carrying it has been answered.
func TestCacheIsWrittenWhenTheAnswerIsOut(t *testing.T) {
	srv, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	srv.Hold()
	replies := make([]reply, 3)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() { replies[i] = post(t, url, cachedBody(longSystem, "document `a_one`.", nil, "k")) })
	}
	for {
		if waiting, _ := srv.Held(); waiting == len(replies) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Unhold()
	wg.Wait()
	for i, r := range replies {
		if u := cacheUsageOf(t, r); u.PromptTokensDetails.CachedTokens != 0 {
			t.Errorf("request %d of %d sent together: %d cached tokens, want 0", i+1, len(replies), u.PromptTokensDetails.CachedTokens)
		}
	}
	if u := cacheUsageOf(t, post(t, url, cachedBody(longSystem, "document `a_one`.", nil, "k"))); u.PromptTokensDetails.CachedTokens < 1024 {
		t.Errorf("a request after them: %d cached tokens, want at least 1024", u.PromptTokensDetails.CachedTokens)
	}
}

// A json_schema response format is the prompt's first part: two requests
// with the same messages and different schemas share nothing.
func TestCacheSchemaComesFirst(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	a := schemaFormat("summary", `{"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"],"additionalProperties":false}`)
	b := schemaFormat("columns", `{"type":"object","properties":{"columns":{"type":"string"}},"required":["columns"],"additionalProperties":false}`)
	cacheUsageOf(t, post(t, url, cachedBody(longSystem, "document `a_one`.", a, "")))
	if u := cacheUsageOf(t, post(t, url, cachedBody(longSystem, "document `a_one`.", b, ""))); u.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("same messages, another schema: %d cached tokens, want 0", u.PromptTokensDetails.CachedTokens)
	}
	if u := cacheUsageOf(t, post(t, url, cachedBody(longSystem, "document `b_two`.", a, ""))); u.PromptTokensDetails.CachedTokens < 1024 {
		t.Errorf("same schema and system prompt: %d cached tokens, want at least 1024", u.PromptTokensDetails.CachedTokens)
	}
}

func TestCacheIsPerPromptCacheKey(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	cached := func(key string) int {
		return cacheUsageOf(t, post(t, url, cachedBody(longSystem, "document `a_one`.", nil, key))).PromptTokensDetails.CachedTokens
	}
	if n := cached("object-1"); n != 0 {
		t.Fatalf("first request: %d cached", n)
	}
	if n := cached("object-2"); n != 0 {
		t.Errorf("same prompt under another key: %d cached tokens, want 0", n)
	}
	if n := cached(""); n != 0 {
		t.Errorf("same prompt without a key, after keyed ones only: %d cached tokens, want 0", n)
	}
	if n := cached("object-1"); n < 1024 {
		t.Errorf("same prompt under its first key: %d cached tokens, want at least 1024", n)
	}
	if n := cached(""); n < 1024 {
		t.Errorf("same prompt without a key, after one without: %d cached tokens, want at least 1024", n)
	}
}

func TestCacheEvictsUnusedPrefixes(t *testing.T) {
	clock := &frozenClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, root := startServer(t, fakellm.Config{Now: clock.Now, CacheTTL: 10 * time.Minute})
	url := root + "/v1/chat/completions"
	cached := func() int {
		return cacheUsageOf(t, post(t, url, cachedBody(longSystem, "document `a_one`.", nil, "k"))).PromptTokensDetails.CachedTokens
	}
	cached()
	clock.Add(9 * time.Minute)
	if n := cached(); n < 1024 {
		t.Fatalf("9 minutes later (TTL 10): %d cached tokens, want a hit", n)
	}
	clock.Add(9 * time.Minute) // the hit refreshed the entry
	if n := cached(); n < 1024 {
		t.Fatalf("9 more minutes after a hit: %d cached tokens, want a hit", n)
	}
	clock.Add(11 * time.Minute)
	if n := cached(); n != 0 {
		t.Errorf("11 minutes unused (TTL 10): %d cached tokens, want 0", n)
	}
}

func TestCacheOff(t *testing.T) {
	_, root := startServer(t, fakellm.Config{NoCache: true})
	url := root + "/v1/chat/completions"
	for range 2 {
		if u := cacheUsageOf(t, post(t, url, cachedBody(longSystem, "document `a_one`.", nil, ""))); u.PromptTokensDetails.CachedTokens != 0 {
			t.Fatalf("cache off: %d cached tokens", u.PromptTokensDetails.CachedTokens)
		}
	}
}

func TestPromptCacheKeyIsCheckedAsOpenAIDoes(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	url := root + "/v1/chat/completions"
	if r := post(t, url, cachedBody("s", "u", nil, strings.Repeat("k", 64))); r.status != 200 {
		t.Errorf("a 64-character key: status %d: %s", r.status, r.body)
	}
	r := post(t, url, cachedBody("s", "u", nil, strings.Repeat("k", 65)))
	if r.status != 400 || !strings.Contains(string(r.body), "Invalid 'prompt_cache_key': string too long. Expected a string with maximum length 64, but got a string with length 65 instead.") {
		t.Errorf("a 65-character key: status %d: %s", r.status, r.body)
	}
	b := cachedBody("s", "u", nil, "")
	b["prompt_cache_key"] = 7
	if r := post(t, url, b); r.status != 400 || !strings.Contains(string(r.body), "prompt_cache_key") {
		t.Errorf("a number as key: status %d: %s", r.status, r.body)
	}
}
