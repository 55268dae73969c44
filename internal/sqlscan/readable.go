package sqlscan

import (
	"regexp"
	"strings"
)

var (
	jinjaStmt = regexp.MustCompile(`(?s)\{%.*?%\}|\{#.*?#\}`)
	jinjaExpr = regexp.MustCompile(`(?s)\{\{-?\s*(.*?)\s*-?\}\}`)
	refCall   = regexp.MustCompile(`^(?:ref|source)\s*\(\s*(.*?)\s*\)$`)
	varCall   = regexp.MustCompile(`^var\s*\(\s*['"]([^'"]+)['"].*\)$`)
)

// ReadableJinja renders dbt's Jinja in s the way a reader thinks of it: a
// ref() or source() is the relation it names (`source('shop', 'payments')`
// reads shop.payments), {{ this }} is "this model", a var() is "the
// variable" it names, a statement or comment tag is nothing. The offline
// writer quotes SQL this way, and grounding accepts a quotation of the SQL
// in this form as a quotation of the SQL, so both must read it alike.
func ReadableJinja(s string) string {
	s = jinjaStmt.ReplaceAllString(s, " ")
	return jinjaExpr.ReplaceAllStringFunc(s, func(tag string) string {
		in := strings.TrimSpace(jinjaExpr.FindStringSubmatch(tag)[1])
		switch {
		case in == "this" || strings.HasPrefix(in, "this."):
			return "this model"
		case refCall.MatchString(in):
			var parts []string
			for _, a := range strings.Split(refCall.FindStringSubmatch(in)[1], ",") {
				if a = strings.Trim(strings.TrimSpace(a), `'"`); a != "" && !strings.Contains(a, "=") {
					parts = append(parts, a)
				}
			}
			return strings.Join(parts, ".")
		case varCall.MatchString(in):
			return "the variable " + varCall.FindStringSubmatch(in)[1]
		}
		return strings.Trim(in, "{}% ")
	})
}
