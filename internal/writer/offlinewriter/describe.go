package offlinewriter

import (
	"fmt"
	"strings"

	"github.com/modeldoc/modeldoc/internal/sqlscan"
)

// oneLine collapses runs of whitespace so SQL reads inline.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip shortens s to about n characters on one line.
func clip(s string, n int) string {
	s = oneLine(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return strings.TrimSpace(s[:cut]) + "…"
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

// nameHint guesses what a column holds from its name alone.
func nameHint(col string) string {
	n := strings.ToLower(strings.Trim(col, `"`))
	h := humanize(n)
	switch {
	case n == "id":
		return "Primary identifier of the row"
	case strings.HasPrefix(n, "is_") || strings.HasPrefix(n, "has_") || strings.HasSuffix(n, "_flag"):
		return "Flag: whether " + humanize(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(n, "is_"), "has_"), "_flag"))
	case strings.HasSuffix(n, "_id") || strings.HasSuffix(n, "_key"):
		return "Identifier of the " + humanize(n[:len(n)-3])
	case strings.HasSuffix(n, "_at") || strings.HasSuffix(n, "_timestamp") || strings.HasSuffix(n, "_time"):
		return "Timestamp of " + humanize(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_at"), "_timestamp"), "_time"))
	case strings.HasSuffix(n, "_date") || strings.HasPrefix(n, "date_"):
		return "Date of " + humanize(strings.TrimPrefix(strings.TrimSuffix(n, "_date"), "date_"))
	case strings.HasSuffix(n, "_count") || strings.HasPrefix(n, "count_") || strings.HasPrefix(n, "num_") || strings.HasPrefix(n, "number_of_"):
		return "Number of " + humanize(strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSuffix(n, "_count"), "count_"), "num_"), "number_of_"))
	case strings.HasSuffix(n, "_amount") || strings.HasSuffix(n, "_amt") || strings.HasSuffix(n, "_paid") || strings.HasSuffix(n, "_cost"):
		return "Amount: " + h
	case strings.HasSuffix(n, "_name") || n == "name":
		return "Name: " + h
	case strings.HasSuffix(n, "_code"):
		return "Code for the " + humanize(strings.TrimSuffix(n, "_code"))
	case strings.HasSuffix(n, "_type") || strings.HasSuffix(n, "_category") || strings.HasSuffix(n, "_status"):
		return "Category: " + h
	}
	return capitalize(h)
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
	for _, part := range splitTop(sel.GroupBy, ",") {
		part = strings.TrimSpace(part)
		var n int
		if _, err := fmt.Sscanf(part, "%d", &n); err == nil && fmt.Sprint(n) == part && n >= 1 && n <= len(sel.Columns) {
			if c := sel.Columns[n-1]; c.Name != "" {
				part = c.Name
			}
		}
		items = append(items, "`"+clip(bare(part), 50)+"`")
	}
	return list(items, 6)
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

// caseSummary renders a CASE in words: "'large' when amount > 100;
// 'small' otherwise".
func caseSummary(text string) string {
	toks := sqlscan.Tokenize(text)
	depth, nest := 0, 0
	var branches []string
	var cond string
	mark := -1
	kind := ""
	flush := func(end int) {
		if mark < 0 {
			return
		}
		part := strings.TrimSpace(text[mark:end])
		switch kind {
		case "when":
			cond = part
		case "then":
			branches = append(branches, clip(part, 40)+" when "+clip(cond, 70))
		case "else":
			branches = append(branches, clip(part, 40)+" otherwise")
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
		case depth == 0 && t.Is("end"):
			nest--
			if nest == 0 {
				flush(t.Pos)
				mark = -1
			}
		case depth == 0 && nest == 1 && (t.Is("when") || t.Is("then") || t.Is("else")):
			flush(t.Pos)
			kind = strings.ToLower(t.Text)
			mark = toks[i].End()
		}
	}
	if len(branches) == 0 {
		return "`" + clip(text, 120) + "`"
	}
	more := ""
	if len(branches) > 5 {
		more = fmt.Sprintf("; and %d more branches", len(branches)-5)
		branches = branches[:5]
	}
	return strings.Join(branches, "; ") + more
}

var aggWords = map[string]string{
	"count": "Count", "sum": "Sum", "avg": "Average", "min": "Minimum (earliest or smallest)", "max": "Maximum (latest or largest)",
	"count_if": "Count of rows where", "countif": "Count of rows where", "array_agg": "List of", "listagg": "Concatenated list of",
	"string_agg": "Concatenated list of", "median": "Median", "any_value": "Any one value of", "stddev": "Standard deviation",
	"bool_or": "Whether any row has", "bool_and": "Whether every row has",
}

var windowWords = map[string]string{
	"row_number": "Row number", "rank": "Rank", "dense_rank": "Dense rank", "lag": "Previous row's value", "lead": "Next row's value",
	"first_value": "First value", "last_value": "Last value", "ntile": "Bucket number", "percent_rank": "Percent rank",
	"cume_dist": "Cumulative distribution", "sum": "Running or windowed sum", "count": "Windowed count", "avg": "Windowed average",
	"min": "Windowed minimum", "max": "Windowed maximum",
}

