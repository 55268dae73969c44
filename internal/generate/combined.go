package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// outcome is one layer's result in Write.
type outcome struct {
	layer   modeldoc.Layer
	content json.RawMessage
	status  modeldoc.LayerStatus
	model   string
	fatal   error
	// columns are the columns a column_descriptions part asked for.
	columns []string
}

// writeCombined sends one request for several layers and takes its answer
// apart: each layer's part is validated and grounded on its own, and a
// part that fails is asked again alone, with its own layer's request and
// what was wrong with it, never the whole. The call's tokens are counted
// in the status of the request's first layer, so that a version's tokens
// stay the sum of its calls'. When the call brings no usable answer (an
// error other than a fatal one, or text that is no JSON object), each
// layer is asked for in its own request, as in per-layer mode.
func (s *Service) writeCombined(ctx context.Context, plan *Plan, w writer.Writer, req writer.Request) []outcome {
	start := s.cfg.Now()
	res, err := w.Write(ctx, req)
	var parts map[modeldoc.Layer]string
	if err == nil {
		parts, err = prompt.SplitCombined(req.Layers, res.Content)
	}
	if err != nil && (ctx.Err() != nil || writer.KindOf(err).Fatal()) {
		out := make([]outcome, len(req.Layers))
		for i, l := range req.Layers {
			st := modeldoc.LayerStatus{Status: modeldoc.LayerFailed, Error: err.Error(), ErrorClass: string(writer.KindOf(err)), Attempts: 1}
			out[i] = outcome{layer: l, status: st, model: res.Model}
		}
		addUsage(&out[0].status, res.Usage)
		if ctx.Err() != nil {
			out[0].fatal = ctx.Err()
		} else {
			out[0].fatal = err
		}
		return out
	}
	out := make([]outcome, len(req.Layers))
	var wg sync.WaitGroup
	for i, l := range req.Layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lreq, berr := prompt.Build(l, plan.Subject, plan.prompt)
			if berr != nil {
				out[i] = outcome{layer: l, status: modeldoc.LayerStatus{Status: modeldoc.LayerFailed, Error: berr.Error(), ErrorClass: string(writer.InvalidRequest)}}
				return
			}
			var first *writer.Result
			if err == nil {
				first = &writer.Result{Content: parts[l], Model: res.Model, FinishReason: res.FinishReason}
			}
			content, st, model, fatal := s.writeLayer(ctx, plan, w, lreq, first)
			out[i] = outcome{layer: l, content: content, status: st, model: model, fatal: fatal}
		}()
	}
	wg.Wait()
	addUsage(&out[0].status, res.Usage)
	if out[0].model == "" {
		out[0].model = res.Model
	}
	out[0].status.DurationMS = max(out[0].status.DurationMS, s.cfg.Now().Sub(start).Milliseconds())
	return out
}

func addUsage(st *modeldoc.LayerStatus, u writer.Usage) {
	st.PromptTokens += u.PromptTokens
	st.CompletionTokens += u.CompletionTokens
	st.CachedTokens += u.CachedTokens
}

// mergeChunks puts the parts of a wide model's column layer together.
// Each part stands alone: the layer keeps the parts that came back and, if
// some failed, is "partial" with the columns they asked for named in
// MissingColumns (a new version then keeps the earlier text of those
// columns while the SQL is the same: store.mergeColumns). Only when every
// part failed does the layer fail. The tokens of every part are counted.
func mergeChunks(chunks []outcome) outcome {
	if len(chunks) == 1 {
		return chunks[0]
	}
	m := outcome{layer: modeldoc.LayerColumnDescriptions}
	m.status.Status = modeldoc.LayerOK
	var all modeldoc.ColumnDescriptionsOut
	var failed []*outcome
	var missing []string
	for i := range chunks {
		c := &chunks[i]
		st := c.status
		m.status.PromptTokens += st.PromptTokens
		m.status.CompletionTokens += st.CompletionTokens
		m.status.CachedTokens += st.CachedTokens
		m.status.Attempts = max(m.status.Attempts, st.Attempts)
		m.status.DurationMS = max(m.status.DurationMS, st.DurationMS)
		m.status.Findings = append(m.status.Findings, st.Findings...)
		m.status.Review = m.status.Review || st.Review
		if m.model == "" {
			m.model = c.model
		}
		if m.fatal == nil {
			m.fatal = c.fatal
		}
		var part modeldoc.ColumnDescriptionsOut
		if c.content == nil || json.Unmarshal(c.content, &part) != nil {
			failed = append(failed, c)
			missing = append(missing, c.columns...)
			continue
		}
		if all.Confidence == "" {
			all.Confidence = part.Confidence
		}
		all.Columns = append(all.Columns, part.Columns...)
		m.status.FinishReason = st.FinishReason
	}
	if len(failed) == len(chunks) {
		f := failed[0]
		m.status.Status, m.status.Error, m.status.ErrorClass = modeldoc.LayerFailed, f.status.Error, f.status.ErrorClass
		m.status.FinishReason = f.status.FinishReason
		return m
	}
	b, err := json.Marshal(all)
	if err != nil {
		m.status.Status, m.status.Error = modeldoc.LayerFailed, err.Error()
		return m
	}
	m.content = b
	if len(failed) > 0 {
		f := failed[0]
		m.status.Status, m.status.ErrorClass = modeldoc.LayerPartial, f.status.ErrorClass
		m.status.MissingColumns = missing
		m.status.Error = fmt.Sprintf("%d of %d parts of the columns failed (%s); %d columns not written: %s",
			len(failed), len(chunks), f.status.Error, len(missing), clipList(missing, 20))
	}
	return m
}

// clipList joins names, naming at most n of them.
func clipList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// addHumanColumns puts the columns a person documented, which no writer
// was asked for, into the column layer with their text, in the model's
// column order; lineage comes from the SQL where human has it.
func addHumanColumns(raw json.RawMessage, human []modeldoc.ColumnDescription, cols []modeldoc.Column) json.RawMessage {
	var out modeldoc.ColumnDescriptionsOut
	if json.Unmarshal(raw, &out) != nil {
		return raw
	}
	have := map[string]bool{}
	for _, c := range out.Columns {
		have[strings.ToLower(c.Name)] = true
	}
	lineage := map[string]modeldoc.ColumnDescription{}
	for _, h := range human {
		lineage[strings.ToLower(h.Name)] = h
	}
	var add []modeldoc.ColumnDescription
	for _, c := range cols {
		k := strings.ToLower(c.Name)
		if have[k] || !c.HumanDescription || strings.TrimSpace(c.Description) == "" {
			continue
		}
		d, ok := lineage[k]
		if !ok {
			d = modeldoc.ColumnDescription{Lineage: "derived"}
		}
		d.Name, d.Description = c.Name, c.Description
		add = append(add, d)
	}
	if len(add) == 0 {
		return raw
	}
	// mergeInherited places entries in the model's order; provenance is
	// not set, which is what a person's own text has.
	return mergeInherited(raw, add, cols)
}
