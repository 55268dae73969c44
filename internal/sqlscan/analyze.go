package sqlscan

import (
	"sort"
	"strings"
)

// Analysis is the structure of one SQL model as far as a dialect-blind
// reader can see it.
type Analysis struct {
	SQL string
	// CTEs in order of appearance, including CTEs of nested WITHs.
	CTEs []*CTE
	// Recursive is true when any WITH is WITH RECURSIVE.
	Recursive bool
	// Final is the query after the top-level CTE list (nil when the SQL
	// has no SELECT, e.g. a model made only of Jinja).
	Final *Query
	// Selects lists every SELECT anywhere in the SQL, in source order.
	Selects []*Select
	// Subqueries counts SELECTs in parentheses inside another SELECT (FROM,
	// WHERE, select list), not CTE bodies or set-operation branches.
	Subqueries int
	// SetOps counts UNION, INTERSECT, EXCEPT and MINUS operators.
	SetOps int
	// Refs are the ref()/source() calls of the SQL's Jinja (see Refs).
	Refs []Ref
	// Incremental holds the SQL of each {% if is_incremental() %} block
	// (comments removed): what an incremental build adds, typically a
	// watermark such as "where d > (select max(d) from {{ this }})". It is
	// not part of Final or Selects.
	Incremental []Expr

	newlines []int
}

// CTE is one common table expression.
type CTE struct {
	Name    string
	Columns []string // explicit column list, WITH x (a, b) AS (...)
	Body    string   // the text between the parentheses
	Pos     int      // byte offset of the name
	Line    int
	Query   *Query
}

// Query is a SELECT or a chain of SELECTs joined by set operators.
type Query struct {
	Text    string
	Pos     int
	Selects []*Select
	// SetOps[i] joins Selects[i] and Selects[i+1], lower case:
	// "union", "union all", "intersect", "except", "minus".
	SetOps []string
}

// Select is one SELECT ... [FROM ...] [WHERE ...] block.
type Select struct {
	Text       string
	Pos        int
	Line       int
	Distinct   bool
	Columns    []OutputColumn
	From       []Relation
	Where      string
	GroupBy    string
	Having     string
	Qualify    string
	OrderBy    string
	Limit      string
	Cases      []Expr
	Windows    []Window
	Aggregates []string // lower-case names of aggregate functions called (not windowed)
	Subqueries []*Query
}

// ColumnKind says what an output column's expression is.
type ColumnKind string

const (
	ColumnRef  ColumnKind = "column"     // col or alias.col
	ColumnCast ColumnKind = "cast"       // cast(col as t), col::t: a column with a new type
	ColumnStar ColumnKind = "star"       // * or alias.*
	Literal    ColumnKind = "literal"    // 'x', 42, null, true
	JinjaExpr  ColumnKind = "jinja"      // a Jinja tag that expands to SQL
	Expression ColumnKind = "expression" // anything else
)

// OutputColumn is one item of a select list.
type OutputColumn struct {
	Expr string // the expression without its alias
	Name string // output name: the alias, or the column's name; "" when unnamed
	Kind ColumnKind
	// Qualifier and SourceColumn name the column read by a ColumnRef,
	// ColumnCast or qualified ColumnStar: "o" and "amount" in o.amount.
	Qualifier    string
	SourceColumn string
	Pos          int
}

// Relation is one item of a FROM clause.
type Relation struct {
	// Kind is "table", "cte", "ref", "source", "subquery", "function",
	// "jinja" or "this" ({{ this }}, the model itself).
	Kind string
	// Name is the table path as written without quotes ("db.schema.t"),
	// the CTE's name, the ref/source's table name, or the function call.
	Name     string
	Ref      *Ref
	Alias    string
	Join     string // "from" for the first item, "," or the join words in lower case ("left join")
	On       string // ON condition, or "using (...)"
	Subquery *Query
	Pos      int
}

// Expr is a piece of SQL text with its position.
type Expr struct {
	Text string
	Pos  int
	Line int
	// Aggregate is, for a CASE that is the whole argument of an aggregate
	// (sum(case when x then 1 else 0 end)), the aggregate's name: the CASE
	// then counts or sums, it does not set a value.
	Aggregate string
	// AggregateDistinct is true for count(distinct case ... end).
	AggregateDistinct bool
}

// Window is a window function call.
type Window struct {
	Func string // the call, e.g. "row_number()" or "sum(amount)"
	Name string // the function name in lower case
	Over string // "over (partition by ...)"
	Pos  int
	Line int
}

