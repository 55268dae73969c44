package cost

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

func TestGivenPriceEstimatesAnUnknownModel(t *testing.T) {
	tab := MustLoad()
	reqs := goldenRequests(t)
	unknown := tab.Estimate("openai", "llama3.1:8b", reqs)
	if unknown.Known {
		t.Fatalf("llama3.1:8b is priced by the table: %+v", unknown)
	}
	g := Given(0.2, 0.8)
	e := EstimateAt(g, reqs)
	if !e.Known || e.PromptTokens != unknown.PromptTokens || e.CompletionTokens != unknown.CompletionTokens {
		t.Errorf("given-price estimate = %+v, tokens should be the unpriced estimate's %+v", e, unknown)
	}
	if want := (float64(e.PromptTokens)*0.2 + float64(e.CompletionTokens)*0.8) / 1e6; !near(e.Cost, want) || e.Cost == 0 {
		t.Errorf("cost = %v, want %v", e.Cost, want)
	}
	// Cached tokens are charged at the input rate: a given price has no
	// cache discount to invent.
	if c := g.Cost(writer.Usage{PromptTokens: 1_000_000, CachedTokens: 1_000_000}); !near(c, 0.2) {
		t.Errorf("1M cached prompt tokens cost %v, want 0.2", c)
	}
}

func TestBudgetNeedsAPrice(t *testing.T) {
	tab := MustLoad()
	given := Given(1, 2)
	for _, c := range []struct {
		provider, model string
		budget          float64
		given           *Price
		refused         bool
	}{
		{"openai", "gpt-5-mini", 5, nil, false},            // priced by the table
		{"openai", "gpt-5-mini-typo", 5, nil, true},        // a typo
		{"openai", "llama3.1:8b", 5, nil, true},            // self-hosted
		{"openai", "llama3.1:8b", 5, &given, false},        // priced by the user
		{"openai", "llama3.1:8b", 0, nil, false},           // no budget: nothing to hold
		{"anthropic", "claude-opus-9", 0.01, nil, true},    // a new model
		{"offline", "", 5, nil, false},                     // free
		{"OpenAI", "GPT-5-MINI-2025-08-07", 5, nil, false}, // a snapshot of a priced one
	} {
		err := tab.CheckBudget(c.provider, c.model, c.budget, c.given)
		if (err != nil) != c.refused {
			t.Errorf("%s %s budget %v given %v: err = %v, refused want %v", c.provider, c.model, c.budget, c.given, err, c.refused)
			continue
		}
		if err == nil {
			continue
		}
		if modeldoc.ErrorCode(err) != modeldoc.EINVALID {
			t.Errorf("%s %s: code %s, want EINVALID", c.provider, c.model, modeldoc.ErrorCode(err))
		}
		msg := modeldoc.ErrorMessage(err)
		for _, want := range []string{c.model, "--price-in", "--price-out", "price_in", "MODELDOC_PRICES"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s %s: message %q does not say %q", c.provider, c.model, msg, want)
			}
		}
	}
}

func TestPriceFileMakesAModelKnown(t *testing.T) {
	f := filepath.Join(t.TempDir(), "prices.yaml")
	if err := os.WriteFile(f, []byte("models:\n  - {provider: openai, model: llama3.1:8b, input: 0, output: 0}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.CheckBudget("openai", "llama3.1:8b", 5, nil); err != nil {
		t.Errorf("a model priced by the override file (free) is refused a budget: %v", err)
	}
}

func TestCheckGiven(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		in, out *float64
		ok      bool
	}{
		{nil, nil, true},
		{f(0), f(0), true},
		{f(2.5), f(10), true},
		{f(2.5), nil, false},
		{nil, f(10), false},
		{f(-1), f(1), false},
		{f(1), f(math.Inf(1)), false},
		{f(math.NaN()), f(1), false},
		{f(1), f(MaxGivenPrice + 1), false},
	} {
		err := CheckGiven(c.in, c.out, "--price-in", "--price-out")
		if (err == nil) != c.ok {
			t.Errorf("CheckGiven(%v, %v) = %v, ok want %v", c.in, c.out, err, c.ok)
		}
		if err != nil && (modeldoc.ErrorCode(err) != modeldoc.EINVALID || !strings.Contains(modeldoc.ErrorMessage(err), "--price-")) {
			t.Errorf("CheckGiven(%v, %v): %v", c.in, c.out, err)
		}
	}
}
