// Package collineage traces a model's columns to the columns of its
// direct upstream objects through its SQL (sqlscan): which upstream column
// each output column passes on unchanged, or the expression that computes
// it. generate uses it for column inheritance and the prompts' lineage;
// the API and the static site show it. It sits below both so that they
// read one answer.
package collineage

import (
	"cmp"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Trace is where the output column name comes from, read through
// the upstreams' column lists where they are complete.
func Trace(a *sqlscan.Analysis, res *Resolver, name string) sqlscan.ColumnOrigin {
	o := a.Origin(name, res.ColumnsOf)
	if o.Found && !o.Passthrough && !o.Constant {
		// An upstream's column list that does not have the column
		// stops the trace; but a list read from the upstream's own
		// documentation is what its SQL showed, not the warehouse's
		// (GitLab's prep_crm_account passes 200 columns its
		// documentation does not list). Read without the lists, the
		// column passes through from an upstream that lacks it: the
		// list was short, not the lineage.
		if u := a.Origin(name, nil); u.Passthrough {
			if nb := res.Neighbor(u.Relation); nb != nil && findColumn(nb.Object.Columns, u.Column) == nil {
				o = u
			}
		}
	}
	return o
}

// ColumnOrigin is where one column of a model comes from as its SQL shows
// it: an upstream object's column read unchanged (From is that object),
// or an expression computed here (Expr). Neither is set when the SQL does
// not show it (a macro builds the model, a star over unknown columns).
type ColumnOrigin struct {
	Column     string
	From       *modeldoc.Object
	FromColumn string
	Expr       string
	Constant   bool
}

// ColumnOrigins traces each output column of obj (its known columns, or
// what its final SELECT names) to its direct upstream objects, given with
// their columns: the column-level lineage the prompts show as
// `← upstream.column`, for the pages that draw it.
func ColumnOrigins(obj modeldoc.Object, upstream []modeldoc.Object) []ColumnOrigin {
	subj := &writer.Subject{Object: obj}
	for _, u := range upstream {
		subj.Upstream = append(subj.Upstream, writer.Neighbor{Object: u})
	}
	a := sqlscan.Analyze(obj.SQL())
	res := NewResolver(subj, a)
	exprs := map[string]string{}
	for _, c := range a.FinalColumns() {
		if c.Kind != sqlscan.ColumnStar && c.Name != "" {
			exprs[strings.ToLower(c.Name)] = c.Expr
		}
	}
	names := OutputNames(subj, a, res)
	out := make([]ColumnOrigin, 0, len(names))
	for _, name := range names {
		co := ColumnOrigin{Column: name}
		o := Trace(a, res, name)
		switch {
		case o.Passthrough:
			if nb := res.Neighbor(o.Relation); nb != nil {
				co.From, co.FromColumn = &nb.Object, o.Column
			}
		case o.Found:
			co.Expr, co.Constant = exprs[strings.ToLower(name)], o.Constant
		}
		out = append(out, co)
	}
	return out
}

// OutputNames are the subject's columns: all of them when the warehouse
// reported them, otherwise the declared ones plus what the final SELECT
// names and the upstream columns a star passes through.
func OutputNames(subj *writer.Subject, a *sqlscan.Analysis, res *Resolver) []string {
	obj := &subj.Object
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if k := strings.ToLower(n); n != "" && n != "*" && !seen[k] {
			seen[k] = true
			names = append(names, n)
		}
	}
	for _, c := range obj.Columns {
		add(c.Name)
	}
	if ColumnsComplete(obj.Columns) {
		return names
	}
	for _, c := range a.FinalColumns() {
		if c.Kind != sqlscan.ColumnStar {
			add(c.Name)
		}
	}
	hasStar := false
	for _, c := range a.FinalColumns() {
		hasStar = hasStar || c.Kind == sqlscan.ColumnStar
	}
	if !hasStar {
		return names
	}
	for _, nb := range subj.Upstream {
		for _, c := range nb.Object.Columns {
			if !seen[strings.ToLower(c.Name)] && a.Origin(c.Name, res.ColumnsOf).Passthrough {
				add(c.Name)
			}
		}
	}
	return names
}

// ColumnsComplete reports whether cols is the whole column list: the
// warehouse reported some of them (a type, or a column no YAML declares).
func ColumnsComplete(cols []modeldoc.Column) bool {
	for _, c := range cols {
		if c.DataType != "" || !c.Declared {
			return true
		}
	}
	return false
}

// Resolver matches the relations the SQL reads to upstream neighbors.
type Resolver struct {
	subj  *writer.Subject
	byPos map[int]*writer.Neighbor
}

