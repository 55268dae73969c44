package prompt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// CombinedLayer names the request that asks for several model-level layers
// in one answer: its SchemaName, and the layer its generation log records.
const CombinedLayer = "model_layers"

// Calls modes: how a model's layers are split into requests.
const (
	// CallsCombined asks for the model-level layers in one request and the
	// columns in another (several for a wide model): two calls where
	// per-layer mode makes seven, each repeating the model's context.
	CallsCombined = "combined"
	// CallsPerLayer asks for each layer in its own request.
	CallsPerLayer = "per-layer"
)

// CheckCalls accepts "" (the default, combined) and the two modes.
func CheckCalls(mode string) error {
	switch mode {
	case "", CallsCombined, CallsPerLayer:
		return nil
	}
	return modeldoc.Errorf(modeldoc.EINVALID, "Unknown calls mode %q: use %q or %q.", mode, CallsCombined, CallsPerLayer)
}

// asked reports whether a writer is asked to describe c: only when nobody
// has, since a person's text (its own or inherited along the lineage) is
// what the column layer keeps anyway.
func asked(c modeldoc.Column, overwriteHuman bool) bool {
	switch {
	case c.InheritedFrom != "":
		return false
	case c.HumanDescription && strings.TrimSpace(c.Description) != "":
		return overwriteHuman
	}
	return true
}

func askedNames(v *view) []string {
	out := make([]string, len(v.Ask))
	for i, c := range v.Ask {
		out[i] = c.Name
	}
	return out
}

// FitLayers is the layers of layers that fit obj: an object with no SQL (a
// seed, a source) has no steps, code, rules or lineage story to tell, so
// it gets its executive summary and its column descriptions only.
func FitLayers(obj *modeldoc.Object, layers []modeldoc.Layer) []modeldoc.Layer {
	if strings.TrimSpace(obj.SQL()) != "" {
		return layers
	}
	var out []modeldoc.Layer
	for _, l := range layers {
		if l == modeldoc.LayerExecutiveSummary || l == modeldoc.LayerColumnDescriptions {
			out = append(out, l)
		}
	}
	return out
}

// ColumnsUnknown reports whether the column layer of s has anything to
// ask: false when every column is known and documented, so that the layer
// is written from the documentation alone, with no call.
func ColumnsUnknown(s *writer.Subject, overwriteHuman bool) bool {
	if !columnsComplete(s.Object.Columns) {
		// The SQL may return more than the YAML declares; with no SQL
		// (a seed without a warehouse catalog) there is nothing to read.
		return strings.TrimSpace(s.Object.SQL()) != "" || len(s.Object.Columns) > 0 && slices.ContainsFunc(s.Object.Columns, func(c modeldoc.Column) bool { return asked(c, overwriteHuman) })
	}
	for _, c := range s.Object.Columns {
		if asked(c, overwriteHuman) {
			return true
		}
	}
	return false
}

// BuildCalls returns the requests that document layers of s in the given
// calls mode. Per-layer: one request per layer, as BuildAll. Combined: one
// request for the model-level layers (a plain one-layer request when only
// one is asked) and the column layer in requests of at most
// MaxColumnsPerCall columns each. In both modes the column layer gets no
// request when ColumnsUnknown is false.
func BuildCalls(layers []modeldoc.Layer, s *writer.Subject, opts Options, mode string) ([]writer.Request, error) {
	if err := CheckCalls(mode); err != nil {
		return nil, err
	}
	v, opts, err := prepare(layers, s, opts)
	if err != nil {
		return nil, err
	}
	var model []modeldoc.Layer
	columns := false
	for _, l := range layers {
		if l == modeldoc.LayerColumnDescriptions {
			columns = ColumnsUnknown(s, opts.OverwriteHuman)
			continue
		}
		model = append(model, l)
	}
	var reqs []writer.Request
	if mode == CallsPerLayer || len(model) == 1 {
		for _, l := range model {
			req, err := layerRequest(l, s, v, opts)
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, req)
		}
	} else if len(model) > 1 {
		req, err := combinedRequest(model, s, v, opts)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, req)
	}
	if !columns {
		return reqs, nil
	}
	if mode == CallsPerLayer || !v.ColumnsComplete || len(v.Ask) <= opts.MaxColumnsPerCall {
		req, err := layerRequest(modeldoc.LayerColumnDescriptions, s, v, opts)
		if err != nil {
			return nil, err
		}
		return append(reqs, req), nil
	}
	// A wide model's columns in even parts, so that no answer outgrows
	// its output cap and a failed part costs only its own re-ask.
	all := v.Ask
	parts := (len(all) + opts.MaxColumnsPerCall - 1) / opts.MaxColumnsPerCall
	size := (len(all) + parts - 1) / parts
	for k := 0; k < parts; k++ {
		pv := *v
		pv.Ask = all[k*size : min((k+1)*size, len(all))]
		pv.ToDescribe, pv.Part, pv.Parts = len(pv.Ask), k+1, parts
		req, err := layerRequest(modeldoc.LayerColumnDescriptions, s, &pv, opts)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, req)
	}
	return reqs, nil
}

