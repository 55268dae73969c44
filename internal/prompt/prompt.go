// Package prompt turns a model and its lineage into the exact requests a
// writer sends for each documentation layer, and checks the answers: it
// holds the versioned prompt templates, the JSON Schema of every layer,
// validation (schema and the rules a schema cannot express), the one re-ask
// after an invalid answer, and the hash of everything a version is written
// from.
//
// Prompts are laid out for providers' prefix caches. The system prompt is
// the same bytes for every call. The user prompt puts what is shared by
// all layers of one model first (its SQL, columns and lineage) and the
// layer's task last, so the 7 calls for one model share a prefix of the
// system prompt plus the model's context: usually past the 1,024 tokens
// OpenAI needs before it caches, and cheaper on Anthropic when the writer
// marks the prefix with cache_control.
package prompt

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/tokens"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Version is stored with every documentation version, so that a change of
// wording can mark earlier documentation as stale. Bump it on any change to
// templates/, schemas/ or to what Build puts into a prompt.
const Version = "v8"

//go:embed templates/*.tmpl
var templateFS embed.FS

// text/template, not html/template: prompts are plain text and HTML escaping
// would garble SQL ("<>", "'"). User text cannot break the structure anyway:
// SQL sits in a fence longer than any backtick run inside it, and every other
// piece of user text is flattened to one line.
var templates = template.Must(template.New("").ParseFS(templateFS, "templates/*.tmpl"))

// layerTemplates are the layer templates with their {{template "context" .}}
// replaced by the context BuildAll rendered once for all layers: rendering
// it seven times was most of the cost of planning an object. The files stay
// as they are (their text is what Version fingerprints), and
// TestSharedContextRendersTheSame holds the output byte-identical.
var layerTemplates = shareContext(templates)

func shareContext(base *template.Template) *template.Template {
	t := template.Must(base.Clone())
	field := template.Must(template.New("field").Parse(`{{.RenderedContext}}`)).Tree.Root.Nodes[0]
	names := make([]string, 0, len(modeldoc.AllLayers)+1)
	for _, l := range modeldoc.AllLayers {
		names = append(names, string(l)+".tmpl")
	}
	for _, name := range append(names, CombinedLayer+".tmpl") {
		lt := t.Lookup(name)
		if lt == nil {
			panic("prompt: no template " + name)
		}
		// Clone shares the parse trees with base: edit a copy.
		tree := lt.Tree.Copy()
		replaced := 0
		for i, n := range tree.Root.Nodes {
			if tn, ok := n.(*parse.TemplateNode); ok && tn.Name == "context" {
				tree.Root.Nodes[i] = field
				replaced++
			}
		}
		if replaced != 1 {
			panic(fmt.Sprintf("prompt: %s includes the context %d times at its top level, want once", name, replaced))
		}
		template.Must(t.AddParseTree(name, tree))
	}
	return t
}

// System is the system prompt every layer shares. It is byte-identical
// across models and layers so that providers' prefix caches serve it.
var System = mustExec("system.tmpl", nil)

// Options tune Build. The zero value is usable.
type Options struct {
	// Model is the provider's model name, copied into the request.
	Model string
	// MaxSQLTokens caps the SQL shown; longer SQL is cut with a visible
	// marker. Defaults to 6000.
	MaxSQLTokens int
	// MaxUpstream caps the upstream objects shown in full. Defaults to 15.
	MaxUpstream int
	// MaxDownstream caps the downstream objects listed. Defaults to 25.
	MaxDownstream int
	// MaxUpstreamColumns caps the columns listed per upstream object.
	// Defaults to 40.
	MaxUpstreamColumns int
	// MaxTokens overrides the completion budget of a layer; see MaxTokens.
	MaxTokens map[modeldoc.Layer]int
	// ReasoningEffort is the reasoning_effort asked of the model; "" means
	// writer.DefaultReasoningEffort for an OpenAI reasoning model and none
	// for other models (see writer.ReasoningEffortFor). A request that
	// carries an effort gets its writer.ReasoningAllowance on top of the
	// layer's budget, which sizes the answer alone.
	ReasoningEffort string
	// OverwriteHuman asks for the columns a person documented too; by
	// default they are context, not tasks, as inherited ones are.
	OverwriteHuman bool
	// MaxColumnsPerCall caps the columns one column_descriptions request
	// asks for in BuildCalls' combined mode; wider models get several.
	// Defaults to 60.
	MaxColumnsPerCall int
}

