package quality

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/tokens"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// TestCacheCostReport documents the HubSpot manifest through the fake with
// its prompt cache on (OpenAI's rules: internal/fakellm/cache.go) and logs
// what docs/benchmarks.md keeps for issue 16: the cost billed against the
// floor, and the cached share of the prompt tokens.
//
//	go test -run TestCacheCostReport -v -timeout 30m ./internal/quality
//
// The floor of an object is its shared prefix (the system prompt and the
// model's context, as writer.Request.CachePrefix marks it) billed once at
// the input price, the rest of each of its calls at the input price, and
// every output at the output price: what the object would cost if every
// call after the first read the whole shared prefix from a cache that
// cost nothing. The billed cost is what the fake's usage says: cached
// tokens at the cached price. Token counts come from one run on
// gpt-4o-mini; the other models' rows price the same tokens at their own
// prices, to show what a deeper cache discount makes of them. CALLS_MODE
// (combined or per-layer) picks the job's calls option.
func TestCacheCostReport(t *testing.T) {
	if testing.Short() {
		t.Skip("documents a whole project through the fake")
	}
	ctx := context.Background()
	cat, err := dbt.Load(filepath.Join(dbttest.Dir(t), "fivetran__dbt_hubspot"))
	if err != nil {
		t.Fatal(err)
	}
	Hide(cat)
	run := runThroughFake(t, "fivetran__dbt_hubspot", cat, "sk-cache-report")
	defer run.close()
	st, org, srv, eng, opts, j := run.st, run.org, run.srv, run.eng, run.opts, run.job

	type call struct{ prompt, completion, cached int64 }
	calls := map[int64][]call{}
	rows, err := st.DB().Query(`SELECT object_id, prompt_tokens, completion_tokens, cached_tokens FROM generation_logs WHERE job_id = ?`, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var c call
		if err := rows.Scan(&id, &c.prompt, &c.completion, &c.cached); err != nil {
			t.Fatal(err)
		}
		if c.prompt > 0 {
			calls[id] = append(calls[id], c)
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}

	// The shared prefix of each object as the fake counts it: the system
	// message (start, role, message, text, end) and the opening of the
	// user message (start, role, message) with the model's context.
	shared := map[int64]int64{}
	for id := range calls {
		plan, err := eng.Gen.Plan(ctx, org.ID, id, generate.Options{Provider: "openai", Model: "gpt-4o-mini", Calls: opts.Calls})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Requests) == 0 {
			continue
		}
		r := plan.Requests[0]
		shared[id] = int64(4 + tokens.Count(r.System) + 3 + tokens.Count(r.User[:r.CachePrefix]))
	}

	prices := cost.MustLoad()
	var lines []string
	var prompt, cached, completion, n int64
	for _, cs := range calls {
		for _, c := range cs {
			prompt += c.prompt
			cached += c.cached
			completion += c.completion
			n++
		}
	}
	for _, model := range []string{"gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini"} {
		p, ok := prices.Price("openai", model)
		if !ok {
			t.Fatalf("no price for %s", model)
		}
		var billed, floor float64
		var ratios []float64
		for id, cs := range calls {
			var b, f float64
			for _, c := range cs {
				b += p.Cost(writer.Usage{PromptTokens: c.prompt, CompletionTokens: c.completion, CachedTokens: c.cached})
				rest := max(c.prompt-shared[id], 0)
				f += p.Cost(writer.Usage{PromptTokens: rest, CompletionTokens: c.completion})
			}
			f += p.Cost(writer.Usage{PromptTokens: min(shared[id], cs[0].prompt)})
			billed += b
			floor += f
			ratios = append(ratios, b/f)
		}
		slices.Sort(ratios)
		lines = append(lines, fmt.Sprintf("| %s | %d | %d | %.4f | %.4f | %.3f | %.3f | %.3f |", model, len(calls), n,
			billed/float64(len(calls))*1000, floor/float64(len(calls))*1000, billed/floor, ratios[len(ratios)/2], ratios[len(ratios)-1]))
	}
	// The job records the cached tokens its calls reported, and says what
	// they saved.
	got, err := eng.Jobs.Get(ctx, org.ID, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	mini, _ := prices.Price("openai", "gpt-4o-mini")
	if got.CachedTokens != cached || math.Abs(got.CacheSaved-mini.CacheSaved(cached)) > 1e-12 || (cached > 0) != (got.CacheSaved > 0) {
		t.Errorf("job: %d cached tokens saving $%v; the calls report %d cached tokens, saving $%v", got.CachedTokens, got.CacheSaved, cached, mini.CacheSaved(cached))
	}
	s := srv.Stats()
	t.Logf("hubspot: %d objects, %d calls (fake: %d requests, %d rate limited), %d prompt tokens of which %d cached (%.1f%%), %d completion tokens",
		len(calls), n, s.Requests, s.RateLimited, prompt, cached, 100*float64(cached)/float64(max(prompt, 1)), completion)
	t.Log("\n| priced as | objects | calls | billed $/1k objects | floor $/1k objects | billed/floor | median object | worst object |\n|---|---|---|---|---|---|---|---|\n" + strings.Join(lines, "\n"))
}