func combinedRequest(layers []modeldoc.Layer, s *writer.Subject, v *view, opts Options) (writer.Request, error) {
	cv := *v
	cv.Combined = true
	cv.Has = make(map[string]bool, len(layers))
	keys := make([]string, len(layers))
	for i, l := range layers {
		cv.Has[string(l)] = true
		keys[i] = `"` + string(l) + `"`
	}
	cv.Keys = strings.Join(keys, ", ")
	user, err := execLayer(CombinedLayer+".tmpl", cv)
	if err != nil {
		return writer.Request{}, err
	}
	maxTokens := 0
	for _, l := range layers {
		n := MaxTokens(l, len(s.Object.Columns))
		if m, ok := opts.MaxTokens[l]; ok && m > 0 {
			n = m
		}
		maxTokens += n
	}
	effort := writer.ReasoningEffortFor(opts.Model, opts.ReasoningEffort)
	maxTokens += writer.ReasoningAllowance(effort)
	return writer.Request{
		Layer:           CombinedLayer,
		Layers:          slices.Clone(layers),
		Model:           opts.Model,
		System:          System,
		User:            user,
		SchemaName:      CombinedLayer,
		Schema:          CombinedSchema(layers),
		MaxTokens:       maxTokens,
		ReasoningEffort: effort,
		Subject:         s,
		CachePrefix:     sharedPrefix(user, &cv),
	}, nil
}

var combinedSchemas sync.Map // layer names joined → json.RawMessage

// CombinedSchema is the JSON Schema of a combined answer: an object with
// one required key per layer, each holding that layer's own schema, so
// that strict structured outputs hold every layer to its shape.
func CombinedSchema(layers []modeldoc.Layer) json.RawMessage {
	key := fmt.Sprint(layers)
	if s, ok := combinedSchemas.Load(key); ok {
		return s.(json.RawMessage)
	}
	var b bytes.Buffer
	b.WriteString(`{"type":"object","properties":{`)
	for i, l := range layers {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", l, Schema(l))
	}
	b.WriteString(`},"required":[`)
	for i, l := range layers {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", l)
	}
	b.WriteString(`],"additionalProperties":false}`)
	s := json.RawMessage(b.Bytes())
	combinedSchemas.Store(key, s)
	return s
}

// SplitCombined takes a combined answer apart into each layer's answer.
// A layer missing from the answer maps to "" (which fails validation on
// its own, leaving the other layers be); the error is non-nil only when
// the answer is not a JSON object at all.
func SplitCombined(layers []modeldoc.Layer, content string) (map[modeldoc.Layer]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(content), &m); err != nil {
		return nil, &ValidationError{Layer: CombinedLayer, Problems: []string{
			fmt.Sprintf("at /: the answer is not a JSON object (%v); answer with one JSON object with the keys %s only, with no text or code fence around it", err, strings.Join(layerNames(layers), ", "))}}
	}
	out := make(map[modeldoc.Layer]string, len(layers))
	for _, l := range layers {
		out[l] = string(m[string(l)])
	}
	return out, nil
}

func layerNames(layers []modeldoc.Layer) []string {
	out := make([]string, len(layers))
	for i, l := range layers {
		out[i] = `"` + string(l) + `"`
	}
	return out
}

// ValidateRequest is ValidateFor for the answer to req: a column request's
// answer must hold the columns it asked for (req.Columns), not the ones
// already documented; others the SQL returns are welcome when the model's
// column list is not complete.
func ValidateRequest(req writer.Request, content string) error {
	if req.Layer != modeldoc.LayerColumnDescriptions || req.Columns == nil {
		return ValidateFor(req.Layer, content, req.Subject)
	}
	return validate(req.Layer, content, req.Subject, req.Columns)
}
