package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/export"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/markdown"
	"github.com/modeldoc/modeldoc/internal/retry"
	"github.com/modeldoc/modeldoc/internal/store"
)

func init() { register(newDocsCmd) }

func newDocsCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Write, read and list the documentation of one model",
	}
	cmd.PersistentFlags().StringVar(&a.Project, "project", "", projectFlagUsage)
	cmd.AddCommand(newDocsGenerateCmd(a), newDocsShowCmd(a), newDocsHistoryCmd(a))
	return cmd
}

func newDocsGenerateCmd(a *App) *cobra.Command {
	var (
		pf             providerFlags
		layers         []string
		overwriteHuman bool
	)
	cmd := &cobra.Command{
		Use:   "generate NAME",
		Short: "Write documentation for one model now and print it",
		Long: `Write every documentation layer for one model (or --layers), validate it,
store it as a new version and print it. For many models use 'modeldoc generate',
which runs a durable job.`,
		Example: `  modeldoc docs generate fct_orders
  OPENAI_API_KEY=sk-... modeldoc docs generate fct_orders --model gpt-5-mini
  modeldoc docs generate fct_orders --provider openai --base-url http://localhost:11434/v1 --model llama3.1`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := pf.resolve(); err != nil {
				return err
			}
			ls, err := parseLayers(layers)
			if err != nil {
				return err
			}
			price, err := pf.price()
			if err != nil {
				return err
			}
			org, st, obj, err := a.resolveObject(ctx, args[0])
			if err != nil {
				return err
			}
			eng, err := a.engine(ctx)
			if err != nil {
				return err
			}
			w, err := eng.Writer(ctx, org.ID, pf.Provider)
			if err != nil {
				return err
			}
			if w.Provider() != modeldoc.ProviderOffline {
				// No transient retries here (a job has them), but a call
				// that spent its whole cap reasoning is asked once more with
				// a larger cap, and a 429 is waited out, as in a job.
				w = retry.New(w, retry.Config{MaxRetries: -1})
			}
			svc := eng.Gen
			plan, err := svc.Plan(ctx, org.ID, obj.ID, generate.Options{Provider: pf.Name, Model: pf.Model, Layers: ls, OverwriteHuman: overwriteHuman, ReasoningEffort: pf.ReasoningEffort, Price: price})
			if err != nil {
				return err
			}
			if len(plan.Edited) > 0 && len(plan.Options.Layers) == 0 {
				return modeldoc.Errorf(modeldoc.ECONFLICT, "Nothing to write for %s: a person edited %s, which generation never replaces. Change it with `modeldoc review edit`.", obj.Name, joinLayers(plan.Edited))
			}
			if !a.JSON {
				if len(plan.Edited) > 0 {
					fmt.Fprintf(a.Stderr, "Keeping %s of %s as a person edited it.\n", joinLayers(plan.Edited), obj.Name)
				}
				fmt.Fprintf(a.Stderr, "Writing %d layer(s) for %s with %s/%s…\n", len(plan.Requests), obj.UniqueID, pf.Name, pf.Model)
			}
			v, err := svc.Write(ctx, plan, w)
			if err != nil {
				return err
			}
			if cur, err := st.GetDocVersion(ctx, org.ID, obj.ID, 0); err == nil && sameDocumentation(cur, v) {
				// A new version identical to the current one would only
				// lengthen the history and make the text look rewritten.
				if a.JSON {
					return a.printJSON(cur)
				}
				fmt.Fprintf(a.Stderr, "Nothing changed: the text is the same as version %d, the current one; no new version was written.\n", cur.Version)
				renderDoc(a.Stdout, docView(ctx, st, org.ID, obj, cur))
				return nil
			}
			if err := st.InsertDocVersion(ctx, v); err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(v)
			}
			renderDoc(a.Stdout, docView(ctx, st, org.ID, obj, v))
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringSliceVar(&layers, "layers", nil, "only these layers (comma-separated); default all")
	cmd.Flags().BoolVar(&overwriteHuman, "overwrite-human", false, "let generated column descriptions replace ones a person wrote")
	return cmd
}

