package sqlscan

import "strings"

// ColumnOrigin is where one output column of a model comes from.
type ColumnOrigin struct {
	// Name is the output column's name as the SQL spells it.
	Name string
	// Found is false when the final SELECT does not show the column (a
	// model built by a macro, a star over a relation whose columns are
	// unknown to the caller).
	Found bool
	// Passthrough is true when the column is an external relation's column
	// read unchanged: selected, renamed, cast, or coalesced with itself
	// (coalesce(a.id, b.id)), through any number of CTEs and subqueries.
	// Relation and Column then name it.
	Passthrough bool
	Relation    Relation
	Column      string
	// Constant is true when the column is set to a value that reads no
	// column: a literal, a cast literal, a Jinja expression ('{{
	// var("run_at") }}' as run_at, cast('' as text) as source_relation).
	Constant bool
}

// ColumnsOf tells Origins which columns an external relation (a table, a
// ref or source call) has: nil when it does not know, which Origins takes
// as "it may have any column".
type ColumnsOf func(Relation) []string

// Origin traces the final query's output column name back through CTEs
// and subqueries to the external relation it is read from. columnsOf may be
// nil.
func (a *Analysis) Origin(name string, columnsOf ColumnsOf) ColumnOrigin {
	t := tracer{a: a, columnsOf: columnsOf}
	o := ColumnOrigin{Name: name}
	if a.Final == nil || len(a.Final.Selects) == 0 {
		return o
	}
	return t.trace(a.Final.Selects[0], name, 0, o)
}

// Externals lists the relations the SQL reads from outside itself (tables,
// ref and source calls, Jinja relations; not CTEs, subqueries or table
// functions), in source order.
//
// An ephemeral model, which dbt inlines as a CTE named __dbt__cte__<model>,
// is one external relation: where raw SQL has ref('<model>'). The tables
// its body reads are the ephemeral model's, not this model's.
func (a *Analysis) Externals() []Relation {
	var inside [][2]int
	for _, c := range a.CTEs {
		if Ephemeral(c.Name) != "" && c.Query != nil {
			inside = append(inside, [2]int{c.Query.Pos, c.Query.Pos + len(c.Query.Text)})
		}
	}
	var out []Relation
	for _, s := range a.Selects {
		for _, r := range s.From {
			if !external(r) {
				continue
			}
			in := false
			for _, span := range inside {
				in = in || r.Pos >= span[0] && r.Pos < span[1]
			}
			if !in {
				out = append(out, r)
			}
		}
	}
	return out
}

// EphemeralPrefix starts the name of the CTE dbt inlines an ephemeral
// model as.
const EphemeralPrefix = "__dbt__cte__"

// Ephemeral returns the model name of an ephemeral model's CTE name, or "".
func Ephemeral(cte string) string {
	if len(cte) > len(EphemeralPrefix) && strings.EqualFold(cte[:len(EphemeralPrefix)], EphemeralPrefix) {
		return cte[len(EphemeralPrefix):]
	}
	return ""
}

func external(r Relation) bool {
	switch r.Kind {
	case "table", "ref", "source", "jinja":
		return true
	case "cte":
		return Ephemeral(r.Name) != ""
	}
	return false
}

type tracer struct {
	a         *Analysis
	columnsOf ColumnsOf
}

// maxHops bounds the hops through CTEs and subqueries, against a CTE that
// (wrongly) reads itself.
const maxHops = 40

func (t *tracer) trace(sel *Select, name string, depth int, o ColumnOrigin) ColumnOrigin {
	if sel == nil || depth > maxHops {
		return o
	}
	for i := range sel.Columns {
		c := &sel.Columns[i]
		if c.Kind == ColumnStar || !strings.EqualFold(c.Name, name) {
			continue
		}
		o.Found = true
		qual, col := c.Qualifier, c.SourceColumn
		switch c.Kind {
		case ColumnRef, ColumnCast:
		case Expression:
			var ok bool
			if qual, col, ok = coalescedWithItself(c.Expr); !ok {
				qual, col, ok = sameValue(c.Expr)
			}
			if !ok {
				o.Constant = constant(c.Expr)
				return o
			}
		case Literal, JinjaExpr:
			o.Constant = true
			return o
		default:
			return o
		}
		if r := t.relFor(sel, qual, col); r != nil {
			return t.traceRel(*r, col, depth+1, o)
		}
		if qual == "" {
			// A bare column among several relations, none known to have
			// it: the first that can be traced wins.
			for _, r := range sel.From {
				if got := t.traceRel(r, col, depth+1, o); got.Passthrough {
					return got
				}
			}
		}
		return o
	}
	// Not named in the list: a star may bring it.
	for _, c := range sel.Columns {
		if c.Kind != ColumnStar {
			continue
		}
		cands := sel.From
		if c.Qualifier != "" {
			cands = nil
			if r := t.relFor(sel, c.Qualifier, ""); r != nil {
				cands = []Relation{*r}
			}
		}
		for _, r := range cands {
			if t.provides(r, name, depth) {
				o.Found = true
				return t.traceRel(r, name, depth+1, o)
			}
		}
	}
	return o
}

