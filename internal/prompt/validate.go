package prompt

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

//go:embed schemas/*.json
var schemaFS embed.FS

// Compiling a schema walks the metaschema; do it once for all layers.
var (
	compileOnce sync.Once
	rawSchemas  map[modeldoc.Layer]json.RawMessage
	compiled    map[modeldoc.Layer]*jsonschema.Schema
)

func loadSchemas() {
	rawSchemas = make(map[modeldoc.Layer]json.RawMessage)
	compiled = make(map[modeldoc.Layer]*jsonschema.Schema)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for _, l := range modeldoc.AllLayers {
		raw, err := schemaFS.ReadFile("schemas/" + string(l) + ".json")
		if err != nil {
			panic(fmt.Sprintf("prompt: no schema for layer %s: %v", l, err))
		}
		// Compact so the schema sent to providers (and counted by the cost
		// estimate) carries no indentation.
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			panic(fmt.Sprintf("prompt: schema %s: %v", l, err))
		}
		rawSchemas[l] = json.RawMessage(b.Bytes())
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			panic(fmt.Sprintf("prompt: schema %s: %v", l, err))
		}
		url := "mem:///" + string(l) + ".json"
		if err := c.AddResource(url, doc); err != nil {
			panic(fmt.Sprintf("prompt: schema %s: %v", l, err))
		}
		compiled[l] = c.MustCompile(url)
	}
}

// Schema returns the JSON Schema of a layer's answer (compact JSON), or nil
// for an unknown layer. The schemas satisfy OpenAI's strict structured
// outputs: an object at the top, every property required, and
// additionalProperties false on every object.
func Schema(layer modeldoc.Layer) json.RawMessage {
	compileOnce.Do(loadSchemas)
	return rawSchemas[layer]
}

// ValidationError says everything wrong with one answer, in words precise
// enough to send back to the model.
type ValidationError struct {
	Layer    modeldoc.Layer
	Problems []string // each "at /json/pointer: what is wrong"
}

// maxProblems keeps a re-ask short: the first few problems are enough for
// the model to correct its answer.
const maxProblems = 12

func (e *ValidationError) Error() string {
	ps := e.Problems
	more := ""
	if len(ps) > maxProblems {
		more = fmt.Sprintf("; and %d more problems", len(ps)-maxProblems)
		ps = ps[:maxProblems]
	}
	return fmt.Sprintf("the %s answer is invalid: %s%s", e.Layer, strings.Join(ps, "; "), more)
}

func (e *ValidationError) add(ptr, format string, args ...any) {
	if ptr == "" {
		ptr = "/"
	}
	e.Problems = append(e.Problems, "at "+ptr+": "+fmt.Sprintf(format, args...))
}

// Validate checks content, a layer's answer, against the layer's schema and
// the rules a schema cannot express (no blank text, cards numbered 1..n).
// The error is a *ValidationError.
func Validate(layer modeldoc.Layer, content string) error {
	return ValidateFor(layer, content, nil)
}

// ValidateFor is Validate plus the checks that need the subject: for
// column_descriptions, one entry for each of the subject's columns, named
// exactly, and passthrough columns naming an upstream object that exists.
// A nil subject skips those checks.
func ValidateFor(layer modeldoc.Layer, content string, s *writer.Subject) error {
	return validate(layer, content, s, nil)
}