// describeExpr writes a derived column's description from the expression
// that computes it.
func describeExpr(c *sqlscan.OutputColumn, sel *sqlscan.Select) string {
	expr := oneLine(c.Expr)
	per := ""
	if g := groupingOf(sel); g != "" {
		per = " per " + g
	}
	switch c.Kind {
	case sqlscan.Literal:
		if strings.EqualFold(expr, "null") {
			return "Always null in this model (a placeholder column kept so the shape matches other models)."
		}
		return "Constant " + clip(expr, 60) + " on every row, set by this model."
	case sqlscan.JinjaExpr:
		return "Rendered by the Jinja expression `" + clip(expr, 100) + "` when dbt compiles the model."
	}
	for _, w := range sel.Windows {
		if strings.HasPrefix(expr, oneLine(w.Func)) && strings.Contains(expr, "over") {
			what := windowWords[w.Name]
			if what == "" {
				what = "Window function `" + w.Name + "`"
			}
			if _, args, ok := call(oneLine(w.Func)); ok && len(args) > 0 && w.Name != "ntile" {
				what += " of `" + clip(bare(args[0]), 50) + "`"
			}
			return what + " computed " + describeOver(w.Over) + "."
		}
	}
	if name, args, ok := call(expr); ok {
		arg := ""
		if len(args) > 0 {
			arg = args[0]
		}
		switch {
		case aggWords[name] != "":
			if name == "count" && (arg == "*" || arg == "1") {
				return "Number of rows" + per + "."
			}
			if la := strings.ToLower(arg); strings.HasPrefix(la, "distinct ") {
				return "Number of distinct `" + clip(bare(strings.TrimSpace(arg[9:])), 60) + "` values" + per + "."
			}
			return aggWords[name] + " of `" + clip(bare(arg), 80) + "`" + per + "."
		case name == "coalesce" || name == "ifnull" || name == "nvl":
			rest := ""
			if len(args) > 1 {
				rest = ", falling back to " + list(ticks(clipAll(args[1:], 50)), 3) + " when it is null"
			}
			return "`" + clip(bare(arg), 60) + "`" + rest + "."
		case name == "cast" || name == "try_cast" || name == "safe_cast":
			if i := strings.LastIndex(strings.ToLower(arg), " as "); i > 0 {
				return "`" + clip(arg[:i], 80) + "` converted to " + strings.TrimSpace(arg[i+4:]) + "."
			}
		case name == "concat" || name == "concat_ws":
			return "Text built by joining " + list(ticks(clipAll(args, 40)), 5) + "."
		case name == "datediff" || name == "date_diff" || name == "timestampdiff":
			if len(args) == 3 {
				return "Number of " + strings.Trim(args[0], "'") + "s between `" + clip(args[1], 50) + "` and `" + clip(args[2], 50) + "`."
			}
		case name == "date_trunc" || name == "trunc":
			if len(args) == 2 {
				return "`" + clip(args[1], 60) + "` truncated to the " + strings.Trim(args[0], "'") + "."
			}
		case name == "md5" || name == "sha2" || name == "hash" || name == "sha256" || strings.Contains(name, "surrogate_key"):
			return "Hash key built from " + list(ticks(clipAll(args, 40)), 5) + ", used as a surrogate identifier."
		case name == "row_number" || name == "rank":
			return windowWords[name] + "."
		case name == "upper" || name == "lower" || name == "trim" || name == "ltrim" || name == "rtrim" || name == "initcap":
			return "`" + clip(bare(arg), 60) + "` with " + map[string]string{"upper": "letters upper-cased", "lower": "letters lower-cased", "initcap": "words capitalized"}[name] + map[bool]string{true: "surrounding spaces removed", false: ""}[strings.Contains(name, "trim")] + "."
		case name == "iff" || name == "if":
			if len(args) == 3 {
				return "`" + clip(args[1], 40) + "` when " + describeConditions(args[0]) + ", otherwise `" + clip(args[2], 40) + "`."
			}
		}
	}
	if strings.HasPrefix(strings.ToLower(expr), "case") && strings.HasSuffix(strings.ToLower(expr), "end") {
		return "CASE mapping: " + caseSummary(expr) + "."
	}
	if topLevel(expr, "=", "<>", "!=", ">", "<", ">=", "<=", "is", "in", "like", "and", "or", "not", "exists") {
		return "True when " + describeConditions(expr) + "."
	}
	if topLevel(expr, "||") {
		return "Text built by concatenating `" + clip(expr, 100) + "`."
	}
	if topLevel(expr, "+", "-", "*", "/") {
		return "Computed as `" + clip(expr, 120) + "`" + per + "."
	}
	return "Computed as `" + clip(expr, 120) + "`."
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
