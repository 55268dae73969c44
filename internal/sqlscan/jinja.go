package sqlscan

import (
	"fmt"
	"sort"
	"strings"
)

// This file reads dbt's Jinja the way dbt means it, without rendering it:
//   - the package macros almost every project calls (dbt_utils.star,
//     union_relations, generate_surrogate_key, group_by) and two
//     import-CTE helpers (GitLab's simple_cte and dbt_audit) are expanded
//     into the SQL they render, so their CTEs, columns and refs are read;
//   - {% if is_incremental() %} blocks are set aside: they only run on
//     incremental builds, so they describe how the model is refreshed, not
//     which rows it holds;
//   - {{ this }} is the model itself, never an upstream.

// expandMacros replaces the calls of the macros above with their SQL. The
// replacement is one line padded with the newlines the call spanned, so
// line numbers after it stay right.
func expandMacros(sql string) string {
	if !strings.Contains(sql, "{{") {
		return sql
	}
	var b strings.Builder
	last := 0
	for _, t := range Tokenize(sql) {
		if t.JinjaKind() != "{{" {
			continue
		}
		rep, ok := expandCall(jinjaInner(t.Text))
		if !ok {
			continue
		}
		b.WriteString(sql[last:t.Pos])
		b.WriteString(rep)
		b.WriteString(strings.Repeat("\n", max(strings.Count(t.Text, "\n")-strings.Count(rep, "\n"), 0)))
		last = t.End()
	}
	if last == 0 {
		return sql
	}
	b.WriteString(sql[last:])
	return b.String()
}

// jinjaInner is a {{ }} tag's expression without delimiters and
// whitespace control.
func jinjaInner(tag string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(tag, "{{"), "}}")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	s = strings.TrimSuffix(strings.TrimSuffix(s, "-"), "+")
	return strings.TrimSpace(s)
}

// IsThis reports whether a Jinja tag is {{ this }} (or a part of it, such as
// {{ this.schema }}): the model's own relation.
func IsThis(tag string) bool {
	in := jinjaInner(tag)
	return in == "this" || strings.HasPrefix(in, "this.")
}