// validate is ValidateFor where asked, when not nil, lists the columns a
// column_descriptions answer must hold.
func validate(layer modeldoc.Layer, content string, s *writer.Subject, asked []string) error {
	compileOnce.Do(loadSchemas)
	sch, ok := compiled[layer]
	if !ok {
		return modeldoc.Errorf(modeldoc.EINVALID, "Unknown layer %q: there is no schema to validate it against.", layer)
	}
	verr := &ValidationError{Layer: layer}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(content))
	if err != nil {
		verr.add("/", "the answer is not valid JSON (%v); answer with one JSON object only, with no text or code fence around it", err)
		return verr
	}
	if layer == modeldoc.LayerColumnDescriptions {
		fillOptionalUpstream(inst)
		dropInheritedFrom(inst)
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return fmt.Errorf("validate %s: %w", layer, err)
		}
		for _, leaf := range leaves(ve, nil) {
			verr.add(pointer(leaf.InstanceLocation), "%s", leaf.ErrorKind.LocalizedString(printer))
		}
		return verr
	}
	// The schema held, so the answer decodes into the layer's Go type.
	semanticChecks(verr, layer, content, s, asked)
	if len(verr.Problems) > 0 {
		return verr
	}
	return nil
}

// fillOptionalUpstream treats a missing upstreamModel or upstreamColumn as
// "". The schema requires both, as strict structured outputs demand, but
// modeldoc.ColumnDescription marks them omitempty, so an answer encoded from
// the Go type (the offline writer's) leaves them out for derived columns;
// the two mean the same.
func fillOptionalUpstream(inst any) {
	root, _ := inst.(map[string]any)
	cols, _ := root["columns"].([]any)
	for _, c := range cols {
		if m, ok := c.(map[string]any); ok {
			for _, k := range []string{"upstreamModel", "upstreamColumn"} {
				if _, ok := m[k]; !ok {
					m[k] = ""
				}
			}
		}
	}
}

// dropInheritedFrom ignores inheritedFrom: not part of what a writer
// answers, but the provenance modeldoc records beside inherited text in the
// stored layer, which must validate too. (generate drops a writer's own.)
func dropInheritedFrom(inst any) {
	root, _ := inst.(map[string]any)
	cols, _ := root["columns"].([]any)
	for _, c := range cols {
		if m, ok := c.(map[string]any); ok {
			delete(m, "inheritedFrom")
		}
	}
}

var printer = message.NewPrinter(language.English)

func leaves(e *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return append(out, e)
	}
	for _, c := range e.Causes {
		out = leaves(c, out)
	}
	return out
}

func pointer(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}

func semanticChecks(v *ValidationError, layer modeldoc.Layer, content string, s *writer.Subject, asked []string) {
	switch layer {
	case modeldoc.LayerExecutiveSummary:
		var out modeldoc.ExecutiveSummaryOut
		decode(content, &out)
		checkProse(v, "/summary", out.Summary)
		if n := sentences(out.Summary); n > 5 {
			v.add("/summary", "has %d sentences; write 2 to 3", n)
		}
	case modeldoc.LayerBusinessNarrative:
		var out modeldoc.BusinessNarrative
		decode(content, &out)
		checkProse(v, "/whatItDoes", out.WhatItDoes)
		if len(out.DataJourney) == 0 {
			v.add("/dataJourney", "is empty; list the steps the data takes")
		}
		for i, step := range out.DataJourney {
			checkText(v, fmt.Sprintf("/dataJourney/%d", i), step)
		}
		checkProse(v, "/businessImpact", out.BusinessImpact)
	case modeldoc.LayerTransformationCards:
		var out modeldoc.TransformationCardsOut
		decode(content, &out)
		if len(out.Cards) == 0 {
			v.add("/cards", "is empty; describe at least one transformation step")
		}
		for i, c := range out.Cards {
			p := fmt.Sprintf("/cards/%d", i)
			if c.StepNumber != i+1 {
				v.add(p+"/stepNumber", "is %d but must be %d: number the cards 1, 2, 3, ... in order", c.StepNumber, i+1)
			}
			checkText(v, p+"/title", c.Title)
			checkText(v, p+"/logic", c.Logic)
		}
	case modeldoc.LayerCodeExplanations:
		var out modeldoc.CodeExplanationsOut
		decode(content, &out)
		if len(out.Explanations) == 0 {
			v.add("/explanations", "is empty; explain at least one block of the SQL")
		}
		for i, e := range out.Explanations {
			p := fmt.Sprintf("/explanations/%d", i)
			checkText(v, p+"/codeBlock", e.CodeBlock)
			checkText(v, p+"/plainEnglish", e.PlainEnglish)
		}
	case modeldoc.LayerBusinessRules:
		// No rules is a valid answer for a plain select.
		var out modeldoc.BusinessRulesOut
		decode(content, &out)
		for i, r := range out.Rules {
			p := fmt.Sprintf("/rules/%d", i)
			checkText(v, p+"/rule", r.Rule)
			checkText(v, p+"/codeReference", r.CodeReference)
		}
	case modeldoc.LayerImpactAnalysis:
		var out modeldoc.ImpactAnalysis
		decode(content, &out)
		for i, q := range out.QuestionsAnswered {
			checkText(v, fmt.Sprintf("/questionsAnswered/%d", i), q)
		}
		for i, u := range out.UsedBy {
			checkText(v, fmt.Sprintf("/usedBy/%d/team", i), u.Team)
		}
		checkProse(v, "/downstreamImpact", out.DownstreamImpact)
	case modeldoc.LayerColumnDescriptions:
		var out modeldoc.ColumnDescriptionsOut
		decode(content, &out)
		checkColumns(v, out.Columns, s, asked)
	}
}