func (o Options) withDefaults() Options {
	o.MaxSQLTokens = cmp.Or(o.MaxSQLTokens, 6000)
	o.MaxUpstream = cmp.Or(o.MaxUpstream, 15)
	o.MaxDownstream = cmp.Or(o.MaxDownstream, 25)
	o.MaxUpstreamColumns = cmp.Or(o.MaxUpstreamColumns, 40)
	o.MaxColumnsPerCall = cmp.Or(o.MaxColumnsPerCall, 60)
	return o
}

// MaxTokens is the completion budget of a layer for a model with ncols
// columns. The original system's budgets (250 to 1,200) were for loose JSON;
// structured outputs spend tokens on keys and quoting, so these are about a
// third higher. OpenAI debits max_tokens against the TPM limit before the
// call, so they stay tight rather than generous.
func MaxTokens(layer modeldoc.Layer, ncols int) int {
	switch layer {
	case modeldoc.LayerExecutiveSummary:
		return 300
	case modeldoc.LayerBusinessNarrative:
		return 900
	case modeldoc.LayerTransformationCards, modeldoc.LayerCodeExplanations:
		return 1600
	case modeldoc.LayerBusinessRules:
		return 1000
	case modeldoc.LayerImpactAnalysis:
		return 800
	case modeldoc.LayerColumnDescriptions:
		// About 60 tokens of description and 30 of JSON per column.
		return min(max(200+90*ncols, 600), 16000)
	}
	return 1000
}

// Build returns the request for one layer of s's documentation. It fails
// with EINVALID for an unknown layer or a nil subject.
func Build(layer modeldoc.Layer, s *writer.Subject, opts Options) (writer.Request, error) {
	reqs, err := BuildAll([]modeldoc.Layer{layer}, s, opts)
	if err != nil {
		return writer.Request{}, err
	}
	return reqs[0], nil
}

// BuildAll returns the requests for several layers of s's documentation,
// one per layer, in the order given. It reads (and counts the tokens of)
// the SQL once, where calling Build per layer would read it once per
// layer. The column_descriptions request asks for the columns nobody has
// documented (see AskedColumns); BuildCalls leaves it out when there are
// none, BuildAll does not.
func BuildAll(layers []modeldoc.Layer, s *writer.Subject, opts Options) ([]writer.Request, error) {
	v, opts, err := prepare(layers, s, opts)
	if err != nil {
		return nil, err
	}
	reqs := make([]writer.Request, 0, len(layers))
	for _, layer := range layers {
		req, err := layerRequest(layer, s, v, opts)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, req)
	}
	return reqs, nil
}

// prepare checks the layers and renders the context shared by all of s's
// requests.
func prepare(layers []modeldoc.Layer, s *writer.Subject, opts Options) (*view, Options, error) {
	for _, l := range layers {
		if _, err := modeldoc.ParseLayer(string(l)); err != nil {
			return nil, opts, err
		}
	}
	if s == nil {
		return nil, opts, modeldoc.Errorf(modeldoc.EINVALID, "No model to document: the subject is missing.")
	}
	opts = opts.withDefaults()
	v := newView(s, opts)
	rendered, err := exec("context", v)
	if err != nil {
		return nil, opts, err
	}
	v.RenderedContext = rendered
	return &v, opts, nil
}

