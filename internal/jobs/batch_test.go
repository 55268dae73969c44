package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer/openaiwriter"
)

// TestBatchAdoptsABatchWhoseIDWasNeverRecorded: a process that stops after
// the provider took a chunk and before the batch's id was written leaves
// the chunk recorded without it. The next run finds the batch by the key
// in its metadata and polls it: no call is submitted twice.
func TestBatchAdoptsABatchWhoseIDWasNeverRecorded(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		fake := fakellm.New(fakellm.Config{APIKey: "sk-batch"})
		if _, err := fake.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer fake.Close()
		w, err := openaiwriter.New(openaiwriter.Config{APIKey: "sk-batch", BaseURL: fake.BaseURL(), JSONMode: true})
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, s, []string{"a", "b"}, nil)
		manager := func(fault func(int64) error) *Manager {
			m, err := NewManager(context.Background(), Config{
				Store: e.s, Documenter: &scriptDoc{store: e.s},
				Writers:     FixedWriter(w),
				BatchLinger: 50 * time.Millisecond, BatchPoll: 50 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			m.runtime.batchFault = fault
			t.Cleanup(func() { _ = m.Close() })
			return m
		}
		dead := make(chan struct{})
		m1 := manager(func(int64) error {
			select {
			case <-dead:
			default:
				close(dead)
			}
			return errors.New("killed")
		})
		j, err := m1.Create(context.Background(), e.org, CreateRequest{Options: Options{Selection: Selection{ProjectID: e.proj},
			Provider: "openai", Model: "gpt-4o-mini", Concurrency: 8, Batch: true}})
		if err != nil {
			t.Fatal(err)
		}
		if err := m1.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-dead:
		case <-time.After(time.Minute):
			t.Fatal("no chunk was submitted")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = m1.Stop(ctx)
		cancel()
		var unrecorded int
		if err := s.ReadDB().QueryRow(s.Rebind(`SELECT COUNT(*) FROM job_batches WHERE job_id = ? AND batch_id = ''`), j.ID).Scan(&unrecorded); err != nil || unrecorded == 0 {
			t.Fatalf("the chunk without its batch id: %d, %v", unrecorded, err)
		}
		before := fake.BatchStats()

		m2 := manager(nil)
		rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
		defer rcancel()
		done, err := m2.RunJob(rctx, e.org, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != StatusCompleted || done.Processed != done.Total {
			t.Fatalf("after the restart: %+v", done)
		}
		after := fake.BatchStats()
		for id := range before.Submissions {
			if after.Submissions[id] != 1 {
				t.Errorf("%s submitted %d times", id, after.Submissions[id])
			}
		}
		if after.Duplicates != 0 || after.Lines != len(after.Submissions) || len(after.Submissions) != 4 {
			t.Fatalf("the restart submitted again: %+v, then %+v", before, after)
		}
		if err := s.ReadDB().QueryRow(s.Rebind(`SELECT COUNT(*) FROM job_batches WHERE job_id = ? AND batch_id = ''`), j.ID).Scan(&unrecorded); err != nil || unrecorded != 0 {
			t.Fatalf("chunks left without a batch id: %d, %v", unrecorded, err)
		}
		modeldoctest.CheckSpend(t, s.ReadDB())
	})
}

// TestBatchObjectsYieldAndComeBack: an object that waits longer than
// BatchYield for its batch goes back to ready and is picked up again; its
// next run finds its calls recorded and waits for the same batch. Nothing
// is submitted twice and every answer is paid for once: the job's tokens
// are the fake's.
func TestBatchObjectsYieldAndComeBack(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		fake := fakellm.New(fakellm.Config{APIKey: "sk-batch", Batch: fakellm.BatchSettings{Delay: 2 * time.Second}})
		if _, err := fake.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer fake.Close()
		w, err := openaiwriter.New(openaiwriter.Config{APIKey: "sk-batch", BaseURL: fake.BaseURL(), JSONMode: true})
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, s, []string{"a", "b", "c"}, []string{"a>c"})
		m, err := NewManager(context.Background(), Config{
			Store: e.s, Documenter: &scriptDoc{store: e.s},
			Writers:     FixedWriter(w),
			BatchLinger: 50 * time.Millisecond, BatchPoll: 50 * time.Millisecond, BatchYield: 300 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		j, err := m.Create(context.Background(), e.org, CreateRequest{Options: Options{Selection: Selection{ProjectID: e.proj},
			Provider: "openai", Model: "gpt-4o-mini", Concurrency: 8, Batch: true, Layers: testLayers[:1]}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		done, err := m.RunJob(ctx, e.org, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != StatusCompleted || done.Processed != 3 {
			t.Fatalf("job: %+v", done)
		}
		var runs int
		if err := s.ReadDB().QueryRow(s.Rebind(`SELECT MAX(attempts) FROM job_items WHERE job_id = ?`), j.ID).Scan(&runs); err != nil || runs < 2 {
			t.Fatalf("no object yielded (most attempts %d, %v): the test shows nothing", runs, err)
		}
		bs, st := fake.BatchStats(), fake.Stats()
		if bs.Duplicates != 0 || bs.Lines != 3 {
			t.Fatalf("submissions: %+v", bs)
		}
		if done.PromptTokens != st.PromptTokens || done.CompletionTokens != st.CompletionTokens {
			t.Fatalf("the job counted %d/%d tokens, the fake answered %d/%d", done.PromptTokens, done.CompletionTokens, st.PromptTokens, st.CompletionTokens)
		}
		modeldoctest.CheckSpend(t, s.ReadDB())
	})
}