func (t *tracer) traceRel(r Relation, col string, depth int, o ColumnOrigin) ColumnOrigin {
	switch {
	case external(r):
	case r.Kind == "cte":
		if c := t.a.CTE(r.Name); c != nil && c.Query != nil && len(c.Query.Selects) > 0 {
			return t.trace(c.Query.Selects[0], cteColumn(c, col), depth, o)
		}
		return o
	case r.Kind == "subquery":
		if r.Subquery != nil && len(r.Subquery.Selects) > 0 {
			return t.trace(r.Subquery.Selects[0], col, depth, o)
		}
		return o
	default:
		return o
	}
	if cols := t.known(r); cols != nil && !hasName(cols, col) {
		return o
	}
	o.Found, o.Passthrough, o.Relation, o.Column = true, true, r, col
	return o
}

// cteColumn maps a column of WITH x (a, b) AS (...) to the body's own
// output name at the same position.
func cteColumn(c *CTE, col string) string {
	if len(c.Columns) == 0 || c.Query == nil || len(c.Query.Selects) == 0 {
		return col
	}
	for i, n := range c.Columns {
		if strings.EqualFold(n, col) {
			cols := c.Query.Selects[0].Columns
			if i < len(cols) && cols[i].Kind != ColumnStar && cols[i].Name != "" {
				return cols[i].Name
			}
		}
	}
	return col
}

func (t *tracer) known(r Relation) []string {
	if t.columnsOf == nil {
		return nil
	}
	return t.columnsOf(r)
}

// relFor finds the relation of sel that a column reference reads: by alias
// or table name for a qualified reference; for a bare one the only
// relation, or the first known to have the column.
func (t *tracer) relFor(sel *Select, qualifier, col string) *Relation {
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
		if t.providesKnown(sel.From[i], col, 0) {
			return &sel.From[i]
		}
	}
	return nil
}

// provides reports whether r may output col: known to, or (an external
// relation whose columns are unknown) not known not to.
func (t *tracer) provides(r Relation, col string, depth int) bool {
	if external(r) && t.known(r) == nil {
		return true
	}
	return t.providesKnown(r, col, depth)
}

// providesKnown reports whether r is known to output col.
func (t *tracer) providesKnown(r Relation, col string, depth int) bool {
	if depth > maxHops {
		return false
	}
	var sel *Select
	switch {
	case external(r):
		return hasName(t.known(r), col)
	case r.Kind == "cte":
		if c := t.a.CTE(r.Name); c != nil && c.Query != nil && len(c.Query.Selects) > 0 {
			if hasName(c.Columns, col) {
				return true
			}
			sel = c.Query.Selects[0]
		}
	case r.Kind == "subquery":
		if r.Subquery != nil && len(r.Subquery.Selects) > 0 {
			sel = r.Subquery.Selects[0]
		}
	default:
		return false
	}
	if sel == nil {
		return false
	}
	for _, c := range sel.Columns {
		if c.Kind != ColumnStar && strings.EqualFold(c.Name, col) {
			return true
		}
	}
	for _, c := range sel.Columns {
		if c.Kind != ColumnStar {
			continue
		}
		for _, fr := range sel.From {
			if c.Qualifier != "" && !strings.EqualFold(fr.Alias, c.Qualifier) && !strings.EqualFold(lastPart(fr.Name), c.Qualifier) {
				continue
			}
			if t.providesKnown(fr, col, depth+1) {
				return true
			}
		}
	}
	return false
}

func hasName(names []string, n string) bool {
	for _, x := range names {
		if strings.EqualFold(x, n) {
			return true
		}
	}
	return false
}

func lastPart(path string) string {
	parts := strings.Split(path, ".")
	return parts[len(parts)-1]
}

// coalescedWithItself recognises coalesce(a.x, b.x[, ...]) and ifnull /
// nvl of the same: every argument the same column name, so the value is
// that column whichever side of a join it comes from; the last argument
// may instead be a constant default (coalesce(x, false)), which fills in
// the column's own nulls. It returns the first argument's qualifier and
// the column.
func coalescedWithItself(expr string) (qual, col string, ok bool) {
	var toks []Token
	for _, tk := range Tokenize(expr) {
		if tk.Kind != Comment {
			toks = append(toks, tk)
		}
	}
	if len(toks) < 4 || toks[0].Kind != Ident || toks[1].Kind != LParen || toks[len(toks)-1].Kind != RParen {
		return "", "", false
	}
	switch strings.ToLower(toks[0].Text) {
	case "coalesce", "ifnull", "nvl", "isnull":
	default:
		return "", "", false
	}
	args := 0
	var parts []string
	flush := func() bool {
		if len(parts) == 0 {
			return false
		}
		c := parts[len(parts)-1]
		q := strings.Join(parts[:len(parts)-1], ".")
		if args == 0 {
			qual, col = q, c
		} else if !strings.EqualFold(c, col) {
			return false
		}
		args++
		parts = parts[:0]
		return true
	}
	inner := toks[2 : len(toks)-1]
	defaulted := false
	// A constant last argument: false, 0, '', null.
	if n := len(inner); n >= 3 && inner[n-2].Kind == Comma {
		if l := inner[n-1]; l.Kind == String || l.Kind == Number || l.Is("true") || l.Is("false") {
			inner = inner[:n-2]
			defaulted = true
		}
	}
	wantName := true
	for _, tk := range inner {
		switch {
		case (tk.Kind == Ident || tk.Kind == QuotedIdent) && wantName:
			parts = append(parts, tk.Name())
			wantName = false
		case tk.Kind == Dot && !wantName:
			wantName = true
		case tk.Kind == Comma && !wantName:
			if !flush() {
				return "", "", false
			}
			wantName = true
		default:
			return "", "", false
		}
	}
	if wantName || !flush() || args < 2 && !defaulted {
		return "", "", false
	}
	return qual, col, true
}

