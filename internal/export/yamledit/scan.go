package yamledit

import (
	"fmt"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// yaml.v3 gives every node a start (line and rune column) but no end, so
// the ends are found here by reading the source the way a YAML scanner
// would, one scalar style at a time. Whatever these functions get wrong,
// File.Bytes catches: it parses the edited text again and compares it with
// the tree it expects.

// offset turns a node's 1-based line and rune column into a byte offset.
func (f *File) offset(line, col int) int {
	if line < 1 {
		return 0
	}
	if line > len(f.lines) {
		return len(f.src)
	}
	p := f.lines[line-1]
	for i := 1; i < col && p < len(f.src); i++ {
		if f.src[p] == '\n' {
			break
		}
		_, w := utf8.DecodeRune(f.src[p:])
		p += w
	}
	return p
}

// lineOf returns the 0-based line index holding byte offset p.
func (f *File) lineOf(p int) int {
	lo, hi := 0, len(f.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if f.lines[mid] <= p {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// lineEnd returns the offset of the end of line i's content: before its
// "\n" or "\r\n", or the end of the file.
func (f *File) lineEnd(i int) int {
	end := len(f.src)
	if i+1 < len(f.lines) {
		end = f.lines[i+1] - 1 // the '\n'
		if end > f.lines[i] && f.src[end-1] == '\r' {
			end--
		}
	} else if end > f.lines[i] && f.src[end-1] == '\r' {
		end--
	}
	return end
}

// lineText is line i without its terminator.
func (f *File) lineText(i int) []byte { return f.src[f.lines[i]:f.lineEnd(i)] }

func indentOf(line []byte) int {
	n := 0
	for n < len(line) && line[n] == ' ' {
		n++
	}
	return n
}

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// nodeStart is where the node's own text begins, after any anchor or tag.
func (f *File) nodeStart(n *yaml.Node) int {
	p := f.offset(n.Line, n.Column)
	for p < len(f.src) && (f.src[p] == '&' || f.src[p] == '!') {
		for p < len(f.src) && f.src[p] != ' ' && f.src[p] != '\n' && f.src[p] != '\t' {
			p++
		}
		for p < len(f.src) && (f.src[p] == ' ' || f.src[p] == '\t') {
			p++
		}
	}
	return p
}

// isEmptyNull reports whether n is a null with no text at all (`key:`).
func isEmptyNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" && n.Style == 0
}

// nodeEnd returns the byte offset just past the last character of n.
// parentIndent is the indentation of the block collection n belongs to
// (a mapping's key column, a sequence's dash column), which bounds multi-
// line plain and block scalars; inFlow says n sits inside [...] or {...}.
func (f *File) nodeEnd(n *yaml.Node, parentIndent int, inFlow bool) (int, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		_, end, err := f.scalarSpan(n, parentIndent, inFlow)
		return end, err
	case yaml.AliasNode:
		p := f.offset(n.Line, n.Column) + 1
		for p < len(f.src) && !isFlowStop(f.src[p]) && f.src[p] != ' ' && f.src[p] != '\n' && f.src[p] != '\r' {
			p++
		}
		return p, nil
	case yaml.MappingNode, yaml.SequenceNode:
		if n.Style&yaml.FlowStyle != 0 || inFlow {
			return f.flowEnd(f.nodeStart(n))
		}
		if len(n.Content) == 0 {
			return f.nodeStart(n), nil
		}
		last := n.Content[len(n.Content)-1]
		return f.nodeEnd(last, n.Column-1, false)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return 0, nil
		}
		return f.nodeEnd(n.Content[0], -1, false)
	}
	return 0, fmt.Errorf("line %d: unexpected node kind %d", n.Line, n.Kind)
}

func isFlowStop(c byte) bool { return c == ',' || c == ']' || c == '}' || c == '[' || c == '{' }

// flowEnd finds the bracket that closes the flow collection opening at p.
func (f *File) flowEnd(p int) (int, error) {
	if p >= len(f.src) || (f.src[p] != '[' && f.src[p] != '{') {
		return 0, fmt.Errorf("line %d: expected a flow collection", f.lineOf(p)+1)
	}
	depth := 0
	for i := p; i < len(f.src); i++ {
		switch c := f.src[i]; c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		case '"':
			e, err := f.doubleQuotedEnd(i)
			if err != nil {
				return 0, err
			}
			i = e - 1
		case '\'':
			// A quote starts a scalar only at a token boundary; inside a
			// plain scalar (it's) it is a character.
			if i > 0 && !isSpaceOrFlow(f.src[i-1]) {
				continue
			}
			e, err := f.singleQuotedEnd(i)
			if err != nil {
				return 0, err
			}
			i = e - 1
		case '#':
			if i > 0 && (f.src[i-1] == ' ' || f.src[i-1] == '\t') {
				for i < len(f.src) && f.src[i] != '\n' {
					i++
				}
			}
		}
	}
	return 0, fmt.Errorf("line %d: unclosed flow collection", f.lineOf(p)+1)
}

