// Package sqlscan reads the structure of dbt SQL without knowing its
// dialect: a tokenizer that understands comments, string literals, quoted
// identifiers and Jinja, and on top of it a tolerant parser that finds the
// CTEs, SELECTs, joins, clauses and expressions a reader (or the offline
// writer) cares about. It never fails: SQL it cannot follow yields a
// shallower Analysis, never an error or a panic.
package sqlscan

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the kind of a token.
type Kind int

const (
	Ident       Kind = iota // a bare word: identifier or keyword
	QuotedIdent             // "name" or `name`
	String                  // 'text', or a dollar-quoted $$text$$
	Number                  // 42, 3.14, 1e10, .5
	Operator                // = <> :: || and any other punctuation not listed below
	LParen
	RParen
	Comma
	Dot
	Semicolon
	Comment // -- line or /* block */
	Jinja   // {{ expression }}, {% statement %} or {# comment #}, kept whole
)

var kindNames = [...]string{"Ident", "QuotedIdent", "String", "Number", "Operator", "LParen", "RParen", "Comma", "Dot", "Semicolon", "Comment", "Jinja"}

func (k Kind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Token is one lexical unit. Text is the exact source text, so
// sql[Pos:Pos+len(Text)] == Text.
type Token struct {
	Kind Kind
	Text string
	Pos  int
}

// End is the byte offset just past the token.
func (t Token) End() int { return t.Pos + len(t.Text) }

// Is reports whether t is the bare word kw, case-insensitively. Quoted
// identifiers never match, so "select" in quotes is a name, not a keyword.
func (t Token) Is(kw string) bool { return t.Kind == Ident && strings.EqualFold(t.Text, kw) }

// Name returns the identifier t names: quotes removed (doubled quotes
// undone) for a quoted identifier, the text as is for a bare word.
func (t Token) Name() string {
	if t.Kind == QuotedIdent && len(t.Text) >= 1 {
		q := t.Text[:1]
		inner := t.Text[1:]
		if strings.HasSuffix(inner, q) {
			inner = inner[:len(inner)-1]
		}
		return strings.ReplaceAll(inner, q+q, q)
	}
	return t.Text
}

// JinjaKind returns "{{", "{%" or "{#" for a Jinja token, "" otherwise.
func (t Token) JinjaKind() string {
	if t.Kind != Jinja || len(t.Text) < 2 {
		return ""
	}
	return t.Text[:2]
}

// Tokenize splits sql into tokens, dropping only whitespace. It accepts any
// input: an unterminated string, comment or Jinja tag runs to the end.
//
// Single-quoted strings accept both the standard ” escape and a backslash
// escape, as Snowflake, BigQuery and MySQL do; that misreads a Postgres
// string ending in a lone backslash, which dbt models almost never hold.
func Tokenize(sql string) []Token {
	toks := make([]Token, 0, len(sql)/4+1)
	i := 0
	n := len(sql)
	for i < n {
		c := sql[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < n && sql[i+1] == '-':
			i = lineEnd(sql, i)
			toks = append(toks, Token{Comment, sql[start:i], start})
			continue
		case c == '/' && i+1 < n && sql[i+1] == '*':
			i = indexFrom(sql, i+2, "*/")
			toks = append(toks, Token{Comment, sql[start:i], start})
			continue
		case c == '{' && i+1 < n && (sql[i+1] == '{' || sql[i+1] == '%' || sql[i+1] == '#'):
			i = jinjaEnd(sql, i)
			toks = append(toks, Token{Jinja, sql[start:i], start})
			continue
		case c == '\'':
			i = quotedEnd(sql, i, '\'', true)
			toks = append(toks, Token{String, sql[start:i], start})
			continue
		case c == '"' || c == '`':
			i = quotedEnd(sql, i, c, false)
			toks = append(toks, Token{QuotedIdent, sql[start:i], start})
			continue
		case c == '$':
			if end, ok := dollarQuoted(sql, i); ok {
				toks = append(toks, Token{String, sql[start:end], start})
				i = end
				continue
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && sql[i+1] >= '0' && sql[i+1] <= '9' && !prevIsWord(toks, i):
			i = numberEnd(sql, i)
			toks = append(toks, Token{Number, sql[start:i], start})
			continue
		case c == '(':
			toks = append(toks, Token{LParen, "(", i})
			i++
			continue
		case c == ')':
			toks = append(toks, Token{RParen, ")", i})
			i++
			continue
		case c == ',':
			toks = append(toks, Token{Comma, ",", i})
			i++
			continue
		case c == '.':
			toks = append(toks, Token{Dot, ".", i})
			i++
			continue
		case c == ';':
			toks = append(toks, Token{Semicolon, ";", i})
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(sql[i:])
		if isIdentStart(r) {
			i += size
			for i < n {
				r, size = utf8.DecodeRuneInString(sql[i:])
				if !isIdentPart(r) {
					break
				}
				i += size
			}
			toks = append(toks, Token{Ident, sql[start:i], start})
			continue
		}
		i += operatorLen(sql[i:], size)
		toks = append(toks, Token{Operator, sql[start:i], start})
	}
	return toks
}

// prevIsWord keeps "t.1col"-like paths and "a.5" from turning the dot into
// a number when a word sits right before it.
func prevIsWord(toks []Token, i int) bool {
	if len(toks) == 0 {
		return false
	}
	p := toks[len(toks)-1]
	return p.End() == i && (p.Kind == Ident || p.Kind == QuotedIdent || p.Kind == RParen)
}

func isIdentStart(r rune) bool {
	return r == '_' || r == '@' || unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return r == '_' || r == '$' || r == '@' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func lineEnd(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s)
}

// indexFrom returns the offset just past the first sep at or after from, or
// len(s) when there is none.
func indexFrom(s string, from int, sep string) int {
	if from > len(s) {
		return len(s)
	}
	if j := strings.Index(s[from:], sep); j >= 0 {
		return from + j + len(sep)
	}
	return len(s)
}

// jinjaEnd finds the closing delimiter of a Jinja tag, skipping strings
// inside it so that {{ "}}" }} stays one token.
func jinjaEnd(s string, i int) int {
	open := s[i+1]
	if open == '#' {
		return indexFrom(s, i+2, "#}")
	}
	closer := byte('}')
	if open == '%' {
		closer = '%'
	}
	j := i + 2
	for j < len(s) {
		c := s[j]
		switch {
		case c == '\'' || c == '"':
			j = quotedEnd(s, j, c, true)
			continue
		case c == closer && j+1 < len(s) && s[j+1] == '}':
			return j + 2
		}
		j++
	}
	return len(s)
}

// quotedEnd returns the offset past the closing quote q of the literal that
// starts at i; a doubled quote is an escaped quote.
func quotedEnd(s string, i int, q byte, backslash bool) int {
	j := i + 1
	for j < len(s) {
		c := s[j]
		if backslash && c == '\\' {
			j += 2
			continue
		}
		if c == q {
			if j+1 < len(s) && s[j+1] == q {
				j += 2
				continue
			}
			return j + 1
		}
		j++
	}
	return len(s)
}

// dollarQuoted reads a Postgres $tag$...$tag$ string; "$1" parameters and
// lone dollars are not strings.
func dollarQuoted(s string, i int) (int, bool) {
	j := i + 1
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || j > i+1 && s[j] >= '0' && s[j] <= '9') {
		j++
	}
	if j >= len(s) || s[j] != '$' {
		return 0, false
	}
	tag := s[i : j+1]
	k := strings.Index(s[j+1:], tag)
	if k < 0 {
		return len(s), true
	}
	return j + 1 + k + len(tag), true
}

func numberEnd(s string, i int) int {
	j := i
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	if j+1 < len(s) && s[j] == '0' && (s[j+1] == 'x' || s[j+1] == 'X') {
		j += 2
		for j < len(s) && (isDigit(s[j]) || s[j] >= 'a' && s[j] <= 'f' || s[j] >= 'A' && s[j] <= 'F') {
			j++
		}
		return j
	}
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j < len(s) && s[j] == '.' && !(j+1 < len(s) && s[j+1] == '.') {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			j = k
			for j < len(s) && isDigit(s[j]) {
				j++
			}
		}
	}
	return j
}

var multiOps = []string{"->>", "::", "<=", ">=", "<>", "!=", "||", "=>", "->", "==", "#>>", "#>", "@>", "<@", "!~*", "~*", "!~", "**"}

func operatorLen(s string, size int) int {
	for _, op := range multiOps {
		if strings.HasPrefix(s, op) {
			return len(op)
		}
	}
	if size < 1 {
		size = 1
	}
	return size
}
