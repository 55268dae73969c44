package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/export"
)

func init() { register(newCoverageCmd) }

func newCoverageCmd(a *App) *cobra.Command {
	var (
		project    string
		check      bool
		minModels  float64
		minColumns float64
		detail     bool
		drafts     bool
	)
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "Report documentation coverage per project, schema and model; --check gates CI",
		Long: `Report how much of each project is documented: models and columns documented,
missing, stale, human-written, accepted and draft, per project and schema
(--models for every model).

` + export.CoverageDefinition + `

With --check the command fails (exit code 1, error code ` + export.ECOVERAGE + `)
when the share of reviewed (human or accepted) models is below --min-models or
the share of reviewed columns is below --min-columns, naming each. Drafts do not
count unless --count-drafts (what --check counted before review existed). With --json one
document is printed: the report, with its "check" result and, when the check
fails, an "error" object ({"code", "message"}) beside it.`,
		Example: `  modeldoc coverage
  modeldoc coverage --project jaffle_shop --json
  modeldoc coverage --check --min-models 90 --min-columns 80`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if minModels < 0 || minModels > 100 || minColumns < 0 || minColumns > 100 {
				return modeldoc.Errorf(modeldoc.EINVALID, "--min-models and --min-columns are percentages from 0 to 100.")
			}
			org, err := a.org(ctx)
			if err != nil {
				return err
			}
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			var projectID int64
			if project != "" {
				p, err := projectByName(ctx, st, org.ID, project)
				if err != nil {
					return err
				}
				projectID = p.ID
			}
			r, err := export.Coverage(ctx, st, org.ID, projectID)
			if err != nil {
				return err
			}
			var checkErr error
			if check {
				checkErr = r.Check(minModels, minColumns, drafts)
			}
			if a.JSON {
				return a.printJSONWithError(r, checkErr)
			}
			printCoverage(a, r, detail)
			if check && checkErr == nil {
				what := "reviewed"
				if drafts {
					what = "documented, drafts included"
				}
				fmt.Fprintf(a.Stdout, "\nCheck passed (%s): models ≥ %g%%, columns ≥ %g%%.\n", what, minModels, minColumns)
			}
			return checkErr
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "only this project (default: all)")
	cmd.Flags().BoolVar(&check, "check", false, "exit non-zero when coverage is below the thresholds")
	cmd.Flags().Float64Var(&minModels, "min-models", 90, "with --check: least share of documented models, in percent")
	cmd.Flags().Float64Var(&minColumns, "min-columns", 80, "with --check: least share of documented columns, in percent")
	cmd.Flags().BoolVar(&detail, "models", false, "list every model, not only projects and schemas")
	cmd.Flags().BoolVar(&drafts, "count-drafts", false, "with --check: count generated text nobody has reviewed as documented")
	return cmd
}

func printCoverage(a *App, r *export.CoverageReport, detail bool) {
	if len(r.Projects) == 0 {
		fmt.Fprintln(a.Stdout, "No projects. Import one first: modeldoc import PATH")
		return
	}
	w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SCOPE\tMODELS\tMISSING\tSTALE\tHUMAN/ACCEPTED/DRAFT\tCOLUMNS\tMISSING\tSTALE\tHUMAN/ACCEPTED/DRAFT\tFINDINGS")
	row := func(name string, s export.Scope) {
		fmt.Fprintf(w, "%s\t%.1f%% (%d/%d)\t%d\t%d\t%d/%d/%d\t%.1f%% (%d/%d)\t%d\t%d\t%d/%d/%d\t%d\n", name,
			s.Models.Percent, s.Models.Documented, s.Models.Total, s.Models.Missing, s.Models.Stale, s.Models.Human, s.Models.Accepted, s.Models.Draft,
			s.Columns.Percent, s.Columns.Documented, s.Columns.Total, s.Columns.Missing, s.Columns.Stale, s.Columns.Human, s.Columns.Accepted, s.Columns.Draft,
			s.LayersWithFindings)
	}
	for _, p := range r.Projects {
		row(p.Project, p.Scope)
		for _, s := range p.Schemas {
			name := s.Schema
			if name == "" {
				name = "(no schema)"
			}
			row("  "+name, s.Scope)
			if !detail {
				continue
			}
			for _, m := range s.Models {
				state := "missing"
				switch {
				case m.Human && m.Generated:
					state = "human + generated"
				case m.Human:
					state = "human"
				case m.Generated:
					state = m.Review
				}
				if m.Stale {
					state += ", stale"
				}
				if n := len(m.LayersWithFindings); n > 0 {
					state += fmt.Sprintf(", %d layers to review", n)
				}
				fmt.Fprintf(w, "    %s\t%s\t\t\t\t%.1f%% (%d/%d)\t%d\t%d\t%d/%d/%d\t%d\n", m.Name, state,
					m.Columns.Percent, m.Columns.Documented, m.Columns.Total, m.Columns.Missing, m.Columns.Stale, m.Columns.Human, m.Columns.Accepted, m.Columns.Draft,
					len(m.LayersWithFindings))
			}
		}
	}
	if len(r.Projects) > 1 {
		row("TOTAL", r.Total)
	}
	w.Flush()
}
