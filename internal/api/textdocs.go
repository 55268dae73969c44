package api

import (
	"encoding/json"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/markdown"
	"github.com/modeldoc/modeldoc/internal/store"
)

// notProse names the layer fields that hold code or identifiers, never
// Markdown: SQL quoted from the model, column and model names, enums.
var notProse = map[string]bool{
	"codeBlock": true, "codeReference": true, "name": true, "lineage": true,
	"upstreamModel": true, "upstreamColumn": true, "inheritedFrom": true,
	"confidence": true, "grain": true, "frequency": true,
}

// withTextDocs is GET /objects/{id}/documentation: the version, and the
// Markdown of its generated prose as trees the dashboard builds without
// parsing HTML (as description_doc does for a project's descriptions).
func withTextDocs(v *modeldoc.DocVersion) docVersion {
	a := docVersionOf(*v)
	for _, raw := range v.Layers {
		var x any
		if json.Unmarshal(raw, &x) != nil {
			continue
		}
		proseStrings(x, "", func(s string) {
			if _, done := a.TextDocs[s]; done {
				return
			}
			tree := markdown.Tree(s)
			if plainParagraph(tree, s) {
				return
			}
			if a.TextDocs == nil {
				a.TextDocs = map[string][]markdownNode{}
			}
			a.TextDocs[s] = markdownOf(tree)
		})
	}
	return a
}

func proseStrings(x any, key string, f func(string)) {
	switch x := x.(type) {
	case string:
		if !notProse[key] && x != "" {
			f(x)
		}
	case []any:
		for _, e := range x {
			proseStrings(e, key, f)
		}
	case map[string]any:
		for k, e := range x {
			proseStrings(e, k, f)
		}
	}
}

// plainParagraph reports whether tree is s as one paragraph of text, with
// no Markdown in it.
func plainParagraph(tree []markdown.Node, s string) bool {
	if len(tree) == 0 {
		return true
	}
	if len(tree) != 1 || tree[0].T != "p" {
		return false
	}
	text := ""
	for _, c := range tree[0].C {
		if c.T != "" {
			return false
		}
		text += c.V
	}
	return text == s
}

// withTextDoc is the rows of GET /review, each with its text's Markdown
// as a tree when the text has any (the dashboard shows a draft as it will
// read).
func withTextDoc(items []store.ReviewItem) []reviewItem {
	out := make([]reviewItem, 0, len(items))
	for _, it := range items {
		ri := reviewItemOf(it)
		if tree := markdown.Tree(it.Text); !plainParagraph(tree, it.Text) {
			ri.TextDoc = markdownOf(tree)
		}
		out = append(out, ri)
	}
	return out
}
