package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// TestKeyReadFailureIsTransient: a database error while reading the
// organization's key says nothing about the key, so the job's writer
// factory reports it as transient (the item is tried again), never as a
// refused key.
func TestKeyReadFailureIsTransient(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		org, err := st.EnsureDefaultOrganization(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(ctx, Config{Store: st, NoEnvKeys: true})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if _, err := st.DB().ExecContext(ctx, "ALTER TABLE provider_keys RENAME TO provider_keys_away"); err != nil {
			t.Fatal(err)
		}
		_, err = e.writerStack(ctx, &jobs.Job{ID: 1, OrgID: org.ID, Options: jobs.Options{Provider: "openai", Model: "gpt-4o-mini"}})
		var we *writer.Error
		if !errors.As(err, &we) || we.Kind != writer.Transient {
			t.Fatalf("building the writer with an unreadable key table: %v (%T), want a transient writer error", err, err)
		}
	})
}
