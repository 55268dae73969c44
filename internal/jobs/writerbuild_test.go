package jobs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// TestWriterBuildFailureIsRetried: a database error while reading the
// organization's key says nothing about the key. The item is tried again
// and the job completes; nothing is recorded as auth_failed.
func TestWriterBuildFailureIsRetried(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, []string{"a", "b"}, nil)
		var builds atomic.Int64
		m, err := NewManager(context.Background(), Config{
			Store:      s,
			Documenter: &scriptDoc{store: s},
			Writers: func(ctx context.Context, j *Job) (WriterStack, error) {
				if builds.Add(1) == 1 {
					return WriterStack{}, &writer.Error{Kind: writer.Transient, Provider: "offline", Message: "the organization's key could not be read: database is locked", Err: errors.New("database is locked")}
				}
				return WriterStack{Writer: e.w}, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		e.m = m
		t.Cleanup(func() { _ = m.Stop(context.Background()); _ = m.Close() })
		j := e.create(Options{Concurrency: 1})
		done := e.run(j.ID)
		if done.Status != StatusCompleted || done.Processed != 2 || done.Failed != 0 {
			t.Fatalf("job %+v", done)
		}
		if builds.Load() < 2 {
			t.Fatalf("the writer was built %d times; the failed build was kept", builds.Load())
		}
		errs, err := m.Errors(context.Background(), e.org, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, er := range errs {
			if er.ErrorClass == string(writer.AuthFailed) {
				t.Errorf("recorded as auth_failed: %+v", er)
			}
		}
		e.checkCounters(done)
	})
}