// NewResolver pairs each external relation of a with a neighbor. Compiled
// SQL names warehouse relations ("postgres"."public"."company_data"): the
// last part is the neighbor's identifier (a source's identifier, a model's
// alias) or name, and the schema, when both sides know it, must agree.
// Raw SQL names them by ref() and source(). When the raw SQL lists as many
// external relations as the compiled SQL, they are also paired by position,
// which resolves what names alone cannot (a relation a macro renders).
func NewResolver(subj *writer.Subject, a *sqlscan.Analysis) *Resolver {
	r := &Resolver{subj: subj, byPos: map[int]*writer.Neighbor{}}
	obj := &subj.Object
	ext := a.Externals()
	var rawExt []sqlscan.Relation
	if obj.CompiledSQL != "" && obj.RawSQL != "" && obj.RawSQL != obj.CompiledSQL {
		rawExt = sqlscan.Analyze(obj.RawSQL).Externals()
	}
	paired := len(rawExt) == len(ext)
	for i, rel := range ext {
		nb := r.match(rel)
		if nb == nil && paired && rawExt[i].Ref != nil {
			nb = r.byRef(*rawExt[i].Ref)
		}
		if nb == nil && len(ext) == 1 && len(subj.Upstream) == 1 {
			// One relation read, one upstream: they are the same.
			nb = &subj.Upstream[0]
		}
		if nb != nil {
			r.byPos[rel.Pos] = nb
		}
	}
	return r
}

func (r *Resolver) Neighbor(rel sqlscan.Relation) *writer.Neighbor {
	if nb := r.byPos[rel.Pos]; nb != nil {
		return nb
	}
	return r.match(rel)
}

// ColumnsOf is the column list of the neighbor a relation reads when it
// is complete (from the warehouse); nil means unknown.
func (r *Resolver) ColumnsOf(rel sqlscan.Relation) []string {
	nb := r.Neighbor(rel)
	if nb == nil || !ColumnsComplete(nb.Object.Columns) {
		return nil
	}
	out := make([]string, len(nb.Object.Columns))
	for i, c := range nb.Object.Columns {
		out[i] = c.Name
	}
	return out
}

func (r *Resolver) match(rel sqlscan.Relation) *writer.Neighbor {
	if rel.Ref != nil {
		return r.byRef(*rel.Ref)
	}
	if m := sqlscan.Ephemeral(rel.Name); rel.Kind == "cte" && m != "" {
		return r.byRef(sqlscan.Ref{Func: "ref", Name: m})
	}
	if rel.Kind != "table" {
		return nil
	}
	return r.byPath(rel.Name)
}

func (r *Resolver) byRef(ref sqlscan.Ref) *writer.Neighbor {
	var best *writer.Neighbor
	for i := range r.subj.Upstream {
		nb := &r.subj.Upstream[i]
		o := &nb.Object
		if !strings.EqualFold(o.Name, ref.Name) {
			continue
		}
		if ref.Func == "source" {
			// source.<package>.<source name>.<table>
			if o.Type == modeldoc.TypeSource && strings.Contains(strings.ToLower(o.UniqueID), "."+strings.ToLower(ref.SourceName)+".") {
				return nb
			}
			continue
		}
		if o.Type == modeldoc.TypeSource {
			continue
		}
		if ref.Package != "" && o.Package != "" && !strings.EqualFold(o.Package, ref.Package) {
			continue
		}
		if best == nil {
			best = nb
		}
	}
	return best
}

func unquote(s string) string { return strings.ToLower(strings.Trim(s, "\"`[] ")) }

// byPath matches db.schema.identifier, schema.identifier or identifier.
func (r *Resolver) byPath(path string) *writer.Neighbor {
	parts := strings.Split(path, ".")
	last := unquote(parts[len(parts)-1])
	if last == "" {
		return nil
	}
	var schema, db string
	if len(parts) >= 2 {
		schema = unquote(parts[len(parts)-2])
	}
	if len(parts) >= 3 {
		db = unquote(parts[len(parts)-3])
	}
	var loose *writer.Neighbor
	for i := range r.subj.Upstream {
		nb := &r.subj.Upstream[i]
		o := &nb.Object
		if unquote(cmp.Or(o.Identifier, o.Name)) != last && unquote(o.Name) != last {
			continue
		}
		if (schema == "" || o.Schema == "" || unquote(o.Schema) == schema) && (db == "" || o.Database == "" || unquote(o.Database) == db) {
			return nb
		}
		if loose == nil {
			loose = nb
		}
	}
	return loose
}

func findColumn(cols []modeldoc.Column, name string) *modeldoc.Column {
	for i := range cols {
		if strings.EqualFold(cols[i].Name, name) {
			return &cols[i]
		}
	}
	return nil
}
