package cost

import (
	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/tokens"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// completionShare is the expected size of each layer's answer as a share of
// its MaxTokens (see prompt.MaxTokens). Calibrated in
// TestCompletionCalibration on answers written to the layer instructions
// for Tuva's cms_hcc__int_disease_factors (8 columns, 6 CTEs), compact JSON
// as structured outputs return it: summary 79 tokens, narrative 251,
// 5 cards 501, 4 code blocks 329, 4 rules 228, impact 186, 8 columns 391
// (~49 a column). Models write more loosely than those answers, so each
// share aims about 20% above them. MaxTokens stays 2-3 times larger so
// that a long answer is not cut.
var completionShare = map[modeldoc.Layer]float64{
	modeldoc.LayerExecutiveSummary:    0.32,
	modeldoc.LayerBusinessNarrative:   0.33,
	modeldoc.LayerTransformationCards: 0.38,
	modeldoc.LayerCodeExplanations:    0.25,
	modeldoc.LayerBusinessRules:       0.28,
	modeldoc.LayerImpactAnalysis:      0.28,
	modeldoc.LayerColumnDescriptions:  0.55,
}

// counter remembers the lines it counted: the requests of one model share
// everything but their task, and every model shares the system prompt and
// the schemas, so each is counted once (see tokens.Counter).
var counter = tokens.NewCounter()

// EstimateRequest returns the prompt tokens req will cost, counted exactly
// in o200k_base over its system and user messages as OpenAI's chat format
// frames them, plus its schema (see tokens.SchemaFraming); and the completion
// tokens it is expected to produce (a calibrated share of MaxTokens per
// layer). For Claude, whose tokenizer is not public, the o200k count is an
// estimate too.
func EstimateRequest(req writer.Request) (promptTokens, completionTokens int) {
	promptTokens = tokens.ReplyPriming
	if req.System != "" {
		promptTokens += counter.Message("system", req.System, "")
	}
	promptTokens += counter.Message("user", req.User, "")
	if len(req.Schema) > 0 {
		promptTokens += counter.Schema(string(req.Schema), req.SchemaName)
	}
	share, ok := completionShare[req.Layer]
	if !ok {
		share = 0.5
	}
	completionTokens = int(float64(req.MaxTokens)*share + 0.5)
	return promptTokens, completionTokens
}

// Estimate is the expected size and cost of a set of requests.
type Estimate struct {
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	Cost             float64 `json:"cost"`
	// PriceDate is the date the price used was read (YYYY-MM-DD).
	PriceDate string `json:"price_date,omitempty"`
	// Known is false when the table has no price for the model; Cost is
	// then 0, which means unknown, not free.
	Known bool   `json:"known"`
	Note  string `json:"note,omitempty"`
}

// Estimate returns the expected tokens and cost of sending reqs to
// provider's model. It assumes no prompt-cache hits, so the cost is an
// upper bound for the prompt side. An unknown model gets Known false, Cost
// 0 and a Note saying so: a price is never invented.
func (t *Table) Estimate(provider, model string, reqs []writer.Request) Estimate {
	price, ok := t.Price(provider, model)
	if !ok {
		e := count(reqs)
		e.Note = "No price is known for " + provider + " model " + model + ": the cost cannot be estimated. Give its price (--price-in and --price-out, in USD per million tokens) or add the model to a price file named by MODELDOC_PRICES."
		return e
	}
	return EstimateAt(price, reqs)
}

// EstimateAt returns the expected tokens and cost of reqs at price p (a
// price from a table or one the user gave, see Given).
func EstimateAt(p Price, reqs []writer.Request) Estimate {
	e := count(reqs)
	e.Known = true
	e.PriceDate = p.Taken
	e.Cost = p.Cost(writer.Usage{PromptTokens: e.PromptTokens, CompletionTokens: e.CompletionTokens})
	return e
}

func count(reqs []writer.Request) Estimate {
	var e Estimate
	for _, r := range reqs {
		p, c := EstimateRequest(r)
		e.PromptTokens += int64(p)
		e.CompletionTokens += int64(c)
	}
	return e
}
