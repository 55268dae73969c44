package sqlscan

import "strings"

// Ref is a dbt ref() or source() call found inside {{ }}.
//
//	ref('x')            Func "ref", Name "x"
//	ref('pkg', 'x')     Func "ref", Package "pkg", Name "x"
//	source('s', 't')    Func "source", SourceName "s", Name "t"
type Ref struct {
	Func       string `json:"func"`
	Package    string `json:"package,omitempty"`
	SourceName string `json:"source_name,omitempty"`
	Name       string `json:"name"`
	Pos        int    `json:"pos"` // byte offset of the {{ tag in the SQL
}

// String renders the call as dbt spells it.
func (r Ref) String() string {
	switch {
	case r.Func == "source":
		return "source('" + r.SourceName + "', '" + r.Name + "')"
	case r.Package != "":
		return "ref('" + r.Package + "', '" + r.Name + "')"
	}
	return "ref('" + r.Name + "')"
}

// Refs returns every ref() and source() call inside {{ }} tags of sql, in
// order of appearance. Calls with non-literal arguments are skipped. Like
// dbt, which renders Jinja before any SQL is read, it finds tags inside SQL
// comments and string literals too.
func Refs(sql string) []Ref {
	var out []Ref
	for i := 0; i+1 < len(sql); {
		j := strings.Index(sql[i:], "{{")
		if j < 0 {
			break
		}
		start := i + j
		end := jinjaEnd(sql, start)
		out = append(out, jinjaRefs(Token{Kind: Jinja, Text: sql[start:end], Pos: start})...)
		i = end
	}
	return out
}

// jinjaRefs reads the calls inside one {{ }} tag. Inside Jinja both quote
// styles delimit strings, so quoted identifiers count as literals here.
func jinjaRefs(t Token) []Ref {
	inner := t.Text[2:]
	inner = strings.TrimSuffix(inner, "}}")
	toks := Tokenize(inner)
	var out []Ref
	for i := 0; i+1 < len(toks); i++ {
		fn := strings.ToLower(toks[i].Text)
		if toks[i].Kind != Ident || (fn != "ref" && fn != "source") || toks[i+1].Kind != LParen {
			continue
		}
		if i > 0 && toks[i-1].Kind == Dot {
			continue // builtins.ref is still a ref, but x.source(...) is a method
		}
		var args []string
		ok := true
		j := i + 2
		for ; j < len(toks) && toks[j].Kind != RParen; j++ {
			switch toks[j].Kind {
			case String, QuotedIdent:
				args = append(args, unquoteLiteral(toks[j].Text))
			case Comma:
			case Ident:
				// Keyword arguments (version=2, v=1) end the positional list.
				if j+1 < len(toks) && toks[j+1].Kind == Operator && toks[j+1].Text == "=" {
					j = skipTo(toks, j, RParen)
					j--
					continue
				}
				ok = false
			default:
				ok = false
			}
		}
		if !ok || len(args) == 0 {
			continue
		}
		r := Ref{Func: fn, Pos: t.Pos}
		switch {
		case fn == "source" && len(args) >= 2:
			r.SourceName, r.Name = args[0], args[1]
		case fn == "source":
			continue
		case len(args) >= 2:
			r.Package, r.Name = args[0], args[1]
		default:
			r.Name = args[0]
		}
		out = append(out, r)
		i = j
	}
	return out
}

func skipTo(toks []Token, j int, k Kind) int {
	for j < len(toks) && toks[j].Kind != k {
		j++
	}
	return j
}

func unquoteLiteral(s string) string {
	if len(s) < 2 {
		return s
	}
	q := s[:1]
	if q != "'" && q != `"` && q != "`" {
		return s
	}
	s = strings.TrimSuffix(s[1:], q)
	s = strings.ReplaceAll(s, q+q, q)
	return strings.ReplaceAll(s, `\`+q, q)
}
