package anthropicwriter

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/writer"
	wt "github.com/modeldoc/modeldoc/internal/writer/writertest"
)

func startBatchFake(t *testing.T, set fakellm.BatchSettings) (*fakellm.Server, *Writer) {
	t.Helper()
	s := fakellm.New(fakellm.Config{APIKey: wt.Key, Batch: set})
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	w, err := New(Config{APIKey: wt.Key, BaseURL: s.URL(), Timeout: wt.Timeout})
	if err != nil {
		t.Fatal(err)
	}
	return s, w
}

func anthropicCalls(n int, prefix string) ([]writer.BatchCall, map[string]writer.Request) {
	calls := make([]writer.BatchCall, n)
	byID := map[string]writer.Request{}
	for i := range calls {
		req := wt.Request()
		req.Model = "claude-haiku-4-5"
		calls[i] = writer.BatchCall{CustomID: fmt.Sprintf("%s-%d", prefix, i), Request: req}
		byID[calls[i].CustomID] = req
	}
	return calls, byID
}

// TestMessageBatchesThroughTheFake: the requests go inline, the batch is
// in_progress within its delay and ended after it, and each result comes
// back by custom id: the forced tool's input as the answer, with usage,
// or an error for the requests the fake failed.
func TestMessageBatchesThroughTheFake(t *testing.T) {
	s, w := startBatchFake(t, fakellm.BatchSettings{Delay: time.Hour, FailRate: 0.3})
	calls, byID := anthropicCalls(20, "a")
	st, err := w.Submit(t.Context(), "k", calls)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID == "" || st.Ended || st.Status != "in_progress" || st.ExpiresAt.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("a new message batch: %+v", st)
	}
	s.SetBatch(fakellm.BatchSettings{FailRate: 0.3})
	if st, err = w.Poll(t.Context(), st.ID); err != nil || !st.Ended || st.Status != "ended" {
		t.Fatalf("after the delay: %+v %v", st, err)
	}
	if st.Completed == 0 || st.FailedCalls == 0 || st.Completed+st.FailedCalls != 20 {
		t.Fatalf("request counts with a 30%% fail rate: %+v", st)
	}
	res, err := w.Results(t.Context(), st, byID)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for id, r := range res {
		if r.Err != nil {
			if writer.KindOf(r.Err) != writer.Transient {
				t.Errorf("%s: an errored api_error is transient, got %v", id, r.Err)
			}
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(r.Result.Content), &v); err != nil || v["summary"] == nil || r.Result.Usage.PromptTokens == 0 || r.Result.Usage.CompletionTokens == 0 {
			t.Errorf("%s: %+v (%v)", id, r.Result, err)
		}
		ok++
	}
	if int64(ok) != st.Completed {
		t.Fatalf("%d answers, the batch said %d succeeded", ok, st.Completed)
	}
	if bs := s.BatchStats(); bs.Duplicates != 0 || len(bs.Submissions) != 20 {
		t.Fatalf("batch stats: %+v", bs)
	}
}

func TestMessageBatchesCancelAndExpiry(t *testing.T) {
	s, w := startBatchFake(t, fakellm.BatchSettings{Delay: time.Hour})
	calls, byID := anthropicCalls(4, "c")
	st, err := w.Submit(t.Context(), "k", calls)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(t.Context(), st.ID); err != nil {
		t.Fatal(err)
	}
	if st, err = w.Poll(t.Context(), st.ID); err != nil || !st.Ended || st.FailedCalls != 4 {
		t.Fatalf("after cancel: %+v %v", st, err)
	}
	res, err := w.Results(t.Context(), st, byID)
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range res {
		if writer.KindOf(r.Err) != writer.Transient {
			t.Errorf("%s canceled: want a transient error, got %+v", id, r)
		}
	}

	s.SetBatch(fakellm.BatchSettings{ExpireRate: 0.5})
	calls, byID = anthropicCalls(10, "e")
	if st, err = w.Submit(t.Context(), "k", calls); err != nil {
		t.Fatal(err)
	}
	if st, err = w.Poll(t.Context(), st.ID); err != nil || !st.Ended {
		t.Fatalf("expiring batch: %+v %v", st, err)
	}
	if res, err = w.Results(t.Context(), st, byID); err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, r := range res {
		if r.Err != nil {
			expired++
		}
	}
	if expired == 0 || expired == 10 || int64(10-expired) != st.Completed {
		t.Fatalf("%d of 10 expired, batch %+v", expired, st)
	}
}

func TestMessageBatchesRefuseABadCustomID(t *testing.T) {
	_, w := startBatchFake(t, fakellm.BatchSettings{})
	calls, _ := anthropicCalls(1, "not valid!")
	if _, err := w.Submit(t.Context(), "k", calls); writer.KindOf(err) != writer.InvalidRequest {
		t.Fatalf("a custom id outside ^[a-zA-Z0-9_-]{1,64}$: %v", err)
	}
}
