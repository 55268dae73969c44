package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/export"
	"github.com/modeldoc/modeldoc/internal/store"
)

func init() { register(newExportCmd) }

func newExportCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write documentation into the dbt project's YAML, a static site, Markdown or JSON",
	}
	cmd.AddCommand(newExportDBTCmd(a), newExportSiteCmd(a), newExportMarkdownCmd(a), newExportJSONCmd(a))
	return cmd
}

// projectByName finds an imported project of the organization.
func projectByName(ctx context.Context, st *store.Store, orgID int64, name string) (*modeldoc.Project, error) {
	ps, err := st.ListProjects(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i], nil
		}
		names = append(names, ps[i].Name)
	}
	if len(names) == 0 {
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No project named %q: nothing is imported yet (modeldoc import PATH).", name)
	}
	return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No project named %q: choose from %s.", name, strings.Join(names, ", "))
}

func newExportDBTCmd(a *App) *cobra.Command {
	var opts export.DBTOptions
	cmd := &cobra.Command{
		Use:   "dbt PROJECT_DIR",
		Short: "Write model and column descriptions into the project's properties YAML",
		Long: `Write each model's executive summary as its description, and each column's
generated description, into the dbt project's properties YAML files.

Only reviewed text is written: a person's (the project's own, inherited from
it, or edited in modeldoc) and text a person accepted ('modeldoc review').
Drafts, generated text nobody has reviewed, are counted and left out unless
--include-drafts; rejected text is never written.

Only the changed values are touched: comments, key order, quoting, indentation,
blank lines and {{ doc() }} references stay as they are, and a file with nothing
to change is not rewritten. A description a person wrote (any text in the YAML,
or a {{ doc() }} reference, that modeldoc did not generate) is kept unless
--overwrite-human. Models and columns no YAML declares get entries in the file
their folder already uses (or its parent's, as the project does); a new file,
named like the project's others, is created only when there is none. Deleted
models and packages' models are left alone.

Only files inside PROJECT_DIR are written, symbolic links resolved: a model
whose path (original_file_path, from any manifest) or whose declaring file
leads outside it is skipped with a warning that names it, and so is one whose
folder PROJECT_DIR does not have. The export writes all its files or none:
if one cannot be written, no file of the project is changed.`,
		Example: `  modeldoc export dbt . --dry-run
  modeldoc export dbt ~/src/jaffle_shop
  modeldoc export dbt . --overwrite-human
  modeldoc export dbt . --include-drafts`,
		Args: exactArgs(1, "PROJECT_DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			org, err := a.org(ctx)
			if err != nil {
				return err
			}
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			opts.Dir = args[0]
			res, err := export.ExportDBT(ctx, st, org.ID, opts)
			if err != nil {
				return err
			}
			if a.JSON {
				out := map[string]any{"result": res}
				if opts.DryRun {
					out["diff"] = res.Diff()
				}
				return a.printJSON(out)
			}
			if opts.DryRun {
				fmt.Fprint(a.Stdout, res.Diff())
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(a.Stderr, "warning: %s\n", w)
			}
			verb := "Changed"
			if opts.DryRun {
				verb = "Would change"
			}
			var created int
			for _, f := range res.Files {
				if f.Created {
					created++
				}
				if !opts.DryRun {
					fmt.Fprintf(a.Stderr, "  %s: %d model and %d column description(s), %d new model(s), %d new column(s)\n",
						f.Path, f.ModelDescriptions, f.ColumnDescriptions, f.NewModels, f.NewColumns)
				}
			}
			fmt.Fprintf(a.Stderr, "%s %d file(s) (%d new); %d left as they were; %d human description(s) kept; %d model(s) have no documentation yet.\n",
				verb, len(res.Files), created, res.Unchanged, res.KeptHuman, res.Undocumented)
			if res.Drafts > 0 {
				fmt.Fprintf(a.Stderr, "%d draft description(s) not written: nobody has reviewed them. Review them with `modeldoc review list` (then `modeldoc review accept`), or pass --include-drafts.\n", res.Drafts)
			}
			if res.Rejected > 0 {
				fmt.Fprintf(a.Stderr, "%d rejected description(s) not written.\n", res.Rejected)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print a unified diff of the changes and write nothing")
	cmd.Flags().BoolVar(&opts.OverwriteHuman, "overwrite-human", false, "replace descriptions people wrote (and {{ doc() }} references) too")
	cmd.Flags().BoolVar(&opts.IncludeDrafts, "include-drafts", false, "write generated text nobody has reviewed too (rejected text is never written)")
	cmd.Flags().StringVar(&opts.Project, "project", "", "the imported project to export (default: the name in dbt_project.yml)")
	return cmd
}

// loadForExport reads the projects an export covers.
func loadForExport(cmd *cobra.Command, a *App, project string) ([]*export.Project, error) {
	ctx := cmd.Context()
	org, err := a.org(ctx)
	if err != nil {
		return nil, err
	}
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	var id int64
	if project != "" {
		p, err := projectByName(ctx, st, org.ID, project)
		if err != nil {
			return nil, err
		}
		id = p.ID
	}
	ps, err := export.Load(ctx, st, org.ID, id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No project is imported yet: run `modeldoc import PATH` first.")
	}
	return ps, nil
}

func newExportSiteCmd(a *App) *cobra.Command {
	var out, project string
	cmd := &cobra.Command{
		Use:   "site --out DIR",
		Short: "Write a static HTML documentation site that opens from disk",
		Long: `Write a static site: an index with search, and one page per object with every
documentation layer, columns, lineage links, complexity and provenance. It needs
no server: open DIR/index.html in a browser.`,
		Example: "  modeldoc export site --out site && open site/index.html",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return modeldoc.Errorf(modeldoc.EINVALID, "Name the output folder with --out DIR, e.g. modeldoc export site --out site")
			}
			ps, err := loadForExport(cmd, a, project)
			if err != nil {
				return err
			}
			n, err := export.WriteSite(out, ps, time.Now())
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"out": out, "pages": n})
			}
			fmt.Fprintf(a.Stdout, "Wrote %d page(s); open %s\n", n, filepath.Join(out, "index.html"))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder to write the site into (created if missing)")
	cmd.Flags().StringVar(&project, "project", "", "only this project (default: all)")
	return cmd
}