func layerRequest(layer modeldoc.Layer, s *writer.Subject, v *view, opts Options) (writer.Request, error) {
	user, err := execLayer(string(layer)+".tmpl", *v)
	if err != nil {
		return writer.Request{}, err
	}
	n := len(s.Object.Columns)
	if layer == modeldoc.LayerColumnDescriptions && v.ColumnsComplete {
		n = len(v.Ask)
	} else if layer == modeldoc.LayerColumnDescriptions {
		// The writer must add the columns the project does not list:
		// a budget for the listed ones alone cut HubSpot's
		// int_hubspot__form_metrics__by_contact (none listed, 12
		// returned) at 600 tokens in every run.
		n = max(n, s.OutputColumns, selectWidth(s.Object.SQL()))
	}
	maxTokens := MaxTokens(layer, n)
	if m, ok := opts.MaxTokens[layer]; ok && m > 0 {
		maxTokens = m
	}
	effort := writer.ReasoningEffortFor(opts.Model, opts.ReasoningEffort)
	maxTokens += writer.ReasoningAllowance(effort)
	req := writer.Request{
		Layer:           layer,
		Model:           opts.Model,
		System:          System,
		User:            user,
		SchemaName:      string(layer),
		Schema:          Schema(layer),
		MaxTokens:       maxTokens,
		ReasoningEffort: effort,
		Subject:         s,
	}
	if layer == modeldoc.LayerColumnDescriptions {
		req.Columns = askedNames(v)
	}
	req.CachePrefix = sharedPrefix(user, v)
	return req, nil
}

// sharedPrefix is the length of the context at the start of user: every
// request for the object opens with the same rendered context, so the
// bytes up to its end are what a provider's cache can serve again.
func sharedPrefix(user string, v *view) int {
	if v.RenderedContext != "" && strings.HasPrefix(user, v.RenderedContext) {
		return len(v.RenderedContext)
	}
	return 0
}

// view is what the templates see: every string already flattened, capped
// and fenced, so the templates hold wording and layout only.
type view struct {
	Name, Type, Materialization, Schema, FilePath, Description string
	SQLKind, SQL, Fence                                        string
	Columns                                                    []columnView
	// ColumnsComplete is false when the known columns are only those YAML
	// declares (or none): the model must then add the SELECT's others.
	ColumnsComplete bool
	// ToDescribe counts the columns a writer is asked to describe: those
	// nobody documented (see AskedColumns). Ask lists them, or this
	// request's share of them (Part of Parts) when a wide model's columns
	// are asked in several calls.
	ToDescribe, Inherited, Human int
	Ask                          []columnView
	Part, Parts                  int
	// Combined is true in the one request that asks for several layers;
	// Has says which (by layer name) and Keys lists them in order.
	Combined                           bool
	Has                                map[string]bool
	Keys                               string
	Upstream                           []neighborView
	UpstreamTotal, UpstreamLeftOut     int
	Downstream                         []neighborView
	DownstreamTotal, DownstreamLeftOut int
	// Tags, Owner and Dependents (every object downstream, directly or
	// not) are what the project says of the model's place and use; Keys*
	// what its tests say of its grain and values.
	Tags, Owner string
	Dependents  int
	// Exposures are the project's declared uses a change reaches:
	// "dashboard revenue (Daily revenue), owned by Finance; reads it directly".
	Exposures         []string
	Grain, NotNull    string
	Accepted, Related []string
	// Config is the unique_key line, Contract the contract's, from the
	// model's dbt config.
	Config, Contract string
	// Examples are the project's own human descriptions near the model,
	// to write in the team's style.
	ModelExamples, ColumnExamples []string
	// RenderedContext is the "context" template's output for this view,
	// which layerTemplates print in its place.
	RenderedContext string
}

type columnView struct {
	Name, Type, Description, InheritedFrom, From, Tests string
	// Generated is the machine-written text of the upstream column this
	// one comes from, shown only when nobody documented either; Label says
	// how far to trust it ("generated, unreviewed").
	Generated, GeneratedLabel string
}

type neighborView struct {
	Name, Type, Summary, SummaryLabel, Description string
	Columns                                        string // "a (int), b (text), and 3 more"
}