func expandCall(expr string) (string, bool) {
	name, args, kw, ok := macroCall(expr)
	if !ok {
		return "", false
	}
	short := name[strings.LastIndexByte(name, '.')+1:]
	arg := func(i int, key string) string {
		if v, ok := kw[key]; ok {
			return v
		}
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch short {
	case "simple_cte":
		var ctes []string
		for _, item := range items(arg(0, "tuple_list")) {
			pair := items(item)
			if len(pair) != 2 {
				return "", false
			}
			alias, ok1 := unquote(pair[0])
			model, ok2 := unquote(pair[1])
			if !ok1 || !ok2 {
				return "", false
			}
			ctes = append(ctes, alias+" AS (SELECT * FROM {{ ref('"+model+"') }})")
		}
		if len(ctes) == 0 {
			return "", false
		}
		return "WITH " + strings.Join(ctes, ", "), true
	case "dbt_audit":
		cte, ok := unquote(arg(0, "cte_ref"))
		if !ok {
			return "", false
		}
		lit := func(i int, key string) string {
			v, _ := unquote(arg(i, key))
			return "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		return "SELECT *, " + lit(1, "created_by") + "::VARCHAR AS created_by, " + lit(2, "updated_by") + "::VARCHAR AS updated_by, " +
			lit(3, "created_date") + "::DATE AS model_created_date, " + lit(4, "updated_date") + "::DATE AS model_updated_date, " +
			"CURRENT_TIMESTAMP() AS dbt_updated_at, CURRENT_TIMESTAMP() AS dbt_created_at FROM " + cte, true
	case "star":
		if a, ok := unquote(kw["relation_alias"]); ok && a != "" {
			return a + ".*", true
		}
		return "*", true
	case "union_relations":
		var sel []string
		for _, r := range items(arg(0, "relations")) {
			if n, _, _, ok := macroCall(r); !ok || n != "ref" && n != "source" {
				return "", false
			}
			sel = append(sel, "SELECT * FROM {{ "+r+" }}")
		}
		if len(sel) == 0 {
			return "", false
		}
		return strings.Join(sel, " UNION ALL "), true
	case "generate_surrogate_key", "surrogate_key":
		fields := args
		if len(args) == 1 && strings.HasPrefix(args[0], "[") {
			fields = items(args[0])
		}
		if v, ok := kw["field_list"]; ok {
			fields = items(v)
		}
		var cols []string
		for _, f := range fields {
			c, ok := unquote(f)
			if !ok {
				return "", false
			}
			cols = append(cols, c)
		}
		if len(cols) == 0 {
			return "", false
		}
		return "generate_surrogate_key(" + strings.Join(cols, ", ") + ")", true
	case "group_by":
		var n int
		if _, err := fmt.Sscanf(arg(0, "n"), "%d", &n); err != nil || n < 1 || n > 200 {
			return "", false
		}
		pos := make([]string, n)
		for i := range pos {
			pos[i] = fmt.Sprint(i + 1)
		}
		return "GROUP BY " + strings.Join(pos, ", "), true
	}
	return "", false
}

// macroCall splits "pkg.name(a, k=v)" into its name, positional arguments
// and keyword arguments, all as written.
func macroCall(expr string) (string, []string, map[string]string, bool) {
	expr = strings.TrimSpace(expr)
	i := 0
	for i < len(expr) && (expr[i] == '_' || expr[i] == '.' || expr[i] >= 'a' && expr[i] <= 'z' || expr[i] >= 'A' && expr[i] <= 'Z' || expr[i] >= '0' && expr[i] <= '9') {
		i++
	}
	name := expr[:i]
	rest := strings.TrimSpace(expr[i:])
	if name == "" || len(rest) < 2 || rest[0] != '(' || closeOf(rest, 0) != len(rest)-1 {
		return "", nil, nil, false
	}
	var args []string
	kw := map[string]string{}
	for _, a := range splitTopLevel(rest[1 : len(rest)-1]) {
		k := 0
		for k < len(a) && (a[k] == '_' || a[k] >= 'a' && a[k] <= 'z' || a[k] >= 'A' && a[k] <= 'Z' || a[k] >= '0' && a[k] <= '9') {
			k++
		}
		if e := strings.TrimLeft(a[k:], " \t\r\n"); k > 0 && strings.HasPrefix(e, "=") && !strings.HasPrefix(e, "==") {
			kw[a[:k]] = strings.TrimSpace(e[1:])
			continue
		}
		args = append(args, a)
	}
	return name, args, kw, true
}

// items splits a Jinja list or tuple literal into its items as written.
func items(s string) []string {
	s = strings.TrimSpace(s)
	if len(s) < 2 || (s[0] != '[' && s[0] != '(') || closeOf(s, 0) != len(s)-1 {
		return nil
	}
	return splitTopLevel(s[1 : len(s)-1])
}

func unquote(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] && skipQuoted(s, 0) == len(s) {
		return s[1 : len(s)-1], true
	}
	return "", false
}

func skipQuoted(s string, k int) int {
	q := s[k]
	for k++; k < len(s); k++ {
		if s[k] == '\\' {
			k++
		} else if s[k] == q {
			return k + 1
		}
	}
	return len(s)
}

// closeOf returns the offset of the bracket closing s[open], or -1.
func closeOf(s string, open int) int {
	depth := 0
	for k := open; k < len(s); {
		switch s[k] {
		case '\'', '"':
			k = skipQuoted(s, k)
			continue
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return k
			}
		}
		k++
	}
	return -1
}

func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for k := 0; k < len(s); {
		switch s[k] {
		case '\'', '"':
			k = skipQuoted(s, k)
			continue
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				if a := strings.TrimSpace(s[start:k]); a != "" {
					out = append(out, a)
				}
				start = k + 1
			}
		}
		k++
	}
	if a := strings.TrimSpace(s[start:]); a != "" {
		out = append(out, a)
	}
	return out
}

// isIncrementalIf reports whether t opens {% if is_incremental() %}.
func isIncrementalIf(t Token) bool {
	if jinjaTag(t) != "if" {
		return false
	}
	in := strings.ToLower(t.Text)
	return strings.Contains(in, "is_incremental(") && !strings.Contains(in, "not is_incremental(")
}

// stripSpans returns sql[lo:hi] with the spans (sorted, non-overlapping)
// that lie inside it replaced by a space: comments out of quoted SQL.
func stripSpans(sql string, lo, hi int, spans [][2]int) string {
	i := sort.Search(len(spans), func(i int) bool { return spans[i][1] > lo })
	if i == len(spans) || spans[i][0] >= hi {
		return sql[lo:hi]
	}
	var b strings.Builder
	at := lo
	for ; i < len(spans) && spans[i][0] < hi; i++ {
		s, e := max(spans[i][0], lo), min(spans[i][1], hi)
		b.WriteString(strings.TrimRight(sql[at:s], " \t"))
		if strings.Contains(sql[s:e], "\n") || strings.HasPrefix(sql[s:e], "--") {
			b.WriteString("\n")
		} else {
			b.WriteString(" ")
		}
		at = e
	}
	b.WriteString(sql[at:hi])
	return b.String()
}