func decode(content string, out any) {
	// Cannot fail: the schema has just accepted content.
	_ = json.Unmarshal([]byte(content), out)
}

func checkText(v *ValidationError, ptr, s string) {
	if strings.TrimSpace(s) == "" {
		v.add(ptr, "is empty")
	}
}

// checkProse requires at least one sentence: a few words, not a fragment
// such as "N/A" or "TBD".
func checkProse(v *ValidationError, ptr, s string) {
	if strings.TrimSpace(s) == "" {
		v.add(ptr, "is empty")
		return
	}
	if len(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })) < 3 {
		v.add(ptr, "is %q, which is not a sentence; write at least one full sentence", s)
	}
}

// sentences counts sentence ends: a '.', '!' or '?' followed by a space
// and a capital letter, or ending the text. Abbreviations such as "e.g."
// are followed by a lower-case word and so do not count.
func sentences(s string) int {
	rs := []rune(strings.TrimSpace(s))
	n := 0
	for i, r := range rs {
		if r != '.' && r != '!' && r != '?' {
			continue
		}
		if i == len(rs)-1 {
			n++
			continue
		}
		if i+2 < len(rs) && unicode.IsSpace(rs[i+1]) && unicode.IsUpper(rs[i+2]) {
			n++
		}
	}
	return max(n, 1)
}

