package retry

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// thinker is a reasoning model that spends `spends` tokens thinking: a cap
// at or below that comes back empty, as OpenAI answers it.
type thinker struct {
	spends int
	mu     sync.Mutex
	caps   []int
}

func (t *thinker) Provider() string { return "openai" }

func (t *thinker) Write(_ context.Context, req writer.Request) (writer.Result, error) {
	t.mu.Lock()
	t.caps = append(t.caps, req.MaxTokens)
	t.mu.Unlock()
	if req.MaxTokens <= t.spends {
		u := writer.Usage{PromptTokens: 100, CompletionTokens: int64(req.MaxTokens), ReasoningTokens: int64(req.MaxTokens)}
		return writer.Result{Usage: u, FinishReason: "length"}, &writer.Error{Kind: writer.ReasoningExhausted, Provider: "openai",
			Message: "spent its whole output budget of " + itoa(req.MaxTokens) + " tokens on reasoning: lower --reasoning-effort"}
	}
	u := writer.Usage{PromptTokens: 100, CompletionTokens: int64(t.spends + 50), ReasoningTokens: int64(t.spends)}
	return writer.Result{Content: `{"ok":true}`, Usage: u, FinishReason: "stop"}, nil
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestReasoningExhaustedRetriesOnceWithALargerCap(t *testing.T) {
	for _, c := range []struct {
		name       string
		spends     int
		maxRetries int
		wantCaps   []int
		wantErr    bool
	}{
		{"the doubled cap leaves room", 600, 0, []int{400, 800}, false},
		// Not a transient retry: a job that asked for none still gets it.
		{"without transient retries", 600, -1, []int{400, 800}, false},
		{"still too small: fail after one retry", 5000, 0, []int{400, 800}, true},
		{"bounded", writer.MaxOutputTokens, 0, []int{70_000, writer.MaxOutputTokens}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h harness
			inner := &thinker{spends: c.spends}
			w := New(inner, h.config(Config{MaxRetries: c.maxRetries}))
			req := writer.Request{Layer: "executive_summary", Model: "gpt-5-mini", MaxTokens: c.wantCaps[0], ReasoningEffort: "low"}
			_, err := w.Write(t.Context(), req)
			if !equalInts(inner.caps, c.wantCaps) {
				t.Errorf("caps sent = %v, want %v", inner.caps, c.wantCaps)
			}
			if len(h.sleeps) != 0 {
				t.Errorf("slept %v before asking with a larger cap", h.sleeps)
			}
			if !c.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if writer.KindOf(err) != writer.ReasoningExhausted {
				t.Fatalf("err = %v, want %s", err, writer.ReasoningExhausted)
			}
			msg := err.Error()
			for _, s := range []string{"budget of " + itoa(c.wantCaps[1]) + " tokens", "cap of " + itoa(c.wantCaps[0]) + " tokens", "--reasoning-effort"} {
				if !strings.Contains(msg, s) {
					t.Errorf("message lacks %q: %s", s, msg)
				}
			}
			if len(h.attempts) != 2 || h.attempts[1].Usage.ReasoningTokens != int64(c.wantCaps[1]) {
				t.Errorf("attempts = %+v, want 2 with the reasoning tokens of each", h.attempts)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
