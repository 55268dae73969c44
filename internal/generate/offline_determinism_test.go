package generate_test

import (
	"context"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
)

// The offline writer's behaviour of offlinewriter's
// TestDeterministicAndConcurrent (HubSpot, from the shared datasets), on
// examples/shop's planned requests: the same request gives the same text,
// from one writer shared by goroutines (a job writes a model's layers
// concurrently) and from fresh ones.
func TestOfflineWriterDeterministicAndConcurrentOnShop(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, exampleShop)
	svc := newService(t, st)
	objs, _, err := st.ListObjects(ctx, orgID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}})
	if err != nil {
		t.Fatal(err)
	}
	var reqs []writer.Request
	for _, o := range objs {
		plan, err := svc.Plan(ctx, orgID, o.ID, generate.Options{Provider: "offline"})
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, plan.Requests...)
	}
	if len(objs) < 5 || len(reqs) < len(objs) {
		t.Fatalf("%d models, %d requests: too little to test", len(objs), len(reqs))
	}
	w := offlinewriter.New()
	want := make([]string, len(reqs))
	for i, r := range reqs {
		res, err := w.Write(ctx, r)
		if err != nil || res.Content == "" {
			t.Fatalf("%s %s: %q %v", r.Subject.Object.Name, r.Layer, res.Content, err)
		}
		want[i] = res.Content
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fresh := offlinewriter.New()
			for i, r := range reqs {
				for _, ww := range []*offlinewriter.Writer{w, fresh} {
					res, err := ww.Write(ctx, r)
					if err != nil || res.Content != want[i] {
						t.Errorf("%s %s: output differs between calls (err %v)", r.Subject.Object.Name, r.Layer, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
