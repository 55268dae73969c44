package offlinewriter

import (
	"fmt"
	"strings"

	"github.com/modeldoc/modeldoc/internal/sqlscan"
)

// oneLine collapses runs of whitespace so SQL reads inline, and renders
// what is left of dbt's Jinja the way a reader thinks of it: a ref() is
// the model it names, {{ this }} the model itself, a statement tag nothing.
func oneLine(s string) string {
	if strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "{#") {
		s = sqlscan.ReadableJinja(s)
	}
	return strings.Join(strings.Fields(s), " ")
}

// clip shortens s to at most about n characters on one line. It cuts only
// between words and marks the cut with an ellipsis; a single word longer
// than n is kept whole rather than cut in its middle.
func clip(s string, n int) string {
	s = oneLine(s)
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n+1], ' ')
	if cut <= 0 {
		if end := strings.IndexByte(s, ' '); end > 0 {
			cut = end
		} else {
			return s
		}
	}
	return strings.TrimRight(s[:cut], " ,;(") + " …"
}

// humanize turns an identifier into words: "seed_hcc_mapping" → "seed hcc mapping".
func humanize(name string) string {
	name = strings.Trim(name, `_"`)
	name = strings.ReplaceAll(name, "__", " ")
	return strings.Join(strings.Fields(strings.ReplaceAll(name, "_", " ")), " ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = capitalize(s)
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// list renders "a", "a and b", "a, b and c", or the first n and a count.
func list(items []string, n int) string {
	if len(items) == 0 {
		return ""
	}
	more := 0
	if n > 0 && len(items) > n {
		more = len(items) - n
		items = items[:n]
	}
	switch {
	case more > 0:
		return strings.Join(items, ", ") + fmt.Sprintf(" and %d more", more)
	case len(items) == 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func ticks(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = "`" + s + "`"
	}
	return out
}

// call splits "fn(a, b)" into the lower-case name and its top-level
// arguments; ok is false when expr is not one function call.
func call(expr string) (name string, args []string, ok bool) {
	toks := sqlscan.Tokenize(expr)
	if len(toks) < 3 || toks[0].Kind != sqlscan.Ident || toks[1].Kind != sqlscan.LParen || toks[len(toks)-1].Kind != sqlscan.RParen {
		return "", nil, false
	}
	depth := 0
	start := toks[2].Pos
	for i := 1; i < len(toks); i++ {
		switch toks[i].Kind {
		case sqlscan.LParen:
			depth++
		case sqlscan.RParen:
			depth--
			if depth == 0 && i != len(toks)-1 {
				return "", nil, false // fn(a) + 1
			}
			if depth == 0 {
				if a := strings.TrimSpace(expr[start:toks[i].Pos]); a != "" {
					args = append(args, a)
				}
			}
		case sqlscan.Comma:
			if depth == 1 {
				args = append(args, strings.TrimSpace(expr[start:toks[i].Pos]))
				start = toks[i].End()
			}
		}
	}
	return strings.ToLower(toks[0].Text), args, true
}

// topLevel reports whether expr has tok (an operator or keyword) outside
// parentheses.
func topLevel(expr string, words ...string) bool {
	depth := 0
	for _, t := range sqlscan.Tokenize(expr) {
		switch t.Kind {
		case sqlscan.LParen:
			depth++
		case sqlscan.RParen:
			depth--
		case sqlscan.Operator, sqlscan.Ident:
			if depth == 0 {
				for _, w := range words {
					if strings.EqualFold(t.Text, w) {
						return true
					}
				}
			}
		}
	}
	return false
}

// groupingOf renders a SELECT's GROUP BY in words, resolving ordinals
// ("group by 1, 2") to the output columns they point at.
func groupingOf(sel *sqlscan.Select) string {
	if sel == nil || sel.GroupBy == "" {
		return ""
	}
	var items []string
	for _, part := range groupItems(sel) {
		items = append(items, "`"+clip(bare(part), 50)+"`")
	}
	return list(items, 6)
}

// perPhrase is " per <grain>" for an aggregate's column text, with the
// entities the key columns identify said in words before the keys:
// " per contact (`source_relation` and `contact_id`)". A reader wants to
// know a count is per contact; the keys say exactly how.
func perPhrase(sel *sqlscan.Select) string {
	g := groupingOf(sel)
	if g == "" {
		return ""
	}
	var entities []string
	for _, part := range groupItems(sel) {
		name := strings.ToLower(strings.Trim(bare(part), `"`))
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			continue // an expression, not a key column
		}
		for _, suffix := range []string{"_id", "_key", "_sk"} {
			if e, ok := strings.CutSuffix(name, suffix); ok && e != "" {
				entities = append(entities, humanize(e))
				break
			}
		}
	}
	if len(entities) == 0 || len(entities) > 3 {
		return " per " + g
	}
	return " per " + list(entities, 0) + " (" + g + ")"
}

// groupItems is a SELECT's GROUP BY, item by item, with ordinals ("group
// by 1, 2") resolved to the output columns they point at and Snowflake's
// GROUP BY ALL to the columns that aggregate nothing (GitLab printed
// "per `ALL`").
func groupItems(sel *sqlscan.Select) []string {
	if strings.EqualFold(strings.TrimSpace(sel.GroupBy), "all") {
		var out []string
		for _, c := range sel.Columns {
			if c.Kind != sqlscan.ColumnStar && c.Name != "" && !aggregates(c.Expr) {
				out = append(out, c.Name)
			}
		}
		return out
	}
	var out []string
	for _, part := range splitTop(sel.GroupBy, ",") {
		part = strings.TrimSpace(part)
		var n int
		if _, err := fmt.Sscanf(part, "%d", &n); err == nil && fmt.Sprint(n) == part && n >= 1 && n <= len(sel.Columns) {
			if c := sel.Columns[n-1]; c.Name != "" {
				part = c.Name
			}
		}
		out = append(out, part)
	}
	return out
}

// aggregates reports whether expr calls an aggregate function outside a
// window.
func aggregates(expr string) bool {
	toks := sqlscan.Tokenize(expr)
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].Kind == sqlscan.Ident && toks[i+1].Kind == sqlscan.LParen && aggWords[strings.ToLower(toks[i].Text)] != "" {
			return true
		}
	}
	return false
}

