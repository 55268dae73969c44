package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/store"
)

// reasoningEnv is an API over st with src uploaded, an OpenAI key
// stored and a fake whose reasoning models spend what reasoning says.
func reasoningEnv(t *testing.T, st *store.Store, src seedSource, reasoning map[string]int) (*env, *fakellm.Server, int64) {
	t.Setenv("MODELDOC_SECRET_KEY", hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	fake := fakellm.New(fakellm.Config{ReasoningTokens: reasoning})
	if _, err := fake.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	e := newEnv(t, st, nil)
	e.must(200, "PUT", "/api/v1/provider-keys/openai", e.adminA, `{"key":"sk-test-0123456789abcdefghijklmnop"}`, nil)
	var up uploadAnswer
	e.must(201, "POST", "/api/v1/projects", e.adminA, src.upload(t), &up)
	return e, fake, up.Project.ID
}

// runJob creates a job from body and follows it to its end.
func (e *env) runJob(t *testing.T, body map[string]any) jobs.Job {
	t.Helper()
	var job jobs.Job
	e.must(201, "POST", "/api/v1/jobs", e.adminA, body, &job)
	stream, err := e.follow(job.ID, e.adminA)
	if err != nil {
		t.Fatal(err)
	}
	evs := drain(t, stream, 3*time.Minute)
	var final jobs.Job
	e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), e.adminA, nil, &final)
	if len(evs) == 0 || evs[len(evs)-1].name != final.Status {
		t.Fatalf("stream ended with %v, job is %s", tail(evs), final.Status)
	}
	return final
}

// The default model through the default setup, against a fake whose
// reasoning alone (2,000 tokens at low effort) is more than any layer's
// answer cap (300 to 1,600 tokens): every layer of every model comes back
// documented, none empty, and the fake refused nothing the real provider
// would refuse (max_tokens, a temperature).
func TestReasoningModelJobDocumentsEveryLayer(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		const low = 2000
		for _, l := range modeldoc.AllLayers {
			if l != modeldoc.LayerColumnDescriptions && prompt.MaxTokens(l, 0) >= low {
				t.Fatalf("%s's cap %d leaves room for the fake's reasoning: the test would prove nothing", l, prompt.MaxTokens(l, 0))
			}
		}
		e, fake, project := reasoningEnv(t, st, src, map[string]int{"low": low})
		job := e.runJob(t, map[string]any{"selection": map[string]any{"project_id": project}, "provider": "openai",
			"model": "gpt-5-mini", "base_url": fake.BaseURL(), "concurrency": 4})
		if job.Status != jobs.StatusCompleted || job.Failed != 0 || job.Partial != 0 || job.Processed == 0 {
			t.Fatalf("job %s: %d processed, %d partial, %d failed (%s)", job.Status, job.Processed, job.Partial, job.Failed, job.Message)
		}
		if job.Options.ReasoningEffort != "" {
			t.Errorf("stored effort %q, want the default left empty", job.Options.ReasoningEffort)
		}
		// Calls per object depend on the call mode (two by default: the
		// model's layers, then its columns); every one of them reasoned.
		s := fake.Stats()
		calls := s.Requests
		if s.BadRequests != 0 || s.EmptyAnswers != 0 || calls < job.Processed || s.ReasoningTokens != low*calls {
			t.Errorf("fake: %d requests (want at least %d), %d refused, %d empty, %d reasoning tokens (want %d)",
				s.Requests, job.Processed, s.BadRequests, s.EmptyAnswers, s.ReasoningTokens, low*calls)
		}
		var items list[jobs.Item]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/items?limit=500", job.ID), e.adminA, nil, &items)
		var ids []int64
		for _, it := range items.Items {
			if it.Status == jobs.ItemDone {
				ids = append(ids, it.ObjectID)
			}
		}
		docs, err := st.CurrentDocVersions(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(docs)) != job.Processed {
			t.Fatalf("%d current versions for %d documented models", len(docs), job.Processed)
		}
		// Objects with no SQL (seeds) are asked only for the layers that
		// fit them; every layer an object has is documented, none empty.
		for id, v := range docs {
			if _, ok := v.LayerStatus[modeldoc.LayerExecutiveSummary]; !ok {
				t.Errorf("object %d has no executive summary", id)
			}
			for l := range v.LayerStatus {
				var m map[string]any
				if st := v.LayerStatus[l]; st.Status != "ok" || json.Unmarshal(v.Layers[l], &m) != nil || len(m) == 0 {
					t.Errorf("object %d layer %s: status %+v, content %s", id, l, st, v.Layers[l])
				}
			}
		}
		// Reasoning tokens are billed as output: inside the completion
		// tokens the job counted, not on top of them.
		if job.CompletionTokens != s.CompletionTokens || job.CompletionTokens <= low*calls {
			t.Errorf("job completion tokens %d, fake's %d (reasoning %d)", job.CompletionTokens, s.CompletionTokens, s.ReasoningTokens)
		}
	})
}

