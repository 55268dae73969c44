package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
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
	if err := notACatalog(path); err != nil {
		return nil, err
	}
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
	summary, err := st.ImportCatalog(ctx, org.ID, cat)
	if err != nil {
		return nil, err
	}
	if m := manifestIn(path); m != "" && !fileExists(filepath.Join(filepath.Dir(m), "catalog.json")) {
		// Without the catalog only the columns the YAML declares are
		// known, often a third of them; the import succeeds, so say it.
		summary.Warnings = append([]string{fmt.Sprintf(
			"no catalog.json beside %s: %d columns were imported, only those the project's YAML declares, without warehouse types. Run `dbt docs generate` to write target/catalog.json beside the manifest, then import again for every column.",
			m, summary.Columns)}, summary.Warnings...)
	}
	return summary, nil
}

// manifestIn is the manifest.json that dbt.Load reads for path, or "" when
// it reads a raw project folder (which has no catalog to miss).
func manifestIn(path string) string {
	info, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if !info.IsDir() {
		if strings.HasSuffix(filepath.Base(path), ".json") {
			return path
		}
		return ""
	}
	for _, dir := range []string{path, filepath.Join(path, "target")} {
		if m := filepath.Join(dir, "manifest.json"); fileExists(m) {
			return m
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

var catalogSchema = regexp.MustCompile(`"dbt_schema_version"\s*:\s*"[^"]*/catalog/`)

// notACatalog refuses a catalog.json given where a manifest belongs: both
// are JSON artifacts of dbt side by side in target/, and the manifest
// reader's "schema not supported" did not say which file to pass.
func notACatalog(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // dbt.Load says what is wrong with it
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || info.IsDir() {
		return nil
	}
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	if !catalogSchema.Match(head[:n]) {
		return nil
	}
	return modeldoc.Errorf(modeldoc.EINVALID, "%s is a dbt catalog (the warehouse's column types), not a manifest: pass manifest.json (%s), or the folder holding both; the catalog beside it is read too.",
		path, filepath.Join(filepath.Dir(path), "manifest.json"))
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
	if len(s.Warnings) > 0 {
		fmt.Fprintln(a.Stderr)
		printImportWarnings(a, s.Warnings, 20)
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

// printImportWarnings lists at most max warnings on stderr.
func printImportWarnings(a *App, warnings []string, max int) {
	n := len(warnings)
	if n == 0 {
		return
	}
	fmt.Fprintf(a.Stderr, "%s:\n", plural(n, "warning", "warnings"))
	for i, msg := range warnings {
		if i == max {
			fmt.Fprintf(a.Stderr, "  … and %d more (modeldoc import --json PATH lists them all)\n", n-max)
			break
		}
		fmt.Fprintf(a.Stderr, "  - %s\n", msg)
	}
}

// plural is "1 seed", "2 seeds".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
