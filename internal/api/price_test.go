package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/store"
)

// TestBudgetNeedsAKnownPrice: an estimate for a model the price table
// does not know says price_known false (its cost 0 is unknown, not free);
// a job with a budget on it is refused unless price_in and price_out are
// given, which then price the estimate and the job.
func TestBudgetNeedsAKnownPrice(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		setTestSecretKey(t, st)
		e := newEnv(t, st, nil)
		var up uploadAnswer
		e.must(201, "POST", "/api/v1/projects", e.adminA, src.upload(t), &up)
		body := func(model, extra string) string {
			return fmt.Sprintf(`{"selection":{"project_id":%d},"provider":"openai","model":%q%s}`, up.Project.ID, model, extra)
		}
		type estimate struct {
			Cost       float64 `json:"estimated_cost"`
			Prompt     int64   `json:"estimated_prompt_tokens"`
			PriceKnown *bool   `json:"price_known"`
			PriceGiven bool    `json:"price_given"`
		}

		var known estimate
		e.must(200, "POST", "/api/v1/jobs/estimate", e.memberA, body("gpt-4o-mini", ""), &known)
		if known.PriceKnown == nil || !*known.PriceKnown || known.Cost <= 0 || known.PriceGiven {
			t.Errorf("estimate of a priced model: %+v", known)
		}
		var unknown estimate
		e.must(200, "POST", "/api/v1/jobs/estimate", e.memberA, body("llama3.1:8b", ""), &unknown)
		if unknown.PriceKnown == nil || *unknown.PriceKnown || unknown.Cost != 0 || unknown.Prompt == 0 {
			t.Errorf("estimate of an unpriced model: %+v (want price_known false, cost 0, tokens counted)", unknown)
		}
		var given estimate
		e.must(200, "POST", "/api/v1/jobs/estimate", e.memberA, body("llama3.1:8b", `,"price_in":0.2,"price_out":0.8`), &given)
		if given.PriceKnown == nil || !*given.PriceKnown || !given.PriceGiven || given.Cost <= 0 {
			t.Errorf("estimate with a given price: %+v", given)
		}
		if want := float64(given.Prompt) * 0.2 / 1e6; given.Cost < want {
			t.Errorf("given-price cost %v is less than its prompt side %v", given.Cost, want)
		}

		refused := e.do("POST", "/api/v1/jobs", e.adminA, body("llama3.1:8b", `,"budget":5`))
		if refused.status != 400 {
			t.Fatalf("a budget on an unpriced model: %d %s", refused.status, refused.body)
		}
		if d := refused.problem(t).Detail; !strings.Contains(d, "price_in") || !strings.Contains(d, "llama3.1:8b") {
			t.Errorf("the refusal does not say how to give the price: %s", d)
		}
		half := e.do("POST", "/api/v1/jobs", e.adminA, body("llama3.1:8b", `,"budget":5,"price_in":0.2`))
		if half.status != 400 || !strings.Contains(half.problem(t).Detail, "price_out") {
			t.Errorf("half a price: %d %s", half.status, half.body)
		}
		negative := e.do("POST", "/api/v1/jobs/estimate", e.adminA, body("llama3.1:8b", `,"price_in":-1,"price_out":1`))
		if negative.status != 400 {
			t.Errorf("a negative price: %d %s", negative.status, negative.body)
		}

		var job struct {
			ID            int64   `json:"id"`
			EstimatedCost float64 `json:"estimated_cost"`
			PriceKnown    bool    `json:"price_known"`
			Options       struct {
				PriceIn  *float64 `json:"price_in"`
				PriceOut *float64 `json:"price_out"`
			} `json:"options"`
		}
		e.must(201, "POST", "/api/v1/jobs", e.adminA, body("llama3.1:8b", `,"budget":5,"price_in":0.2,"price_out":0.8`), &job)
		if !job.PriceKnown || job.EstimatedCost != given.Cost || job.Options.PriceIn == nil || *job.Options.PriceIn != 0.2 || job.Options.PriceOut == nil || *job.Options.PriceOut != 0.8 {
			t.Errorf("job with a given price: %+v (estimate %v)", job, given.Cost)
		}
		var unpriced struct {
			PriceKnown *bool `json:"price_known"`
		}
		e.must(201, "POST", "/api/v1/jobs", e.adminA, body("llama3.1:8b", ""), &unpriced)
		if unpriced.PriceKnown == nil || *unpriced.PriceKnown {
			t.Errorf("a job without budget on an unpriced model: price_known %v, want false", unpriced.PriceKnown)
		}
	})
}
