package api

import (
	"encoding/json"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/markdown"
	"github.com/modeldoc/modeldoc/internal/store"
)

// docAnswer is GET /objects/{id}/documentation: the version, and the
// Markdown of its generated prose as trees the dashboard builds without
// parsing HTML (as description_doc does for a project's descriptions).
type docAnswer struct {
	*modeldoc.DocVersion
	// TextDocs maps a prose string of the layers to its tree, for the
	// strings whose Markdown is more than one plain paragraph: the rest
	// render as the text they are, and are left out to keep the answer
	// small.
	TextDocs map[string][]markdown.Node `json:"text_docs,omitempty"`
}

// notProse names the layer fields that hold code or identifiers, never
// Markdown: SQL quoted from the model, column and model names, enums.
var notProse = map[string]bool{
	"codeBlock": true, "codeReference": true, "name": true, "lineage": true,
	"upstreamModel": true, "upstreamColumn": true, "inheritedFrom": true,
	"confidence": true, "grain": true, "frequency": true,
}

func withTextDocs(v *modeldoc.DocVersion) docAnswer {
	a := docAnswer{DocVersion: v}
	if v == nil {
		return a
	}
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
				a.TextDocs = map[string][]markdown.Node{}
			}
			a.TextDocs[s] = tree
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

// reviewItem is a row of GET /review with its text's Markdown as a tree,
// when the text has any (the dashboard shows a draft as it will read).
type reviewItem struct {
	store.ReviewItem
	TextDoc []markdown.Node `json:"text_doc,omitempty"`
}

func withTextDoc(items []store.ReviewItem) []reviewItem {
	out := make([]reviewItem, 0, len(items))
	for _, it := range items {
		ri := reviewItem{ReviewItem: it}
		if tree := markdown.Tree(it.Text); !plainParagraph(tree, it.Text) {
			ri.TextDoc = tree
		}
		out = append(out, ri)
	}
	return out
}