func checkColumns(v *ValidationError, cols []modeldoc.ColumnDescription, s *writer.Subject, asked []string) {
	seen := make(map[string]int, len(cols))
	for i, c := range cols {
		p := fmt.Sprintf("/columns/%d", i)
		if j, dup := seen[c.Name]; dup {
			v.add(p+"/name", "%q is described twice (also at /columns/%d); give one entry per column", c.Name, j)
		}
		seen[c.Name] = i
		// An empty description is allowed: it leaves the column
		// undocumented (coverage counts it as missing), which is better
		// than a sentence that only restates the column's name.
		if c.Lineage == "passthrough" && (strings.TrimSpace(c.UpstreamModel) == "" || strings.TrimSpace(c.UpstreamColumn) == "") {
			v.add(p, "column %q is passthrough but upstreamModel or upstreamColumn is empty; name the upstream model and column it comes from, or call it derived", c.Name)
		}
	}
	if s == nil {
		return
	}
	want := make(map[string]bool, len(s.Object.Columns))
	var missing []string
	for _, c := range sortedColumns(s.Object.Columns) {
		want[c.Name] = true
		// An inherited column is not asked for; an answer for it is
		// harmless (the inherited text replaces it).
		if _, ok := seen[c.Name]; !ok && c.InheritedFrom == "" && asked == nil {
			missing = append(missing, c.Name)
		}
	}
	for _, name := range asked {
		if _, ok := seen[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		v.add("/columns", "missing %d of the model's columns: %s; add one entry for each, named exactly as listed", len(missing), quoteList(missing, 20))
	}
	// Extra columns are wrong only when the column list is complete, i.e.
	// it came from the warehouse (catalog.json). Columns declared in YAML
	// alone may be a subset of what the SELECT returns, and a model with no
	// known columns is described from its SQL.
	if !columnsComplete(s.Object.Columns) {
		return
	}
	var extra []string
	for _, c := range cols {
		if !want[c.Name] {
			extra = append(extra, c.Name)
		}
	}
	if len(extra) > 0 {
		v.add("/columns", "%s%s; remove %s, or correct the names to the exact names listed", quoteList(extra, 20), plural(len(extra), " is not a column of the model", " are not columns of the model"), plural(len(extra), "it", "them"))
	}
	if len(s.Upstream) == 0 {
		return
	}
	upstream := make(map[string]bool, len(s.Upstream))
	var names []string
	for _, n := range sortedNeighbors(s.Upstream) {
		upstream[strings.ToLower(n.Object.Name)] = true
		names = append(names, n.Object.Name)
	}
	for i, c := range cols {
		if c.Lineage == "passthrough" && c.UpstreamModel != "" && !upstream[strings.ToLower(c.UpstreamModel)] {
			v.add(fmt.Sprintf("/columns/%d/upstreamModel", i), "%q is not an upstream model of this model; use one of %s", c.UpstreamModel, quoteList(names, 20))
		}
	}
}

func quoteList(names []string, limit int) string {
	var b strings.Builder
	for i, n := range names {
		if i == limit {
			fmt.Fprintf(&b, " and %d more", len(names)-limit)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Repair returns the one re-ask after an invalid answer: the same request
// with the rejected answer and the validation error appended to the user
// message. Providers see the same prefix as the first call, so the re-ask
// is served mostly from their prompt cache. The request has only a system
// and a user message, so the conversation is replayed inside the user
// message rather than as an assistant turn.
//
// An answer that is not even JSON was most often cut at max_tokens, so the
// re-ask gets half as much room again.
func Repair(req writer.Request, badContent string, err error) writer.Request {
	bad, cut := truncateForRepair(badContent)
	var b strings.Builder
	b.WriteString(req.User)
	b.WriteString("\n\n# Your previous answer was rejected\n\n")
	b.WriteString("Your previous answer was:\n")
	f := fence(bad)
	b.WriteString(f + "json\n" + bad + "\n" + f + "\n")
	if cut {
		b.WriteString("(cut here for length)\n")
	}
	b.WriteString("\nIt was rejected because " + line(errText(err)) + "\n\n")
	b.WriteString("Answer again with the whole corrected JSON object, matching the " + req.SchemaName + " schema, and nothing else.\n")
	out := req
	out.User = b.String()
	if !json.Valid([]byte(badContent)) && req.MaxTokens > 0 {
		out.MaxTokens = req.MaxTokens * 3 / 2
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return "it did not match the schema."
	}
	s := err.Error()
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// A rejected answer is shown back in full up to this many bytes: enough to
// see the mistake, not so much that a runaway answer doubles the prompt.
const maxRepairBytes = 8000

func truncateForRepair(s string) (string, bool) {
	if len(s) <= maxRepairBytes {
		return s, false
	}
	return truncateBytes(s, maxRepairBytes), true
}

func truncateBytes(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// columnsComplete reports whether cols is the model's whole column list:
// true when the warehouse reported any of them (a type or an undeclared
// column), false for YAML declarations alone or no columns at all.
func columnsComplete(cols []modeldoc.Column) bool {
	for _, c := range cols {
		if c.DataType != "" || !c.Declared {
			return true
		}
	}
	return false
}
