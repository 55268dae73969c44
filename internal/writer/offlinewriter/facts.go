package offlinewriter

import (
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// facts is what the writer knows about one subject: the analysis of its
// SQL, its steps in reading order, and which upstream object each table
// in the SQL is.
type facts struct {
	subj  *writer.Subject
	obj   *modeldoc.Object
	a     *sqlscan.Analysis
	steps []*step
	// byPos resolves a relation (by its byte offset in the compiled SQL) to
	// the upstream neighbor it reads, when the SQL names it.
	byPos map[int]*writer.Neighbor
}

// step is a CTE, a subquery in a FROM clause, or the final query.
type step struct {
	name  string // CTE name, subquery alias, or "final"
	kind  string // "cte", "subquery", "final"
	q     *sqlscan.Query
	line  int
	text  string
	final bool
}

func (w *Writer) facts(subj *writer.Subject) *facts {
	f := &facts{subj: subj, obj: &subj.Object, byPos: map[int]*writer.Neighbor{}}
	f.a = w.analyze(f.obj.SQL())
	for _, c := range f.a.CTEs {
		if c.Query != nil && len(c.Query.Selects) > 0 {
			f.steps = append(f.steps, &step{name: c.Name, kind: "cte", q: c.Query, line: c.Line, text: c.Body})
		}
	}
	for _, s := range f.a.Selects {
		for _, r := range s.From {
			if r.Kind == "subquery" && r.Subquery != nil && len(r.Subquery.Selects) > 0 {
				name := r.Alias
				if name == "" {
					name = "unnamed subquery"
				}
				f.steps = append(f.steps, &step{name: name, kind: "subquery", q: r.Subquery, line: f.a.Line(r.Subquery.Pos), text: r.Subquery.Text})
			}
		}
	}
	if f.a.Final != nil && len(f.a.Final.Selects) > 0 {
		f.steps = append(f.steps, &step{name: "final", kind: "final", q: f.a.Final, line: f.a.Line(f.a.Final.Pos), text: f.a.Final.Text, final: true})
	}
	f.resolveRelations(w)
	return f
}

// externals lists the relations that read outside the model (not CTEs or
// subqueries), in source order.
func externals(a *sqlscan.Analysis) []sqlscan.Relation {
	var out []sqlscan.Relation
	for _, s := range a.Selects {
		for _, r := range s.From {
			switch r.Kind {
			case "table", "ref", "source", "jinja":
				out = append(out, r)
			}
		}
	}
	return out
}

// isSelf reports whether r is the model itself: {{ this }}, or in compiled
// SQL its own relation (an incremental model reading what it holds).
func (f *facts) isSelf(r sqlscan.Relation) bool {
	if r.Kind == "this" {
		return true
	}
	if r.Kind != "table" {
		return false
	}
	parts := strings.Split(r.Name, ".")
	return len(parts) > 1 && norm(parts[len(parts)-1]) == norm(f.obj.Name)
}

// inputs are the relations outside the model that it reads.
func (f *facts) inputs() []sqlscan.Relation {
	var out []sqlscan.Relation
	for _, r := range externals(f.a) {
		if !f.isSelf(r) {
			out = append(out, r)
		}
	}
	return out
}

// resolveRelations maps the tables the compiled SQL reads to upstream
// neighbors. Compiled SQL names warehouse relations ("db.schema._alias"),
// which need not look like the dbt names; the raw SQL has the ref() calls
// at the same places, so when both list the same number of external
// relations they are paired by position. Otherwise names are compared.
func (f *facts) resolveRelations(w *Writer) {
	ext := externals(f.a)
	var rawExt []sqlscan.Relation
	if f.obj.CompiledSQL != "" && f.obj.RawSQL != "" && f.obj.RawSQL != f.obj.CompiledSQL {
		rawExt = externals(w.analyze(f.obj.RawSQL))
	}
	paired := len(rawExt) == len(ext)
	for i, r := range ext {
		var nb *writer.Neighbor
		if r.Ref != nil {
			nb = f.byRef(*r.Ref)
		}
		if nb == nil && paired && rawExt[i].Ref != nil {
			nb = f.byRef(*rawExt[i].Ref)
		}
		if nb == nil {
			nb = f.byTableName(r.Name)
		}
		if nb != nil {
			f.byPos[r.Pos] = nb
		}
	}
}

func (f *facts) byRef(r sqlscan.Ref) *writer.Neighbor {
	var best *writer.Neighbor
	for i := range f.subj.Upstream {
		nb := &f.subj.Upstream[i]
		if !strings.EqualFold(nb.Object.Name, r.Name) {
			continue
		}
		if r.Func == "source" {
			if nb.Object.Type != modeldoc.TypeSource {
				continue
			}
			if strings.Contains(strings.ToLower(nb.Object.UniqueID), "."+strings.ToLower(r.SourceName)+".") {
				return nb
			}
		} else if nb.Object.Type == modeldoc.TypeSource {
			continue
		}
		if best == nil {
			best = nb
		}
	}
	return best
}

func norm(s string) string { return strings.Trim(strings.ToLower(s), `_"`) }

// byTableName matches the last part of a table path to a neighbor's name,
// exactly or as a suffix after a folder prefix ("int_prep_conditions" and
// "hcc_suspecting__int_prep_conditions").
func (f *facts) byTableName(path string) *writer.Neighbor {
	parts := strings.Split(path, ".")
	last := norm(parts[len(parts)-1])
	if last == "" {
		return nil
	}
	schema := ""
	if len(parts) >= 2 {
		schema = norm(parts[len(parts)-2])
	}
	var suffix *writer.Neighbor
	for i := range f.subj.Upstream {
		nb := &f.subj.Upstream[i]
		name := norm(nb.Object.Name)
		if name == last && (schema == "" || nb.Object.Schema == "" || norm(nb.Object.Schema) == schema) {
			return nb
		}
		if name == last && suffix == nil {
			suffix = nb
		}
		if suffix == nil && (strings.HasSuffix(name, "_"+last) || strings.HasSuffix(last, "_"+name)) {
			suffix = nb
		}
	}
	return suffix
}

// relName is how the documentation names a relation: the dbt name of the
// upstream object it resolves to, else the name in the SQL.
func (f *facts) relName(r sqlscan.Relation) string {
	if nb := f.byPos[r.Pos]; nb != nil {
		return nb.Object.Name
	}
	if f.isSelf(r) {
		return "this model"
	}
	switch r.Kind {
	case "subquery":
		if r.Alias != "" {
			return "subquery " + r.Alias
		}
		return "a subquery"
	case "function":
		return clip(r.Name, 60)
	case "this":
		return "this model"
	case "jinja":
		return clip(r.Name, 60)
	case "table":
		// A compiled relation the lineage does not list: its last part
		// is the name people know it by.
		parts := strings.Split(r.Name, ".")
		return parts[len(parts)-1]
	}
	return r.Name
}

// relDisplay adds what kind of thing a relation is.
func (f *facts) relDisplay(r sqlscan.Relation) string {
	if nb := f.byPos[r.Pos]; nb != nil {
		return describeObjectKind(&nb.Object) + " `" + nb.Object.Name + "`"
	}
	if f.isSelf(r) {
		return "the rows this model already holds"
	}
	switch r.Kind {
	case "cte":
		return "step `" + r.Name + "`"
	case "subquery":
		return f.relName(r)
	case "function":
		return "table function `" + clip(r.Name, 60) + "`"
	case "jinja":
		return "the relation rendered by `" + clip(r.Name, 60) + "`"
	case "this":
		return "the rows this model already holds"
	}
	return "table `" + r.Name + "`"
}

func describeObjectKind(o *modeldoc.Object) string {
	switch o.Type {
	case modeldoc.TypeSource:
		return "source"
	case modeldoc.TypeSeed:
		return "seed"
	case modeldoc.TypeSnapshot:
		return "snapshot"
	}
	return "model"
}

// origin is where an output column comes from.
type origin struct {
	found bool
	// Passthrough: an upstream column reached through bare references and
	// casts only.
	passthrough bool
	nb          *writer.Neighbor // nil when the table is not a known neighbor
	table       string
	column      string
	renamed     bool
	cast        bool
	// Derived: the expression that computes it and the SELECT it is in.
	col *sqlscan.OutputColumn
	sel *sqlscan.Select
}

// trace follows output column name of sel back through CTEs and
// subqueries to an upstream relation or to the expression computing it.
func (f *facts) trace(sel *sqlscan.Select, name string, depth int) origin {
	if sel == nil || depth > 40 {
		return origin{}
	}
	for i := range sel.Columns {
		c := &sel.Columns[i]
		if !strings.EqualFold(c.Name, name) || c.Kind == sqlscan.ColumnStar {
			continue
		}
		switch c.Kind {
		case sqlscan.ColumnRef, sqlscan.ColumnCast:
			var o origin
			if r := f.relFor(sel, c.Qualifier, c.SourceColumn); r != nil {
				o = f.traceRel(*r, c.SourceColumn, depth+1)
			} else if c.Qualifier == "" {
				// A bare column among several relations none of which is
				// known to have it: the first that can be traced wins.
				for _, r := range sel.From {
					if o = f.traceRel(r, c.SourceColumn, depth+1); o.found {
						break
					}
				}
			}
			if !o.found {
				return origin{found: true, col: c, sel: sel}
			}
			if o.passthrough {
				o.renamed = o.renamed || !strings.EqualFold(c.SourceColumn, name)
				o.cast = o.cast || c.Kind == sqlscan.ColumnCast
			}
			return o
		default:
			return origin{found: true, col: c, sel: sel}
		}
	}
	for _, c := range sel.Columns {
		if c.Kind != sqlscan.ColumnStar {
			continue
		}
		var cands []sqlscan.Relation
		if c.Qualifier != "" {
			if r := f.relFor(sel, c.Qualifier, ""); r != nil {
				cands = append(cands, *r)
			}
		} else {
			cands = sel.From
		}
		for _, r := range cands {
			if o := f.traceRel(r, name, depth+1); o.found {
				return o
			}
		}
	}
	return origin{}
}

func (f *facts) traceRel(r sqlscan.Relation, col string, depth int) origin {
	switch r.Kind {
	case "cte":
		if c := f.a.CTE(r.Name); c != nil && c.Query != nil && len(c.Query.Selects) > 0 {
			return f.trace(c.Query.Selects[0], col, depth)
		}
		return origin{}
	case "subquery":
		if r.Subquery != nil && len(r.Subquery.Selects) > 0 {
			return f.trace(r.Subquery.Selects[0], col, depth)
		}
		return origin{}
	case "function":
		return origin{}
	}
	nb := f.byPos[r.Pos]
	if nb != nil && len(nb.Object.Columns) > 0 && findColumn(nb.Object.Columns, col) == nil {
		return origin{} // the neighbor does not have it: try another relation
	}
	return origin{found: true, passthrough: true, nb: nb, table: f.relName(r), column: col}
}

// relFor finds the relation of sel a column reference reads: by alias or
// table name for a qualified reference, and for a bare one the only
// relation, or the first that is known to have the column.
func (f *facts) relFor(sel *sqlscan.Select, qualifier, col string) *sqlscan.Relation {
	if qualifier != "" {
		q := strings.ToLower(qualifier)
		for i := range sel.From {
			r := &sel.From[i]
			parts := strings.Split(r.Name, ".")
			if strings.ToLower(r.Alias) == q || r.Alias == "" && strings.ToLower(parts[len(parts)-1]) == q || strings.ToLower(r.Name) == q {
				return r
			}
		}
		return nil
	}
	if len(sel.From) == 1 {
		return &sel.From[0]
	}
	for i := range sel.From {
		r := &sel.From[i]
		if f.provides(*r, col) {
			return r
		}
	}
	return nil
}

func (f *facts) provides(r sqlscan.Relation, col string) bool {
	var sel *sqlscan.Select
	switch r.Kind {
	case "cte":
		if c := f.a.CTE(r.Name); c != nil && c.Query != nil && len(c.Query.Selects) > 0 {
			sel = c.Query.Selects[0]
		}
	case "subquery":
		if r.Subquery != nil && len(r.Subquery.Selects) > 0 {
			sel = r.Subquery.Selects[0]
		}
	default:
		if nb := f.byPos[r.Pos]; nb != nil {
			return findColumn(nb.Object.Columns, col) != nil
		}
		return false
	}
	if sel == nil {
		return false
	}
	for _, c := range sel.Columns {
		if strings.EqualFold(c.Name, col) {
			return true
		}
	}
	return false
}

func findColumn(cols []modeldoc.Column, name string) *modeldoc.Column {
	for i := range cols {
		if strings.EqualFold(cols[i].Name, name) {
			return &cols[i]
		}
	}
	return nil
}

// sameNamed finds a same-named column among the upstream neighbors,
// preferring one with a description: what dbt-osmosis does when SQL
// cannot tell.
func (f *facts) sameNamed(name string) (*writer.Neighbor, *modeldoc.Column) {
	var nb0 *writer.Neighbor
	var c0 *modeldoc.Column
	for i := range f.subj.Upstream {
		nb := &f.subj.Upstream[i]
		if c := findColumn(nb.Object.Columns, name); c != nil {
			if c.Description != "" {
				return nb, c
			}
			if nb0 == nil {
				nb0, c0 = nb, c
			}
		}
	}
	return nb0, c0
}

// finalSelect is the SELECT whose columns the model outputs.
func (f *facts) finalSelect() *sqlscan.Select {
	if f.a.Final == nil || len(f.a.Final.Selects) == 0 {
		return nil
	}
	return f.a.Final.Selects[0]
}

// outputColumns are the object's columns when the warehouse reported them
// (catalog.json); otherwise the final SELECT's named columns, with the
// YAML-declared ones (which may be only some of them) kept as declared and
// any the SELECT does not show appended.
func (f *facts) outputColumns() []modeldoc.Column {
	if columnsComplete(f.obj.Columns) {
		return f.obj.Columns
	}
	declared := make(map[string]modeldoc.Column, len(f.obj.Columns))
	for _, c := range f.obj.Columns {
		declared[strings.ToLower(c.Name)] = c
	}
	var out []modeldoc.Column
	seen := map[string]bool{}
	add := func(c modeldoc.Column) {
		c.Position = len(out) + 1
		out = append(out, c)
	}
	for _, name := range f.selectNames(f.finalSelect(), 0) {
		key := strings.ToLower(name)
		if seen[key] {
			continue
		}
		seen[key] = true
		if c, ok := declared[key]; ok {
			add(c)
		} else {
			add(modeldoc.Column{Name: name})
		}
	}
	for _, c := range f.obj.Columns {
		if !seen[strings.ToLower(c.Name)] {
			add(c)
		}
	}
	return out
}

// columnsComplete reports whether cols is the object's whole column list:
// true when the warehouse reported any of them (a type, or a column no YAML
// declares).
func columnsComplete(cols []modeldoc.Column) bool {
	for _, c := range cols {
		if c.DataType != "" || !c.Declared {
			return true
		}
	}
	return false
}

// selectNames lists the names a SELECT outputs, expanding * through CTEs,
// subqueries and upstream objects whose columns are known.
func (f *facts) selectNames(sel *sqlscan.Select, depth int) []string {
	if sel == nil || depth > 40 {
		return nil
	}
	var out []string
	for _, c := range sel.Columns {
		if c.Kind != sqlscan.ColumnStar {
			if c.Name != "" {
				out = append(out, c.Name)
			}
			continue
		}
		rels := sel.From
		if c.Qualifier != "" {
			rels = nil
			if r := f.relFor(sel, c.Qualifier, ""); r != nil {
				rels = []sqlscan.Relation{*r}
			}
		}
		for _, r := range rels {
			switch r.Kind {
			case "cte":
				if cte := f.a.CTE(r.Name); cte != nil && cte.Query != nil && len(cte.Query.Selects) > 0 {
					out = append(out, f.selectNames(cte.Query.Selects[0], depth+1)...)
				}
			case "subquery":
				if r.Subquery != nil && len(r.Subquery.Selects) > 0 {
					out = append(out, f.selectNames(r.Subquery.Selects[0], depth+1)...)
				}
			default:
				if nb := f.byPos[r.Pos]; nb != nil {
					for _, col := range nb.Object.Columns {
						out = append(out, col.Name)
					}
				}
			}
		}
	}
	return out
}