// constant reports whether expr reads no column: literals, Jinja, null,
// casts and the type names they name, operators and parentheses only.
func constant(expr string) bool {
	toks := Tokenize(expr)
	value := false
	for i, tk := range toks {
		switch tk.Kind {
		case String, Number, Jinja:
			value = true
		case Operator, LParen, RParen, Comment:
		case Ident:
			w := strings.ToLower(tk.Text)
			switch w {
			case "cast", "try_cast", "safe_cast", "as", "null", "true", "false", "date", "timestamp":
				value = value || w == "null" || w == "true" || w == "false"
				continue
			}
			// A type name: after AS inside a cast, or after ::.
			if i > 0 && (toks[i-1].Is("as") || toks[i-1].Kind == Operator && toks[i-1].Text == "::") {
				continue
			}
			return false
		case Comma:
			// numeric(28, 6)
		default:
			return false
		}
	}
	return value
}

// sameValue recognises one column converted or rounded, through any
// nesting: round(x[, n]) (Tuva's round(cast(coefficient as numeric(28,6)),
// 3)), cast(x as t), x::t, and Snowflake's conversions of one argument
// (GitLab's try_to_number(metric_value::text)). The value, and so the
// column's meaning, passes through.
func sameValue(expr string) (qual, col string, ok bool) {
	var toks []Token
	for _, tk := range Tokenize(expr) {
		if tk.Kind != Comment {
			toks = append(toks, tk)
		}
	}
	toks, changed := unwrapValue(toks, 0)
	if !changed {
		return "", "", false
	}
	var parts []string
	for i, tk := range toks {
		switch {
		case i%2 == 0 && (tk.Kind == Ident || tk.Kind == QuotedIdent):
			parts = append(parts, tk.Name())
		case i%2 == 1 && tk.Kind == Dot:
		default:
			return "", "", false
		}
	}
	if len(parts) == 0 || len(toks)%2 == 0 {
		return "", "", false
	}
	return strings.Join(parts[:len(parts)-1], "."), parts[len(parts)-1], true
}

// conversions of one argument that keep its value.
var conversions = setOf("to_number", "try_to_number", "to_decimal", "try_to_decimal", "to_numeric", "try_to_numeric",
	"to_double", "try_to_double", "to_varchar", "to_char", "to_date", "try_to_date", "to_timestamp", "try_to_timestamp",
	"to_timestamp_ntz", "try_to_timestamp_ntz", "to_boolean", "try_to_boolean")

// unwrapValue strips the value-keeping wrappers sameValue accepts; changed
// is false when there were none.
func unwrapValue(toks []Token, depth int) (inner []Token, changed bool) {
	if depth > 8 {
		return toks, false
	}
	// x::t
	for i, tk := range toks {
		if tk.Kind == LParen {
			break
		}
		if tk.Kind == Operator && tk.Text == "::" && i > 0 {
			in, _ := unwrapValue(toks[:i], depth+1)
			return in, true
		}
	}
	if len(toks) < 4 || toks[0].Kind != Ident || toks[1].Kind != LParen || toks[len(toks)-1].Kind != RParen {
		return toks, false
	}
	// The arguments, split at top-level commas, and a top-level AS.
	body := toks[2 : len(toks)-1]
	var args [][]Token
	as := -1
	depthP, start := 0, 0
	for i, tk := range body {
		switch {
		case tk.Kind == LParen:
			depthP++
		case tk.Kind == RParen:
			depthP--
			if depthP < 0 {
				return toks, false // fn(a) + fn(b)
			}
		case depthP == 0 && tk.Kind == Comma:
			args = append(args, body[start:i])
			start = i + 1
		case depthP == 0 && tk.Is("as") && as < 0:
			as = i
		}
	}
	args = append(args, body[start:])
	name := strings.ToLower(toks[0].Text)
	var arg []Token
	switch {
	case (name == "cast" || name == "try_cast" || name == "safe_cast") && as > 0 && len(args) == 1:
		arg = body[:as]
	case name == "round" && (len(args) == 1 || len(args) == 2 && len(args[1]) == 1 && args[1][0].Kind == Number):
		arg = args[0]
	case conversions[name] && len(args) == 1:
		arg = args[0]
	default:
		return toks, false
	}
	in, _ := unwrapValue(arg, depth+1)
	return in, true
}
