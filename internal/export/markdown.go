package export

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/markdown"
)

// mdEscape makes names inert in Markdown (descriptions and generated prose
// keep theirs, sanitised by markdown.Markdown): wiki renderers pass raw HTML
// through, so < and > become entities, and characters that start
// emphasis, links, code or table cells are backslash-escaped.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']', '|', '#', '!', '{', '}', '(', ')':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fence returns a code fence longer than any run of backticks in code.
func fence(code string) string {
	longest, run := 0, 0
	for _, r := range code {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// MarkdownIndex is the name of the index page WriteMarkdown writes; no
// object page can take it (see pageName).
const MarkdownIndex = "README.md"

// WriteMarkdown writes MarkdownIndex and one .md page per object into dir,
// and returns how many object pages it wrote.
func WriteMarkdown(dir string, projects []*Project) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, modeldoc.Errorf(modeldoc.EINVALID, "Cannot create %s: %v.", dir, err)
	}
	names := fileNames(projects)
	cov, err := CoverageOf(projects)
	if err != nil {
		return 0, err
	}
	var idx strings.Builder
	idx.WriteString("# Documentation\n")
	n := 0
	for pi, p := range projects {
		s := cov.Projects[pi].Scope
		fmt.Fprintf(&idx, "\n## %s\n\nModels documented: %.1f%% (%d of %d); columns: %.1f%% (%d of %d).\n\n| Name | Type | Schema | Summary |\n|---|---|---|---|\n",
			mdEscape(p.Project.Name), s.Models.Percent, s.Models.Documented, s.Models.Total, s.Columns.Percent, s.Columns.Documented, s.Columns.Total)
		for _, o := range p.sortedObjects() {
			pg := projectView(p, o, names, ".md")
			if err := pg.decode(); err != nil {
				return n, fmt.Errorf("%s: %w", o.UniqueID, err)
			}
			summary := pg.PublishedSummary()
			if summary == "" {
				summary = o.Description
			}
			fmt.Fprintf(&idx, "| [%s](%s) | %s | %s | %s |\n", mdEscape(o.Name), pg.File, o.Type, mdEscape(o.Schema), markdown.MarkdownCell(summary))
			if err := os.WriteFile(filepath.Join(dir, pg.File), []byte(markdownPage(pg)), 0o644); err != nil {
				return n, fmt.Errorf("write %s: %w", pg.File, err)
			}
			n++
		}
	}
	if err := os.WriteFile(filepath.Join(dir, MarkdownIndex), []byte(idx.String()), 0o644); err != nil {
		return n, fmt.Errorf("write %s: %w", MarkdownIndex, err)
	}
	return n, nil
}

