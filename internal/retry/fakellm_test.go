package retry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/ratelimit"
	"github.com/modeldoc/modeldoc/internal/retry"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/openaiwriter"
)

const schema = `{"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"],"additionalProperties":false}`

func request(i int) writer.Request {
	return writer.Request{
		Layer:      modeldoc.Layer("executive_summary"),
		Model:      "gpt-4o-mini",
		System:     "You document dbt models for business readers.",
		User:       fmt.Sprintf("Model: orders_%d\n```sql\nselect * from stg_orders\n```", i),
		SchemaName: "executive_summary",
		Schema:     json.RawMessage(schema),
		MaxTokens:  200,
	}
}

// run is one load test: n calls from callers goroutines through
// retry.Writer → openaiwriter → the fake server on a real port.
type run struct {
	rpm, tpm          int           // the fake's limits and the limiter's
	latency           time.Duration // the fake's
	n, callers        int
	succeeded, failed int
	starts            []time.Time // when each call went out, after the limiter
	elapsed           time.Duration
	stats             fakellm.Stats // as GET /stats reported it
	limiter           ratelimit.Stats
}

func (r *run) do(tb testing.TB) {
	tb.Helper()
	srv := fakellm.New(fakellm.Config{RPM: r.rpm, TPM: r.tpm, Latency: r.latency})
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	ow, err := openaiwriter.New(openaiwriter.Config{APIKey: "test-key", BaseURL: srv.BaseURL(), Timeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	reg := ratelimit.NewRegistry(nil)
	key := ratelimit.Key("openai", srv.BaseURL(), "test-key")
	var mu sync.Mutex
	w := retry.New(ow, retry.Config{
		Limiter:     reg.Get(key, ratelimit.Config{RPM: r.rpm, TPM: r.tpm}),
		BaseBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		// The fake counts prompt + max_tokens, like OpenAI; estimate the
		// prompt generously rather than tokenize in a test.
		Estimate: func(req writer.Request) int { return (len(req.System)+len(req.User))/3 + 20 + req.MaxTokens },
		BeforeCall: func(context.Context, writer.Request) error {
			mu.Lock()
			r.starts = append(r.starts, time.Now())
			mu.Unlock()
			return nil
		},
	})
	var next, ok, bad atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range r.callers {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > r.n {
					return
				}
				if _, err := w.Write(context.Background(), request(i)); err != nil {
					bad.Add(1)
					tb.Errorf("call %d: %v", i, err)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.succeeded, r.failed = int(ok.Load()), int(bad.Load())
	r.limiter = reg.Get(key, ratelimit.Config{}).Stats()

	resp, err := http.Get(srv.URL() + "/stats")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r.stats); err != nil {
		tb.Fatal(err)
	}
}

// callRate is the rate at which calls went out between the first and the
// last, in calls a second.
func (r *run) callRate() float64 {
	first, last := r.starts[0], r.starts[0]
	for _, t := range r.starts {
		if t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return float64(len(r.starts)-1) / last.Sub(first).Seconds()
}

func (r *run) limitedFraction() float64 {
	return float64(r.stats.RateLimited) / float64(r.stats.Requests)
}

func TestAgainstFakeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 10 s of real time")
	}
	t.Parallel()
	// 1200 RPM is 20 calls a second: 200 calls take 10 s, with 20 callers
	// and no latency, so the limit binds all the time.
	r := &run{rpm: 1200, n: 200, callers: 20}
	r.do(t)
	if r.succeeded != r.n || r.failed != 0 {
		t.Fatalf("%d of %d calls succeeded, %d failed", r.succeeded, r.n, r.failed)
	}
	if r.stats.Succeeded != int64(r.n) {
		t.Fatalf("the fake answered %d calls with 200, want %d: %+v", r.stats.Succeeded, r.n, r.stats)
	}
	if f := r.limitedFraction(); f >= 0.05 {
		t.Fatalf("%d of %d requests were answered 429 (%.1f%%), want under 5%%", r.stats.RateLimited, r.stats.Requests, 100*f)
	}
	t.Logf("%d requests, %d answered 429; calls went out at %.2f/s against a ceiling of 20/s; limiter %+v",
		r.stats.Requests, r.stats.RateLimited, r.callRate(), r.limiter)
}

// BenchmarkAgainstFakeLimit is issue 4's "against the limit" figure at the
// level of one key's limiter: 300 calls at 3000 RPM (50 a second) with
// 500 ms latency, first with the request limit binding, then with a token
// limit that binds first. ceiling_fraction is the rate calls went out at
// against the binding ceiling; limited_pct the share answered 429.
func BenchmarkAgainstFakeLimit(b *testing.B) {
	// Each call reserves its prompt (~40 tokens) + 200 max_tokens, so
	// 240,000 TPM allows ~17 calls a second, below the 50 the RPM allows.
	for _, c := range []struct {
		name string
		tpm  int
	}{
		{"requests", 0},
		{"tokens", 240_000},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				r := &run{rpm: 3000, tpm: c.tpm, latency: 500 * time.Millisecond, n: 300, callers: 64}
				r.do(b)
				ceiling := 50.0 // calls a second
				if c.tpm > 0 {
					// What the fake counted per call: prompt + max_tokens.
					perCall := float64(r.stats.PromptTokens)/float64(r.succeeded) + 200
					ceiling = min(ceiling, float64(c.tpm)/60/perCall)
				}
				b.ReportMetric(r.callRate()/ceiling, "ceiling_fraction")
				b.ReportMetric(float64(r.succeeded)/r.elapsed.Seconds(), "calls/s")
				b.ReportMetric(100*r.limitedFraction(), "limited_pct")
				b.ReportMetric(float64(r.stats.RateLimited), "429s")
			}
		})
	}
}
