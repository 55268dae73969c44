package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
)

func init() { register(newImportCmd) }

func newImportCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "import PATH",
		Short: "Import a dbt project into the catalog",
		Long: `Import a dbt project into the catalog. PATH is one of:

  - a manifest.json (a catalog.json beside it adds column types),
  - a folder holding manifest.json [+ catalog.json], also under target/,
  - a dbt project folder (dbt_project.yml, models/*.sql, *.yml, docs .md).

Importing the same project again updates it in place: objects keep their ids
and documentation, changed SQL is noticed, and vanished models are marked
deleted rather than removed. An import is one transaction: on any error the
store is left exactly as it was.`,
		Example: `  modeldoc import examples/shop
  modeldoc import target/manifest.json
  modeldoc import ~/src/analytics --json`,
		Args: exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			summary, err := a.importPath(cmd, args[0])
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(summary)
			}
			printImportSummary(a, summary)
			return nil
		},
	}
}

// importPath loads PATH with the importer its contents call for and writes
// it to the store in one transaction.
func (a *App) importPath(cmd *cobra.Command, path string) (*modeldoc.ImportSummary, error) {
	ctx := cmd.Context()
	cat, err := dbt.Load(path)
	if err != nil {
		return nil, err
	}
	org, err := a.org(ctx)
	if err != nil {
		return nil, err
	}
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	return st.ImportCatalog(ctx, org.ID, cat)
}

func printImportSummary(a *App, s *modeldoc.ImportSummary) {
	w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Imported project %q (id %d) from its %s.\n\n", s.ProjectName, s.ProjectID, s.Source)
	fmt.Fprintf(w, "  models\t%d\t(%d with a description)\n", s.Models, s.ModelsWithDescription)
	fmt.Fprintf(w, "  sources\t%d\t\n", s.Sources)
	fmt.Fprintf(w, "  seeds\t%d\t\n", s.Seeds)
	fmt.Fprintf(w, "  snapshots\t%d\t\n", s.Snapshots)
	fmt.Fprintf(w, "  columns\t%d\t(%d with a description)\n", s.Columns, s.ColumnsWithDescription)
	fmt.Fprintf(w, "  lineage edges\t%d\t\n", s.Edges)
	if s.Exposures > 0 {
		fmt.Fprintf(w, "  exposures\t%d\t(named in impact analysis)\n", s.Exposures)
	}
	w.Flush()
	fmt.Fprintf(a.Stdout, "\n  %d new, %d updated, %d unchanged, %d marked deleted\n", s.Created, s.Updated, s.Unchanged, s.Deleted)
	if n := len(s.Warnings); n > 0 {
		fmt.Fprintf(a.Stderr, "\n%d warning(s):\n", n)
		for i, msg := range s.Warnings {
			if i == 20 {
				fmt.Fprintf(a.Stderr, "  … and %d more (see --json)\n", n-20)
				break
			}
			fmt.Fprintf(a.Stderr, "  - %s\n", msg)
		}
	}
	fmt.Fprintf(a.Stdout, "\nNext: modeldoc generate --select '*'   (or: modeldoc objects list --undocumented)\n")
}

// exactArgs is cobra.ExactArgs with a message that names what is missing.
func exactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return &cobraUsageError{fmt.Errorf("%s takes %d argument(s): %s (got %d). See '%s --help'",
			cmd.CommandPath(), n, strings.Join(names, " "), len(args), cmd.CommandPath())}
	}
}
