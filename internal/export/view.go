package export

import (
	"strings"

	"github.com/modeldoc/modeldoc"
)

// ComplexityScale is the top of the complexity score (1 to 5, from
// sqlscan.Complexity): every rendering shows the score out of it.
const ComplexityScale = 5

// Complexity is a version's complexity score with what raised it.
type Complexity struct {
	Score int
	Scale int
	// Reasons are recomputed from the object's SQL and lineage, the way
	// the score was computed when the version was written: the version
	// stores the score, and the reasons make it reviewable.
	Reasons []string
}

// ViewLink is a neighbour in the lineage; File is its page in an export
// and empty elsewhere.
type ViewLink struct {
	ID                   int64
	UniqueID, Name, Type string
	File                 string
}

// ViewColumn is one column as a publication shows it.
type ViewColumn struct {
	// Source is where the description comes from (human, accepted or
	// draft), Badge how a page labels it.
	Name, DataType, Description, Source, Badge, Lineage string
	Tests                                               []string
}

// DocView is one object's documentation decoded once for every rendering:
// the terminal (`modeldoc docs show`), the static site, the Markdown
// export and the JSON export read it, so they agree on what a version says, which layers are
// drafts or rejected, and the complexity scale. It holds every layer of the
// version; a publication (the site, Markdown) shows only the Published
// ones, while the terminal, a review tool, shows them all with their
// review state.
type DocView struct {
	Project string
	Object  *modeldoc.Object
	// File is the object's page in an export ("" outside exports).
	File string
	// Version is the documentation shown; nil when there is none.
	Version *modeldoc.DocVersion
	Stale   bool

	// Filled by decode, from Version.
	Complexity *Complexity
	Summary    string
	Narrative  *modeldoc.BusinessNarrative
	Cards      []modeldoc.TransformationCard
	Code       []modeldoc.CodeExplanation
	Rules      []modeldoc.BusinessRule
	Impact     *modeldoc.ImpactAnalysis
	// GeneratedColumns is the column layer as it was written.
	GeneratedColumns []modeldoc.ColumnDescription
	// Columns are the object's columns, then generated ones it does not
	// have, each with the description a publication shows (never a
	// rejected one) and whose it is.
	Columns []ViewColumn

	Upstream, Downstream []ViewLink

	decoded map[modeldoc.Layer]bool
}

// ViewInput is what a DocView is made of.
type ViewInput struct {
	Project              string
	Object               *modeldoc.Object
	File                 string
	Version              *modeldoc.DocVersion
	Stale                bool
	Upstream, Downstream []ViewLink
}

// NewDocView decodes in.Version. A layer that does not decode is left out
// and the first such error is returned with the view: an export stops on
// it, the terminal shows the rest.
func NewDocView(in ViewInput) (*DocView, error) {
	d := &DocView{Project: in.Project, Object: in.Object, File: in.File, Version: in.Version, Stale: in.Stale,
		Upstream: in.Upstream, Downstream: in.Downstream}
	return d, d.decode()
}

// projectView is the view of object o of p, with its neighbours' pages
// named as in names with extension ext; decode fills in its layers.
func projectView(p *Project, o *modeldoc.Object, names map[*modeldoc.Object]string, ext string) *DocView {
	d := &DocView{Project: p.Project.Name, Object: o, Version: p.Docs[o.ID], Stale: p.Summary[o.ID].Stale}
	if names != nil {
		d.File = names[o] + ext
	}
	link := func(id int64) ViewLink {
		n := p.Object(id)
		l := ViewLink{ID: id, UniqueID: n.UniqueID, Name: n.Name, Type: string(n.Type)}
		if names != nil {
			l.File = names[n] + ext
		}
		return l
	}
	for _, id := range p.Upstream[o.ID] {
		d.Upstream = append(d.Upstream, link(id))
	}
	for _, id := range p.Downstream[o.ID] {
		d.Downstream = append(d.Downstream, link(id))
	}
	return d
}

// Review returns layer l's review state; "" when the version lacks it.
func (d *DocView) Review(l modeldoc.Layer) string {
	if d.Version == nil {
		return ""
	}
	if _, ok := d.Version.Layers[l]; !ok {
		return ""
	}
	return d.Version.LayerReview(l)
}

// Has reports whether the version has layer l and it decoded.
func (d *DocView) Has(l modeldoc.Layer) bool { return d.decoded[l] }

// Published reports whether a publication shows layer l: the version has
// it and nobody rejected it.
func (d *DocView) Published(l modeldoc.Layer) bool {
	r := d.Review(l)
	return r != "" && r != modeldoc.ReviewRejected
}