func newView(s *writer.Subject, opts Options) view {
	o := &s.Object
	v := view{
		Name:            line(o.Name),
		Type:            line(string(o.Type)),
		Materialization: line(o.Materialization),
		Schema:          line(o.Schema),
		FilePath:        line(o.FilePath),
		// An object's description only ever comes from the project (dbt
		// YAML, or a person's edit); generated text lives in DocVersion.
		Description: line(o.Description),
	}
	v.SQLKind, v.SQL = chooseSQL(o, opts.MaxSQLTokens)
	v.Fence = fence(v.SQL)
	v.Tags = line(strings.Join(o.Tags, ", "))
	if owner, ok := o.Meta["owner"].(string); ok {
		v.Owner = line(owner)
	}
	v.Dependents = s.Dependents
	for _, e := range s.Exposures {
		x := e.Type + " " + e.Name
		if e.Label != "" && e.Label != e.Name {
			x += " (" + e.Label + ")"
		}
		if e.Owner != "" {
			x += ", owned by " + e.Owner
		}
		if slices.Contains(e.Reads, o.ID) {
			x += "; reads it directly"
		} else {
			x += "; reads models built from it"
		}
		if d := strings.TrimSpace(e.Description); d != "" {
			x += ": " + d
		}
		v.Exposures = append(v.Exposures, line(x))
	}
	v.Grain, v.NotNull, v.Accepted, v.Related = testLines(o.Columns)
	v.Config, v.Contract = configLine(o.Materialization, o.Config)
	v.ModelExamples, v.ColumnExamples = examples(s)

	v.ColumnsComplete = columnsComplete(o.Columns)
	generated := map[string]map[string]writer.GeneratedText{}
	for _, n := range s.Upstream {
		if len(n.Generated) > 0 {
			generated[strings.ToLower(n.Object.Name)] = n.Generated
		}
	}
	for _, c := range sortedColumns(o.Columns) {
		cv := columnView{Name: line(c.Name), Type: line(c.DataType)}
		if src, ok := s.Lineage[strings.ToLower(c.Name)]; ok {
			if src.Model != "" {
				cv.From = line(src.Model + "." + src.Column)
			} else {
				cv.From = "= " + clip(line(src.Expr), 100)
			}
		}
		// Only human descriptions: feeding our own earlier output back in
		// would make each version drift further from the SQL.
		switch {
		case c.HumanDescription:
			cv.Description = line(c.Description)
			v.Human++
		case c.InheritedFrom != "":
			// A person's text from upstream, carried down verbatim:
			// documentation, not a task.
			cv.Description, cv.InheritedFrom = line(c.Description), line(c.InheritedFrom)
			v.Inherited++
		default:
			// Nobody documented the column or its source: the upstream's
			// machine-written text is a hint, labelled as one.
			if src, ok := s.Lineage[strings.ToLower(c.Name)]; ok && src.Model != "" {
				if g, ok := generated[strings.ToLower(src.Model)][strings.ToLower(src.Column)]; ok {
					cv.Generated, cv.GeneratedLabel = clip(line(g.Text), 300), reviewLabel(g.Review)
				}
			}
		}
		v.Columns = append(v.Columns, cv)
		if asked(c, opts.OverwriteHuman) {
			v.Ask = append(v.Ask, cv)
		}
	}
	v.ToDescribe = len(v.Ask)
	v.Part, v.Parts = 1, 1
	up := sortedNeighbors(s.Upstream)
	v.UpstreamTotal = len(up)
	if len(up) > opts.MaxUpstream {
		v.UpstreamLeftOut = len(up) - opts.MaxUpstream
		up = up[:opts.MaxUpstream]
	}
	for _, n := range up {
		v.Upstream = append(v.Upstream, neighborView{
			Name:         line(n.Object.Name),
			Type:         line(string(n.Object.Type)),
			Summary:      line(n.Summary),
			SummaryLabel: reviewLabel(n.SummaryReview),
			Description:  line(n.Object.Description),
			Columns:      columnList(n.Object.Columns, opts.MaxUpstreamColumns),
		})
	}

	down := sortedNeighbors(s.Downstream)
	v.DownstreamTotal = len(down)
	if len(down) > opts.MaxDownstream {
		v.DownstreamLeftOut = len(down) - opts.MaxDownstream
		down = down[:opts.MaxDownstream]
	}
	for _, n := range down {
		v.Downstream = append(v.Downstream, neighborView{Name: line(n.Object.Name), Type: line(string(n.Object.Type))})
	}
	return v
}

