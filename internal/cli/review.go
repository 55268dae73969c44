package cli

import (
	"fmt"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

func init() { register(newReviewCmd) }

// reviewFlags are the flags the review subcommands share.
type reviewFlags struct {
	layer string
	as    string
}

func newReviewCmd(a *App) *cobra.Command {
	var f reviewFlags
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Review generated text before it is published: list, accept, reject, edit",
		Long: `Generated text is a draft until a person acts on it. Each layer of a model's
current documentation, and each generated column description, is draft,
accepted, rejected or edited. Edited text is a person's: it is stored as
human-written; generation never asks for it again nor overwrites it. A
regenerated layer (accepted ones included, when their inputs changed) is a
draft again; layers a regeneration carries over keep their review. A model's
own column descriptions from its YAML, and those inherited verbatim from the
project's text, are human, not drafts. Rejected text is never shown to a
writer as context. 'export dbt' writes human, edited and accepted text only (drafts with
--include-drafts); the site and Markdown label drafts "AI draft".`,
	}
	cmd.PersistentFlags().StringVar(&a.Project, "project", "", projectFlagUsage)
	cmd.PersistentFlags().StringVar(&f.layer, "layer", "", "only this layer (executive_summary, business_narrative, …, column_descriptions)")
	cmd.PersistentFlags().StringVar(&f.as, "as", "", "who acts, recorded in the review history (default: the login name)")
	cmd.AddCommand(newReviewListCmd(a, &f), newReviewActCmd(a, &f, store.ReviewAccept), newReviewActCmd(a, &f, store.ReviewReject), newReviewEditCmd(a, &f))
	return cmd
}

func (f *reviewFlags) parseLayer() (modeldoc.Layer, error) {
	if f.layer == "" {
		return "", nil
	}
	return modeldoc.ParseLayer(strings.TrimSpace(f.layer))
}

