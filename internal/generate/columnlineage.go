package generate

import (
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// traceColumn is where the output column name comes from, read through
// the upstreams' column lists where they are complete.
func traceColumn(a *sqlscan.Analysis, res *resolver, name string) sqlscan.ColumnOrigin {
	o := a.Origin(name, res.columnsOf)
	if o.Found && !o.Passthrough && !o.Constant {
		// An upstream's column list that does not have the column
		// stops the trace; but a list read from the upstream's own
		// documentation is what its SQL showed, not the warehouse's
		// (GitLab's prep_crm_account passes 200 columns its
		// documentation does not list). Read without the lists, the
		// column passes through from an upstream that lacks it: the
		// list was short, not the lineage.
		if u := a.Origin(name, nil); u.Passthrough {
			if nb := res.neighbor(u.Relation); nb != nil && findColumn(nb.Object.Columns, u.Column) == nil {
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
	res := newResolver(subj, a)
	exprs := map[string]string{}
	for _, c := range a.FinalColumns() {
		if c.Kind != sqlscan.ColumnStar && c.Name != "" {
			exprs[strings.ToLower(c.Name)] = c.Expr
		}
	}
	names := outputNames(subj, a, res)
	out := make([]ColumnOrigin, 0, len(names))
	for _, name := range names {
		co := ColumnOrigin{Column: name}
		o := traceColumn(a, res, name)
		switch {
		case o.Passthrough:
			if nb := res.neighbor(o.Relation); nb != nil {
				co.From, co.FromColumn = &nb.Object, o.Column
			}
		case o.Found:
			co.Expr, co.Constant = exprs[strings.ToLower(name)], o.Constant
		}
		out = append(out, co)
	}
	return out
}
