package generate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
)

const lyingRules = `{"confidence":"high","rules":[{"rule":"Deleted rows are dropped.","codeReference":"where is_deleted_flag_x = false","impact":"Counts exclude them."}]}`

// An answer whose code reference is not in the SQL is asked again once,
// with the finding in the prompt; a grounded re-ask is stored clean.
func TestUngroundedAnswerIsAskedAgainWithTheFindings(t *testing.T) {
	eachPlan(t, func(t *testing.T, svc *generate.Service, plan *generate.Plan, _ *store.Store, _ int64) {
		w := newScript(func(call int, req writer.Request) (writer.Result, error, bool) {
			if req.Layer == modeldoc.LayerBusinessRules && call == 1 {
				return writer.Result{Content: lyingRules, FinishReason: "stop"}, nil, true
			}
			return writer.Result{}, nil, false
		})
		v, err := svc.Write(context.Background(), plan, w)
		if err != nil {
			t.Fatal(err)
		}
		checkAllLayers(t, plan, v, true)
		st := v.LayerStatus[modeldoc.LayerBusinessRules]
		if st.Attempts != 2 || st.Review || len(st.Findings) != 0 {
			t.Errorf("business_rules status %+v, want a clean second attempt", st)
		}
		reqs := w.requests(modeldoc.LayerBusinessRules)
		if len(reqs) != 2 || !strings.Contains(reqs[1].User, "is_deleted_flag_x") || !strings.Contains(reqs[1].User, "not in the model's SQL") {
			t.Fatalf("the re-ask does not carry the finding: %d calls", len(reqs))
		}
		for l, s := range v.LayerStatus {
			if s.Review || len(s.Findings) > 0 {
				t.Errorf("%s flagged: %+v", l, s.Findings)
			}
		}
	})
}

// An answer still ungrounded after the re-ask is kept, with its findings,
// marked for review; never stored as clean.
func TestStillUngroundedIsKeptForReview(t *testing.T) {
	eachPlan(t, func(t *testing.T, svc *generate.Service, plan *generate.Plan, _ *store.Store, _ int64) {
		w := newScript(func(call int, req writer.Request) (writer.Result, error, bool) {
			switch req.Layer {
			case modeldoc.LayerBusinessRules:
				return writer.Result{Content: lyingRules, FinishReason: "stop"}, nil, true
			case modeldoc.LayerExecutiveSummary:
				if call == 2 {
					return writer.Result{}, &writer.Error{Kind: writer.Transient, Provider: "openai", Message: "server error"}, true
				}
				return writer.Result{Content: "{\"grain\":\"\",\"confidence\":\"high\",\"summary\":\"Factors per patient, read from `shadow_factor_table`. It feeds risk scores.\"}", FinishReason: "stop"}, nil, true
			}
			return writer.Result{}, nil, false
		})
		v, err := svc.Write(context.Background(), plan, w)
		if err != nil {
			t.Fatal(err)
		}
		st := v.LayerStatus[modeldoc.LayerBusinessRules]
		if st.Status != "ok" || !st.Review || st.Attempts != 2 || len(st.Findings) != 1 ||
			st.Findings[0].Kind != modeldoc.FindingCodeReference || st.Findings[0].Path != "/rules/0/codeReference" {
			t.Errorf("business_rules status %+v, want ok for review with one code_reference finding", st)
		}
		if string(v.Layers[modeldoc.LayerBusinessRules]) != lyingRules {
			t.Errorf("the flagged answer is not kept: %s", v.Layers[modeldoc.LayerBusinessRules])
		}
		// A re-ask that fails keeps the first answer, flagged.
		st = v.LayerStatus[modeldoc.LayerExecutiveSummary]
		if st.Status != "ok" || !st.Review || len(st.Findings) != 1 || st.Findings[0].Kind != modeldoc.FindingIdentifier {
			t.Errorf("executive_summary status %+v, want ok for review with one identifier finding", st)
		}
	})
}