// Analyze reads sql. It never fails and never panics; unknown syntax is
// skipped.
func Analyze(sql string) *Analysis {
	sql = expandMacros(sql)
	a := &Analysis{SQL: sql}
	for i := 0; i < len(sql); i++ {
		if sql[i] == '\n' {
			a.newlines = append(a.newlines, i)
		}
	}
	all := Tokenize(sql)
	toks := make([]Token, 0, len(all))
	var comments [][2]int
	// Block sets and macros hold SQL that is not the model's query:
	// {% set x %}(select ...){% endset %} is a value, not a statement.
	skipUntil := ""
	// incr > 0 inside {% if is_incremental() %}: its SQL runs only on
	// incremental builds, so it is kept apart (Incremental) and the
	// query is read as a full build reads it, {% else %} branch included.
	incr, incrStart := 0, 0
	elseDepth := 0 // > 0 inside the {% else %} branch of an is_incremental() block
	for _, t := range all {
		// Statement tags ({% if %}, {% for %}) go with the comments: the
		// SQL they wrap is kept, the tags themselves are not prose.
		if t.Kind == Comment || t.JinjaKind() == "{#" || t.JinjaKind() == "{%" {
			comments = append(comments, [2]int{t.Pos, t.End()})
		}
		if elseDepth > 0 {
			switch jinjaTag(t) {
			case "if":
				elseDepth++
			case "endif":
				if elseDepth--; elseDepth == 0 {
					continue
				}
			}
		}
		if skipUntil != "" {
			if t.Kind == Jinja && jinjaTag(t) == skipUntil {
				skipUntil = ""
			}
			continue
		}
		if incr > 0 {
			switch tag := jinjaTag(t); {
			case tag == "if":
				incr++
			case tag == "endif" && incr > 1:
				incr--
			case tag == "endif" || (tag == "else" || tag == "elif") && incr == 1:
				a.Incremental = append(a.Incremental, Expr{Pos: incrStart, Line: a.Line(incrStart),
					Text: strings.TrimSpace(stripSpans(sql, incrStart, t.Pos, comments[:len(comments)-1]))})
				incr = 0
				if tag != "endif" {
					elseDepth = 1
				}
			}
			continue
		}
		switch {
		case t.Kind == Comment:
		case t.JinjaKind() == "{#":
		case isIncrementalIf(t):
			incr, incrStart = 1, t.End()
		case t.JinjaKind() == "{%" && jinjaTag(t) == "set" && !strings.Contains(t.Text, "="):
			skipUntil = "endset"
		case t.JinjaKind() == "{%" && jinjaTag(t) == "macro":
			skipUntil = "endmacro"
		default:
			toks = append(toks, t)
		}
	}
	a.Refs = Refs(sql)
	p := &parser{a: a, sql: sql, toks: toks, ctes: map[string]bool{}, comments: comments}
	p.matchParens()
	lo, hi := p.mainStatement()
	if lo < hi {
		a.Final = p.parseQuery(lo, hi)
	}
	return a
}

// Line returns the 1-based line of byte offset pos.
func (a *Analysis) Line(pos int) int {
	return sort.SearchInts(a.newlines, pos) + 1
}

// FinalColumns returns the output columns of the final query's first
// SELECT (the columns a model produces), or nil.
func (a *Analysis) FinalColumns() []OutputColumn {
	if a.Final == nil || len(a.Final.Selects) == 0 {
		return nil
	}
	return a.Final.Selects[0].Columns
}

