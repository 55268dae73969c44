package modeldoc

import (
	"encoding/json"
	"time"
)

// Layer names one part of a model's documentation.
type Layer string

const (
	LayerExecutiveSummary    Layer = "executive_summary"
	LayerBusinessNarrative   Layer = "business_narrative"
	LayerTransformationCards Layer = "transformation_cards"
	LayerCodeExplanations    Layer = "code_explanations"
	LayerBusinessRules       Layer = "business_rules"
	LayerImpactAnalysis      Layer = "impact_analysis"
	LayerColumnDescriptions  Layer = "column_descriptions"
)

// AllLayers is every layer a writer produces, in reading order. The
// complexity score is not a layer: it is computed from the SQL, never asked.
var AllLayers = []Layer{
	LayerExecutiveSummary,
	LayerBusinessNarrative,
	LayerTransformationCards,
	LayerCodeExplanations,
	LayerBusinessRules,
	LayerImpactAnalysis,
	LayerColumnDescriptions,
}

// ParseLayer returns the layer called name, or an EINVALID error that lists
// the layers there are.
func ParseLayer(name string) (Layer, error) {
	for _, l := range AllLayers {
		if string(l) == name {
			return l, nil
		}
	}
	return "", Errorf(EINVALID, "Unknown layer %q: choose from executive_summary, business_narrative, transformation_cards, code_explanations, business_rules, impact_analysis, column_descriptions.", name)
}

// The JSON shapes of the layers. Keys are camelCase as in the original
// system, so stored documentation stays readable by tools written for it.
type (
	BusinessNarrative struct {
		WhatItDoes     string   `json:"whatItDoes"`
		DataJourney    []string `json:"dataJourney"`
		BusinessImpact string   `json:"businessImpact"`
		Confidence     string   `json:"confidence,omitempty"`
	}
	TransformationCard struct {
		StepNumber   int    `json:"stepNumber"`
		Title        string `json:"title"`
		Input        string `json:"input"`
		Logic        string `json:"logic"`
		Output       string `json:"output"`
		WhyItMatters string `json:"whyItMatters"`
	}
	CodeExplanation struct {
		CodeBlock       string `json:"codeBlock"`
		PlainEnglish    string `json:"plainEnglish"`
		BusinessContext string `json:"businessContext"`
	}
	BusinessRule struct {
		Rule          string `json:"rule"`
		CodeReference string `json:"codeReference"`
		Impact        string `json:"impact"`
	}
	ImpactUse struct {
		Team      string `json:"team"`
		Frequency string `json:"frequency"`
		Purpose   string `json:"purpose"`
	}
	ImpactAnalysis struct {
		UsedBy            []ImpactUse `json:"usedBy"`
		QuestionsAnswered []string    `json:"questionsAnswered"`
		DownstreamImpact  string      `json:"downstreamImpact"`
		Confidence        string      `json:"confidence,omitempty"`
	}
	// ColumnDescription documents one column. Lineage is "passthrough" when
	// the column is an upstream column unchanged (UpstreamModel and
	// UpstreamColumn name it) and "derived" when the SQL computes it.
	ColumnDescription struct {
		Name           string `json:"name"`
		Description    string `json:"description"`
		Lineage        string `json:"lineage"`
		UpstreamModel  string `json:"upstreamModel"`
		UpstreamColumn string `json:"upstreamColumn"`
		// InheritedFrom is the documented ancestor column whose human
		// text Description repeats verbatim ("source hubspot.form.guid",
		// "model stg_orders.order_id"), empty for text a writer wrote.
		// It is data beside the text, never inside it.
		InheritedFrom string `json:"inheritedFrom,omitempty"`
	}
)

// Confidence is how sure the writer is of a layer: ConfidenceHigh when the
// SQL states it, ConfidenceMedium when inferred, ConfidenceLow when a
// guess. Every layer answered since prompt v4 carries one; earlier stored
// layers have none, hence omitempty.
const (
	ConfidenceHigh   = "high"
	ConfidenceMedium = "medium"
	ConfidenceLow    = "low"
)

// Wrappers used on the wire: structured outputs need an object at the top,
// so list layers travel inside one key.
type (
	ExecutiveSummaryOut struct {
		// Grain is what one row is ("one row per `order_id`"), "" when
		// the SQL does not make it clear.
		Grain      string `json:"grain"`
		Summary    string `json:"summary"`
		Confidence string `json:"confidence,omitempty"`
	}
	TransformationCardsOut struct {
		Cards      []TransformationCard `json:"cards"`
		Confidence string               `json:"confidence,omitempty"`
	}
	CodeExplanationsOut struct {
		Explanations []CodeExplanation `json:"explanations"`
		Confidence   string            `json:"confidence,omitempty"`
	}
	BusinessRulesOut struct {
		Rules      []BusinessRule `json:"rules"`
		Confidence string         `json:"confidence,omitempty"`
	}
	ColumnDescriptionsOut struct {
		Columns    []ColumnDescription `json:"columns"`
		Confidence string              `json:"confidence,omitempty"`
	}
)

// LayerOutcome is how writing one layer of a version came out.
type LayerOutcome string

const (
	LayerOK LayerOutcome = "ok"
	// LayerPartial: some parts of a wide model's column layer failed
	// (LayerStatus.MissingColumns names their columns), the others are kept.
	LayerPartial LayerOutcome = "partial"
	LayerFailed  LayerOutcome = "failed"
	LayerSkipped LayerOutcome = "skipped"
)