func markdownPage(pg *DocView) string {
	var b strings.Builder
	o := pg.Object
	fmt.Fprintf(&b, "# %s\n\n[All objects](%s)\n\n", mdEscape(o.Name), MarkdownIndex)
	fmt.Fprintf(&b, "- **Type:** %s\n- **Project:** %s\n- **Unique id:** %s\n", o.Type, mdEscape(pg.Project), mdEscape(o.UniqueID))
	if o.Schema != "" {
		fmt.Fprintf(&b, "- **Schema:** %s\n", mdEscape(o.Schema))
	}
	if o.Materialization != "" {
		fmt.Fprintf(&b, "- **Materialized as:** %s\n", mdEscape(o.Materialization))
	}
	if o.FilePath != "" {
		fmt.Fprintf(&b, "- **File:** %s\n", mdEscape(o.FilePath))
	}
	if v := pg.Version; v != nil {
		cx := fmt.Sprintf("%d / %d", pg.Complexity.Score, pg.Complexity.Scale)
		if len(pg.Complexity.Reasons) > 0 {
			cx += " (" + mdEscape(strings.Join(pg.Complexity.Reasons, "; ")) + ")"
		}
		fmt.Fprintf(&b, "- **Complexity:** %s\n- **Written by:** %s · %s · prompt %s · version %d · %s\n",
			cx, mdEscape(v.Provider), mdEscape(v.Model), mdEscape(v.PromptVersion), v.Version, v.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if pg.Stale {
		b.WriteString("- **Stale:** the model (its SQL, descriptions or columns) or an upstream model changed after this documentation was written\n")
	}
	if o.Description != "" {
		fmt.Fprintf(&b, "\n## Description\n\n%s\n", markdown.Markdown(o.Description))
	}
	// draft labels a heading whose text nobody has reviewed.
	draft := func(l modeldoc.Layer) string {
		if pg.Draft(l) {
			return " (AI draft)"
		}
		return ""
	}
	if s := pg.PublishedSummary(); s != "" {
		fmt.Fprintf(&b, "\n## Executive summary%s\n\n%s\n", draft(modeldoc.LayerExecutiveSummary), markdown.Markdown(s))
	}
	if n := pg.Narrative; n != nil && pg.Published(modeldoc.LayerBusinessNarrative) {
		fmt.Fprintf(&b, "\n## Business narrative%s\n\n%s\n\n", draft(modeldoc.LayerBusinessNarrative), markdown.Markdown(n.WhatItDoes))
		for i, step := range n.DataJourney {
			fmt.Fprintf(&b, "%d. %s\n", i+1, markdown.MarkdownCell(step))
		}
		if n.BusinessImpact != "" {
			fmt.Fprintf(&b, "\n**Impact:** %s\n", markdown.MarkdownCell(n.BusinessImpact))
		}
	}
	if len(pg.Cards) > 0 && pg.Published(modeldoc.LayerTransformationCards) {
		b.WriteString("\n## Transformation steps" + draft(modeldoc.LayerTransformationCards) + "\n")
		for _, c := range pg.Cards {
			fmt.Fprintf(&b, "\n### %d. %s\n\n- **Input:** %s\n- **Logic:** %s\n- **Output:** %s\n- **Why it matters:** %s\n",
				c.StepNumber, markdown.MarkdownCell(c.Title), markdown.MarkdownCell(c.Input), markdown.MarkdownCell(c.Logic), markdown.MarkdownCell(c.Output), markdown.MarkdownCell(c.WhyItMatters))
		}
	}
	if len(pg.Code) > 0 && pg.Published(modeldoc.LayerCodeExplanations) {
		b.WriteString("\n## Code explained" + draft(modeldoc.LayerCodeExplanations) + "\n")
		for _, c := range pg.Code {
			f := fence(c.CodeBlock)
			fmt.Fprintf(&b, "\n%ssql\n%s\n%s\n\n%s\n\n%s\n", f, c.CodeBlock, f, markdown.Markdown(c.PlainEnglish), markdown.MarkdownCell(c.BusinessContext))
		}
	}
	if len(pg.Rules) > 0 && pg.Published(modeldoc.LayerBusinessRules) {
		b.WriteString("\n## Business rules" + draft(modeldoc.LayerBusinessRules) + "\n\n")
		for _, r := range pg.Rules {
			fmt.Fprintf(&b, "- **%s** %s\n", markdown.MarkdownCell(r.Rule), markdown.MarkdownCell(r.Impact))
		}
	}
	if im := pg.Impact; im != nil && pg.Published(modeldoc.LayerImpactAnalysis) {
		b.WriteString("\n## Impact analysis" + draft(modeldoc.LayerImpactAnalysis) + "\n\n")
		if len(im.UsedBy) > 0 {
			b.WriteString("| Team | Frequency | Purpose |\n|---|---|---|\n")
			for _, u := range im.UsedBy {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", mdEscape(u.Team), mdEscape(u.Frequency), markdown.MarkdownCell(u.Purpose))
			}
		}
		for _, q := range im.QuestionsAnswered {
			fmt.Fprintf(&b, "- %s\n", markdown.MarkdownCell(q))
		}
		if im.DownstreamImpact != "" {
			fmt.Fprintf(&b, "\n**If it breaks:** %s\n", markdown.MarkdownCell(im.DownstreamImpact))
		}
	}
	if len(pg.Columns) > 0 {
		b.WriteString("\n## Columns\n\n| Name | Type | Description | Source | Lineage |\n|---|---|---|---|---|\n")
		for _, c := range pg.Columns {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdEscape(c.Name), mdEscape(c.DataType), markdown.MarkdownCell(c.Description), c.Badge, mdEscape(c.Lineage))
		}
	}
	b.WriteString("\n## Lineage\n\n**Reads from:**")
	writeLinks(&b, pg.Upstream)
	b.WriteString("\n**Read by:**")
	writeLinks(&b, pg.Downstream)
	if sql := o.SQL(); sql != "" {
		f := fence(sql)
		fmt.Fprintf(&b, "\n## SQL\n\n%ssql\n%s\n%s\n", f, strings.TrimRight(sql, "\n"), f)
	}
	return b.String()
}

func writeLinks(b *strings.Builder, links []ViewLink) {
	if len(links) == 0 {
		b.WriteString(" nothing\n")
		return
	}
	b.WriteString("\n\n")
	for _, l := range links {
		fmt.Fprintf(b, "- [%s](%s) (%s)\n", mdEscape(l.Name), l.File, l.Type)
	}
}
