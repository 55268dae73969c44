// Package generate documents one object: it builds the prompts for each
// layer, calls a writer for the layers concurrently, validates every answer
// against its schema (asking again once with the validation error), prices
// the calls and returns an unsaved documentation version. Storing it is the
// caller's business, so a job can store the version in the same transaction
// as its item's completion.
package generate

import (
	"encoding/json"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Options choose what to write and with what.
type Options struct {
	Provider string
	Model    string
	// Layers to write; nil means all of modeldoc.AllLayers.
	Layers []modeldoc.Layer
	// OverwriteHuman lets generated column descriptions replace the ones a
	// person wrote. Defaults to false: human text always wins.
	OverwriteHuman bool
	JobID          int64
	// ReasoningEffort is the reasoning_effort asked of a reasoning model;
	// "" means the default (see prompt.Options.ReasoningEffort).
	ReasoningEffort string
	// Calls is how the layers are split into requests: prompt.CallsCombined
	// (the default, "") or prompt.CallsPerLayer. The offline writer always
	// gets one request per layer.
	Calls string
	// Price, when not nil, is the price the user gave for the model (see
	// cost.Given): estimates and costs use it instead of the table's.
	Price *cost.Price
}

// Plan is everything known about one object's documentation before any
// call: the exact requests, the hash of their inputs and their estimate.
type Plan struct {
	Object                    *modeldoc.Object
	Subject                   *writer.Subject
	Requests                  []writer.Request
	InputHash                 string
	ComplexityScore           int
	EstimatedPromptTokens     int64
	EstimatedCompletionTokens int64
	EstimatedCost             float64
	Options                   Options
	// Calls is the number of requests, counted also where the requests
	// are not built (an extrapolated brief).
	Calls int
	// Human are the object's own documented columns with their lineage:
	// not asked of a writer, put into the column layer by Write.
	Human []modeldoc.ColumnDescription
	// prompt is what the requests were built with, to build a layer's
	// own request when a combined answer's part must be asked again.
	prompt prompt.Options
	// Inherited are the columns whose description is inherited along
	// the column lineage (see inheritColumns): Write puts them into the
	// column layer whatever the writer answered.
	Inherited []modeldoc.ColumnDescription
	// Extrapolated is true when the estimate was extrapolated from other
	// objects' exact prompts rather than counted from this one's.
	Extrapolated bool
	// Edited are the layers of the object's current version a person
	// edited: not asked for, whatever Options.Layers says; the new
	// version carries them over (store.carryOver).
	Edited []modeldoc.Layer
	// Kept holds layers an earlier run already bought and validated from
	// the same inputs: Write puts them in the version without a call.
	Kept map[modeldoc.Layer]KeptLayer
}

// KeptLayer is one layer bought by an earlier run of the same plan.
type KeptLayer struct {
	Content json.RawMessage      `json:"content"`
	Status  modeldoc.LayerStatus `json:"status"`
}