// PublishedSummary is the executive summary a publication shows: "" when
// there is none or it was rejected.
func (d *DocView) PublishedSummary() string {
	if !d.Published(modeldoc.LayerExecutiveSummary) {
		return ""
	}
	return d.Summary
}

// Draft reports whether layer l is shown with text nobody has reviewed.
func (d *DocView) Draft(l modeldoc.Layer) bool {
	return l != modeldoc.LayerColumnDescriptions && d.Review(l) == modeldoc.ReviewDraft
}

func (d *DocView) decode() error {
	v := d.Version
	var first error
	d.decoded = map[modeldoc.Layer]bool{}
	decode := func(l modeldoc.Layer, into any) bool {
		ok, err := decodeLayer(v, l, into)
		if err != nil && first == nil {
			first = err
		}
		d.decoded[l] = ok && err == nil
		return d.decoded[l]
	}
	if v != nil {
		d.Complexity = &Complexity{Score: v.ComplexityScore, Scale: ComplexityScale, Reasons: ComplexityReasons(d.Object, len(d.Upstream))}
		var sum modeldoc.ExecutiveSummaryOut
		if decode(modeldoc.LayerExecutiveSummary, &sum) {
			d.Summary = sum.Summary
		}
		var n modeldoc.BusinessNarrative
		if decode(modeldoc.LayerBusinessNarrative, &n) {
			d.Narrative = &n
		}
		var cards modeldoc.TransformationCardsOut
		if decode(modeldoc.LayerTransformationCards, &cards) {
			d.Cards = cards.Cards
		}
		var code modeldoc.CodeExplanationsOut
		if decode(modeldoc.LayerCodeExplanations, &code) {
			d.Code = code.Explanations
		}
		var rules modeldoc.BusinessRulesOut
		if decode(modeldoc.LayerBusinessRules, &rules) {
			d.Rules = rules.Rules
		}
		var impact modeldoc.ImpactAnalysis
		if decode(modeldoc.LayerImpactAnalysis, &impact) {
			d.Impact = &impact
		}
		var cols modeldoc.ColumnDescriptionsOut
		if decode(modeldoc.LayerColumnDescriptions, &cols) {
			d.GeneratedColumns = cols.Columns
		}
	}
	all, _, err := ColumnDocs(v)
	if err != nil {
		// Reported above already, when the layer would not decode.
		all = nil
	}
	d.Columns = publishedColumns(d.Object, v, all)
	return first
}

// publishedColumns merges the object's columns with the generated
// descriptions (all, from ColumnDocs) a publication may show: rejected
// ones are not published, the others say whose they are.
func publishedColumns(o *modeldoc.Object, v *modeldoc.DocVersion, all []modeldoc.ColumnDescription) []ViewColumn {
	var cols []modeldoc.ColumnDescription
	gen := map[string]modeldoc.ColumnDescription{}
	for _, c := range all {
		if v.ColumnReviewState(c) != modeldoc.ReviewRejected {
			cols = append(cols, c)
			gen[strings.ToLower(c.Name)] = c
		}
	}
	source := func(c modeldoc.ColumnDescription) (string, string) {
		switch st := v.ColumnReviewState(c); st {
		case modeldoc.ReviewHuman, modeldoc.ReviewEdited:
			return modeldoc.ReviewHuman, st
		case modeldoc.ReviewAccepted:
			return modeldoc.ReviewAccepted, modeldoc.ReviewAccepted
		}
		return modeldoc.ReviewDraft, "AI draft"
	}
	var out []ViewColumn
	seen := map[string]bool{}
	for _, c := range o.Columns {
		k := strings.ToLower(c.Name)
		seen[k] = true
		vc := ViewColumn{Name: c.Name, DataType: c.DataType, Tests: c.Tests}
		g, hasGen := gen[k]
		switch {
		case c.HumanDescription && strings.TrimSpace(c.Description) != "":
			vc.Description, vc.Source, vc.Badge = c.Description, modeldoc.ReviewHuman, modeldoc.ReviewHuman
		case hasGen:
			vc.Description = g.Description
			vc.Source, vc.Badge = source(g)
		default:
			vc.Description = c.Description
		}
		if hasGen {
			vc.Lineage = lineageText(g)
		}
		out = append(out, vc)
	}
	for _, g := range cols {
		if !seen[strings.ToLower(g.Name)] {
			vc := ViewColumn{Name: g.Name, Description: g.Description, Lineage: lineageText(g)}
			vc.Source, vc.Badge = source(g)
			out = append(out, vc)
		}
	}
	return out
}