// CTE returns the CTE called name (case-insensitive), or nil.
func (a *Analysis) CTE(name string) *CTE {
	for _, c := range a.CTEs {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// maxDepth bounds recursion so pathological nesting cannot exhaust the
// stack; deeper queries are left unparsed.
const maxDepth = 200

type parser struct {
	a     *Analysis
	sql   string
	toks  []Token
	match []int // index of the matching paren, -1 when unbalanced
	ctes  map[string]bool
	depth int
	// comments are the byte spans of SQL and Jinja comments, sorted: the
	// texts the parser hands out leave them out.
	comments [][2]int
}

func (p *parser) matchParens() {
	p.match = make([]int, len(p.toks))
	var stack []int
	for i, t := range p.toks {
		p.match[i] = -1
		switch t.Kind {
		case LParen:
			stack = append(stack, i)
		case RParen:
			if len(stack) > 0 {
				o := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				p.match[o] = i
				p.match[i] = o
			}
		}
	}
}

// skip returns the index to continue a depth-0 scan from after i: past
// the matching parenthesis when toks[i] opens one that closes before hi.
func (p *parser) skip(i, hi int) int {
	if p.toks[i].Kind == LParen {
		if m := p.match[i]; m > i && m < hi {
			return m + 1
		}
	}
	return i + 1
}

func (p *parser) is(i int, kw string) bool {
	return i >= 0 && i < len(p.toks) && p.toks[i].Is(kw)
}

func (p *parser) kind(i int) Kind {
	if i < 0 || i >= len(p.toks) {
		return -1
	}
	return p.toks[i].Kind
}

func (p *parser) text(lo, hi int) string {
	if lo < 0 {
		lo = 0
	}
	if hi > len(p.toks) {
		hi = len(p.toks)
	}
	if lo >= hi {
		return ""
	}
	return strings.TrimSpace(stripSpans(p.sql, p.toks[lo].Pos, p.toks[hi-1].End(), p.comments))
}

// mainStatement picks the model's query: the first ;-separated statement
// that starts (after Jinja) with WITH, SELECT or a parenthesis, else the
// first that holds a SELECT anywhere.
func (p *parser) mainStatement() (int, int) {
	var stmts [][2]int
	start := 0
	for i := 0; i < len(p.toks); {
		if p.toks[i].Kind == Semicolon {
			stmts = append(stmts, [2]int{start, i})
			start = i + 1
			i++
			continue
		}
		i = p.skip(i, len(p.toks))
	}
	stmts = append(stmts, [2]int{start, len(p.toks)})
	for _, paren := range []bool{false, true} {
		for _, s := range stmts {
			lo := s[0]
			for lo < s[1] && p.toks[lo].Kind == Jinja {
				lo++
			}
			if lo < s[1] && (p.is(lo, "with") || p.is(lo, "select") || paren && p.toks[lo].Kind == LParen) {
				return lo, s[1]
			}
		}
	}
	for _, s := range stmts {
		for i := s[0]; i < s[1]; i++ {
			if p.is(i, "with") || p.is(i, "select") {
				hi := s[1]
				// CREATE TABLE x AS (SELECT ...): stop at the closing paren.
				for j := i - 1; j >= s[0]; j-- {
					if p.toks[j].Kind == LParen && p.match[j] > i {
						hi = p.match[j]
						break
					}
				}
				return i, hi
			}
		}
	}
	return 0, 0
}

func (p *parser) parseQuery(lo, hi int) *Query {
	if lo >= hi || lo < 0 || hi > len(p.toks) {
		return nil
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil
	}
	i := lo
	if p.is(i, "with") {
		i = p.parseWith(i+1, hi)
	}
	// Text and Pos are the query after its CTE list: what it selects.
	q := &Query{Text: p.text(i, hi), Pos: p.toks[min(i, hi-1)].Pos}
	start := i
	for j := i; j < hi; {
		if op, next, ok := p.setOpAt(j, hi); ok {
			p.addBranch(q, start, j)
			q.SetOps = append(q.SetOps, op)
			p.a.SetOps++
			start = next
			j = next
			continue
		}
		j = p.skip(j, hi)
	}
	p.addBranch(q, start, hi)
	// A branch without a SELECT (VALUES, junk) leaves an operator dangling.
	if len(q.SetOps) >= len(q.Selects) && len(q.SetOps) > 0 {
		q.SetOps = q.SetOps[:max(len(q.Selects)-1, 0)]
	}
	return q
}

func (p *parser) setOpAt(j, hi int) (string, int, bool) {
	t := p.toks[j]
	if t.Kind != Ident {
		return "", 0, false
	}
	w := strings.ToLower(t.Text)
	switch w {
	case "union", "intersect", "except", "minus":
	default:
		return "", 0, false
	}
	// BigQuery's SELECT * EXCEPT (a, b) is a column filter, not a set op.
	if w == "except" && j > 0 && p.toks[j-1].Kind == Operator && p.toks[j-1].Text == "*" {
		return "", 0, false
	}
	next := j + 1
	if p.is(next, "all") || p.is(next, "distinct") {
		w += " " + strings.ToLower(p.toks[next].Text)
		next++
	}
	// DuckDB/BigQuery: UNION ALL BY NAME, [INNER|LEFT] CORRESPONDING.
	if p.is(next, "by") && p.is(next+1, "name") {
		next += 2
	}
	return w, next, true
}

func (p *parser) addBranch(q *Query, lo, hi int) {
	if lo >= hi {
		return
	}
	if p.toks[lo].Kind == LParen {
		if m := p.match[lo]; m > lo && m < hi {
			inner := p.parseQuery(lo+1, m)
			if inner != nil {
				q.Selects = append(q.Selects, inner.Selects...)
				q.SetOps = append(q.SetOps, inner.SetOps...)
			}
			return
		}
	}
	for i := lo; i < hi; i = p.skip(i, hi) {
		if p.is(i, "select") {
			q.Selects = append(q.Selects, p.parseSelect(i, hi))
			return
		}
	}
}

func (p *parser) parseWith(i, hi int) int {
	if p.is(i, "recursive") {
		p.a.Recursive = true
		i++
	}
	for i < hi {
		k := p.kind(i)
		if k != Ident && k != QuotedIdent {
			return i
		}
		name := p.toks[i]
		j := i + 1
		var cols []string
		if p.kind(j) == LParen && p.match[j] > j && p.match[j] < hi {
			for c := j + 1; c < p.match[j]; c++ {
				if k := p.kind(c); k == Ident || k == QuotedIdent {
					cols = append(cols, p.toks[c].Name())
				}
			}
			j = p.match[j] + 1
		}
		if !p.is(j, "as") {
			return i
		}
		j++
		if p.is(j, "not") {
			j++
		}
		if p.is(j, "materialized") {
			j++
		}
		if p.kind(j) != LParen || p.match[j] <= j || p.match[j] >= hi {
			return i
		}
		m := p.match[j]
		cte := &CTE{Name: name.Name(), Columns: cols, Pos: name.Pos, Line: p.a.Line(name.Pos)}
		if m > j+1 {
			cte.Body = strings.TrimSpace(stripSpans(p.sql, p.toks[j].End(), p.toks[m].Pos, p.comments))
		}
		p.a.CTEs = append(p.a.CTEs, cte)
		p.ctes[strings.ToLower(cte.Name)] = true // visible to its own body when recursive
		cte.Query = p.parseQuery(j+1, m)
		i = m + 1
		if p.kind(i) != Comma {
			return i
		}
		i++
	}
	return i
}

// clause keywords that end the select list or a previous clause.
func (p *parser) clauseAt(j int) (string, int) {
	t := p.toks[j]
	if t.Kind != Ident {
		return "", 0
	}
	switch strings.ToLower(t.Text) {
	case "from":
		// a IS [NOT] DISTINCT FROM b is a comparison, not a clause.
		if p.is(j-1, "distinct") && (p.is(j-2, "is") || p.is(j-2, "not")) {
			return "", 0
		}
		return "from", 1
	case "where":
		return "where", 1
	case "having":
		return "having", 1
	case "qualify":
		return "qualify", 1
	case "limit":
		return "limit", 1
	case "offset":
		return "offset", 1
	case "fetch":
		return "fetch", 1
	case "group":
		if p.is(j+1, "by") {
			return "group by", 2
		}
	case "order":
		if p.is(j+1, "by") {
			return "order by", 2
		}
	case "window":
		if k := p.kind(j + 1); (k == Ident || k == QuotedIdent) && p.is(j+2, "as") {
			return "window", 1
		}
	}
	return "", 0
}

func (p *parser) parseSelect(lo, hi int) *Select {
	s := &Select{Text: p.text(lo, hi), Pos: p.toks[lo].Pos, Line: p.a.Line(p.toks[lo].Pos)}
	p.a.Selects = append(p.a.Selects, s)

	// Nested SELECTs first, so clause scans can skip their tokens.
	subAt := map[int]*Query{}
	var subRanges [][2]int
	for j := lo + 1; j < hi; j++ {
		if p.toks[j].Kind != LParen {
			continue
		}
		m := p.match[j]
		if m <= j || m >= hi || !p.startsQuery(j+1, m) {
			continue
		}
		sub := p.parseQuery(j+1, m)
		if sub != nil {
			s.Subqueries = append(s.Subqueries, sub)
			p.a.Subqueries++
			subAt[j] = sub
		}
		subRanges = append(subRanges, [2]int{j, m})
		j = m
	}

	i := lo + 1
	if p.is(i, "distinct") {
		s.Distinct = true
		i++
		if p.is(i, "on") && p.kind(i+1) == LParen && p.match[i+1] > i+1 && p.match[i+1] < hi {
			i = p.match[i+1] + 1
		}
	} else if p.is(i, "all") {
		i++
	}
	if p.is(i, "top") {
		i++
		if p.kind(i) == Number {
			i++
		} else if p.kind(i) == LParen && p.match[i] > i && p.match[i] < hi {
			i = p.match[i] + 1
		}
	}

	type mark struct {
		name    string
		kw, end int // keyword start, content start
	}
	marks := []mark{{name: "select", kw: lo, end: i}}
	for j := i; j < hi; {
		if name, n := p.clauseAt(j); n > 0 {
			marks = append(marks, mark{name, j, j + n})
			j += n
			continue
		}
		j = p.skip(j, hi)
	}
	for mi, m := range marks {
		end := hi
		if mi+1 < len(marks) {
			end = marks[mi+1].kw
		}
		switch m.name {
		case "select":
			s.Columns = p.parseColumns(m.end, end)
		case "from":
			if s.From == nil {
				s.From = p.parseFrom(m.end, end, subAt, "from")
			}
		case "where":
			s.Where = p.text(m.end, end)
		case "group by":
			s.GroupBy = p.text(m.end, end)
		case "having":
			s.Having = p.text(m.end, end)
		case "qualify":
			s.Qualify = p.text(m.end, end)
		case "order by":
			s.OrderBy = p.text(m.end, end)
		case "limit":
			s.Limit = p.text(m.end, end)
		}
	}
	p.scanExprs(s, lo, hi, subRanges)
	return s
}

// startsQuery reports whether toks[i:hi] begin with SELECT or WITH, maybe
// behind more parentheses.
func (p *parser) startsQuery(i, hi int) bool {
	for i < hi && p.toks[i].Kind == LParen {
		i++
	}
	return i < hi && (p.is(i, "select") || p.is(i, "with"))
}

func (p *parser) parseColumns(lo, hi int) []OutputColumn {
	var cols []OutputColumn
	start := lo
	for j := lo; j <= hi; {
		if j == hi || p.toks[j].Kind == Comma {
			if start < j {
				cols = append(cols, p.parseColumn(start, j))
			}
			start = j + 1
			j++
			continue
		}
		j = p.skip(j, hi)
	}
	return cols
}

// notAlias lists words that can end an expression, so a trailing bare word
// among them is not an implicit alias.
var notAlias = setOf("end", "and", "or", "not", "null", "true", "false", "is", "in", "like", "ilike",
	"then", "else", "when", "case", "as", "distinct", "from", "over", "between", "asc", "desc",
	"nulls", "first", "last", "escape", "collate", "zone", "unknown", "rlike", "similar", "interval",
	"date", "time", "timestamp", "all", "any", "some", "exists", "select")

// operatorWords cannot sit right before an implicit alias: "not flag" is
// one expression, not flag aliased.
var operatorWords = setOf("not", "and", "or", "is", "in", "like", "ilike", "then", "else", "when",
	"case", "between", "interval", "date", "timestamp", "time", "distinct", "select", "as", "by", "rlike")

var datePartWords = setOf("day", "days", "month", "months", "year", "years", "hour", "hours", "minute",
	"minutes", "second", "seconds", "week", "weeks", "quarter", "quarters", "millisecond", "microsecond")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func (p *parser) parseColumn(lo, hi int) OutputColumn {
	c := OutputColumn{Pos: p.toks[lo].Pos}
	end := hi
	alias := ""
	n := hi - lo
	switch {
	case n >= 3 && p.is(hi-2, "as") && (p.kind(hi-1) == Ident || p.kind(hi-1) == QuotedIdent || p.kind(hi-1) == String):
		alias = p.toks[hi-1].Name()
		if p.kind(hi-1) == String {
			alias = unquoteLiteral(p.toks[hi-1].Text)
		}
		end = hi - 2
	case n >= 2 && p.impliedAlias(hi-1):
		alias = p.toks[hi-1].Name()
		end = hi - 1
	}
	c.Expr = p.text(lo, end)
	c.Kind, c.Qualifier, c.SourceColumn = p.classify(lo, end)
	c.Name = alias
	if c.Name == "" {
		switch c.Kind {
		case ColumnRef, ColumnCast:
			c.Name = c.SourceColumn
		case ColumnStar:
			c.Name = "*"
		}
	}
	return c
}

func (p *parser) impliedAlias(j int) bool {
	t := p.toks[j]
	if t.Kind == QuotedIdent {
		k := p.kind(j - 1)
		return k == Ident && !operatorWords[strings.ToLower(p.toks[j-1].Text)] || k == RParen || k == QuotedIdent || k == String || k == Number
	}
	if t.Kind != Ident {
		return false
	}
	w := strings.ToLower(t.Text)
	if notAlias[w] {
		return false
	}
	prev := p.toks[j-1]
	switch prev.Kind {
	case Ident:
		return !operatorWords[strings.ToLower(prev.Text)]
	case QuotedIdent, RParen, Jinja:
		return true
	case String, Number:
		// interval '1' day, interval 3 days
		return !datePartWords[w]
	}
	return false
}

// classify says what the expression toks[lo:hi] is.
func (p *parser) classify(lo, hi int) (ColumnKind, string, string) {
	if lo >= hi {
		return Expression, "", ""
	}
	if hi-lo == 1 {
		t := p.toks[lo]
		switch {
		case t.Kind == Operator && t.Text == "*":
			return ColumnStar, "", ""
		case t.Kind == String || t.Kind == Number || t.Is("null") || t.Is("true") || t.Is("false"):
			return Literal, "", ""
		case t.Kind == Jinja:
			return JinjaExpr, "", ""
		}
	}
	if hi-lo == 2 && p.kind(lo) == Operator && (p.toks[lo].Text == "-" || p.toks[lo].Text == "+") && p.kind(lo+1) == Number {
		return Literal, "", ""
	}
	if q, col, end := p.path(lo, hi); end == hi {
		if col == "*" {
			return ColumnStar, q, ""
		}
		return ColumnRef, q, col
	} else if end > lo && p.kind(end) == Operator && p.toks[end].Text == "::" && col != "*" {
		// col::type, col::varchar(10)
		if k := p.kind(end + 1); k == Ident || k == QuotedIdent {
			rest := end + 2
			if p.kind(rest) == LParen && p.match[rest] == hi-1 {
				rest = hi
			}
			if rest == hi {
				return ColumnCast, q, col
			}
		}
	}
	// cast(col as type), try_cast, safe_cast
	t := p.toks[lo]
	if t.Kind == Ident && p.kind(lo+1) == LParen && p.match[lo+1] == hi-1 {
		switch strings.ToLower(t.Text) {
		case "cast", "try_cast", "safe_cast":
			if q, col, end := p.path(lo+2, hi-1); end > lo+2 && p.is(end, "as") && col != "*" {
				return ColumnCast, q, col
			}
		}
	}
	return Expression, "", ""
}

// path reads ident(.ident)* from lo and returns the qualifier, the last
// part, and the index just past the path (lo when there is none).
func (p *parser) path(lo, hi int) (string, string, int) {
	var parts []string
	j := lo
	for j < hi {
		k := p.kind(j)
		if k != Ident && k != QuotedIdent {
			if k == Operator && p.toks[j].Text == "*" && len(parts) > 0 {
				parts = append(parts, "*")
				j++
			}
			break
		}
		if k == Ident && notAlias[strings.ToLower(p.toks[j].Text)] {
			break
		}
		parts = append(parts, p.toks[j].Name())
		j++
		if j < hi && p.kind(j) == Dot {
			j++
			continue
		}
		break
	}
	if len(parts) == 0 || p.kind(j-1) == Dot {
		return "", "", lo
	}
	if j < hi && p.kind(j) == LParen {
		return "", "", lo // a function call
	}
	return strings.Join(parts[:len(parts)-1], "."), parts[len(parts)-1], j
}

var joinWords = setOf("natural", "left", "right", "full", "inner", "cross", "outer", "asof", "semi", "anti", "positional", "any", "global")

// joinAt recognizes [NATURAL] [LEFT|RIGHT|FULL|INNER|CROSS] [OUTER] JOIN and
// CROSS/OUTER APPLY starting at j.
func (p *parser) joinAt(j, hi int) (string, int, bool) {
	var words []string
	k := j
	for k < hi && len(words) < 5 {
		t := p.toks[k]
		if t.Kind != Ident {
			return "", 0, false
		}
		w := strings.ToLower(t.Text)
		words = append(words, w)
		k++
		if w == "join" || w == "apply" && len(words) > 1 {
			return strings.Join(words, " "), k, true
		}
		if !joinWords[w] {
			return "", 0, false
		}
	}
	return "", 0, false
}

var relationStop = setOf("join", "left", "right", "full", "inner", "cross", "natural", "on", "using",
	"where", "lateral", "outer", "tablesample", "sample", "at", "before", "changes", "match_recognize",
	"pivot", "unpivot", "for", "with", "window", "asof", "semi", "anti", "positional", "group", "order",
	"limit", "having", "qualify", "union", "except", "intersect", "minus", "global", "any", "final", "prewhere")

func (p *parser) parseFrom(lo, hi int, subAt map[int]*Query, join string) []Relation {
	var rels []Relation
	k := lo
	for k < hi {
		if p.is(k, "lateral") {
			k++
			if k >= hi {
				break
			}
		}
		r := Relation{Join: join, Pos: p.toks[k].Pos}
		t := p.toks[k]
		switch {
		case t.Kind == LParen:
			m := p.match[k]
			if m <= k || m >= hi {
				m = hi - 1
			}
			if sub, ok := subAt[k]; ok {
				r.Kind, r.Subquery, r.Name = "subquery", sub, "subquery"
				k = m + 1
			} else {
				// (a JOIN b ON ...): a parenthesized join tree.
				inner := p.parseFrom(k+1, m, subAt, join)
				rels = append(rels, inner...)
				k = m + 1
				r.Kind = ""
			}
		case t.Kind == Jinja && IsThis(t.Text):
			// The model reading itself (an incremental merge): not a source
			// of data, and never an upstream.
			r.Kind, r.Name = "this", "this"
			k++
		case t.Kind == Jinja:
			r.Kind, r.Name = "jinja", t.Text
			if refs := jinjaRefs(t); len(refs) == 1 && t.JinjaKind() == "{{" {
				ref := refs[0]
				r.Kind, r.Name, r.Ref = ref.Func, ref.Name, &ref
			}
			k++
		case t.Kind == Ident || t.Kind == QuotedIdent:
			var parts []string
			j := k
			for j < hi && (p.kind(j) == Ident || p.kind(j) == QuotedIdent) {
				parts = append(parts, p.toks[j].Name())
				j++
				if j < hi && p.kind(j) == Dot {
					j++
					continue
				}
				break
			}
			if p.kind(j) == LParen && p.match[j] > j && p.match[j] < hi {
				r.Kind, r.Name = "function", p.text(k, p.match[j]+1)
				k = p.match[j] + 1
			} else {
				r.Name = strings.Join(parts, ".")
				r.Kind = "table"
				if len(parts) == 1 && p.ctes[strings.ToLower(parts[0])] {
					r.Kind = "cte"
				}
				k = j
			}
		default:
			k++
			continue
		}
		// alias
		if p.is(k, "as") {
			k++
			if kk := p.kind(k); kk == Ident || kk == QuotedIdent {
				r.Alias = p.toks[k].Name()
				k++
			}
		} else if kk := p.kind(k); k < hi && (kk == QuotedIdent || kk == Ident && !relationStop[strings.ToLower(p.toks[k].Text)]) {
			r.Alias = p.toks[k].Name()
			k++
		}
		if k < hi && p.kind(k) == LParen && r.Alias != "" {
			k = p.skip(k, hi) // alias column list
		}
		// up to the next relation: ON/USING, table modifiers, then a comma or a join.
		join = ""
		for k < hi {
			if p.toks[k].Kind == Comma {
				join = ","
				k++
				break
			}
			if w, next, ok := p.joinAt(k, hi); ok {
				join = w
				k = next
				break
			}
			if p.is(k, "on") || p.is(k, "using") {
				start := k
				if p.is(k, "on") {
					start = k + 1
				}
				e := k + 1
				for e < hi {
					if p.toks[e].Kind == Comma {
						break
					}
					if _, _, ok := p.joinAt(e, hi); ok {
						break
					}
					e = p.skip(e, hi)
				}
				r.On = p.text(start, e)
				k = e
				continue
			}
			k = p.skip(k, hi)
		}
		if r.Kind != "" {
			rels = append(rels, r)
		}
		if join == "" {
			break
		}
	}
	return rels
}

var aggregates = setOf("count", "sum", "avg", "min", "max", "count_if", "countif", "listagg", "array_agg",
	"string_agg", "median", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
	"any_value", "approx_count_distinct", "bool_and", "bool_or", "logical_and", "logical_or", "group_concat",
	"percentile_cont", "percentile_disc", "mode", "array_union_agg", "object_agg", "hll", "sum_if", "avg_if",
	"min_by", "max_by", "arg_min", "arg_max", "approx_percentile", "bit_and", "bit_or", "every", "json_agg",
	"jsonb_agg", "collect_list", "collect_set", "corr", "covar_pop", "covar_samp", "approx_top_k")

// scanExprs finds CASE expressions, window functions and aggregate calls
// in a SELECT, outside its nested subqueries.
func (p *parser) scanExprs(s *Select, lo, hi int, subRanges [][2]int) {
	windowed := map[int]bool{}
	caseUntil := -1
	inSub := func(j int) (int, bool) {
		for _, r := range subRanges {
			if j >= r[0] && j <= r[1] {
				return r[1], true
			}
		}
		return 0, false
	}
	for j := lo; j < hi; j++ {
		if end, ok := inSub(j); ok {
			j = end
			continue
		}
		t := p.toks[j]
		if t.Kind != Ident {
			continue
		}
		switch {
		case t.Is("case") && j > caseUntil:
			depth := 0
			e := j
			for ; e < hi; e++ {
				if p.is(e, "case") {
					depth++
				} else if p.is(e, "end") {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if e >= hi {
				e = hi - 1
			}
			agg := p.aggregateAround(j, e)
			s.Cases = append(s.Cases, Expr{Text: p.text(j, e+1), Pos: t.Pos, Line: p.a.Line(t.Pos), Aggregate: agg, AggregateDistinct: agg != "" && p.is(j-1, "distinct")})
			// Inner CASEs are part of the outer text; windows and
			// aggregates inside it are still wanted, so keep scanning.
			caseUntil = e
		case t.Is("over") && j > lo && (p.kind(j+1) == LParen || p.kind(j+1) == Ident):
			w, ok := p.windowAt(j, lo, hi)
			if ok {
				windowed[w.callIdx] = true
				s.Windows = append(s.Windows, w.Window)
			}
		}
	}
	seen := map[string]bool{}
	for j := lo; j < hi; j++ {
		if end, ok := inSub(j); ok {
			j = end
			continue
		}
		t := p.toks[j]
		if t.Kind != Ident || p.kind(j+1) != LParen || p.kind(j-1) == Dot || windowed[j] {
			continue
		}
		name := strings.ToLower(t.Text)
		if aggregates[name] && !seen[name] {
			seen[name] = true
			s.Aggregates = append(s.Aggregates, name)
		}
	}
}

// aggregateAround returns the aggregate function whose only argument is
// toks[lo..hi] (sum(case ... end), count(distinct case ... end)), or "".
func (p *parser) aggregateAround(lo, hi int) string {
	open := lo - 1
	if p.is(open, "distinct") {
		open--
	}
	if p.kind(open) != LParen || p.match[open] != hi+1 || p.kind(open-1) != Ident || p.kind(open-2) == Dot {
		return ""
	}
	if name := strings.ToLower(p.toks[open-1].Text); aggregates[name] {
		return name
	}
	return ""
}

type windowHit struct {
	Window
	callIdx int
}

func (p *parser) windowAt(j, lo, hi int) (windowHit, bool) {
	overEnd := j + 2
	if p.kind(j+1) == LParen {
		m := p.match[j+1]
		if m <= j+1 || m >= hi {
			return windowHit{}, false
		}
		overEnd = m + 1
	}
	// Walk back over FILTER (...) and WITHIN GROUP (...) to the call.
	r := j - 1
	if p.is(r, "nulls") && (p.is(r-1, "ignore") || p.is(r-1, "respect")) {
		r -= 2
	}
	for {
		if p.kind(r) != RParen {
			return windowHit{}, false
		}
		o := p.match[r]
		if o < lo || o < 1 {
			return windowHit{}, false
		}
		switch {
		case p.is(o-1, "filter"):
			r = o - 2
			continue
		case p.is(o-1, "group") && p.is(o-2, "within"):
			r = o - 3
			continue
		}
		if p.kind(o-1) != Ident && p.kind(o-1) != QuotedIdent {
			return windowHit{}, false
		}
		name := o - 1
		start := name
		for start-2 >= lo && p.kind(start-1) == Dot && p.kind(start-2) == Ident {
			start -= 2
		}
		w := Window{
			Func: p.text(start, j),
			Name: strings.ToLower(p.toks[name].Text),
			Over: p.text(j, overEnd),
			Pos:  p.toks[start].Pos,
			Line: p.a.Line(p.toks[start].Pos),
		}
		return windowHit{w, name}, true
	}
}

// jinjaTag returns the first word inside a {% %} tag ("set", "endset",
// "if"), or "".
func jinjaTag(t Token) string {
	if t.JinjaKind() != "{%" {
		return ""
	}
	s := strings.TrimPrefix(t.Text[2:], "-")
	s = strings.TrimLeft(s, " \t\r\n")
	end := 0
	for end < len(s) && (s[end] == '_' || s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z') {
		end++
	}
	return strings.ToLower(s[:end])
}