func newDocsShowCmd(a *App) *cobra.Command {
	var version int
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a model's current documentation (or --version N)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, st, obj, err := a.resolveObject(ctx, args[0])
			if err != nil {
				return err
			}
			if version < 0 {
				return modeldoc.Errorf(modeldoc.EINVALID, "--version takes a version number from 1 up (see: modeldoc docs history %s).", obj.Name)
			}
			v, err := st.GetDocVersion(ctx, org.ID, obj.ID, version)
			if modeldoc.ErrorCode(err) == modeldoc.ENOTFOUND && version == 0 {
				return modeldoc.Errorf(modeldoc.ENOTFOUND, "%s has no documentation yet. Write it with: modeldoc docs generate %s", obj.Name, obj.Name)
			}
			if modeldoc.ErrorCode(err) == modeldoc.ENOTFOUND {
				// The store's message names the object by its internal id,
				// which the user never typed.
				return modeldoc.Errorf(modeldoc.ENOTFOUND, "%s has no version %d%s. List them with: modeldoc docs history %s", obj.Name, version, versionRange(ctx, st, org.ID, obj.ID), obj.Name)
			}
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(v)
			}
			renderDoc(a.Stdout, docView(ctx, st, org.ID, obj, v))
			return nil
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "show this version instead of the current one")
	return cmd
}

func newDocsHistoryCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME",
		Short: "List the documentation versions of a model",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, st, obj, err := a.resolveObject(ctx, args[0])
			if err != nil {
				return err
			}
			versions, err := st.ListDocVersions(ctx, org.ID, obj.ID)
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"object": obj.UniqueID, "versions": versions})
			}
			if len(versions) == 0 {
				fmt.Fprintf(a.Stdout, "%s has no documentation yet.\n", obj.Name)
				return nil
			}
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tCURRENT\tWRITTEN\tPROVIDER/MODEL\tPROMPT\tTOKENS (in/out)\tCOST\tLAYERS")
			for _, v := range versions {
				cur := ""
				if v.Current {
					cur = "*"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s/%s\t%s\t%d/%d\t$%.4f\t%s\n", v.Version, cur, v.CreatedAt.Local().Format(time.DateTime),
					v.Provider, v.Model, v.PromptVersion, v.PromptTokens, v.CompletionTokens, v.Cost, layerSummary(&v))
			}
			return w.Flush()
		},
	}
}