// bare drops a table qualifier from a simple column reference.
func bare(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 && !strings.ContainsAny(s, "() '") {
		return s[i+1:]
	}
	return s
}

// splitTop splits s on sep outside parentheses and quotes.
func splitTop(s, sep string) []string {
	var out []string
	depth, last := 0, 0
	for _, t := range sqlscan.Tokenize(s) {
		switch {
		case t.Kind == sqlscan.LParen:
			depth++
		case t.Kind == sqlscan.RParen:
			depth--
		case depth == 0 && strings.EqualFold(t.Text, sep) && t.Kind != sqlscan.String && t.Kind != sqlscan.QuotedIdent:
			out = append(out, s[last:t.Pos])
			last = t.End()
		}
	}
	return append(out, s[last:])
}

// conjuncts splits a condition on top-level AND, keeping BETWEEN x AND y
// together.
func conjuncts(cond string) []string {
	toks := sqlscan.Tokenize(cond)
	var out []string
	depth, last := 0, 0
	between := false
	for _, t := range toks {
		switch {
		case t.Kind == sqlscan.LParen:
			depth++
		case t.Kind == sqlscan.RParen:
			depth--
		case depth == 0 && t.Is("between"):
			between = true
		case depth == 0 && t.Is("and"):
			if between {
				between = false
				continue
			}
			out = append(out, strings.TrimSpace(cond[last:t.Pos]))
			last = t.End()
		}
	}
	out = append(out, strings.TrimSpace(cond[last:]))
	return out
}

// describeCondition renders one predicate in words where it has a common
// shape, and as quoted SQL otherwise.
func describeCondition(c string) string { return describeCond(c, false) }

