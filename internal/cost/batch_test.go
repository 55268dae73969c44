package cost

import (
	"math"
	"testing"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// TestBatchPrice: the table's batch prices price a call at half the list
// price on the models that list them, cached tokens included, and a model
// without them has no batch price rather than a guessed one.
func TestBatchPrice(t *testing.T) {
	tab := MustLoad()
	u := writer.Usage{PromptTokens: 10_000, CachedTokens: 4_000, CompletionTokens: 2_000}
	for _, c := range []struct{ provider, model string }{{"openai", "gpt-4o-mini"}, {"openai", "gpt-4.1"}, {"anthropic", "claude-sonnet-4-5"}} {
		p, ok := tab.Price(c.provider, c.model)
		if !ok {
			t.Fatalf("%s not priced", c.model)
		}
		b, ok := p.Batch()
		if !ok {
			t.Fatalf("%s: no batch price", c.model)
		}
		if r := b.Cost(u) / p.Cost(u); math.Abs(r-0.5) > 1e-9 {
			t.Errorf("%s: batch/interactive = %v, want 0.5", c.model, r)
		}
	}
	p, ok := tab.Price("openai", "gpt-5-mini")
	if !ok {
		t.Fatal("gpt-5-mini not priced")
	}
	if b, ok := p.Batch(); ok || b != p {
		t.Errorf("gpt-5-mini has no batch price in the table: got %+v, %v", b, ok)
	}
}
