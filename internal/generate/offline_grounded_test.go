package generate_test

import (
	"context"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/ground"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
)

// TestOfflineAnswersAreGroundedOnShop: what the offline writer says of
// examples/shop's models, from the subjects a job plans, passes the
// grounding check with no finding. It names the exposures built on a
// model and the objects they read through; a check that did not know them
// marked true text for review.
func TestOfflineAnswersAreGroundedOnShop(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, exampleShop)
	svc := newService(t, st)
	objs, _, err := st.ListObjects(ctx, orgID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}})
	if err != nil {
		t.Fatal(err)
	}
	w := offlinewriter.New()
	exposed := 0
	for _, o := range objs {
		plan, err := svc.Plan(ctx, orgID, o.ID, generate.Options{Provider: "offline"})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Subject.Exposures) > 0 {
			exposed++
		}
		for _, l := range modeldoc.AllLayers {
			res, err := w.Write(ctx, writer.Request{Layer: l, Subject: plan.Subject})
			if err != nil {
				t.Fatalf("%s %s: %v", o.Name, l, err)
			}
			if f := ground.Check(l, res.Content, plan.Subject); len(f) > 0 {
				t.Errorf("%s %s: findings %+v\n%s", o.Name, l, f, res.Content)
			}
		}
	}
	if exposed == 0 {
		t.Fatal("no shop model has an exposure downstream: the test checks nothing it was written for")
	}
}
