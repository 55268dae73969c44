package markdown

import (
	"strings"
	"testing"
)

const docBlock = `Orders placed on the **web shop**, one row per order.

| status | meaning |
|---|---|
| placed | paid, not shipped |
| shipped | left the warehouse |

- see [the runbook](https://wiki.example.com/orders)
- keyed by ` + "`order_id`" + `
  1. nested first
`

func TestHTMLRendersTablesListsLinks(t *testing.T) {
	h := string(HTML(docBlock))
	for _, want := range []string{"<strong>web shop</strong>", "<table>", "<td>paid, not shipped</td>", "<li>", `<a href="https://wiki.example.com/orders">the runbook</a>`, "<code>order_id</code>", "<ol>"} {
		if !strings.Contains(h, want) {
			t.Errorf("missing %q in:\n%s", want, h)
		}
	}
}

func TestHTMLIsSanitised(t *testing.T) {
	cases := map[string]string{
		"raw html":          `hello <script>alert(1)</script> <b onclick="x()">b</b>`,
		"html block":        "<div onmouseover=\"alert(1)\">\nx\n</div>",
		"javascript link":   `[click](javascript:alert(1))`,
		"tabbed javascript": "[click](java\tscript:alert(1))",
		"upper case":        `[click](JavaScript:alert(1))`,
		"vbscript":          `[click](vbscript:msgbox)`,
		"data url":          `[click](data:text/html;base64,PHNjcmlwdD4=)`,
		"reference link":    "[click][x]\n\n[x]: javascript:alert(1)",
		"image":             `![tracker](https://evil.example.com/pixel.gif)`,
		"autolink":          `<javascript:alert(1)>`,
	}
	for name, src := range cases {
		h := strings.ToLower(string(HTML(src)))
		for _, bad := range []string{"<script", "onclick", "onmouseover", `href="javascript`, `href="java`, `href="vbscript`, `href="data`, "<img", "<div"} {
			if strings.Contains(h, bad) {
				t.Errorf("%s: %q passed through:\n%s", name, bad, h)
			}
		}
	}
	// An image becomes a link to it: nothing is loaded from outside.
	if h := string(HTML(`![tracker](https://evil.example.com/pixel.gif)`)); !strings.Contains(h, `<a href="https://evil.example.com/pixel.gif">tracker</a>`) {
		t.Errorf("image: %s", h)
	}
}

func TestInlineDropsTheParagraph(t *testing.T) {
	if got := string(Inline("the `id` of *one* order")); got != "the <code>id</code> of <em>one</em> order" {
		t.Errorf("Inline: %q", got)
	}
	if got := string(Inline("a <b>b</b> & c")); strings.Contains(got, "<b>") || !strings.Contains(got, "&amp;") {
		t.Errorf("Inline escapes: %q", got)
	}
}

func TestPlainSimplifies(t *testing.T) {
	got := Plain(docBlock + "\n<span>raw</span> after\n\n> quoted **text**\n")
	want := "Orders placed on the web shop, one row per order.\n\n" +
		"status | meaning\nplaced | paid, not shipped\nshipped | left the warehouse\n\n" +
		"- see the runbook (https://wiki.example.com/orders)\n- keyed by `order_id`\n  1. nested first\n\n" +
		"raw after\n\n  quoted text"
	if got != want {
		t.Errorf("Plain:\n%s\n--- want:\n%s", got, want)
	}
	if got := Plain("[x](javascript:alert(1))"); strings.Contains(got, "javascript") {
		t.Errorf("Plain keeps a dangerous address: %q", got)
	}
}

func TestMarkdownForWikis(t *testing.T) {
	got := Markdown("Orders **paid**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\n\n<script>x</script> [ok](https://x.example) [bad](javascript:alert(1)) ![i](JAVASCRIPT:y)\n\n[r]: javascript:z\n")
	for _, want := range []string{"Orders **paid**.", "| 1 | 2 |", "> quoted", "&lt;script&gt;", "[ok](https://x.example)", "[bad](#)", "![i](#)", "[r]: #"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(strings.ToLower(got), "javascript") || strings.Contains(got, "<script") {
		t.Errorf("unsafe:\n%s", got)
	}
	if c := MarkdownCell("a | b\nthe `id`"); c != "a \\| b the `id`" {
		t.Errorf("cell: %q", c)
	}
}

func TestTree(t *testing.T) {
	got := Tree("Orders **paid**, see [x](https://a.example).\n\n| a | b |\n|---|---|\n| `1` | 2 |\n\n<b>raw</b> [bad](javascript:alert(1))\n")
	var walk func(ns []Node, path string) []string
	walk = func(ns []Node, path string) []string {
		var out []string
		for _, n := range ns {
			p := path + "/" + n.T
			if n.V != "" {
				out = append(out, p+"="+n.V)
			}
			if n.Href != "" {
				out = append(out, p+"@"+n.Href)
			}
			out = append(out, walk(n.C, p)...)
		}
		return out
	}
	all := strings.Join(walk(got, ""), "\n")
	for _, want := range []string{"/p/strong/=paid", "/p/a@https://a.example", "/table/tr/th/=a", "/table/tr/td/code/=1", "/table/tr/td/=2"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %s in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "javascript") || strings.Contains(all, "/b/") {
		t.Errorf("unsafe:\n%s", all)
	}
	if !strings.Contains(all, "/p/=<b>") {
		t.Errorf("raw HTML is not kept as text:\n%s", all)
	}
}
