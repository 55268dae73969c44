package openaiwriter

import (
	"fmt"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/writer"
	wt "github.com/modeldoc/modeldoc/internal/writer/writertest"
)

func batchCalls(n int, prefix string) ([]writer.BatchCall, map[string]writer.Request) {
	calls := make([]writer.BatchCall, n)
	byID := map[string]writer.Request{}
	for i := range calls {
		req := wt.Request()
		req.Model = "gpt-4o-mini"
		calls[i] = writer.BatchCall{CustomID: fmt.Sprintf("%s-%d", prefix, i), Request: req}
		byID[calls[i].CustomID] = req
	}
	return calls, byID
}

func TestBatchThroughTheFake(t *testing.T) {
	s := startFake(t, fakellm.Config{APIKey: wt.Key, Batch: fakellm.BatchSettings{Delay: time.Hour, FailRate: 0.3}})
	w := fakeWriter(t, s, Config{})
	calls, byID := batchCalls(20, "c")
	st, err := w.Submit(t.Context(), "k", calls)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID == "" || st.Ended || st.ExpiresAt.IsZero() {
		t.Fatalf("a new batch: %+v", st)
	}
	// Within its delay the batch is still running.
	if st, err = w.Poll(t.Context(), st.ID); err != nil || st.Status != "in_progress" || st.Ended || st.Total != 20 {
		t.Fatalf("poll within the delay: %+v %v", st, err)
	}
	s.SetBatch(fakellm.BatchSettings{FailRate: 0.3})
	if st, err = w.Poll(t.Context(), st.ID); err != nil || st.Status != "completed" || !st.Ended {
		t.Fatalf("poll after the delay: %+v %v", st, err)
	}
	if st.Completed+st.FailedCalls != 20 || st.FailedCalls == 0 || st.Completed == 0 {
		t.Fatalf("a 30%% fail rate over 20 calls: %+v", st)
	}
	res, err := w.Results(t.Context(), st, byID)
	if err != nil {
		t.Fatal(err)
	}
	ok, failed := 0, 0
	for id, r := range res {
		if r.Err != nil {
			if writer.KindOf(r.Err) != writer.Transient {
				t.Errorf("%s: a 500 in the error file is transient, got %v", id, r.Err)
			}
			failed++
			continue
		}
		if r.Result.Content == "" || r.Result.Usage.PromptTokens == 0 {
			t.Errorf("%s: answer without content or usage: %+v", id, r.Result)
		}
		ok++
	}
	if int64(ok) != st.Completed || int64(failed) != st.FailedCalls {
		t.Fatalf("results %d ok, %d failed; the batch said %+v", ok, failed, st)
	}
	if bs := s.BatchStats(); bs.Duplicates != 0 || len(bs.Submissions) != 20 {
		t.Fatalf("batch stats: %+v", bs)
	}
}

func TestBatchCancelAndExpiry(t *testing.T) {
	s := startFake(t, fakellm.Config{APIKey: wt.Key, Batch: fakellm.BatchSettings{Delay: time.Hour}})
	w := fakeWriter(t, s, Config{})
	calls, byID := batchCalls(5, "x")
	st, err := w.Submit(t.Context(), "k", calls)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(t.Context(), st.ID); err != nil {
		t.Fatal(err)
	}
	if st, err = w.Poll(t.Context(), st.ID); err != nil || st.Status != "cancelled" || !st.Ended {
		t.Fatalf("after cancel: %+v %v", st, err)
	}
	res, err := w.Results(t.Context(), st, byID)
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range res {
		if writer.KindOf(r.Err) != writer.Transient {
			t.Errorf("%s of a cancelled batch: want a transient error (never run), got %+v", id, r)
		}
	}
	if s.BatchStats().Cancelled != 1 {
		t.Fatalf("cancel not counted: %+v", s.BatchStats())
	}

	s.SetBatch(fakellm.BatchSettings{ExpireRate: 0.5})
	calls, byID = batchCalls(10, "e")
	if st, err = w.Submit(t.Context(), "k", calls); err != nil {
		t.Fatal(err)
	}
	if st, err = w.Poll(t.Context(), st.ID); err != nil || st.Status != "expired" || !st.Ended {
		t.Fatalf("half expired: %+v %v", st, err)
	}
	res, err = w.Results(t.Context(), st, byID)
	if err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, r := range res {
		if r.Err != nil {
			expired++
		}
	}
	if expired == 0 || expired == 10 || int64(10-expired) != st.Completed {
		t.Fatalf("%d of 10 expired; batch %+v", expired, st)
	}
}

func TestBatchRefusesADuplicateCustomID(t *testing.T) {
	s := startFake(t, fakellm.Config{APIKey: wt.Key})
	w := fakeWriter(t, s, Config{})
	calls, _ := batchCalls(2, "d")
	calls[1].CustomID = calls[0].CustomID
	st, err := w.Submit(t.Context(), "k", calls)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = w.Poll(t.Context(), st.ID); err != nil || st.Status != "failed" || !st.Failed || st.Message == "" {
		t.Fatalf("a file with a duplicate custom id: %+v %v", st, err)
	}
}
