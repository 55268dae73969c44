package dbt

import (
	"fmt"
	"strings"
)

// This file scans dbt's Jinja without rendering it. It finds the {{ }},
// {% %} and {# #} blocks the way Jinja's lexer does (string literals inside
// a block cannot close it) and reads the literal arguments of ref(),
// source() and config() calls inside them.
//
// What it ignores, and why:
//   - {# Jinja comments #} and {% raw %} blocks: dbt never executes them, so
//     a ref() there creates no dependency.
//   - Nothing else. A ref() inside an SQL comment (-- or /* */) or an SQL
//     string DOES create a dependency in dbt, because dbt renders the Jinja
//     before any SQL is read; skipping them would disagree with the manifest.
//   - Both branches of an {% if %}: without running dbt we cannot evaluate
//     vars and targets, so a ref in a branch dbt would not take still counts.

// jinjaError is unbalanced Jinja at a line of a file.
type jinjaError struct {
	Line int
	Msg  string
}

func (e *jinjaError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

type blockKind int

const (
	blockExpr blockKind = iota // {{ }}
	blockStmt                  // {% %}
)

// jinjaBlock is one {{ }} or {% %} block: Body is what lies between the
// delimiters (whitespace-control marks removed), Start and End the offsets
// of the whole block in the source.
type jinjaBlock struct {
	Kind       blockKind
	Body       string
	Start, End int
	Line       int
}

// Tag is the first word of a statement block ("if", "snapshot", "docs").
func (b jinjaBlock) Tag() string {
	f := strings.Fields(b.Body)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// Arg is the text after the tag of a statement block.
func (b jinjaBlock) Arg() string {
	s := strings.TrimSpace(b.Body)
	if i := strings.IndexAny(s, " \t\r\n"); i >= 0 {
		return strings.TrimSpace(s[i:])
	}
	return ""
}

// scanBlocks lists the executed Jinja blocks of src in order.
func scanBlocks(src string) ([]jinjaBlock, error) {
	var blocks []jinjaBlock
	line := 1
	last := 0 // offset up to which line is counted
	lineAt := func(off int) int {
		line += strings.Count(src[last:off], "\n")
		last = off
		return line
	}
	i := 0
	for {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 {
			return blocks, nil
		}
		i += j
		if i+1 >= len(src) {
			return blocks, nil
		}
		switch src[i+1] {
		case '#':
			end := strings.Index(src[i+2:], "#}")
			if end < 0 {
				return blocks, &jinjaError{lineAt(i), "a Jinja comment {# is never closed with #}"}
			}
			i += 2 + end + 2
		case '{', '%':
			open := src[i : i+2]
			closer := "}}"
			if open == "{%" {
				closer = "%}"
			}
			end := findCloser(src, i+2, closer)
			if end < 0 {
				return blocks, &jinjaError{lineAt(i), fmt.Sprintf("%s is never closed with %s", open, closer)}
			}
			body := src[i+2 : end]
			body = strings.TrimPrefix(strings.TrimPrefix(body, "-"), "+")
			body = strings.TrimSuffix(strings.TrimSuffix(body, "-"), "+")
			b := jinjaBlock{Kind: blockExpr, Body: body, Start: i, End: end + 2, Line: lineAt(i)}
			if open == "{%" {
				b.Kind = blockStmt
			}
			i = end + 2
			if b.Kind == blockStmt && b.Tag() == "raw" {
				k := findEndRaw(src, i)
				if k < 0 {
					return blocks, &jinjaError{b.Line, "{% raw %} is never closed with {% endraw %}"}
				}
				i = k
				continue
			}
			blocks = append(blocks, b)
		default:
			i++
		}
	}
}

// findCloser finds closer after from, skipping string literals the way
// Jinja's lexer does. If a stray quote swallows the rest of the file, the
// first closer at all is taken instead: real projects have apostrophes in
// places Jinja tolerates, and the block is then as Jinja would read it.
func findCloser(src string, from int, closer string) int {
	var quote byte
	for k := from; k < len(src)-1; k++ {
		c := src[k]
		if quote != 0 {
			if c == '\\' {
				k++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		if c == '\'' || c == '"' {
			quote = c
			continue
		}
		if c == closer[0] && src[k+1] == closer[1] {
			return k
		}
	}
	if k := strings.Index(src[from:], closer); k >= 0 {
		return from + k
	}
	return -1
}

func findEndRaw(src string, from int) int {
	for k := from; ; {
		j := strings.Index(src[k:], "{%")
		if j < 0 {
			return -1
		}
		k += j
		end := strings.Index(src[k:], "%}")
		if end < 0 {
			return -1
		}
		inner := strings.Trim(src[k+2:k+end], "-+ \t\r\n")
		if inner == "endraw" {
			return k + end + 2
		}
		k += 2
	}
}

// jinjaCall is one ref(), source() or config() call with its arguments.
// Args holds positional literal strings; Kwargs keyword arguments as text
// (strings unquoted, other literals as written). Dynamic is true when an
// argument is not a literal, so the call cannot be resolved statically.
type jinjaCall struct {
	Fn      string
	Args    []string
	Kwargs  map[string]string
	Dynamic bool
	Line    int
}

// callsIn finds the calls of the functions in fns inside a block body.
func callsIn(body string, line int, fns ...string) []jinjaCall {
	var out []jinjaCall
	n := len(body)
	for k := 0; k < n; {
		c := body[k]
		if c == '\'' || c == '"' {
			k = skipString(body, k)
			continue
		}
		if !isIdentStart(c) {
			k++
			continue
		}
		s := k
		for k < n && isIdentChar(body[k]) {
			k++
		}
		name := body[s:k]
		if s > 0 && body[s-1] == '.' && !strings.HasSuffix(body[:s], "builtins.") {
			continue // a method such as adapter.get_relation; builtins.ref is dbt's ref
		}
		want := false
		for _, f := range fns {
			if name == f {
				want = true
			}
		}
		if !want {
			continue
		}
		p := k
		for p < n && (body[p] == ' ' || body[p] == '\t' || body[p] == '\n' || body[p] == '\r') {
			p++
		}
		if p >= n || body[p] != '(' {
			continue
		}
		end := matchParen(body, p)
		if end < 0 {
			continue
		}
		call := jinjaCall{Fn: name, Line: line + strings.Count(body[:s], "\n")}
		for _, arg := range splitArgs(body[p+1 : end]) {
			if eq := kwargEq(arg); eq > 0 {
				key := strings.TrimSpace(arg[:eq])
				val, ok := literal(strings.TrimSpace(arg[eq+1:]))
				if !ok {
					call.Dynamic = true
					val = strings.TrimSpace(arg[eq+1:])
				}
				if call.Kwargs == nil {
					call.Kwargs = map[string]string{}
				}
				call.Kwargs[key] = val
				continue
			}
			val, ok := literal(arg)
			if !ok {
				call.Dynamic = true
			}
			call.Args = append(call.Args, val)
		}
		out = append(out, call)
		k = p
	}
	return out
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func skipString(s string, k int) int {
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

func matchParen(s string, open int) int {
	depth := 0
	for k := open; k < len(s); {
		switch s[k] {
		case '\'', '"':
			k = skipString(s, k)
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

func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	for k := 0; k < len(s); {
		switch s[k] {
		case '\'', '"':
			k = skipString(s, k)
			continue
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:k]))
				start = k + 1
			}
		}
		k++
	}
	if last := strings.TrimSpace(s[start:]); last != "" {
		out = append(out, last)
	}
	return out
}

// kwargEq returns the offset of the = of "name = value", or -1.
func kwargEq(arg string) int {
	k := 0
	for k < len(arg) && isIdentChar(arg[k]) {
		k++
	}
	if k == 0 {
		return -1
	}
	e := k
	for e < len(arg) && arg[e] == ' ' {
		e++
	}
	if e < len(arg) && arg[e] == '=' && (e+1 >= len(arg) || arg[e+1] != '=') {
		return e
	}
	return -1
}

// literal reads a Jinja string, number or boolean literal.
func literal(s string) (string, bool) {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && skipString(s, 0) == len(s) && s[len(s)-1] == s[0] {
		return unescape(s[1 : len(s)-1]), true
	}
	switch s {
	case "true", "True":
		return "true", true
	case "false", "False":
		return "false", true
	case "none", "None":
		return "", true
	}
	if s != "" && strings.Trim(s, "0123456789.-") == "" {
		return s, true
	}
	return s, false
}

func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for k := 0; k < len(s); k++ {
		if s[k] == '\\' && k+1 < len(s) {
			k++
		}
		b.WriteByte(s[k])
	}
	return b.String()
}

// dictLiteral reads a Jinja dict literal ({"a": 1, 'b': 'x'}) into its
// entries, values as literal() reads them (lists and other expressions as
// written). It returns nil when s is not a dict with string keys.
func dictLiteral(s string) map[string]string {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || matchParen(s, 0) != len(s)-1 {
		return nil
	}
	out := map[string]string{}
	for _, entry := range splitArgs(s[1 : len(s)-1]) {
		colon := -1
		for k := 0; k < len(entry); {
			if entry[k] == '\'' || entry[k] == '"' {
				k = skipString(entry, k)
				continue
			}
			if entry[k] == ':' {
				colon = k
				break
			}
			k++
		}
		if colon < 0 {
			return nil
		}
		key, ok := literal(strings.TrimSpace(entry[:colon]))
		if !ok || key == "" {
			return nil
		}
		val, _ := literal(strings.TrimSpace(entry[colon+1:]))
		out[key] = val
	}
	return out
}

// listLiteral reads a tag value: one string (already unquoted by
// literal), or a list of string literals.
func listLiteral(s string) []string {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || matchParen(s, 0) != len(s)-1 {
		if s == "" || strings.ContainsAny(s, "()[]{}") {
			return nil
		}
		return []string{s}
	}
	var out []string
	for _, item := range splitArgs(s[1 : len(s)-1]) {
		if v, ok := literal(item); ok && v != "" {
			out = append(out, v)
		}
	}
	return out
}