func parseLayers(names []string) ([]modeldoc.Layer, error) {
	var out []modeldoc.Layer
	for _, n := range names {
		for _, n := range strings.Split(n, ",") {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			l, err := modeldoc.ParseLayer(n)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
	}
	return out, nil
}

func layerSummary(v *modeldoc.DocVersion) string {
	ok, failed := 0, 0
	for _, st := range v.LayerStatus {
		if st.Status == modeldoc.LayerOK {
			ok++
		} else if st.Status == modeldoc.LayerFailed || st.Status == modeldoc.LayerPartial {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Sprintf("%d ok, %d failed", ok, failed)
	}
	return fmt.Sprintf("%d ok", ok)
}

// docView is the view of version v of obj that every rendering of a
// document shares (export.DocView). The terminal shows no lineage, so its
// upstream links carry only the ids the complexity reasons count.
func docView(ctx context.Context, st *store.Store, orgID int64, obj *modeldoc.Object, v *modeldoc.DocVersion) *export.DocView {
	var ups []export.ViewLink
	edges, edgesErr := st.EdgesTouching(ctx, orgID, []int64{obj.ID})
	for _, e := range edges {
		if e.Downstream == obj.ID {
			ups = append(ups, export.ViewLink{ID: e.Upstream})
		}
	}
	// A layer that does not decode is left out here, as the terminal
	// always did: the rest is still worth reading.
	d, _ := export.NewDocView(export.ViewInput{Object: obj, Version: v, Upstream: ups})
	if edgesErr != nil && d.Complexity != nil {
		d.Complexity.Reasons = nil // the reasons are a courtesy; the score is printed anyway
	}
	return d
}

// renderDoc prints a version for reading in a terminal: every layer, with
// its review state, so that nobody reads a draft as a person's text.
func renderDoc(out io.Writer, d *export.DocView) {
	obj, v := d.Object, d.Version
	p := func(format string, args ...any) { fmt.Fprintf(out, format, args...) }
	p("%s — documentation v%d\n", obj.Name, v.Version)
	p("written %s by %s/%s, prompt %s, complexity %d/%d, %d+%d tokens, $%.4f\n",
		v.CreatedAt.Local().Format(time.DateTime), v.Provider, v.Model, v.PromptVersion, d.Complexity.Score, d.Complexity.Scale, v.PromptTokens, v.CompletionTokens, v.Cost)
	if reasons := d.Complexity.Reasons; len(reasons) > 0 {
		p("complexity %d/%d because: %s\n", d.Complexity.Score, d.Complexity.Scale, strings.Join(reasons, "; "))
	}
	if missing := v.MissingLayers(); len(missing) > 0 {
		p("PARTIAL: these layers failed: %v\n", missing)
		for _, l := range missing {
			p("  %s: %s\n", l, v.LayerStatus[l].Error)
		}
	}
	if stale := v.StaleLayerNames(); len(stale) > 0 {
		p("STALE: these layers keep text written from older inputs (a failure, or carried from an older version): %v\n", stale)
		for _, l := range stale {
			if e := v.LayerStatus[l].Error; e != "" {
				p("  %s (from v%d): %s\n", l, v.LayerStatus[l].CarriedFrom, e)
			}
		}
	}
	// The review state of each layer (modeldoc review changes it).
	var states []string
	for _, l := range modeldoc.AllLayers {
		st := d.Review(l)
		if st == "" || l == modeldoc.LayerColumnDescriptions {
			continue
		}
		if by := v.LayerStatus[l].ReviewedBy; by != "" {
			st += " by " + by
		}
		states = append(states, string(l)+" "+st)
	}
	if len(states) > 0 {
		p("review: %s (columns: modeldoc review list)\n", strings.Join(states, ", "))
	}
	section := func(title string) { p("\n## %s\n\n", title) }
	if d.Has(modeldoc.LayerExecutiveSummary) {
		section("Executive summary")
		p("%s\n", wrap(markdown.Plain(d.Summary), 88, ""))
	}
	if nar := d.Narrative; d.Has(modeldoc.LayerBusinessNarrative) {
		section("What it does")
		p("%s\n", wrap(markdown.Plain(nar.WhatItDoes), 88, ""))
		if len(nar.DataJourney) > 0 {
			p("\nData journey:\n")
			for i, s := range nar.DataJourney {
				p("  %d. %s\n", i+1, wrap(s, 84, "     "))
			}
		}
		p("\nBusiness impact: %s\n", wrap(nar.BusinessImpact, 88, ""))
	}
	if d.Has(modeldoc.LayerTransformationCards) && len(d.Cards) > 0 {
		section("Transformation steps")
		for _, c := range d.Cards {
			p("%d. %s\n", c.StepNumber, c.Title)
			p("   input:  %s\n   logic:  %s\n   output: %s\n   why:    %s\n\n", wrap(c.Input, 80, "           "), wrap(c.Logic, 80, "           "), wrap(c.Output, 80, "           "), wrap(c.WhyItMatters, 80, "           "))
		}
	}
	if d.Has(modeldoc.LayerCodeExplanations) && len(d.Code) > 0 {
		section("Code explanations")
		for _, e := range d.Code {
			p("%s\n", indent(strings.TrimSpace(e.CodeBlock), "    "))
			p("  %s\n  Why: %s\n\n", wrap(e.PlainEnglish, 86, "  "), wrap(e.BusinessContext, 86, "  "))
		}
	}
	if d.Has(modeldoc.LayerBusinessRules) && len(d.Rules) > 0 {
		section("Business rules")
		for _, r := range d.Rules {
			p("- %s\n    code:   %s\n    impact: %s\n", wrap(r.Rule, 86, "  "), oneLine(r.CodeReference, 80), wrap(r.Impact, 78, "            "))
		}
	}
	if imp := d.Impact; d.Has(modeldoc.LayerImpactAnalysis) {
		section("Impact")
		for _, u := range imp.UsedBy {
			p("- %s (%s): %s\n", u.Team, u.Frequency, wrap(u.Purpose, 80, "    "))
		}
		if len(imp.QuestionsAnswered) > 0 {
			p("\nQuestions it answers:\n")
			for _, q := range imp.QuestionsAnswered {
				p("  - %s\n", q)
			}
		}
		p("\nIf it breaks: %s\n", wrap(imp.DownstreamImpact, 88, ""))
	}
	if d.Has(modeldoc.LayerColumnDescriptions) && len(d.GeneratedColumns) > 0 {
		section("Columns")
		human := map[string]bool{}
		for _, c := range obj.Columns {
			human[strings.ToLower(c.Name)] = c.HumanDescription
		}
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, c := range d.GeneratedColumns {
			origin := c.Lineage
			if c.Lineage == "passthrough" && c.UpstreamModel != "" {
				origin = "from " + c.UpstreamModel + "." + c.UpstreamColumn
			}
			if human[strings.ToLower(c.Name)] {
				origin += ", human-written"
			}
			fmt.Fprintf(w, "  %s\t%s\t(%s)\n", c.Name, oneLine(markdown.Plain(c.Description), 90), origin)
		}
		w.Flush()
	}
}

// wrap folds s at width runes; continuation lines start with prefix.
func wrap(s string, width int, prefix string) string {
	words := strings.Fields(s)
	var b strings.Builder
	n := 0
	for _, w := range words {
		if n > 0 && n+1+len([]rune(w)) > width {
			b.WriteString("\n" + prefix)
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len([]rune(w))
	}
	return b.String()
}

func joinLayers(ls []modeldoc.Layer) string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = string(l)
	}
	return strings.Join(out, ", ")
}

// versionRange says which versions an object has, for an error about one it
// does not: " (it has versions 1 to 3)".
func versionRange(ctx context.Context, st *store.Store, orgID, objectID int64) string {
	vs, err := st.ListDocVersions(ctx, orgID, objectID)
	if err != nil || len(vs) == 0 {
		return " (it has no documentation yet)"
	}
	lo, hi := vs[0].Version, vs[0].Version
	for _, v := range vs {
		lo, hi = min(lo, v.Version), max(hi, v.Version)
	}
	if lo == hi {
		return fmt.Sprintf(" (it has version %d only)", lo)
	}
	return fmt.Sprintf(" (it has versions %d to %d)", lo, hi)
}

// sameDocumentation reports whether a freshly written version says exactly
// what the current one says: same writer, same inputs, every layer it
// wrote identical and none failed.
func sameDocumentation(cur, v *modeldoc.DocVersion) bool {
	if cur.Provider != v.Provider || cur.Model != v.Model || cur.InputHash != v.InputHash || len(v.Layers) == 0 {
		return false
	}
	for l, text := range v.Layers {
		if st, ok := v.LayerStatus[l]; ok && st.Status == modeldoc.LayerFailed {
			return false
		}
		if !jsonEqualBytes(cur.Layers[l], text) {
			return false
		}
	}
	for _, st := range v.LayerStatus {
		if st.Status == modeldoc.LayerFailed {
			return false
		}
	}
	return cur.ComplexityScore == v.ComplexityScore
}

func jsonEqualBytes(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(x, y)
}
