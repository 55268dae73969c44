package generate_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// eventWriter records when each call starts and ends, in order, with the
// prefix it can share (its cache key). Its first call is held until a call
// of another key starts, which happens only if calls that share nothing do
// not wait for each other.
type eventWriter struct {
	inner   writer.Writer
	mu      sync.Mutex
	events  []event
	first   string
	other   chan struct{}
	otherOK sync.Once
}

type event struct {
	key   string
	start bool
}

func (e *eventWriter) Provider() string { return e.inner.Provider() }

func (e *eventWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	key := req.CacheKey()
	e.mu.Lock()
	e.events = append(e.events, event{key, true})
	isFirst := len(e.events) == 1
	if isFirst {
		e.first = key
	} else if key != e.first {
		e.otherOK.Do(func() { close(e.other) })
	}
	e.mu.Unlock()
	if isFirst {
		select {
		case <-e.other:
		case <-time.After(10 * time.Second):
			// Not a timing assertion: the test checks below that a call
			// of another key started while this one was in flight.
		}
	}
	res, err := e.inner.Write(ctx, req)
	e.mu.Lock()
	e.events = append(e.events, event{key, false})
	e.mu.Unlock()
	return res, err
}

// Calls that share a cacheable prefix (one schema and system prompt: a wide
// model's column parts) go one first and the others once it has answered,
// when the provider has the prefix in its cache; calls that share nothing
// (the combined call and the column calls) do not wait for each other.
func TestCallsThatShareAPrefixWaitForTheFirst(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	svc := newService(t, st)
	_, fw := startFake(t, fakellm.Config{})
	obj := resolve(t, st, orgID, "normalized_input__int_undetermined_claim_type") // 143 columns nobody documented: three column parts
	for _, mode := range []string{prompt.CallsCombined, prompt.CallsPerLayer} {
		plan, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini", Calls: mode})
		if err != nil {
			t.Fatal(err)
		}
		perKey := map[string]int{}
		for _, r := range plan.Requests {
			perKey[r.CacheKey()]++
		}
		shared := 0
		for _, n := range perKey {
			if n > 1 {
				shared++
			}
		}
		if len(perKey) < 2 || (mode == prompt.CallsCombined && shared == 0) {
			t.Fatalf("%s: %d requests over %d keys, %d shared; the model no longer exercises both cases", mode, len(plan.Requests), len(perKey), shared)
		}
		w := &eventWriter{inner: fw, other: make(chan struct{})}
		if _, err := svc.Write(ctx, plan, w); err != nil {
			t.Fatal(err)
		}
		if len(w.events) != 2*len(plan.Requests) {
			t.Fatalf("%s: %d events for %d requests", mode, len(w.events), len(plan.Requests))
		}
		// Within a key: no second start before the first end.
		started, ended := map[string]int{}, map[string]int{}
		for _, ev := range w.events {
			if ev.start {
				if started[ev.key] == 1 && ended[ev.key] == 0 {
					t.Errorf("%s: a call of key %s started before the first of its key answered", mode, ev.key[:16])
				}
				started[ev.key]++
			} else {
				ended[ev.key]++
			}
		}
		// Across keys: another key started while the first call was out.
		firstEnd := slices.IndexFunc(w.events, func(ev event) bool { return !ev.start })
		otherStart := slices.IndexFunc(w.events, func(ev event) bool { return ev.start && ev.key != w.first })
		if otherStart < 0 || otherStart > firstEnd {
			t.Errorf("%s: calls that share nothing waited for the first (%v)", mode, w.events)
		}
	}
}