// describeCond keeps table qualifiers when keep is true, for SELECTs that
// read several relations where the bare name would be ambiguous.
func describeCond(c string, keep bool) string {
	bare := bare
	if keep {
		bare = func(s string) string { return s }
	}
	c = oneLine(c)
	lc := strings.ToLower(c)
	type pat struct{ sep, words string }
	switch {
	case strings.HasSuffix(lc, " is not null"):
		return "`" + bare(c[:len(c)-12]) + "` is present"
	case strings.HasSuffix(lc, " is null"):
		return "`" + bare(c[:len(c)-8]) + "` is missing (null)"
	case strings.HasPrefix(lc, "not exists") || strings.HasPrefix(lc, "exists"):
		return "a matching row " + map[bool]string{true: "does not exist", false: "exists"}[strings.HasPrefix(lc, "not")] + " in a subquery (`" + clip(c, 80) + "`)"
	}
	for _, p := range []pat{{" not in ", "is not one of"}, {" in ", "is one of"}, {" not like ", "does not match"}, {" like ", "matches"}, {" ilike ", "matches (case-insensitive)"},
		{" between ", "is between"}, {" >= ", "is at least"}, {" <= ", "is at most"}, {" <> ", "is not"}, {" != ", "is not"}, {" > ", "is greater than"}, {" < ", "is less than"}, {" = ", "is"}} {
		if i := strings.Index(lc, p.sep); i > 0 && !strings.ContainsAny(c[:i], "()") {
			rhs := strings.TrimSpace(c[i+len(p.sep):])
			if strings.Contains(strings.ToLower(rhs), "select ") {
				rhs = "the result of a subquery"
			} else {
				rhs = clip(rhs, 80)
				if !strings.HasPrefix(rhs, "'") && !isNumber(rhs) {
					rhs = "`" + bare(rhs) + "`"
				}
			}
			return "`" + bare(strings.TrimSpace(c[:i])) + "` " + p.words + " " + rhs
		}
	}
	if isPath(c) {
		return "`" + bare(c) + "` is true"
	}
	if strings.HasPrefix(lc, "not ") && isPath(strings.TrimSpace(c[4:])) {
		return "`" + bare(strings.TrimSpace(c[4:])) + "` is false"
	}
	return "`" + clip(c, 120) + "`"
}

func isNumber(s string) bool {
	toks := sqlscan.Tokenize(s)
	return len(toks) == 1 && toks[0].Kind == sqlscan.Number
}

// describeConditions renders a whole WHERE/HAVING/ON in words.
func describeConditions(cond string) string {
	parts := conjuncts(cond)
	var out []string
	for _, p := range parts {
		if p == "" {
			continue
		}
		if topLevel(p, "or") {
			out = append(out, "either of `"+clip(p, 120)+"`")
			continue
		}
		out = append(out, describeCondition(strings.Trim(p, " ")))
	}
	return list(out, 6)
}

// caseParts is a CASE read into its branches. For a simple CASE
// (case x when 1 then ...) subject is x and each cond is a value of it.
type caseParts struct {
	subject  string
	whens    []caseBranch
	elseVal  string
	hasElse  bool
	complete bool // the text parsed as one CASE ... END
}

type caseBranch struct{ cond, value string }

func parseCase(text string) caseParts {
	var cp caseParts
	toks := sqlscan.Tokenize(text)
	if len(toks) == 0 || !toks[0].Is("case") {
		return cp
	}
	depth, nest := 0, 0
	mark, kind := -1, ""
	var cond string
	flush := func(end int) {
		if mark < 0 {
			return
		}
		part := strings.TrimSpace(text[mark:end])
		switch kind {
		case "case":
			cp.subject = part
		case "when":
			cond = part
		case "then":
			cp.whens = append(cp.whens, caseBranch{cond, part})
		case "else":
			cp.elseVal, cp.hasElse = part, true
		}
	}
	for i, t := range toks {
		switch {
		case t.Kind == sqlscan.LParen:
			depth++
		case t.Kind == sqlscan.RParen:
			depth--
		case depth == 0 && t.Is("case"):
			nest++
			if nest == 1 {
				mark, kind = t.End(), "case"
			}
		case depth == 0 && t.Is("end"):
			nest--
			if nest == 0 {
				flush(t.Pos)
				cp.complete = i == len(toks)-1
				return cp
			}
		case depth == 0 && nest == 1 && (t.Is("when") || t.Is("then") || t.Is("else")):
			flush(t.Pos)
			kind = strings.ToLower(t.Text)
			mark = toks[i].End()
		}
	}
	return cp
}

