package modeldoc

import (
	"encoding/json"
	"strings"
	"time"
)

// Review states of generated text. Text a writer composed is a draft until
// a person acts on it; only ReviewHuman, ReviewEdited and ReviewAccepted
// text is published by default (export dbt). ReviewHuman is not a state a
// person sets: it is a column description inherited verbatim from the
// project's own human text (ColumnDescription.InheritedFrom).
const (
	ReviewDraft    = "draft"
	ReviewAccepted = "accepted"
	ReviewRejected = "rejected"
	ReviewEdited   = "edited"
	ReviewHuman    = "human"
)

// ReviewStates are the states a review listing can filter on.
var ReviewStates = []string{ReviewDraft, ReviewAccepted, ReviewRejected, ReviewEdited}

// ParseReviewState returns state, or an EINVALID error listing the states.
func ParseReviewState(state string) (string, error) {
	for _, s := range ReviewStates {
		if s == state {
			return s, nil
		}
	}
	return "", Errorf(EINVALID, "Unknown review state %q: choose from draft, accepted, rejected, edited.", state)
}

// ColumnReview is what a person made of one generated column description.
type ColumnReview struct {
	State string    `json:"state"`
	By    string    `json:"by,omitempty"`
	At    time.Time `json:"at"`
}

// Published reports whether text in state is published without asking for
// drafts: a person wrote it, edited it or accepted it.
func Published(state string) bool {
	return state == ReviewHuman || state == ReviewEdited || state == ReviewAccepted
}

// LayerReview returns the review state of layer l of v (never "").
func (v *DocVersion) LayerReview(l Layer) string {
	if s := v.LayerStatus[l].ReviewState; s != "" {
		return s
	}
	return ReviewDraft
}

// ColumnReviewState returns the review state of column description c of
// v's column_descriptions layer: ReviewHuman when it repeats a documented
// ancestor's human text, else what a person made of it, else a draft.
func (v *DocVersion) ColumnReviewState(c ColumnDescription) string {
	if r, ok := v.LayerStatus[LayerColumnDescriptions].ColumnReviews[strings.ToLower(c.Name)]; ok && r.State != "" {
		return r.State
	}
	if c.InheritedFrom != "" {
		return ReviewHuman
	}
	return ReviewDraft
}

// EditLayer returns layer l with a person's text in place of the
// writer's. The executive summary takes plain text as its summary (the
// grain is kept); every other layer takes its JSON, in the shape a writer
// answers, checked here. Column descriptions are edited one column at a
// time (EditColumn), not through this.
func EditLayer(l Layer, old json.RawMessage, text string) (json.RawMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, Errorf(EINVALID, "The edited text is empty: to drop a layer's text, reject it instead.")
	}
	if l == LayerExecutiveSummary && !strings.HasPrefix(text, "{") {
		var out ExecutiveSummaryOut
		if len(old) > 0 {
			_ = json.Unmarshal(old, &out)
		}
		out.Summary = text
		return json.Marshal(out)
	}
	var into any
	switch l {
	case LayerExecutiveSummary:
		into = &ExecutiveSummaryOut{}
	case LayerBusinessNarrative:
		into = &BusinessNarrative{}
	case LayerTransformationCards:
		into = &TransformationCardsOut{}
	case LayerCodeExplanations:
		into = &CodeExplanationsOut{}
	case LayerBusinessRules:
		into = &BusinessRulesOut{}
	case LayerImpactAnalysis:
		into = &ImpactAnalysis{}
	case LayerColumnDescriptions:
		return nil, Errorf(EINVALID, "Column descriptions are edited one column at a time: name the column (--column, or \"column\" in the API).")
	default:
		_, err := ParseLayer(string(l))
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return nil, Errorf(EINVALID, "The %s layer is edited as JSON in the shape its writer answers (plain text is taken only for executive_summary and for one column): %v", l, err)
	}
	if dec.More() {
		return nil, Errorf(EINVALID, "The edited %s layer holds more than one JSON value.", l)
	}
	return json.Marshal(into)
}

// EditColumn returns the column_descriptions layer with column's
// description replaced by a person's text (the column added when the
// layer lacks it); the edit drops the inheritance, since the text is no
// longer the ancestor's.
func EditColumn(old json.RawMessage, column, text string) (json.RawMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, Errorf(EINVALID, "The edited description of column %s is empty: reject it instead.", column)
	}
	var out ColumnDescriptionsOut
	if len(old) > 0 {
		if err := json.Unmarshal(old, &out); err != nil {
			return nil, Errorf(EINVALID, "The stored column_descriptions layer cannot be read: %v", err)
		}
	}
	found := false
	for i := range out.Columns {
		if strings.EqualFold(out.Columns[i].Name, column) {
			out.Columns[i].Description = text
			out.Columns[i].InheritedFrom = ""
			found = true
			break
		}
	}
	if !found {
		out.Columns = append(out.Columns, ColumnDescription{Name: column, Description: text, Lineage: "derived"})
	}
	return json.Marshal(out)
}

// LayerText is a layer's text in a line or a few, for listings: the
// summary, the narrative's what-it-does, step titles, explanations, rules,
// the downstream impact; "" when the layer cannot be read.
func LayerText(l Layer, raw json.RawMessage) string {
	var parts []string
	switch l {
	case LayerExecutiveSummary:
		var o ExecutiveSummaryOut
		if json.Unmarshal(raw, &o) == nil {
			return o.Summary
		}
	case LayerBusinessNarrative:
		var o BusinessNarrative
		if json.Unmarshal(raw, &o) == nil {
			return o.WhatItDoes
		}
	case LayerTransformationCards:
		var o TransformationCardsOut
		if json.Unmarshal(raw, &o) == nil {
			for _, c := range o.Cards {
				parts = append(parts, c.Title)
			}
		}
	case LayerCodeExplanations:
		var o CodeExplanationsOut
		if json.Unmarshal(raw, &o) == nil {
			for _, c := range o.Explanations {
				parts = append(parts, c.PlainEnglish)
			}
		}
	case LayerBusinessRules:
		var o BusinessRulesOut
		if json.Unmarshal(raw, &o) == nil {
			for _, r := range o.Rules {
				parts = append(parts, r.Rule)
			}
		}
	case LayerImpactAnalysis:
		var o ImpactAnalysis
		if json.Unmarshal(raw, &o) == nil {
			return o.DownstreamImpact
		}
	}
	return strings.Join(parts, "; ")
}