// reviewLabel says how far machine-written text was checked by a person.
func reviewLabel(state string) string {
	switch state {
	case modeldoc.ReviewAccepted:
		return "generated, accepted by a reviewer"
	case modeldoc.ReviewEdited:
		return "generated, then edited by a reviewer"
	}
	return "generated, unreviewed"
}

// TruncationMarker is the line that ends SQL cut at the token budget.
func TruncationMarker(shown, total int) string {
	return fmt.Sprintf("-- [modeldoc: SQL truncated: %d of %d tokens shown]", shown, total)
}

func cutSQL(sql string, budget int) string {
	if fits(sql, budget) {
		return sql
	}
	total := tokens.Count(sql)
	// Keep the final SELECT (what the model returns) when it is a small
	// part of the budget, and cut the head before it.
	tail := ""
	if i := strings.LastIndex(strings.ToLower(sql), "\nselect"); i > 0 {
		if t := sql[i+1:]; tokens.Count(t) <= budget/3 {
			tail = t
		}
	}
	head := sql
	if tail != "" {
		head = sql[:len(sql)-len(tail)]
	}
	cut, _ := tokens.Truncate(head, budget-tokens.Count(tail))
	// End on a whole line when that loses little, so the model does not read
	// half a condition as the real one.
	if i := strings.LastIndexByte(cut, '\n'); i > len(cut)*4/5 {
		cut = cut[:i]
	}
	cut = strings.TrimRight(cut, " \t\r\n")
	shown := tokens.Count(cut) + tokens.Count(tail)
	if tail == "" {
		return cut + "\n" + TruncationMarker(shown, total)
	}
	return cut + "\n" + TruncationMarker(shown, total) + " [the final SELECT follows]\n" + tail
}

// fence returns a Markdown code fence longer than any run of backticks in
// sql, so nothing inside can close it.
func fence(sql string) string {
	longest, run := 0, 0
	for i := 0; i < len(sql); i++ {
		if sql[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// line flattens user text to one line, so that no description, name or
// summary can start a heading or a fence of its own.
func line(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func columnList(cols []modeldoc.Column, limit int) string {
	cols = sortedColumns(cols)
	var b strings.Builder
	for i, c := range cols {
		if i == limit {
			fmt.Fprintf(&b, ", and %d more", len(cols)-limit)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(line(c.Name))
		if c.DataType != "" {
			b.WriteString(" (" + line(c.DataType) + ")")
		}
	}
	return b.String()
}

// sortedColumns orders columns by position without changing the caller's
// slice; the sort is stable so columns without positions keep the
// importer's order, which is the table's.
func sortedColumns(cols []modeldoc.Column) []modeldoc.Column {
	out := slices.Clone(cols)
	slices.SortStableFunc(out, func(a, b modeldoc.Column) int {
		return cmp.Compare(a.Position, b.Position)
	})
	return out
}

// sortedNeighbors orders neighbors by name so that a prompt (and its cache
// prefix) does not depend on the order a store happened to return them in.
func sortedNeighbors(ns []writer.Neighbor) []writer.Neighbor {
	out := slices.Clone(ns)
	slices.SortStableFunc(out, func(a, b writer.Neighbor) int {
		return cmp.Or(cmp.Compare(a.Object.Name, b.Object.Name), cmp.Compare(a.Object.UniqueID, b.Object.UniqueID))
	})
	return out
}

func exec(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render prompt %s: %w", name, err)
	}
	return b.String(), nil
}

func execLayer(name string, v view) (string, error) {
	var b bytes.Buffer
	b.Grow(len(v.RenderedContext) + 2048)
	if err := layerTemplates.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("render prompt %s: %w", name, err)
	}
	return b.String(), nil
}

func mustExec(name string, data any) string {
	s, err := exec(name, data)
	if err != nil {
		panic(err)
	}
	return s
}