// LayerStatus says how one layer of a version came out.
type LayerStatus struct {
	Status           LayerOutcome `json:"status"`
	Error            string       `json:"error,omitempty"`
	ErrorClass       string       `json:"error_class,omitempty"`
	PromptTokens     int64        `json:"prompt_tokens"`
	CompletionTokens int64        `json:"completion_tokens"`
	CachedTokens     int64        `json:"cached_tokens"`
	Attempts         int          `json:"attempts"`
	DurationMS       int64        `json:"duration_ms"`
	FinishReason     string       `json:"finish_reason,omitempty"`
	// MissingColumns are the columns a partial column_descriptions layer
	// lacks: a wide model's columns are asked in parts, and the parts that
	// failed are named here while the others are kept (Status "partial").
	MissingColumns []string `json:"missing_columns,omitempty"`
	// CarriedFrom is the version this layer's text comes from when this
	// version did not write it (not asked for, or failed): a new version
	// never loses a layer an older one has.
	CarriedFrom int `json:"carried_from,omitempty"`
	// Stale is true when the layer's text is older than the object's
	// inputs: it failed and kept the previous text, or it was carried over
	// from a version written from inputs that have changed since.
	Stale bool `json:"stale,omitempty"`
	// Findings are what the grounding checks (internal/ground) found
	// wrong with the stored answer after its one re-ask: a code reference
	// that is not in the SQL, an identifier that names nothing in the
	// model or its lineage, a column the model does not have. A layer
	// with findings is kept but marked for review (Review), never clean.
	Findings []Finding `json:"findings,omitempty"`
	Review   bool      `json:"review,omitempty"`
	// ReviewState is what a person made of the layer's text (see
	// review.go); "" is ReviewDraft, which is what every layer written
	// before review existed is. Column descriptions are reviewed one column
	// at a time, in ColumnReviews, not here.
	ReviewState string     `json:"review_state,omitempty"`
	ReviewedBy  string     `json:"reviewed_by,omitempty"`
	ReviewedAt  *time.Time `json:"reviewed_at,omitempty"`
	// ColumnReviews holds the review of each column description a person
	// acted on, by lower-case column name; a column not in it is a draft
	// (or human, when its text is inherited).
	ColumnReviews map[string]ColumnReview `json:"column_reviews,omitempty"`
}

// Finding is one grounding problem of a layer's answer.
type Finding struct {
	// Path is the JSON pointer of the string in the layer, e.g.
	// "/rules/0/codeReference".
	Path string `json:"path"`
	// Kind is FindingCodeReference, FindingIdentifier or FindingColumn.
	Kind string `json:"kind"`
	// Value is the text that could not be grounded.
	Value   string `json:"value"`
	Message string `json:"message"`
}

// The kinds of Finding.
const (
	FindingCodeReference = "code_reference" // a quoted SQL fragment that is not in the model's SQL
	FindingIdentifier    = "identifier"     // a backticked name that names nothing in the model or its lineage
	FindingColumn        = "column"         // a column described that the model does not have
)

// DocVersion is one generated version of an object's documentation. Layers
// holds each successful layer's JSON exactly as validated.
type DocVersion struct {
	ID            int64  `json:"id"`
	ObjectID      int64  `json:"object_id"`
	Version       int    `json:"version"`
	Current       bool   `json:"current"`
	Provider      string `json:"provider"`
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	InputHash     string `json:"input_hash"`
	// SQLHash is the object's SQL hash when this version was written, so a
	// listing can flag documentation whose SQL has changed since.
	SQLHash string `json:"sql_hash"`
	// ContentHash is the object's content hash (its SQL, descriptions and
	// columns as imported) when this version was written; the store fills it.
	ContentHash string `json:"content_hash,omitempty"`
	// StaleLayers counts the layers that are stale (see LayerStatus.Stale);
	// the store fills it.
	StaleLayers      int                       `json:"stale_layers,omitempty"`
	Layers           map[Layer]json.RawMessage `json:"layers"`
	LayerStatus      map[Layer]LayerStatus     `json:"layer_status"`
	ComplexityScore  int                       `json:"complexity_score"`
	PromptTokens     int64                     `json:"prompt_tokens"`
	CompletionTokens int64                     `json:"completion_tokens"`
	CachedTokens     int64                     `json:"cached_tokens"`
	EstimatedCost    float64                   `json:"estimated_cost"`
	Cost             float64                   `json:"cost"`
	DurationMS       int64                     `json:"duration_ms"`
	JobID            int64                     `json:"job_id,omitempty"`
	CreatedAt        time.Time                 `json:"created_at"`
}

// MissingLayers lists the layers that failed and have no text (a failed
// layer that kept an earlier version's text is stale, not missing), so a
// partial version can say what it lacks.
func (v *DocVersion) MissingLayers() []Layer {
	var missing []Layer
	for _, l := range AllLayers {
		if st, ok := v.LayerStatus[l]; ok && st.Status == LayerFailed && v.Layers[l] == nil {
			missing = append(missing, l)
		}
	}
	return missing
}

// StaleLayerNames lists the layers whose text is older than the object's
// inputs (LayerStatus.Stale).
func (v *DocVersion) StaleLayerNames() []Layer {
	var stale []Layer
	for _, l := range AllLayers {
		if v.LayerStatus[l].Stale {
			stale = append(stale, l)
		}
	}
	return stale
}

// ExecutiveSummary returns the summary text of the version, or "".
func (v *DocVersion) ExecutiveSummary() string {
	raw, ok := v.Layers[LayerExecutiveSummary]
	if !ok {
		return ""
	}
	var out ExecutiveSummaryOut
	if json.Unmarshal(raw, &out) != nil {
		return ""
	}
	return out.Summary
}