func newExportMarkdownCmd(a *App) *cobra.Command {
	var out, project string
	cmd := &cobra.Command{
		Use:     "markdown --out DIR",
		Short:   "Write one Markdown page per object and an index (README.md), for wikis",
		Example: "  modeldoc export markdown --out wiki/models",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return modeldoc.Errorf(modeldoc.EINVALID, "Name the output folder with --out DIR, e.g. modeldoc export markdown --out wiki/models")
			}
			ps, err := loadForExport(cmd, a, project)
			if err != nil {
				return err
			}
			n, err := export.WriteMarkdown(out, ps)
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"out": out, "pages": n})
			}
			fmt.Fprintf(a.Stdout, "Wrote %d page(s) and %s\n", n, filepath.Join(out, export.MarkdownIndex))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder to write the pages into (created if missing)")
	cmd.Flags().StringVar(&project, "project", "", "only this project (default: all)")
	return cmd
}

func newExportJSONCmd(a *App) *cobra.Command {
	var out, project string
	var schema bool
	cmd := &cobra.Command{
		Use:   "json [--out FILE]",
		Short: "Write everything (projects, objects, columns, lineage, documentation) as one JSON document",
		Long: `Write projects, objects with their columns, lineage and each object's current
documentation as one JSON document, on stdout or into --out FILE. --schema
prints the JSON Schema that documents it.`,
		Example: `  modeldoc export json --out modeldoc.json
  modeldoc export json --schema > export.schema.json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if schema {
				_, err := a.Stdout.Write(export.Schema)
				return err
			}
			ps, err := loadForExport(cmd, a, project)
			if err != nil {
				return err
			}
			doc := export.BuildJSON(ps, time.Now())
			if out == "" || out == "-" {
				return export.WriteJSON(a.Stdout, doc)
			}
			f, err := os.Create(out)
			if err != nil {
				return modeldoc.Errorf(modeldoc.EINVALID, "Cannot create %s: %v.", out, err)
			}
			if err := export.WriteJSON(f, doc); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if !a.JSON {
				fmt.Fprintf(a.Stderr, "Wrote %s\n", out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: stdout)")
	cmd.Flags().StringVar(&project, "project", "", "only this project (default: all)")
	cmd.Flags().BoolVar(&schema, "schema", false, "print the JSON Schema of the document and exit")
	return cmd
}