// branchCond renders a WHEN condition, against the subject of a simple CASE.
func (cp caseParts) branchCond(cond string) string {
	if cp.subject != "" {
		return "`" + clip(bare(cp.subject), 50) + "` is " + codeValue(cond, 40)
	}
	return describeConditions(cond)
}

// codeValue shows a value: literals as written, anything else as code.
func codeValue(v string, n int) string {
	v = oneLine(v)
	if isNumber(v) || strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) <= n {
		return v
	}
	return "`" + clip(bare(v), n) + "`"
}

func isNull(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "null") }

// caseSummary renders a CASE in words: "'large' when `amount` is greater
// than 100, otherwise 'small'".
func caseSummary(text string) string {
	cp := parseCase(text)
	if len(cp.whens) == 0 {
		return ""
	}
	var branches []string
	for i, b := range cp.whens {
		if i == 5 {
			branches = append(branches, fmt.Sprintf("and %d more cases", len(cp.whens)-5))
			break
		}
		branches = append(branches, codeValue(b.value, 40)+" when "+cp.branchCond(b.cond))
	}
	s := strings.Join(branches, "; ")
	switch {
	case cp.hasElse && !isNull(cp.elseVal):
		s += "; otherwise " + codeValue(cp.elseVal, 40)
	default:
		s += "; otherwise null"
	}
	return s
}

// aggregateCase describes agg(CASE ...), a conditional count or sum, or
// "" when the CASE has a shape it cannot put in one sentence.
func aggregateCase(agg, text string, distinct bool, per string) string {
	cp := parseCase(text)
	if len(cp.whens) != 1 || cp.subject != "" {
		return ""
	}
	b := cp.whens[0]
	zero := !cp.hasElse || isNull(cp.elseVal) || cp.elseVal == "0"
	if !zero {
		return ""
	}
	where := " where " + describeConditions(b.cond)
	one := b.value == "1"
	switch {
	case agg == "sum" && one, agg == "count" && !distinct && (!cp.hasElse || isNull(cp.elseVal)) && !isNull(b.value):
		return "Number of rows" + where + per + "."
	case agg == "count" && distinct && (!cp.hasElse || isNull(cp.elseVal)):
		return "Number of distinct " + codeValue(b.value, 50) + " values among rows" + where + per + "."
	case agg == "sum":
		return "Sum of " + codeValue(b.value, 50) + " over rows" + where + per + "."
	case (agg == "avg" || agg == "min" || agg == "max") && (!cp.hasElse || isNull(cp.elseVal)):
		word := map[string]string{"avg": "Average", "min": "Smallest", "max": "Largest"}[agg]
		return word + " " + codeValue(b.value, 50) + " among rows" + where + per + "."
	}
	return ""
}

// aggWords renders agg(x): %s is x.
var aggWords = map[string]string{
	"count": "Count of %s", "sum": "Sum of %s", "avg": "Average of %s", "min": "Minimum (earliest or smallest) of %s", "max": "Maximum (latest or largest) of %s",
	"count_if": "Number of rows where %s is true", "countif": "Number of rows where %s is true", "array_agg": "List of %s", "listagg": "Concatenated list of %s",
	"string_agg": "Concatenated list of %s", "median": "Median of %s", "any_value": "Any one value of %s", "stddev": "Standard deviation of %s",
	"bool_or": "Whether any row has %s true", "bool_and": "Whether every row has %s true",
}

var windowWords = map[string]string{
	"row_number": "Row number", "rank": "Rank", "dense_rank": "Dense rank", "lag": "Previous row's value", "lead": "Next row's value",
	"first_value": "First value", "last_value": "Last value", "ntile": "Bucket number", "percent_rank": "Percent rank",
	"cume_dist": "Cumulative distribution", "sum": "Running or windowed sum", "count": "Windowed count", "avg": "Windowed average",
	"min": "Windowed minimum", "max": "Windowed maximum",
}

