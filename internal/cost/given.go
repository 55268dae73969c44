package cost

import (
	"math"

	"github.com/modeldoc/modeldoc"
)

// MaxGivenPrice is the largest price a user may give, in USD per million
// tokens: a larger one is a typo (the dearest listed models cost a few
// hundred).
const MaxGivenPrice = 10000

// SourceGiven is the Source of a price the user gave for a run.
const SourceGiven = "given"

// Given is the price a user gave for one run (CLI --price-in and
// --price-out, API price_in and price_out), in USD per million tokens.
// Cached prompt tokens are priced at the input rate, which can only
// overstate the cost.
func Given(in, out float64) Price {
	return Price{Input: in, CachedInput: in, CacheWrite: in, Output: out, Source: SourceGiven}
}

// CheckGiven refuses a given price that is not a number of USD per
// million tokens from 0 to MaxGivenPrice, or only one half of a price:
// a budget needs both sides. inName and outName are the names the user
// typed (flags or JSON fields), for the message.
func CheckGiven(in, out *float64, inName, outName string) error {
	if (in == nil) != (out == nil) {
		return modeldoc.Errorf(modeldoc.EINVALID, "Give both %s and %s (USD per million prompt and completion tokens), or neither.", inName, outName)
	}
	for name, p := range map[string]*float64{inName: in, outName: out} {
		if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0) || *p < 0 || *p > MaxGivenPrice) {
			return modeldoc.Errorf(modeldoc.EINVALID, "%s is %v: give a price in USD per million tokens, from 0 to %d.", name, *p, MaxGivenPrice)
		}
	}
	return nil
}

// Known reports whether the cost of provider's model can be known: the
// offline writer is free, a given price is known, and otherwise the table
// must price the model.
func (t *Table) Known(provider, model string, given *Price) bool {
	if normProvider(provider) == modeldoc.ProviderOffline || given != nil {
		return true
	}
	_, ok := t.Price(provider, model)
	return ok
}

// CheckBudget refuses a budget (USD, 0 for none) on a model whose price is
// unknown: its calls would be counted at $0 and the budget would never
// stop anything. The error (EINVALID) says how to give the price.
func (t *Table) CheckBudget(provider, model string, budget float64, given *Price) error {
	if budget <= 0 || t.Known(provider, model, given) {
		return nil
	}
	return BudgetNeedsPrice(provider, model, budget)
}

// BudgetNeedsPrice is the error of a budget on a model without a price.
func BudgetNeedsPrice(provider, model string, budget float64) error {
	return modeldoc.Errorf(modeldoc.EINVALID,
		"A budget of $%.2f cannot hold on %s model %s: no price is known for it, so its calls would count as $0. "+
			"Give its price in USD per million tokens (CLI --price-in and --price-out; API price_in and price_out), "+
			"or add it to a price file named by MODELDOC_PRICES; or run without a budget.", budget, provider, model)
}
