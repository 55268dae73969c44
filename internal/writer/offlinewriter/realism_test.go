package offlinewriter

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// catalogSubjects puts every model of an imported catalog together with
// its direct neighbors, as the generate service does.
func catalogSubjects(c *modeldoc.Catalog) []*writer.Subject {
	byID := map[string]*modeldoc.Object{}
	for i := range c.Objects {
		byID[c.Objects[i].UniqueID] = &c.Objects[i]
	}
	up, down := map[string][]string{}, map[string][]string{}
	for _, e := range c.Edges {
		up[e.Downstream] = append(up[e.Downstream], e.Upstream)
		down[e.Upstream] = append(down[e.Upstream], e.Downstream)
	}
	var out []*writer.Subject
	for i := range c.Objects {
		o := &c.Objects[i]
		if o.Type != modeldoc.TypeModel {
			continue
		}
		s := &writer.Subject{Object: *o}
		for _, id := range up[o.UniqueID] {
			if u := byID[id]; u != nil {
				s.Upstream = append(s.Upstream, writer.Neighbor{Object: *u})
			}
		}
		for _, id := range down[o.UniqueID] {
			if d := byID[id]; d != nil {
				s.Downstream = append(s.Downstream, writer.Neighbor{Object: *d})
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Object.UniqueID < out[j].Object.UniqueID })
	return out
}

// proseOf lists the prose strings of a layer: everything a reader reads as
// text. Code blocks quote the model's SQL and are left out; code references
// are counted, since they are written into the rule text.
func proseOf(layer modeldoc.Layer, content string) []string {
	var out []string
	switch layer {
	case modeldoc.LayerExecutiveSummary:
		var v modeldoc.ExecutiveSummaryOut
		_ = json.Unmarshal([]byte(content), &v)
		out = append(out, v.Summary)
	case modeldoc.LayerBusinessNarrative:
		var v modeldoc.BusinessNarrative
		_ = json.Unmarshal([]byte(content), &v)
		out = append(append(out, v.WhatItDoes, v.BusinessImpact), v.DataJourney...)
	case modeldoc.LayerTransformationCards:
		var v modeldoc.TransformationCardsOut
		_ = json.Unmarshal([]byte(content), &v)
		for _, c := range v.Cards {
			out = append(out, c.Title, c.Input, c.Logic, c.Output, c.WhyItMatters)
		}
	case modeldoc.LayerCodeExplanations:
		var v modeldoc.CodeExplanationsOut
		_ = json.Unmarshal([]byte(content), &v)
		for _, e := range v.Explanations {
			out = append(out, e.PlainEnglish, e.BusinessContext)
		}
	case modeldoc.LayerBusinessRules:
		var v modeldoc.BusinessRulesOut
		_ = json.Unmarshal([]byte(content), &v)
		for _, r := range v.Rules {
			out = append(out, r.Rule, r.CodeReference, r.Impact)
		}
	case modeldoc.LayerImpactAnalysis:
		var v modeldoc.ImpactAnalysis
		_ = json.Unmarshal([]byte(content), &v)
		out = append(append(out, v.DownstreamImpact), v.QuestionsAnswered...)
		for _, u := range v.UsedBy {
			out = append(out, u.Team, u.Frequency, u.Purpose)
		}
	case modeldoc.LayerColumnDescriptions:
		var v modeldoc.ColumnDescriptionsOut
		_ = json.Unmarshal([]byte(content), &v)
		for _, c := range v.Columns {
			out = append(out, c.Description)
		}
	}
	return out
}

// leakMarks are what a reader must never see in generated prose: SQL
// comments and unrendered Jinja.
var leakMarks = []string{"--", "/*", "{{", "{%"}

var backticked = regexp.MustCompile("`[^`]*`")

var quotedSQLString = regexp.MustCompile(`'(?:[^']|'')*'`)

type realism struct {
	texts, leaks, columns, documented, inherited, restated, chained, midWord int
	byMark                                                                   map[string]int
	examples                                                                 []string
}

// TestRealismOnDatasets documents the GitLab raw project and the Tuva and
// HubSpot manifests offline and counts the texts that leak SQL comments or
// Jinja (target 0), column texts that only restate the name, chained
// upstream text, and text cut in the middle of a word.
func TestRealismOnDatasets(t *testing.T) {
	if testing.Short() {
		t.Skip("documents three whole projects")
	}
	base := dbttest.Dir(t)
	gitlab := dbttest.UntarDatasets(t, "tnmy44__gitlab-analytics/snowflake-dbt_sql_yml.tar.gz", "tnmy44__gitlab-analytics/snowflake-dbt_docs_md.tar.gz")
	projects := []struct{ name, path string }{
		{"tuva", filepath.Join(base, "tuva-health__tuva")},
		{"hubspot", filepath.Join(base, "fivetran__dbt_hubspot")},
		{"gitlab-raw", filepath.Join(gitlab, "transform", "snowflake-dbt")},
	}
	w := New()
	for _, p := range projects {
		c, err := dbt.Load(p.path)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		r := realism{byMark: map[string]int{}}
		for _, s := range catalogSubjects(c) {
			ht := humanTexts(s)
			for _, layer := range modeldoc.AllLayers {
				res, err := w.Write(context.Background(), writer.Request{Layer: layer, Subject: s})
				if err != nil {
					t.Fatalf("%s %s: %v", s.Object.UniqueID, layer, err)
				}
				human := map[string]bool{}
				for _, col := range s.Object.Columns {
					if col.HumanDescription {
						human[col.Description] = true
					}
				}
				for _, text := range proseOf(layer, res.Content) {
					if text == "" || layer == modeldoc.LayerColumnDescriptions && human[text] {
						continue // the team's own text, kept as written
					}
					r.texts++
					leaked := false
					// A '--' inside a quoted SQL string is a value, not a
					// comment; the team's own descriptions, quoted whole,
					// are theirs (markdown tables, URLs).
					bare := text
					if strings.Contains(bare, "--") || strings.Contains(bare, "/*") {
						for _, h := range ht {
							bare = strings.ReplaceAll(bare, h, "")
						}
					}
					bare = quotedSQLString.ReplaceAllString(bare, "''")
					for _, m := range leakMarks {
						if strings.Contains(bare, m) {
							r.byMark[m]++
							leaked = true
						}
					}
					if leaked {
						r.leaks++
						if len(r.examples) < 12 {
							r.examples = append(r.examples, s.Object.Name+" "+string(layer)+": "+text)
						}
					}
					if strings.Contains(text, "Upstream `") {
						r.chained++
					}
					if strings.HasSuffix(text, "…") || strings.Contains(text, "… ") {
						r.midWord++
					}
				}
				if layer == modeldoc.LayerColumnDescriptions {
					var v modeldoc.ColumnDescriptionsOut
					_ = json.Unmarshal([]byte(res.Content), &v)
					human := map[string]bool{}
					for _, col := range s.Object.Columns {
						human[strings.ToLower(col.Name)] = col.HumanDescription
					}
					for _, col := range v.Columns {
						if human[strings.ToLower(col.Name)] {
							continue
						}
						r.columns++
						if col.Description != "" {
							r.documented++
							if slices.Contains(ht, col.Description) {
								r.inherited++ // an upstream column's text, verbatim
							} else if restates(col.Name, col.Description) {
								r.restated++
								if r.restated <= 5 {
									t.Logf("  restated: %s.%s: %s", s.Object.Name, col.Name, col.Description)
								}
							}
						}
					}
				}
			}
		}
		t.Logf("%s: %d prose texts, %d leak (%v), %d chained upstream texts, %d shortened at a word boundary; columns without human text %d, described %d (%d with an upstream's text verbatim), restatements %d of the %d the writer composed",
			p.name, r.texts, r.leaks, r.byMark, r.chained, r.midWord, r.columns, r.documented, r.inherited, r.restated, r.documented-r.inherited)
		for _, e := range r.examples {
			t.Logf("  leak: %s", e)
		}
		if r.leaks > 0 {
			t.Errorf("%s: %d texts leak SQL comments or Jinja (target 0)", p.name, r.leaks)
		}
		if r.chained > 0 {
			t.Errorf("%s: %d texts chain an upstream's text", p.name, r.chained)
		}
		if composed := r.documented - r.inherited; composed > 0 && r.restated*20 >= composed {
			t.Errorf("%s: %d of %d composed column texts restate the name (target under 5%%)", p.name, r.restated, composed)
		}
	}
}

// restatementFiller are words that add nothing to a column's name.
var restatementFiller = map[string]bool{"the": true, "of": true, "a": true, "an": true, "identifier": true, "name": true, "taken": true,
	"unchanged": true, "from": true, "renamed": true, "flag": true, "whether": true, "timestamp": true, "date": true, "number": true,
	"amount": true, "category": true, "code": true, "for": true, "primary": true, "row": true, "inferred": true, "column": true,
	"sql": true, "does": true, "not": true, "show": true, "where": true, "it": true, "comes": true, "cast": true, "to": true,
	"model's": true, "type": true, "id": true, "key": true}

// restates reports whether desc carries no word beyond the column name,
// the names it quotes and filler.
func restates(name, desc string) bool {
	desc = backticked.ReplaceAllString(desc, " ") // quoted names add nothing either
	nameWords := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '_' || r == '.' }) {
		nameWords[w] = true
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(desc), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'')
	}) {
		if !nameWords[w] && !restatementFiller[w] && len(w) > 1 {
			return false
		}
	}
	return true
}

// humanTexts are the descriptions people wrote that a subject's
// documentation may quote: the model's own and its and its upstreams'
// column descriptions, as written and on one line.
func humanTexts(s *writer.Subject) []string {
	var out []string
	add := func(t string) {
		if t = strings.TrimSpace(t); len(t) > 3 {
			out = append(out, t, oneLine(t), sentence(oneLine(t)), firstSentence(t))
		}
	}
	add(s.Object.Description)
	for _, c := range s.Object.Columns {
		add(c.Description)
	}
	for _, nb := range s.Upstream {
		add(nb.Object.Description)
		for _, c := range nb.Object.Columns {
			add(c.Description)
		}
	}
	return out
}
