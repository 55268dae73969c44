package openaiwriter

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/writer"
	wt "github.com/modeldoc/modeldoc/internal/writer/writertest"
)

// startFake runs the project's fake OpenAI-compatible server on a real port.
func startFake(t *testing.T, cfg fakellm.Config) *fakellm.Server {
	t.Helper()
	s := fakellm.New(cfg)
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func fakeWriter(t *testing.T, s *fakellm.Server, cfg Config) *Writer {
	t.Helper()
	cfg.APIKey, cfg.BaseURL = wt.Key, s.BaseURL()
	if cfg.Timeout == 0 {
		cfg.Timeout = wt.Timeout
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestAgainstFakeLLM(t *testing.T) {
	s := startFake(t, fakellm.Config{APIKey: wt.Key, RPM: 6000, TPM: 10_000_000})
	for _, mode := range []struct {
		name string
		cfg  Config
	}{
		{"json_schema", Config{}},
		{"json_object", Config{JSONMode: true}},
		{"max_completion_tokens", Config{MaxTokensParam: "max_completion_tokens"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			w := fakeWriter(t, s, mode.cfg)
			req := wt.Request()
			req.Model = "gpt-4.1-mini"
			res, err := w.Write(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(res.Content), &v); err != nil {
				t.Fatalf("content is not a JSON object: %v\n%s", err, res.Content)
			}
			if _, ok := v["summary"].(string); !ok {
				t.Errorf("content lacks the schema's summary string: %s", res.Content)
			}
			if res.Usage.PromptTokens <= 0 || res.Usage.CompletionTokens <= 0 {
				t.Errorf("usage not reported: %+v", res.Usage)
			}
			if !res.RateLimit.Known || res.RateLimit.LimitRequests != 6000 {
				t.Errorf("rate-limit headers not read: %+v", res.RateLimit)
			}
			if res.FinishReason != "stop" {
				t.Errorf("finish reason %q", res.FinishReason)
			}
		})
	}
}

func TestFakeLLMFaultsClassify(t *testing.T) {
	for _, c := range []struct {
		name   string
		faults fakellm.Faults
		want   writer.Kind
		status int
	}{
		{"auth", fakellm.Faults{AuthFail: true}, writer.AuthFailed, 401},
		{"quota", fakellm.Faults{Quota: true}, writer.QuotaExhausted, 429},
		{"server error", fakellm.Faults{FailRate: 1}, writer.Transient, 500},
		{"malformed", fakellm.Faults{MalformedRate: 1}, writer.Malformed, 200},
		{"truncated", fakellm.Faults{TruncateRate: 1}, writer.Malformed, 200},
		{"timeout", fakellm.Faults{TimeoutRate: 1}, writer.Transient, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startFake(t, fakellm.Config{Faults: c.faults})
			w := fakeWriter(t, s, Config{Timeout: 500 * time.Millisecond})
			_, err := w.Write(t.Context(), wt.Request())
			var we *writer.Error
			if !errors.As(err, &we) {
				t.Fatalf("Write = %v, want a *writer.Error", err)
			}
			if we.Kind != c.want || we.Status != c.status {
				t.Errorf("got %s HTTP %d (%s), want %s HTTP %d", we.Kind, we.Status, we.Message, c.want, c.status)
			}
			if got := s.Stats().Requests; got != 1 {
				t.Errorf("fake served %d requests, want 1", got)
			}
		})
	}
}

func TestFakeLLMRateLimit(t *testing.T) {
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := startFake(t, fakellm.Config{RPM: 60, Now: func() time.Time { return frozen }})
	w := fakeWriter(t, s, Config{})
	for i := 0; i < 100; i++ {
		_, err := w.Write(t.Context(), wt.Request())
		if err == nil {
			continue
		}
		var we *writer.Error
		if !errors.As(err, &we) || we.Kind != writer.RateLimited {
			t.Fatalf("call %d: %v, want RateLimited", i, err)
		}
		if we.RetryAfter <= 0 {
			t.Errorf("RateLimited without a wait: %+v", we)
		}
		if st := s.Stats(); st.RateLimited != 1 || st.Requests != int64(i+1) {
			t.Errorf("stats %+v after %d calls", st, i+1)
		}
		return
	}
	t.Fatal("100 calls against a 60 RPM limit on a frozen clock never got a 429")
}
