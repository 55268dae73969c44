package generate_test

import (
	"context"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// eventWriter records when each call starts and ends, in order.
type eventWriter struct {
	inner  writer.Writer
	mu     sync.Mutex
	events []string
}

func (e *eventWriter) Provider() string { return e.inner.Provider() }

func (e *eventWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	e.mu.Lock()
	e.events = append(e.events, "start")
	e.mu.Unlock()
	res, err := e.inner.Write(ctx, req)
	e.mu.Lock()
	e.events = append(e.events, "end")
	e.mu.Unlock()
	return res, err
}

// The first call of an object goes alone; the others start once it has
// answered, when the provider has its shared prefix in the cache.
func TestFirstCallGoesAlone(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	svc := newService(t, st)
	_, fw := startFake(t, fakellm.Config{})
	obj := resolve(t, st, orgID, "core__stg_claims_medical_claim")
	for _, mode := range []string{prompt.CallsCombined, prompt.CallsPerLayer} {
		plan, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini", Calls: mode})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Requests) < 2 {
			t.Fatalf("%s: %d requests", mode, len(plan.Requests))
		}
		w := &eventWriter{inner: fw}
		if _, err := svc.Write(ctx, plan, w); err != nil {
			t.Fatal(err)
		}
		if len(w.events) != 2*len(plan.Requests) || w.events[0] != "start" || w.events[1] != "end" {
			t.Errorf("%s: %d requests made calls %v; want the first to end before any other starts", mode, len(plan.Requests), w.events)
		}
	}
}
