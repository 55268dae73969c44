package generate

import (
	"cmp"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Column documentation is inherited along the column lineage before any
// writer is asked, the way teams document dbt projects (and dbt-osmosis
// propagates): a column that passes through unchanged (selected, renamed,
// cast, coalesced with itself) takes the nearest documented ancestor
// column's human text verbatim. Each upstream neighbor carries its own
// columns' human text and, from its current documentation, the text it
// inherited in turn, so one hop per model reaches any depth as a job
// documents models in lineage order. The model's own human text always
// wins; writers are not asked for inherited columns, and whatever they
// answer for them is replaced.

// ancestorDocs finds, for column names, the documentation of the nearest
// farther ancestor (beyond the subject's direct upstreams) with a
// same-named documented column.
type ancestorDocs func(names []string) map[string]*modeldoc.ColumnDescription

// inheritance is what the subject's columns inherit.
type inheritance struct {
	names []string
	// base is each column's lineage as the SQL shows it, and docs its
	// inherited text (nil: none).
	base, docs []*modeldoc.ColumnDescription
	// pending are the indexes of the columns that may inherit from a
	// farther ancestor.
	pending []int
	// human are the subject's own documented columns with the lineage
	// the SQL shows: not asked of a writer, so the column layer gets
	// them from here.
	human []modeldoc.ColumnDescription
	// lineage is where each column comes from, for the prompts.
	lineage map[string]writer.ColumnSource
}

// inheritColumns works out what the subject's columns inherit from its
// direct upstreams. A column whose value is not computed from other
// columns here, but whose lineage meets no documentation (it passes
// through undocumented columns, the SQL does not show it, or the model
// re-stamps a constant under an upstream column's name), takes the text of
// the same-named column of the direct upstreams when they agree, or is left
// pending for a farther ancestor (see deepen).
func inheritColumns(subj *writer.Subject) *inheritance {
	inh := &inheritance{}
	if len(subj.Upstream) == 0 {
		return inh
	}
	obj := &subj.Object
	a := sqlscan.Analyze(obj.SQL())
	res := newResolver(subj, a)
	own := make(map[string]*modeldoc.Column, len(obj.Columns))
	for i := range obj.Columns {
		own[strings.ToLower(obj.Columns[i].Name)] = &obj.Columns[i]
	}
	inh.names = outputNames(subj, a, res)
	inh.lineage = map[string]writer.ColumnSource{}
	exprs := map[string]string{}
	for _, c := range a.FinalColumns() {
		if c.Kind != sqlscan.ColumnStar && c.Name != "" {
			exprs[strings.ToLower(c.Name)] = c.Expr
		}
	}
	inh.base = make([]*modeldoc.ColumnDescription, len(inh.names))
	inh.docs = make([]*modeldoc.ColumnDescription, len(inh.names))
	for i, name := range inh.names {
		hc := own[strings.ToLower(name)]
		if hc != nil && !(hc.HumanDescription && meaningful(hc.Description)) {
			hc = nil
		}
		o := traceColumn(a, res, name)
		if o.Passthrough {
			if nb := res.Neighbor(o.Relation); nb != nil {
				inh.lineage[strings.ToLower(name)] = writer.ColumnSource{Model: nb.Object.Name, Column: o.Column}
			}
		} else if e := exprs[strings.ToLower(name)]; o.Found && e != "" {
			inh.lineage[strings.ToLower(name)] = writer.ColumnSource{Expr: e}
		}
		if hc != nil {
			h := modeldoc.ColumnDescription{Name: name, Description: hc.Description, Lineage: "derived"}
			if o.Passthrough {
				if nb := res.Neighbor(o.Relation); nb != nil {
					h.Lineage, h.UpstreamModel, h.UpstreamColumn = "passthrough", nb.Object.Name, o.Column
				}
			}
			inh.human = append(inh.human, h)
			continue
		}
		base := &modeldoc.ColumnDescription{Name: name, Lineage: "derived"}
		var d *modeldoc.ColumnDescription
		switch {
		case o.Passthrough:
			if nb := res.Neighbor(o.Relation); nb != nil {
				base.Lineage, base.UpstreamModel, base.UpstreamColumn = "passthrough", nb.Object.Name, o.Column
				dd := documented(nb, o.Column)
				if dd != nil {
					d = dd.ColumnDescription
				}
				if dd != nil && !dd.human && joinedOn(obj.SQL(), name) {
					// The upstream only passes on a farther ancestor's
					// text, while an upstream joined on this very column
					// documents it itself: the nearer text is the one the
					// team wrote for this part of the project.
					if h := sameNamedHuman(subj, name); h != nil {
						h.Lineage, h.UpstreamModel, h.UpstreamColumn = base.Lineage, base.UpstreamModel, base.UpstreamColumn
						d = h
					}
				}
			}
		case o.Found && !o.Constant:
			continue // computed here: a writer explains it
		}
		inh.base[i] = base
		if d == nil {
			d = sameNamed(subj, name)
			if d != nil && o.Found {
				// The SQL shows where the column comes from: its lineage
				// stands, only the text is the upstreams'.
				d.Lineage, d.UpstreamModel, d.UpstreamColumn = base.Lineage, base.UpstreamModel, base.UpstreamColumn
			}
		}
		if d == nil {
			inh.pending = append(inh.pending, i)
			continue
		}
		inh.docs[i] = d
	}
	return inh
}

// deepen gives the pending columns the text deep finds, keeping the
// lineage the SQL shows (a farther ancestor is not an upstream model).
func (inh *inheritance) deepen(deep ancestorDocs) {
	if len(inh.pending) == 0 || deep == nil {
		return
	}
	names := make([]string, len(inh.pending))
	for j, i := range inh.pending {
		names[j] = inh.names[i]
	}
	found := deep(names)
	for _, i := range inh.pending {
		if d := found[strings.ToLower(inh.names[i])]; d != nil {
			b := *inh.base[i]
			b.Description, b.InheritedFrom = d.Description, d.InheritedFrom
			inh.docs[i] = &b
		}
	}
	inh.pending = nil
}

// list is the columns that inherit, in output order.
func (inh *inheritance) list() []modeldoc.ColumnDescription {
	var out []modeldoc.ColumnDescription
	for i, d := range inh.docs {
		if d != nil {
			c := *d
			c.Name = inh.names[i]
			out = append(out, c)
		}
	}
	return out
}

// doc is a column's documentation as found upstream; human is true when
// the upstream's own YAML wrote it (not inherited in turn), which makes it
// nearer than any inherited text.
type doc struct {
	*modeldoc.ColumnDescription
	human bool
}

// documented is the documentation nb has for its column col: its human
// text, else the text it inherited itself.
func documented(nb *writer.Neighbor, col string) *doc {
	for _, c := range nb.Object.Columns {
		if !strings.EqualFold(c.Name, col) || !meaningful(c.Description) {
			continue
		}
		d := &modeldoc.ColumnDescription{Description: c.Description, Lineage: "passthrough",
			UpstreamModel: nb.Object.Name, UpstreamColumn: c.Name}
		switch {
		case c.HumanDescription:
			d.InheritedFrom = provenance(&nb.Object, c.Name)
		case c.InheritedFrom != "":
			d.InheritedFrom = c.InheritedFrom
		default:
			return nil
		}
		return &doc{d, c.HumanDescription}
	}
	return nil
}

// sameNamed is the documentation of the same-named column of the
// upstreams: the nearest, so the text an upstream's own YAML gives over
// texts upstreams inherited from farther up (Tuva's quality measures
// document patient_id and tuva_last_run their own way, their core inputs
// another), when the nearest ones say the same thing.
func sameNamed(subj *writer.Subject, name string) *modeldoc.ColumnDescription {
	if h := sameNamedHuman(subj, name); h != nil {
		return h
	}
	return agreeing(subj, name, false)
}

// sameNamedHuman is the human text of the same-named column of the
// upstreams that document it themselves, when they agree.
func sameNamedHuman(subj *writer.Subject, name string) *modeldoc.ColumnDescription {
	return agreeing(subj, name, true)
}

func agreeing(subj *writer.Subject, name string, humanOnly bool) *modeldoc.ColumnDescription {
	var found *modeldoc.ColumnDescription
	ups := slices.Clone(subj.Upstream)
	slices.SortFunc(ups, func(a, b writer.Neighbor) int {
		return cmp.Or(cmp.Compare(a.Object.Name, b.Object.Name), cmp.Compare(a.Object.UniqueID, b.Object.UniqueID))
	})
	for i := range ups {
		d := documented(&ups[i], name)
		if d == nil || humanOnly && !d.human {
			continue
		}
		if found != nil && flat(found.Description) != flat(d.Description) {
			return nil
		}
		if found == nil {
			found = d.ColumnDescription
		}
	}
	return found
}

func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// joinedOn reports whether sql equates two qualified columns named col
// (a.encounter_id = c.encounter_id): the relations are joined on it, so
// their same-named columns hold the same value.
func joinedOn(sql, col string) bool {
	toks := sqlscan.Tokenize(sql)
	var code []sqlscan.Token
	for _, t := range toks {
		if t.Kind != sqlscan.Comment {
			code = append(code, t)
		}
	}
	// q . col = q . col
	for i := 0; i+6 < len(code); i++ {
		if code[i+3].Kind != sqlscan.Operator || code[i+3].Text != "=" {
			continue
		}
		if code[i+1].Kind == sqlscan.Dot && code[i+5].Kind == sqlscan.Dot &&
			strings.EqualFold(code[i+2].Name(), col) && strings.EqualFold(code[i+6].Name(), col) &&
			!strings.EqualFold(code[i].Name(), code[i+4].Name()) {
			return true
		}
	}
	return false
}

// provenance names a column the way the documentation shows where text
// came from: "source hubspot.form.guid", "model stg_orders.order_id".
func provenance(o *modeldoc.Object, col string) string {
	name := o.Name
	if o.Type == modeldoc.TypeSource {
		// source.<package>.<source name>.<table>
		if parts := strings.SplitN(o.UniqueID, ".", 3); len(parts) == 3 {
			name = parts[2]
		}
	}
	return string(o.Type) + " " + name + "." + col
}

// meaningful rejects the placeholder descriptions real projects carry
// ("N/A", "TBD", "-"), and doc() references dbt did not render (GitLab's
// ' doc("gitlab_global_user_id") }}', its opening braces lost): nobody
// wants them copied down the lineage.
func meaningful(s string) bool {
	t := strings.ToLower(strings.Trim(strings.TrimSpace(s), ".!-_ "))
	switch t {
	case "", "n/a", "na", "none", "tbd", "todo", "null", "description", "no description", "tba", "?":
		return false
	}
	return !unrenderedDoc.MatchString(t)
}

var unrenderedDoc = regexp.MustCompile(`^[\s{]*doc\(\s*['"][\w.]+['"]\s*\)[\s}]*$`)

// withInherited completes an upstream neighbor's columns from its current
// documentation: the columns its YAML does not declare are added by name,
// and the text it inherited (only that: generated prose is not
// documentation a person wrote, and feeding it downstream made each
// model's text a longer chain of its upstreams') fills the columns that
// have none, with its provenance.
func withInherited(cols []modeldoc.Column, v *modeldoc.DocVersion) []modeldoc.Column {
	raw, ok := v.Layers[modeldoc.LayerColumnDescriptions]
	if !ok {
		return cols
	}
	var gen modeldoc.ColumnDescriptionsOut
	if json.Unmarshal(raw, &gen) != nil || len(gen.Columns) == 0 {
		return cols
	}
	out := make([]modeldoc.Column, len(cols), len(cols)+len(gen.Columns))
	copy(out, cols)
	index := make(map[string]int, len(out))
	for i, c := range out {
		index[strings.ToLower(c.Name)] = i
	}
	for _, g := range gen.Columns {
		i, ok := index[strings.ToLower(g.Name)]
		if !ok {
			out = append(out, modeldoc.Column{Name: g.Name, Position: len(out) + 1})
			i = len(out) - 1
			index[strings.ToLower(g.Name)] = i
		}
		if g.InheritedFrom != "" && !(out[i].HumanDescription && meaningful(out[i].Description)) {
			out[i].Description = g.Description
			out[i].HumanDescription = false
			out[i].InheritedFrom = g.InheritedFrom
		}
	}
	return out
}

// applyInherited marks the subject's own columns that inherit, so that the
// prompts show them as documented rather than as work.
func applyInherited(obj *modeldoc.Object, inh []modeldoc.ColumnDescription) {
	by := make(map[string]*modeldoc.ColumnDescription, len(inh))
	for i := range inh {
		by[strings.ToLower(inh[i].Name)] = &inh[i]
	}
	cols := slices.Clone(obj.Columns)
	for i := range cols {
		if d := by[strings.ToLower(cols[i].Name)]; d != nil {
			cols[i].Description, cols[i].HumanDescription, cols[i].InheritedFrom = d.Description, false, d.InheritedFrom
		}
	}
	obj.Columns = cols
}

// mergeInherited puts the inherited columns into a written column layer:
// an entry the writer wrote for one is replaced, and one it left out (it
// was not asked) is added in the model's column order.
func mergeInherited(raw json.RawMessage, inh []modeldoc.ColumnDescription, cols []modeldoc.Column) json.RawMessage {
	var out modeldoc.ColumnDescriptionsOut
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		return raw
	}
	claimed := false
	for i := range out.Columns {
		// Provenance is modeldoc's record, never a writer's claim.
		claimed = claimed || out.Columns[i].InheritedFrom != ""
		out.Columns[i].InheritedFrom = ""
	}
	if len(inh) == 0 && !claimed {
		return raw
	}
	by := make(map[string]modeldoc.ColumnDescription, len(inh))
	for _, d := range inh {
		by[strings.ToLower(d.Name)] = d
	}
	done := map[string]bool{}
	for i, c := range out.Columns {
		if d, ok := by[strings.ToLower(c.Name)]; ok {
			d.Name = c.Name
			out.Columns[i] = d
			done[strings.ToLower(c.Name)] = true
		}
	}
	// Left out by the writer: insert each after the entry of the column
	// before it in the model's order, else append.
	pos := map[string]int{}
	for i, c := range cols {
		pos[strings.ToLower(c.Name)] = i + 1
	}
	for _, d := range inh {
		k := strings.ToLower(d.Name)
		if done[k] {
			continue
		}
		at := len(out.Columns)
		if p := pos[k]; p > 0 {
			for i, c := range out.Columns {
				if q := pos[strings.ToLower(c.Name)]; q > p {
					at = i
					break
				}
			}
		}
		out.Columns = slices.Insert(out.Columns, at, d)
		done[k] = true
	}
	b, err := json.Marshal(out)
	if err != nil {
		return raw
	}
	return b
}