// A job's reasoning effort is stored with it, checked, and sent: at
// medium the fake spends medium's reasoning on every call.
func TestReasoningEffortJobOption(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		e, fake, project := reasoningEnv(t, st, src, map[string]int{"medium": 700})
		base := map[string]any{"selection": map[string]any{"names": []string{src.model}, "project_id": project}, "provider": "openai",
			"model": "gpt-5-mini", "base_url": fake.BaseURL(), "layers": []string{"executive_summary", "business_rules"}}
		for _, bad := range []string{"extreme", "LOW"} {
			body := map[string]any{"reasoning_effort": bad}
			for k, v := range base {
				body[k] = v
			}
			a := e.do("POST", "/api/v1/jobs", e.adminA, body)
			if a.status != 400 || !strings.Contains(a.problem(t).Detail, "minimal, low, medium") {
				t.Errorf("reasoning_effort %q: %d %s, want 400 naming the choices", bad, a.status, a.body)
			}
		}
		claude := map[string]any{"selection": base["selection"], "provider": "anthropic", "reasoning_effort": "high"}
		if a := e.do("POST", "/api/v1/jobs", e.adminA, claude); a.status != 400 || !strings.Contains(a.problem(t).Detail, "extended thinking") {
			t.Errorf("a reasoning effort for anthropic: %d %s, want 400 saying thinking stays off", a.status, a.body)
		}
		base["reasoning_effort"] = "medium"
		job := e.runJob(t, base)
		if job.Status != jobs.StatusCompleted || job.Options.ReasoningEffort != "medium" {
			t.Fatalf("job %s with effort %q (%s)", job.Status, job.Options.ReasoningEffort, job.Message)
		}
		if s := fake.Stats(); s.Requests == 0 || s.ReasoningTokens != s.Requests*700 || s.BadRequests != 0 {
			t.Errorf("fake: %d requests, %d reasoning tokens, %d refused; want every request at medium (700 each)", s.Requests, s.ReasoningTokens, s.BadRequests)
		}
	})
}

// A model that thinks past the raised cap too: the call is asked once more
// with the cap doubled, then the layer fails with a message that says what
// happened and what to change; nothing else is retried.
func TestReasoningExhaustedFailsTheLayerAfterOneRetry(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		e, fake, project := reasoningEnv(t, st, src, map[string]int{"low": 50_000})
		job := e.runJob(t, map[string]any{"selection": map[string]any{"names": []string{src.model}, "project_id": project}, "provider": "openai",
			"model": "gpt-5-mini", "base_url": fake.BaseURL(), "layers": []string{"executive_summary"}})
		if job.Failed != 1 {
			t.Fatalf("job %s: %d failed, want the one model failed (%s)", job.Status, job.Failed, job.Message)
		}
		first := prompt.MaxTokens(modeldoc.LayerExecutiveSummary, 0) + 4096
		var calls list[jobs.GenerationLog]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/logs?kind=calls", job.ID), e.adminA, nil, &calls)
		if calls.Total != 2 || fake.Stats().Requests != 2 || fake.Stats().EmptyAnswers != 2 {
			t.Fatalf("calls: %+v; fake %+v", calls.Items, fake.Stats())
		}
		for i, c := range calls.Items {
			if c.ErrorClass != "reasoning_exhausted" || c.FinishReason != "length" || c.CompletionTokens != int64(first<<i) || c.ReasoningTokens != int64(first<<i) {
				t.Errorf("call %d: %+v, want reasoning_exhausted at length with %d tokens", i+1, c, first<<i)
			}
		}
		var errs list[jobs.ErrorEntry]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/logs?kind=errors", job.ID), e.adminA, nil, &errs)
		msg := ""
		for _, x := range errs.Items {
			msg += x.Message + "\n"
		}
		for _, want := range []string{fmt.Sprintf("spent its whole output budget of %d tokens on reasoning", 2*first),
			fmt.Sprintf("cap of %d tokens", first), "--reasoning-effort"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error log lacks %q:\n%s", want, msg)
			}
		}
	})
}
