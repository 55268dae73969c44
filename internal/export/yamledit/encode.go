package yamledit

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Style is how a new scalar is written. Replacing a value keeps the style
// the file used there when the text allows it.
type Style int

const (
	Plain Style = iota
	DoubleQuoted
	SingleQuoted
	Literal
)

func styleOf(n *yaml.Node) Style {
	switch {
	case n == nil:
		return Plain
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return DoubleQuoted
	case n.Style&yaml.SingleQuotedStyle != 0:
		return SingleQuoted
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return Literal
	}
	return Plain
}

// yaml11Words read as booleans or null in YAML 1.1 (PyYAML, which dbt
// uses), so they are never written plain.
var yaml11Words = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true,
	"true": true, "false": true, "null": true, "~": true}

// plainOK is a conservative test for text that reads back as the same
// string when written unquoted, in block or flow context.
func plainOK(s string, flow bool) bool {
	if s == "" || yaml11Words[strings.ToLower(s)] {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	if !unicode.IsLetter(r) {
		return false
	}
	if strings.ContainsAny(s, "\n\r\t") || strings.Contains(s, ": ") || strings.Contains(s, " #") ||
		strings.HasSuffix(s, ":") || strings.HasSuffix(s, " ") {
		return false
	}
	if flow && strings.ContainsAny(s, ",[]{}") {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	// The last word goes to the parser itself.
	var probe yaml.Node
	doc := "k: " + s
	if flow {
		doc = "{k: " + s + "}"
	}
	if yaml.Unmarshal([]byte(doc), &probe) != nil || len(probe.Content) != 1 {
		return false
	}
	m := probe.Content[0]
	return len(m.Content) == 2 && m.Content[1].Tag == "!!str" && m.Content[1].Value == s
}

// doubleQuote writes s as a YAML double-quoted scalar, which can hold any
// text exactly.
func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			switch {
			case r == utf8.RuneError:
				b.WriteString(`\uFFFD`)
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, `\x%02X`, r)
			case r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xFEFF || (r >= 0x80 && r < 0xA0):
				fmt.Fprintf(&b, `\u%04X`, r)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func singleQuoteOK(s string) bool {
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' || (!unicode.IsPrint(r) && r != ' ') {
			return false
		}
	}
	return true
}

func singleQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// literalOK says whether s can be a literal block (|-) that reads back
// exactly: several lines, no trailing newline or blanks, no leading space
// on the first line, no carriage returns or tabs that a scanner could
// take for indentation.
func literalOK(s string) bool {
	if !strings.Contains(s, "\n") || strings.HasSuffix(s, "\n") || strings.HasPrefix(s, " ") ||
		strings.HasPrefix(s, "\n") || strings.ContainsAny(s, "\r\t") {
		return false
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasSuffix(line, " ") {
			return false
		}
		for _, r := range line {
			if !unicode.IsPrint(r) && r != ' ' {
				return false
			}
		}
	}
	return true
}

// literal writes s as `|-` with its lines at indent, lines joined by nl.
func literal(s string, indent int, nl string) string {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString("|-")
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(nl)
		if line != "" {
			b.WriteString(pad)
			b.WriteString(line)
		}
	}
	return b.String()
}

// scalarText encodes s for a value position. blockOK allows a literal
// block (the value ends its line and is not in a flow collection);
// contentIndent is where a literal block's lines go.
func scalarText(s string, prefer Style, flow, blockOK bool, contentIndent int, nl string) string {
	if strings.Contains(s, "\n") {
		if blockOK && literalOK(s) {
			return literal(s, contentIndent, nl)
		}
		return doubleQuote(s)
	}
	switch prefer {
	case DoubleQuoted:
		return doubleQuote(s)
	case SingleQuoted:
		if singleQuoteOK(s) {
			return singleQuote(s)
		}
		return doubleQuote(s)
	}
	if plainOK(s, flow) {
		return s
	}
	return doubleQuote(s)
}
