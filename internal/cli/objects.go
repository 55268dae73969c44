package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/markdown"
	"github.com/modeldoc/modeldoc/internal/store"
)

func init() { register(newObjectsCmd) }

func newObjectsCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "objects",
		Aliases: []string{"object", "obj"},
		Short:   "List and inspect the catalog's models, sources, seeds and snapshots",
	}
	cmd.PersistentFlags().StringVar(&a.Project, "project", "", projectFlagUsage)
	cmd.AddCommand(newObjectsListCmd(a), newObjectsShowCmd(a))
	return cmd
}

func newObjectsListCmd(a *App) *cobra.Command {
	var (
		types        []string
		match        string
		schema       string
		undocumented bool
		stale        bool
		deleted      bool
		limit        int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List catalog objects",
		Example: `  modeldoc objects list --type model --undocumented
  modeldoc objects list --match 'stg_*'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, st, err := a.orgStore(ctx)
			if err != nil {
				return err
			}
			pid, err := a.projectID(ctx, org.ID)
			if err != nil {
				return err
			}
			projects, err := a.projectNames(ctx, org.ID)
			if err != nil {
				return err
			}
			f := store.ObjectFilter{ProjectID: pid, Match: match, Schema: schema, IncludeDeleted: deleted, Limit: limit}
			for _, t := range types {
				for _, t := range strings.Split(t, ",") {
					ot := modeldoc.ObjectType(strings.TrimSpace(t))
					if !ot.Valid() {
						return modeldoc.Errorf(modeldoc.EINVALID, "Unknown --type %q: use model, source, seed or snapshot.", t)
					}
					f.Types = append(f.Types, ot)
				}
			}
			if undocumented {
				no := false
				f.Documented = &no
			}
			if stale {
				yes := true
				f.Stale = &yes
			}
			objs, total, err := st.ListObjects(ctx, org.ID, f)
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"objects": objs, "total": total})
			}
			if total == 0 {
				fmt.Fprintln(a.Stdout, "No objects match. Import a project first: modeldoc import PATH")
				return nil
			}
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tPROJECT\tTYPE\tNAME\tSCHEMA\tCOLUMNS\tDOCS\tCOMPLEXITY")
			for _, o := range objs {
				docs := "-"
				switch {
				case o.Documented && o.Stale:
					docs = fmt.Sprintf("v%d (stale)", o.CurrentVersion)
				case o.Documented:
					docs = fmt.Sprintf("v%d", o.CurrentVersion)
				case o.HasDescription:
					docs = "yaml only"
				}
				cx := "-"
				if o.ComplexityScore > 0 {
					cx = fmt.Sprint(o.ComplexityScore)
				}
				name := o.Name
				if o.Deleted {
					name += " (deleted)"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", o.ID, orDash(cmpOr(o.Project, projects[o.ProjectID])), o.Type, name, o.Schema, o.Columns, docs, cx)
			}
			w.Flush()
			if len(objs) < total {
				fmt.Fprintf(a.Stdout, "\n%d of %d shown; use --limit to see more.\n", len(objs), total)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&types, "type", nil, "only these types: model, source, seed, snapshot")
	cmd.Flags().StringVar(&match, "match", "", "only names containing this text, or matching a * pattern")
	cmd.Flags().StringVar(&schema, "schema", "", "only objects in this schema")
	cmd.Flags().BoolVar(&undocumented, "undocumented", false, "only objects without generated documentation")
	cmd.Flags().BoolVar(&stale, "stale", false, "only objects whose documentation is stale: older than their SQL, descriptions, columns or upstream documentation (what generate documents again)")
	cmd.Flags().BoolVar(&deleted, "deleted", false, "include objects that disappeared from the project")
	cmd.Flags().IntVar(&limit, "limit", 200, "list at most this many")
	return cmd
}

func newObjectsShowCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show an object: SQL, columns, upstream and downstream",
		Long:  "Show an object by name or dbt unique id (model.shop.fct_orders): its SQL, its columns with types and descriptions, and the objects it reads from and feeds.",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, st, obj, err := a.resolveObject(ctx, args[0])
			if err != nil {
				return err
			}
			up, err := st.Upstream(ctx, org.ID, obj.ID)
			if err != nil {
				return err
			}
			down, err := st.Downstream(ctx, org.ID, obj.ID)
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"object": obj, "upstream": names(up), "downstream": names(down)})
			}
			printObject(a, obj, up, down)
			return nil
		},
	}
}

type objectRef struct {
	ID       int64               `json:"id"`
	UniqueID string              `json:"unique_id"`
	Name     string              `json:"name"`
	Type     modeldoc.ObjectType `json:"type"`
}

func names(objs []modeldoc.Object) []objectRef {
	out := make([]objectRef, 0, len(objs))
	for _, o := range objs {
		out = append(out, objectRef{o.ID, o.UniqueID, o.Name, o.Type})
	}
	return out
}

func printObject(a *App, o *modeldoc.Object, up, down []modeldoc.Object) {
	out := a.Stdout
	fmt.Fprintf(out, "%s  (%s, id %d)\n", o.Name, o.Type, o.ID)
	fmt.Fprintf(out, "  unique id:        %s\n", o.UniqueID)
	if o.Database != "" || o.Schema != "" {
		fmt.Fprintf(out, "  relation:         %s\n", strings.Trim(o.Database+"."+o.Schema+"."+o.Name, "."))
	}
	if o.Materialization != "" {
		fmt.Fprintf(out, "  materialized as:  %s\n", o.Materialization)
	}
	if o.FilePath != "" {
		fmt.Fprintf(out, "  file:             %s\n", o.FilePath)
	}
	if len(o.Tags) > 0 {
		fmt.Fprintf(out, "  tags:             %s\n", strings.Join(o.Tags, ", "))
	}
	if o.Deleted {
		fmt.Fprintln(out, "  DELETED: no longer in the project since the last import")
	}
	if o.Description != "" {
		// Descriptions are Markdown (dbt doc blocks): read here as text.
		fmt.Fprintf(out, "\n%s\n", indent(markdown.Plain(o.Description), "  "))
	}
	if len(o.Columns) > 0 {
		fmt.Fprintf(out, "\nColumns (%d):\n", len(o.Columns))
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, c := range o.Columns {
			desc := markdown.Plain(c.Description)
			if len(c.Tests) > 0 {
				desc = strings.TrimSpace(desc + "  [tests: " + strings.Join(c.Tests, ", ") + "]")
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\n", c.Name, orDash(c.DataType), oneLine(desc, 90))
		}
		w.Flush()
	}
	printRefs(a, "Upstream (reads from)", up)
	printRefs(a, "Downstream (read by)", down)
	if sql := o.SQL(); sql != "" {
		kind := "raw SQL"
		if o.CompiledSQL != "" {
			kind = "compiled SQL"
		}
		fmt.Fprintf(out, "\n%s:\n%s\n", kind, indent(strings.TrimSpace(sql), "  "))
	}
}

func printRefs(a *App, title string, objs []modeldoc.Object) {
	if len(objs) == 0 {
		fmt.Fprintf(a.Stdout, "\n%s: none\n", title)
		return
	}
	fmt.Fprintf(a.Stdout, "\n%s:\n", title)
	for _, o := range objs {
		fmt.Fprintf(a.Stdout, "  %-9s %s\n", o.Type, o.UniqueID)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// oneLine flattens s to one line of at most n runes, for tables.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func cmpOr(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