// actor is the person a review action is recorded for.
func (f *reviewFlags) actor() string {
	if s := strings.TrimSpace(f.as); s != "" {
		return s
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if s := os.Getenv("USER"); s != "" {
		return s
	}
	return "cli"
}

func newReviewListCmd(a *App, f *reviewFlags) *cobra.Command {
	var state string
	var findings bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List generated text and its review state, with confidence and grounding findings",
		Example: `  modeldoc review list
  modeldoc review list --state draft --layer executive_summary
  modeldoc review list --project shop --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			l, err := f.parseLayer()
			if err != nil {
				return err
			}
			if state != "" {
				if _, err := modeldoc.ParseReviewState(state); err != nil {
					return err
				}
			}
			org, st, err := a.orgStore(ctx)
			if err != nil {
				return err
			}
			pid, err := a.projectID(ctx, org.ID)
			if err != nil {
				return err
			}
			items, err := st.ListReview(ctx, org.ID, store.ReviewFilter{ProjectID: pid, Layer: l, State: state, Findings: findings})
			if err != nil {
				return err
			}
			if a.JSON {
				for i := range items {
					items[i].Content = nil // the text is enough for a listing; docs show has the layer
				}
				if items == nil {
					items = []store.ReviewItem{}
				}
				return a.printJSON(map[string]any{"items": items, "counts": store.ReviewCounts(items)})
			}
			if len(items) == 0 {
				fmt.Fprintln(a.Stdout, "Nothing to review matches.")
				return nil
			}
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "PROJECT\tMODEL\tLAYER\tCOLUMN\tSTATE\tCONFIDENCE\tFINDINGS\tTEXT")
			for _, it := range items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", it.Project, it.Name, it.Layer, it.Column, it.State,
					orDash(it.Confidence), len(it.Findings), clip(it.Text, 70))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			counts := store.ReviewCounts(items)
			fmt.Fprintf(a.Stderr, "%d item(s): %d draft, %d accepted, %d rejected, %d edited.\n", len(items),
				counts[modeldoc.ReviewDraft], counts[modeldoc.ReviewAccepted], counts[modeldoc.ReviewRejected], counts[modeldoc.ReviewEdited])
			for _, it := range items {
				for _, fd := range it.Findings {
					fmt.Fprintf(a.Stderr, "  finding: %s %s %s: %s\n", it.Name, it.Layer, fd.Path, fd.Message)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only items in this state: draft, accepted, rejected or edited")
	cmd.Flags().BoolVar(&findings, "findings", false, "only items with grounding findings")
	return cmd
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func newReviewActCmd(a *App, f *reviewFlags, action string) *cobra.Command {
	var all bool
	var column string
	verb := map[string]string{store.ReviewAccept: "Accept", store.ReviewReject: "Reject"}[action]
	use := action + " NAME..."
	if action == store.ReviewAccept {
		use += " | --all"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: verb + " the generated text of models (every draft layer, or --layer, or one --column)",
		Example: fmt.Sprintf(`  modeldoc review %[1]s orders
  modeldoc review %[1]s orders customers --layer executive_summary
  modeldoc review %[1]s orders --layer column_descriptions --column amount`, action),
		Args: func(cmd *cobra.Command, args []string) error {
			if all && len(args) > 0 {
				return &cobraUsageError{fmt.Errorf("name models or pass --all, not both. See '%s --help'", cmd.CommandPath())}
			}
			if !all && len(args) == 0 {
				hint := ""
				if action == store.ReviewAccept {
					hint = " (or --all)"
				}
				return &cobraUsageError{fmt.Errorf("%s takes the names of the models%s. See '%s --help'", cmd.CommandPath(), hint, cmd.CommandPath())}
			}
			if column != "" && len(args) != 1 {
				return &cobraUsageError{fmt.Errorf("--column names a column of one model. See '%s --help'", cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			l, err := f.parseLayer()
			if err != nil {
				return err
			}
			actor := f.actor()
			var total store.ReviewResult
			var done []string
			if all {
				org, st, err := a.orgStore(ctx)
				if err != nil {
					return err
				}
				pid, err := a.projectID(ctx, org.ID)
				if err != nil {
					return err
				}
				if total, err = st.AcceptAll(ctx, org.ID, store.ReviewFilter{ProjectID: pid, Layer: l}, actor); err != nil {
					return err
				}
			} else {
				// Every name is resolved before anything changes, so that a
				// typo in the third name does not leave the first two done.
				type target struct {
					org *modeldoc.Organization
					st  *store.Store
					obj *modeldoc.Object
				}
				var targets []target
				for _, name := range args {
					org, st, obj, err := a.resolveObject(ctx, name)
					if err != nil {
						return err
					}
					targets = append(targets, target{org, st, obj})
				}
				for _, t := range targets {
					res, err := t.st.Review(ctx, t.org.ID, store.ReviewAction{Action: action, ObjectID: t.obj.ID, Layer: l, Column: column, Actor: actor})
					if err != nil {
						return err
					}
					total.Changed += res.Changed
					total.Skipped += res.Skipped
					done = append(done, t.obj.UniqueID)
				}
			}
			if a.JSON {
				return a.printJSON(map[string]any{"action": action, "objects": done, "result": total, "actor": actor})
			}
			past := map[string]string{store.ReviewAccept: "Accepted", store.ReviewReject: "Rejected"}[action]
			fmt.Fprintf(a.Stdout, "%s %d item(s) as %s; %d left as they were.\n", past, total.Changed, actor, total.Skipped)
			return nil
		},
	}
	if action == store.ReviewAccept {
		cmd.Flags().BoolVar(&all, "all", false, "accept every draft (of --project, of --layer)")
	}
	cmd.Flags().StringVar(&column, "column", "", "only this column's description (the column_descriptions layer)")
	return cmd
}

func newReviewEditCmd(a *App, f *reviewFlags) *cobra.Command {
	var column, text, file string
	cmd := &cobra.Command{
		Use:   "edit NAME --layer L [--column C] --text TEXT | --file PATH",
		Short: "Replace generated text with a person's; it is human text from then on",
		Long: `Replace one layer's text (or one column's description) with a person's. The
executive summary and column descriptions take plain text; the other layers
take their JSON, in the shape 'docs show --json' prints. Edited text is stored
as human-written, attributed to --as (default: the login name), and
regeneration never overwrites it.`,
		Example: `  modeldoc review edit orders --layer executive_summary --text "One row per order."
  modeldoc review edit orders --layer column_descriptions --column amount --text "Paid, in cents."
  modeldoc review edit orders --layer business_rules --file rules.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := exactArgs(1, "NAME")(cmd, args); err != nil {
				return err
			}
			if f.layer == "" && column == "" {
				return &cobraUsageError{fmt.Errorf("say which text to edit with --layer (and --column for a column). See '%s --help'", cmd.CommandPath())}
			}
			if (text == "") == (file == "") {
				return &cobraUsageError{fmt.Errorf("give the new text with --text or --file, one of them. See '%s --help'", cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			l, err := f.parseLayer()
			if err != nil {
				return err
			}
			if file != "" {
				b, err := readTextFile(file)
				if err != nil {
					return err
				}
				text = b
			}
			org, st, obj, err := a.resolveObject(ctx, args[0])
			if err != nil {
				return err
			}
			actor := f.actor()
			res, err := st.Review(ctx, org.ID, store.ReviewAction{Action: store.ReviewEdit, ObjectID: obj.ID, Layer: l, Column: column, Text: text, Actor: actor})
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"action": store.ReviewEdit, "objects": []string{obj.UniqueID}, "result": res, "actor": actor})
			}
			what := string(l)
			if column != "" {
				what = "column " + column
			}
			fmt.Fprintf(a.Stdout, "Edited %s of %s as %s.\n", what, obj.UniqueID, actor)
			return nil
		},
	}
	cmd.Flags().StringVar(&column, "column", "", "the column whose description to edit (layer column_descriptions)")
	cmd.Flags().StringVar(&text, "text", "", "the new text")
	cmd.Flags().StringVar(&file, "file", "", "read the new text from this file")
	return cmd
}

func readTextFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", modeldoc.Errorf(modeldoc.EINVALID, "Cannot read --file: %v", err)
	}
	return string(b), nil
}