// describeExpr writes a derived column's description from the expression
// that computes it: one short factual sentence, or "" when the expression
// says nothing a reader could not see from the column's name (a Jinja
// call, an unknown function, a null placeholder).
func describeExpr(c *sqlscan.OutputColumn, sel *sqlscan.Select) string {
	expr := oneLine(c.Expr)
	lexpr := strings.ToLower(expr)
	per := perPhrase(sel)
	switch c.Kind {
	case sqlscan.Literal:
		if isNull(expr) {
			return "" // a placeholder: nothing is known about what it will hold
		}
		return "Always " + codeValue(expr, 60) + "."
	case sqlscan.JinjaExpr:
		return ""
	}
	if isNullPlaceholder(expr) {
		return ""
	}
	if strings.HasPrefix(expr, "'") {
		if lit, _, ok := strings.Cut(expr, "::"); ok && isStringLiteral(lit) {
			return "Always " + lit + "."
		}
	}
	for _, w := range sel.Windows {
		if strings.HasPrefix(expr, oneLine(w.Func)) && strings.Contains(lexpr, "over") {
			what := windowWords[w.Name]
			if what == "" {
				return ""
			}
			if _, args, ok := call(oneLine(w.Func)); ok && len(args) > 0 && w.Name != "ntile" {
				what += " of `" + clip(bare(args[0]), 50) + "`"
			}
			return what + " " + describeOver(w.Over) + "."
		}
	}
	if name, args, ok := call(expr); ok {
		arg := ""
		if len(args) > 0 {
			arg = args[0]
		}
		la := strings.ToLower(arg)
		distinct := strings.HasPrefix(la, "distinct ")
		inner := arg
		if distinct {
			inner = strings.TrimSpace(arg[9:])
		}
		switch {
		case aggWords[name] != "" && strings.HasPrefix(strings.ToLower(inner), "case"):
			return aggregateCase(name, inner, distinct, per)
		case aggWords[name] != "":
			if name == "count" && (arg == "*" || arg == "1") {
				return "Number of rows" + per + "."
			}
			if distinct && name == "count" {
				return "Number of distinct `" + clip(bare(inner), 60) + "` values" + per + "."
			}
			if distinct {
				// list of distinct `x`, not of `DISTINCT x`
				return fmt.Sprintf(aggWords[name], "distinct `"+clip(bare(inner), 80)+"`") + per + "."
			}
			return fmt.Sprintf(aggWords[name], "`"+clip(bare(arg), 80)+"`") + per + "."
		case name == "coalesce" || name == "ifnull" || name == "nvl":
			if len(args) < 2 || allSame(args) {
				return "" // one column coalesced with itself from two sides of a join
			}
			return "`" + clip(bare(arg), 60) + "`, or " + list(ticks(clipAll(args[1:], 50)), 3) + " when it is null."
		case name == "cast" || name == "try_cast" || name == "safe_cast":
			if i := strings.LastIndex(strings.ToLower(arg), " as "); i > 0 && isLiteral(arg[:i]) {
				// cast('postgres.public' as text): a constant, whatever its type.
				return "Always " + strings.TrimSpace(arg[:i]) + "."
			}
			if i := strings.LastIndex(strings.ToLower(arg), " as "); i > 0 && !isNull(arg[:i]) {
				// What the inner expression computes says more than its
				// new type (Tuva: "`coalesce(ap.encounter_id,
				// ed.encounter_id)` converted to TEXT").
				inner := sqlscan.OutputColumn{Expr: strings.TrimSpace(arg[:i]), Name: c.Name, Kind: sqlscan.Expression}
				if d := describeExpr(&inner, sel); d != "" {
					return d
				}
				if n, a, ok := call(inner.Expr); ok && (n == "coalesce" || n == "ifnull" || n == "nvl") && allSame(a) {
					return "" // one column from either side of a join: nothing to add
				}
				return "`" + clip(arg[:i], 80) + "` converted to " + strings.TrimSpace(arg[i+4:]) + "."
			}
			return ""
		case name == "concat" || name == "concat_ws":
			return "Text joining " + list(ticks(clipAll(args, 40)), 5) + "."
		case name == "datediff" || name == "date_diff" || name == "timestampdiff":
			if len(args) == 3 {
				return "Number of " + strings.Trim(args[0], "'") + "s between `" + clip(args[1], 50) + "` and `" + clip(args[2], 50) + "`."
			}
		case name == "date_trunc" || name == "trunc":
			if len(args) == 2 {
				return "`" + clip(args[1], 60) + "` truncated to the " + strings.Trim(args[0], "'") + "."
			}
		case name == "md5" || name == "sha2" || name == "hash" || name == "sha256" || strings.Contains(name, "surrogate_key"):
			return "Surrogate key: a hash of " + list(ticks(clipAll(args, 40)), 5) + "."
		case name == "row_number" || name == "rank":
			return ""
		case name == "upper" || name == "lower" || name == "initcap":
			return "`" + clip(bare(arg), 60) + "` with " + map[string]string{"upper": "letters upper-cased", "lower": "letters lower-cased", "initcap": "words capitalized"}[name] + "."
		case name == "trim" || name == "ltrim" || name == "rtrim":
			return "`" + clip(bare(arg), 60) + "` without surrounding spaces."
		case name == "iff" || name == "if":
			if len(args) == 3 {
				return codeValue(args[1], 40) + " when " + describeConditions(args[0]) + ", otherwise " + codeValue(args[2], 40) + "."
			}
		}
		return ""
	}
	if strings.HasPrefix(lexpr, "case") && strings.HasSuffix(lexpr, "end") {
		if s := caseSummary(expr); s != "" {
			return capitalize(s) + "."
		}
		return ""
	}
	if topLevel(expr, "=", "<>", "!=", ">", "<", ">=", "<=", "is", "in", "like", "and", "or", "not", "exists") {
		return "True when " + describeConditions(expr) + "."
	}
	if len(expr) <= 100 && (topLevel(expr, "+", "-", "*", "/") || topLevel(expr, "||")) {
		return "Computed as `" + expr + "`" + per + "."
	}
	return ""
}

