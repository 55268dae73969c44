package api

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestReasoningModelTwoCallsBeyondEveryCap: the two-call mode against a
// fake that reasons more than any cap of before, the combined call's sum
// of model-level caps (6,200) included, and more than the low effort's
// allowance on top of a column call's cap: the calls that run out answer
// empty, are asked once more with the cap doubled, and every layer ends
// documented and not empty, with no request OpenAI would refuse.
func TestReasoningModelTwoCallsBeyondEveryCap(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		const low = 7000
		sum := 0
		for _, l := range modeldoc.AllLayers {
			if l != modeldoc.LayerColumnDescriptions {
				sum += prompt.MaxTokens(l, 0)
			}
		}
		if sum >= low {
			t.Fatalf("the combined call's caps (%d) leave room for the fake's reasoning: the test would prove nothing", sum)
		}
		e, fake, project := reasoningEnv(t, st, src, map[string]int{"low": low})
		job := e.runJob(t, map[string]any{"selection": map[string]any{"project_id": project}, "provider": "openai",
			"model": "gpt-5-mini", "base_url": fake.BaseURL(), "concurrency": 4}) // the default calls mode: two calls per model
		if job.Status != jobs.StatusCompleted || job.Failed != 0 || job.Partial != 0 || job.Processed == 0 {
			t.Fatalf("job %s: %d processed, %d partial, %d failed (%s)", job.Status, job.Processed, job.Partial, job.Failed, job.Message)
		}
		// An answer that ran out spent its whole cap on reasoning; the
		// others reasoned low tokens each.
		s := fake.Stats()
		if s.BadRequests != 0 || s.Requests > 3*job.Processed+s.EmptyAnswers || s.ReasoningTokens < low*(s.Requests-s.EmptyAnswers) {
			t.Errorf("fake: %d requests for %d objects, %d refused, %d empty, %d reasoning tokens", s.Requests, job.Processed, s.BadRequests, s.EmptyAnswers, s.ReasoningTokens)
		}
		t.Logf("%d objects: %d requests, %d empty answers asked again, %d refused, %d reasoning and %d completion tokens",
			job.Processed, s.Requests, s.EmptyAnswers, s.BadRequests, s.ReasoningTokens, s.CompletionTokens)
		var items list[jobs.Item]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/items?limit=500", job.ID), e.adminA, nil, &items)
		var ids []int64
		for _, it := range items.Items {
			ids = append(ids, it.ObjectID)
		}
		docs, err := st.CurrentDocVersions(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(docs)) != job.Processed {
			t.Fatalf("%d current versions for %d documented objects", len(docs), job.Processed)
		}
		for id, v := range docs {
			if len(v.LayerStatus) == 0 {
				t.Errorf("object %d has no layer", id)
			}
			for l, ls := range v.LayerStatus {
				var m map[string]any
				if ls.Status != "ok" || json.Unmarshal(v.Layers[l], &m) != nil || len(m) == 0 {
					t.Errorf("object %d layer %s: status %+v, content %s", id, l, ls, v.Layers[l])
				}
			}
		}
	})
}
