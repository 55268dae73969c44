// Package offlinewriter is the writer that needs no network and no key: it
// derives every documentation layer from a static reading of the model's
// SQL (internal/sqlscan) and its lineage. The same input always gives the
// same output. Which writer wrote a text is metadata (the Result's Model),
// never part of the text, and a column it cannot explain is left
// undocumented rather than described by its own name.
package offlinewriter

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// ModelName is the model name reported in every Result.
const ModelName = "offline-v1"

// cacheSize bounds the analysis cache: the layers of one model arrive
// together (and concurrently), so a small window avoids re-reading the SQL
// seven times without holding a whole project's analyses in memory.
const cacheSize = 256

// Writer writes documentation from static analysis. It is safe for
// concurrent use.
type Writer struct {
	mu    sync.Mutex
	cache map[[32]byte]*sqlscan.Analysis
	order [][32]byte // insertion order, for FIFO eviction
}

var _ writer.Writer = (*Writer)(nil)

// New returns an offline writer.
func New() *Writer {
	return &Writer{cache: make(map[[32]byte]*sqlscan.Analysis, cacheSize)}
}

// Provider returns "offline".
func (w *Writer) Provider() string { return modeldoc.ProviderOffline }

// Write answers one layer. It fails only on a request without a subject or
// with an unknown layer (InvalidRequest), or on a cancelled context.
func (w *Writer) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	if err := ctx.Err(); err != nil {
		return writer.Result{}, &writer.Error{Kind: writer.Transient, Provider: modeldoc.ProviderOffline, Message: "the request was cancelled before it was written", Err: err}
	}
	if req.Subject == nil {
		return writer.Result{}, &writer.Error{Kind: writer.InvalidRequest, Provider: modeldoc.ProviderOffline,
			Message: "the offline writer needs the request's Subject (the object and its lineage); it does not read prompts"}
	}
	f := w.facts(req.Subject)
	// Confidence: what is read off the SQL is high; what is inferred from
	// names and lineage (purpose, audience, meaning) is medium.
	const read, inferred = modeldoc.ConfidenceHigh, modeldoc.ConfidenceMedium
	var out any
	switch req.Layer {
	case modeldoc.LayerExecutiveSummary:
		out = modeldoc.ExecutiveSummaryOut{Grain: f.grain(), Summary: f.executiveSummary(), Confidence: inferred}
	case modeldoc.LayerBusinessNarrative:
		n := f.businessNarrative()
		n.Confidence = inferred
		out = n
	case modeldoc.LayerTransformationCards:
		out = modeldoc.TransformationCardsOut{Cards: f.transformationCards(), Confidence: read}
	case modeldoc.LayerCodeExplanations:
		out = modeldoc.CodeExplanationsOut{Explanations: f.codeExplanations(), Confidence: read}
	case modeldoc.LayerBusinessRules:
		out = modeldoc.BusinessRulesOut{Rules: f.businessRules(), Confidence: read}
	case modeldoc.LayerImpactAnalysis:
		a := f.impactAnalysis()
		a.Confidence = inferred
		out = a
	case modeldoc.LayerColumnDescriptions:
		out = modeldoc.ColumnDescriptionsOut{Columns: f.columnDescriptions(), Confidence: inferred}
	default:
		return writer.Result{}, &writer.Error{Kind: writer.InvalidRequest, Provider: modeldoc.ProviderOffline,
			Message: fmt.Sprintf("unknown layer %q: the offline writer writes %v", req.Layer, modeldoc.AllLayers)}
	}
	// SQL is full of < and >; HTML escaping would make stored JSON unreadable.
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return writer.Result{}, &writer.Error{Kind: writer.Malformed, Provider: modeldoc.ProviderOffline, Message: "could not encode the layer as JSON", Err: err}
	}
	return writer.Result{Content: strings.TrimSuffix(b.String(), "\n"), Model: ModelName, FinishReason: "stop"}, nil
}

// analyze returns the analysis of sql, from the cache when it was read
// recently. Analyses are never modified after creation, so sharing them
// between goroutines is safe.
func (w *Writer) analyze(sql string) *sqlscan.Analysis {
	key := sha256.Sum256([]byte(sql))
	w.mu.Lock()
	a, ok := w.cache[key]
	w.mu.Unlock()
	if ok {
		return a
	}
	a = sqlscan.Analyze(sql)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.cache[key]; !ok {
		if len(w.order) >= cacheSize {
			delete(w.cache, w.order[0])
			w.order = w.order[1:]
		}
		w.cache[key] = a
		w.order = append(w.order, key)
	}
	return a
}