// isNullPlaceholder reports whether expr is a typed null (cast(null as
// text), null::int): a column that exists only to match another shape.
func isNullPlaceholder(expr string) bool {
	l := strings.ToLower(strings.Join(strings.Fields(expr), ""))
	return strings.HasPrefix(l, "cast(null as") || strings.HasPrefix(l, "cast(nullas") || strings.HasPrefix(l, "null::") ||
		strings.HasPrefix(l, "try_cast(nullas") || strings.HasPrefix(l, "safe_cast(nullas")
}

// isLiteral reports whether s is one string or number literal (not null).
func isLiteral(s string) bool {
	toks := sqlscan.Tokenize(s)
	return len(toks) == 1 && (toks[0].Kind == sqlscan.String || toks[0].Kind == sqlscan.Number)
}

func isStringLiteral(s string) bool {
	toks := sqlscan.Tokenize(s)
	return len(toks) == 1 && toks[0].Kind == sqlscan.String
}

func allSame(args []string) bool {
	for _, a := range args[1:] {
		if !strings.EqualFold(bare(oneLine(a)), bare(oneLine(args[0]))) {
			return false
		}
	}
	return true
}

func clipAll(items []string, n int) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = clip(bare(s), n)
	}
	return out
}

// describeOver renders "over (partition by a order by b desc)".
func describeOver(over string) string {
	s := strings.TrimSpace(over)
	if len(s) >= 4 && strings.EqualFold(s[:4], "over") {
		s = strings.TrimSpace(s[4:])
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
	ls := strings.ToLower(s)
	var parts []string
	pi := strings.Index(ls, "partition by ")
	oi := strings.Index(ls, "order by ")
	if pi >= 0 {
		end := len(s)
		if oi > pi {
			end = oi
		}
		parts = append(parts, "within each `"+clip(strings.TrimSpace(s[pi+13:end]), 80)+"`")
	}
	if oi >= 0 {
		o := strings.TrimSpace(s[oi+9:])
		for _, kw := range []string{" rows ", " range "} {
			if j := strings.Index(strings.ToLower(o), kw); j >= 0 {
				o = o[:j]
			}
		}
		parts = append(parts, "ordered by `"+clip(o, 80)+"`")
	}
	if len(parts) == 0 {
		return "over " + clip(over, 80)
	}
	return strings.Join(parts, ", ")
}