func isSpaceOrFlow(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == ',' || c == '[' || c == '{' || c == ':'
}

func (f *File) doubleQuotedEnd(p int) (int, error) {
	for i := p + 1; i < len(f.src); i++ {
		switch f.src[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("line %d: unclosed double-quoted string", f.lineOf(p)+1)
}

func (f *File) singleQuotedEnd(p int) (int, error) {
	for i := p + 1; i < len(f.src); i++ {
		if f.src[i] == '\'' {
			if i+1 < len(f.src) && f.src[i+1] == '\'' {
				i++
				continue
			}
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("line %d: unclosed single-quoted string", f.lineOf(p)+1)
}

// scalarSpan returns the byte range of a scalar's text (tag and anchor
// excluded). An empty null (`key:`) is an empty range where its value
// would go.
func (f *File) scalarSpan(n *yaml.Node, parentIndent int, inFlow bool) (int, int, error) {
	start := f.nodeStart(n)
	if isEmptyNull(n) {
		// yaml.v3 places an absent value just past the colon, or at the
		// next token; either way nothing of it is in the text.
		if start > len(f.src) {
			start = len(f.src)
		}
		if start < len(f.src) && !isSpaceOrLineEnd(f.src[start]) && !isFlowStop(f.src[start]) {
			return 0, 0, fmt.Errorf("line %d: cannot place the empty value", n.Line)
		}
		return start, start, nil
	}
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		end, err := f.doubleQuotedEnd(start)
		return start, end, err
	case n.Style&yaml.SingleQuotedStyle != 0:
		end, err := f.singleQuotedEnd(start)
		return start, end, err
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		end, err := f.blockScalarEnd(start, parentIndent)
		return start, end, err
	}
	if inFlow {
		return start, f.flowPlainEnd(start), nil
	}
	return start, f.blockPlainEnd(start, parentIndent), nil
}

func isSpaceOrLineEnd(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// contentEnd returns where a plain scalar's part of line i ends, starting
// the search at byte from: before a comment and trailing blanks. It also
// reports whether a comment ends the scalar there.
func (f *File) plainLineEnd(i, from int) (int, bool) {
	end := f.lineEnd(i)
	comment := false
	for p := from; p < end; p++ {
		if f.src[p] == '#' && p > from && (f.src[p-1] == ' ' || f.src[p-1] == '\t') {
			end, comment = p, true
			break
		}
	}
	for end > from && (f.src[end-1] == ' ' || f.src[end-1] == '\t') {
		end--
	}
	return end, comment
}

func (f *File) blockPlainEnd(start, parentIndent int) int {
	i := f.lineOf(start)
	end, comment := f.plainLineEnd(i, start)
	if comment {
		return end
	}
	for j := i + 1; j < len(f.lines); j++ {
		line := f.lineText(j)
		if isBlank(line) {
			continue
		}
		ind := indentOf(line)
		if ind <= parentIndent || line[ind] == '#' {
			break
		}
		e, c := f.plainLineEnd(j, f.lines[j]+ind)
		end = e
		if c {
			break
		}
	}
	return end
}

func (f *File) flowPlainEnd(start int) int {
	end := start
	for p := start; p < len(f.src); p++ {
		c := f.src[p]
		if c == ',' || c == ']' || c == '}' {
			break
		}
		if c == '#' && p > start && (f.src[p-1] == ' ' || f.src[p-1] == '\t' || f.src[p-1] == '\n') {
			break
		}
		if c == ':' && p+1 < len(f.src) && (isSpaceOrLineEnd(f.src[p+1]) || isFlowStop(f.src[p+1])) {
			break
		}
		if !isSpaceOrLineEnd(c) {
			end = p + 1
		}
	}
	return end
}

func (f *File) blockScalarEnd(start, parentIndent int) (int, error) {
	i := f.lineOf(start)
	explicit := 0
	for p := start + 1; p < f.lineEnd(i); p++ {
		c := f.src[p]
		if c >= '1' && c <= '9' {
			explicit = int(c - '0')
		} else if c != '+' && c != '-' {
			break
		}
	}
	end, _ := f.plainLineEnd(i, start)
	contentIndent := 0
	if explicit > 0 {
		contentIndent = max(parentIndent, 0) + explicit
	}
	for j := i + 1; j < len(f.lines); j++ {
		line := f.lineText(j)
		if isBlank(line) {
			continue
		}
		ind := indentOf(line)
		if contentIndent == 0 {
			if ind <= parentIndent {
				break
			}
			contentIndent = ind
		} else if ind < contentIndent {
			break
		}
		end = f.lineEnd(j)
	}
	return end, nil
}
