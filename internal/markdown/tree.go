package markdown

import (
	"strings"

	"github.com/yuin/goldmark/ast"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// Node is Markdown as a tree a browser builds with createElement and
// textContent only (the dashboard never parses HTML): T is the element
// (p, h4, ul, ol, li, blockquote, pre, table, tr, th, td, em, strong, del,
// code, a, br) or "" for text in V; Href is a link's checked address.
type Node struct {
	T    string `json:"t"`
	V    string `json:"v,omitempty"`
	Href string `json:"href,omitempty"`
	C    []Node `json:"c,omitempty"`
}

// Tree parses src as the HTML form does (same extensions, same link
// checks, images as links) into Nodes; raw HTML becomes text.
func Tree(src string) []Node {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	source := []byte(src)
	doc := md.Parser().Parse(text.NewReader(source))
	return children(doc, source)
}

func children(n ast.Node, source []byte) []Node {
	var out []Node
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		out = append(out, convert(c, source)...)
	}
	return out
}

func convert(n ast.Node, source []byte) []Node {
	el := func(t string) []Node { return []Node{{T: t, C: children(n, source)}} }
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		if _, tight := n.(*ast.TextBlock); tight {
			return children(n, source)
		}
		return el("p")
	case *ast.Heading:
		return el("h4")
	case *ast.List:
		if n.IsOrdered() {
			return el("ol")
		}
		return el("ul")
	case *ast.ListItem:
		return el("li")
	case *ast.Blockquote:
		return el("blockquote")
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		var b strings.Builder
		ls := n.Lines()
		for i := 0; i < ls.Len(); i++ {
			seg := ls.At(i)
			b.Write(seg.Value(source))
		}
		return []Node{{T: "pre", C: []Node{{T: "code", C: []Node{{V: b.String()}}}}}}
	case *extast.Table:
		return el("table")
	case *extast.TableHeader:
		return []Node{{T: "tr", C: cells(n, source, "th")}}
	case *extast.TableRow:
		return []Node{{T: "tr", C: cells(n, source, "td")}}
	case *ast.Emphasis:
		if n.Level >= 2 {
			return el("strong")
		}
		return el("em")
	case *extast.Strikethrough:
		return el("del")
	case *ast.CodeSpan:
		var b strings.Builder
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			if t, ok := c.(*ast.Text); ok {
				b.Write(t.Segment.Value(source))
			}
		}
		return []Node{{T: "code", C: []Node{{V: b.String()}}}}
	case *ast.Link:
		return []Node{{T: "a", Href: string(n.Destination), C: children(n, source)}}
	case *ast.AutoLink:
		u := string(n.URL(source))
		if n.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(strings.ToLower(u), "mailto:") {
			u = "mailto:" + u
		}
		return []Node{{T: "a", Href: string(SafeURL([]byte(u))), C: []Node{{V: string(n.Label(source))}}}}
	case *ast.Text:
		out := []Node{{V: string(n.Segment.Value(source))}}
		switch {
		case n.HardLineBreak():
			out = append(out, Node{T: "br"})
		case n.SoftLineBreak():
			out[0].V += " "
		}
		return out
	case *ast.String:
		return []Node{{V: string(n.Value)}}
	case *ast.RawHTML:
		// Shown as the text it is: the dashboard builds text nodes, so
		// it cannot run, and a reader sees what the project wrote.
		var b strings.Builder
		for i := 0; i < n.Segments.Len(); i++ {
			seg := n.Segments.At(i)
			b.Write(seg.Value(source))
		}
		return []Node{{V: b.String()}}
	case *ast.HTMLBlock:
		var b strings.Builder
		ls := n.Lines()
		for i := 0; i < ls.Len(); i++ {
			seg := ls.At(i)
			b.Write(seg.Value(source))
		}
		if n.HasClosure() {
			b.Write(n.ClosureLine.Value(source))
		}
		return []Node{{T: "p", C: []Node{{V: strings.TrimRight(b.String(), "\n")}}}}
	case *ast.ThematicBreak:
		return nil
	}
	return children(n, source)
}

func cells(row ast.Node, source []byte, tag string) []Node {
	var out []Node
	for c := row.FirstChild(); c != nil; c = c.NextSibling() {
		out = append(out, Node{T: tag, C: children(c, source)})
	}
	return out
}