// Bounds of the walk up the lineage for same-named documentation: far
// enough for real projects (Tuva's deepest chains), cheap enough to run
// per object.
const (
	maxAncestorLevels  = 12
	maxAncestorObjects = 4000
)

// ancestorDocs walks the lineage above the direct upstreams (upIDs of
// objectID) a level at a time, and returns for each of names the
// documentation of the nearest ancestor with a documented same-named
// column (by name, then unique id, within a level). The walk is lazy:
// ancestorDocs costs nothing for a model whose columns all resolve.
func (s *Service) ancestorDocs(ctx context.Context, orgID, objectID int64, upIDs []int64) ancestorDocs {
	return func(names []string) map[string]*modeldoc.ColumnDescription {
		found := map[string]*modeldoc.ColumnDescription{}
		want := map[string]bool{}
		for _, n := range names {
			want[strings.ToLower(n)] = true
		}
		seen := map[int64]bool{objectID: true}
		for _, id := range upIDs {
			seen[id] = true
		}
		frontier, total := upIDs, 0
		for level := 0; level < maxAncestorLevels && len(frontier) > 0 && len(want) > 0 && total < maxAncestorObjects; level++ {
			edges, err := s.cfg.Catalog.EdgesTouching(ctx, orgID, frontier)
			if err != nil {
				s.cfg.Logger.Warn("inheritance: read lineage", "object", objectID, "err", err)
				return found
			}
			in := map[int64]bool{}
			for _, id := range frontier {
				in[id] = true
			}
			var next []int64
			for _, e := range edges {
				if in[e.Downstream] && !seen[e.Upstream] {
					seen[e.Upstream] = true
					next = append(next, e.Upstream)
				}
			}
			if len(next) == 0 {
				break
			}
			total += len(next)
			objs, err := s.cfg.Catalog.GetObjects(ctx, orgID, next)
			if err != nil {
				s.cfg.Logger.Warn("inheritance: read ancestors", "object", objectID, "err", err)
				return found
			}
			docs, err := s.cfg.Catalog.CurrentSummaries(ctx, next)
			if err != nil {
				s.cfg.Logger.Warn("inheritance: read ancestors' documentation", "object", objectID, "err", err)
				return found
			}
			// GetObjects returns them by name: a stable choice within a
			// level, where a text written at this level beats one passed
			// on from farther up.
			level := map[string]*doc{}
			for i := range objs {
				nb := writer.Neighbor{Object: objs[i]}
				if v := docs[objs[i].ID]; v != nil {
					nb.Object.Columns = withInherited(nb.Object.Columns, v)
				}
				for _, c := range nb.Object.Columns {
					k := strings.ToLower(c.Name)
					if !want[k] {
						continue
					}
					if d := documented(&nb, c.Name); d != nil && (level[k] == nil || d.human && !level[k].human) {
						level[k] = d
					}
				}
			}
			for k, d := range level {
				found[k] = d.ColumnDescription
				delete(want, k)
			}
			frontier = next
		}
		return found
	}
}

// generatedColumns returns v's machine-written column descriptions that a
// downstream prompt may show: not inherited (those are a person's text and
// already in the columns), not empty, not rejected.
func generatedColumns(v *modeldoc.DocVersion) map[string]writer.GeneratedText {
	raw, ok := v.Layers[modeldoc.LayerColumnDescriptions]
	if !ok || v.LayerStatus[modeldoc.LayerColumnDescriptions].ReviewState == modeldoc.ReviewRejected {
		return nil
	}
	var gen modeldoc.ColumnDescriptionsOut
	if json.Unmarshal(raw, &gen) != nil {
		return nil
	}
	var out map[string]writer.GeneratedText
	for _, g := range gen.Columns {
		if g.InheritedFrom != "" || strings.TrimSpace(g.Description) == "" {
			continue
		}
		state := v.ColumnReviewState(g)
		if state == modeldoc.ReviewRejected || state == modeldoc.ReviewHuman {
			continue
		}
		if out == nil {
			out = map[string]writer.GeneratedText{}
		}
		out[strings.ToLower(g.Name)] = writer.GeneratedText{Text: g.Description, Review: state}
	}
	return out
}
