// Package markdown renders the descriptions people write in dbt (doc
// blocks with tables, lists, links) and the generated text (backticked
// names) for each place they are read: HTML for the static site, Markdown
// for wikis, plain text for a terminal. Every form is sanitised: raw HTML
// never passes through, links may only be web, mail or relative, and
// images become links so that a page loads nothing from outside.
package markdown

import (
	"bytes"
	"html/template"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// md is CommonMark with GitHub's tables, strikethrough and autolinks. Raw
// HTML is left out (goldmark's default without html.WithUnsafe).
var md = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(safeLinks{}, 100))),
)

// safeLinks empties every link destination that is not web, mail or
// relative, and turns images into links to them.
type safeLinks struct{}

func (safeLinks) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	var images []*ast.Image
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			n.Destination = SafeURL(n.Destination)
		case *ast.AutoLink:
			if n.AutoLinkType == ast.AutoLinkURL && len(SafeURL(n.URL(reader.Source()))) == 0 {
				n.Parent().ReplaceChild(n.Parent(), n, ast.NewString(n.Label(reader.Source())))
			}
		case *ast.Image:
			images = append(images, n)
		}
		return ast.WalkContinue, nil
	})
	for _, img := range images {
		link := ast.NewLink()
		link.Destination = SafeURL(img.Destination)
		link.Title = img.Title
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			link.AppendChild(link, c)
			c = next
		}
		if !link.HasChildren() {
			link.AppendChild(link, ast.NewString([]byte("image")))
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}

var scheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// SafeURL returns u when it is relative or http(s)/mailto, else nothing.
func SafeURL(u []byte) []byte {
	s := strings.TrimSpace(string(u))
	// Browsers ignore control characters and whitespace inside a scheme
	// ("java\tscript:"); so does the check.
	clean := strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	m := scheme.FindStringSubmatch(clean)
	if m == nil {
		return u // relative: #anchor, path, ./page.html
	}
	switch strings.ToLower(m[1]) {
	case "http", "https", "mailto":
		return u
	}
	return nil
}

// HTML renders src as sanitised HTML blocks.
func HTML(src string) template.HTML {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	var b bytes.Buffer
	if err := md.Convert([]byte(src), &b); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(b.String()) // #nosec: goldmark escapes text and drops raw HTML
}

// Inline renders src for a place that holds one line of text (a table
// cell, a list item): a single paragraph loses its <p>.
func Inline(src string) template.HTML {
	h := strings.TrimSpace(string(HTML(src)))
	if strings.HasPrefix(h, "<p>") && strings.HasSuffix(h, "</p>") && strings.Count(h, "<p>") == 1 {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "<p>"), "</p>")
	}
	return template.HTML(h)
}

// Plain renders src as text for a terminal: no markup, paragraphs apart,
// list items dashed, table rows with " | " between cells, a link's text
// followed by its address.
func Plain(src string) string {
	p := plain{source: []byte(src)}
	doc := md.Parser().Parse(text.NewReader(p.source))
	return strings.Join(p.blocks(doc, ""), "\n\n")
}

type plain struct{ source []byte }

// blocks renders n's block children, each line prefixed with indent.
func (p plain) blocks(n ast.Node, indent string) []string {
	var out []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Paragraph, *ast.Heading, *ast.TextBlock:
			out = append(out, indent+p.inline(c))
		case *ast.List:
			out = append(out, p.list(c, indent))
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			var lines []string
			ls := c.Lines()
			for i := 0; i < ls.Len(); i++ {
				seg := ls.At(i)
				lines = append(lines, indent+"    "+strings.TrimRight(string(seg.Value(p.source)), "\n"))
			}
			out = append(out, strings.Join(lines, "\n"))
		case *extast.Table:
			var rows []string
			for r := c.FirstChild(); r != nil; r = r.NextSibling() {
				var cells []string
				for cell := r.FirstChild(); cell != nil; cell = cell.NextSibling() {
					cells = append(cells, p.inline(cell))
				}
				rows = append(rows, indent+strings.Join(cells, " | "))
			}
			out = append(out, strings.Join(rows, "\n"))
		case *ast.Blockquote:
			out = append(out, p.blocks(c, indent+"  ")...)
		case *ast.ThematicBreak, *ast.HTMLBlock:
			// nothing to read
		default:
			out = append(out, p.blocks(c, indent)...)
		}
	}
	return out
}

func (p plain) list(l *ast.List, indent string) string {
	var items []string
	i := l.Start
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		mark := "-"
		if l.IsOrdered() {
			mark = strconv.Itoa(i) + "."
			i++
		}
		var text, subs []string
		for c := it.FirstChild(); c != nil; c = c.NextSibling() {
			if sub, ok := c.(*ast.List); ok {
				subs = append(subs, p.list(sub, indent+"  "))
				continue
			}
			text = append(text, p.inline(c))
		}
		items = append(items, strings.Join(append([]string{indent + mark + " " + strings.Join(text, " ")}, subs...), "\n"))
	}
	return strings.Join(items, "\n")
}

// inline is n's text without markup: code spans keep their backticks, a
// link is followed by its address, raw HTML is left out.
func (p plain) inline(n ast.Node) string {
	var b strings.Builder
	var rec func(n ast.Node)
	rec = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				b.Write(c.Segment.Value(p.source))
				if c.SoftLineBreak() || c.HardLineBreak() {
					b.WriteByte(' ')
				}
			case *ast.String:
				b.Write(c.Value)
			case *ast.CodeSpan:
				b.WriteByte('`')
				rec(c)
				b.WriteByte('`')
			case *ast.AutoLink:
				b.Write(c.Label(p.source))
			case *ast.Link:
				before := b.Len()
				rec(c)
				label := b.String()[before:]
				if d := string(c.Destination); d != "" && d != label {
					b.WriteString(" (" + d + ")")
				}
			case *ast.RawHTML:
				// left out, as in HTML
			default:
				rec(c)
			}
		}
	}
	rec(n)
	return strings.TrimSpace(b.String())
}

var (
	htmlText   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	inlineDest = regexp.MustCompile(`\]\(\s*<?([^)\s>]*)`)
	refDef     = regexp.MustCompile(`(?m)^( {0,3}\[[^\]]+\]:\s*<?)(\S*)`)
)

// Markdown returns src as Markdown that a wiki may render without harm:
// its Markdown kept (tables, lists, emphasis, links), raw HTML made text,
// and a link to anything but the web, mail or a relative address emptied.
func Markdown(src string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(src, "\n") {
		// A '>' that starts a line is a block quote, not HTML.
		quote := len(line) - len(strings.TrimLeft(line, " >"))
		b.WriteString(line[:quote])
		b.WriteString(htmlText.Replace(line[quote:]))
	}
	s := b.String()
	neutral := func(dest string) string {
		if SafeURL([]byte(dest)) == nil {
			return "#"
		}
		return dest
	}
	s = inlineDest.ReplaceAllStringFunc(s, func(m string) string {
		sub := inlineDest.FindStringSubmatchIndex(m)
		return m[:sub[2]] + neutral(m[sub[2]:sub[3]])
	})
	s = refDef.ReplaceAllStringFunc(s, func(m string) string {
		sub := refDef.FindStringSubmatch(m)
		return sub[1] + neutral(sub[2])
	})
	return s
}

// MarkdownCell is Markdown for one table cell: on one line, pipes escaped.
func MarkdownCell(src string) string {
	s := Markdown(src)
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`).Replace(s)
	return strings.TrimSpace(s)
}
