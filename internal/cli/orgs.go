package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
)

func init() { register(newOrgsCmd) }

func newOrgsCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "orgs",
		Aliases: []string{"org", "organizations"},
		Short:   "Create and list organizations",
		Long: `An organization owns projects, jobs, API tokens and provider keys; nothing is
shared between organizations. The CLI acts in the default organization unless
--org names another.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "create NAME",
		Short:   "Create an organization",
		Example: `  modeldoc orgs create acme && modeldoc tokens create --org acme --role admin`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			org, err := st.CreateOrganization(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(org)
			}
			fmt.Fprintf(a.Stdout, "Created organization %q (id %d). Give it a token: modeldoc tokens create --org %s --role admin\n", org.Name, org.ID, org.Name)
			return nil
		},
	}, &cobra.Command{
		Use:   "list",
		Short: "List organizations",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			orgs, err := st.ListOrganizations(cmd.Context())
			if err != nil {
				return err
			}
			if a.JSON {
				if orgs == nil {
					orgs = []modeldoc.Organization{}
				}
				return a.printJSON(map[string]any{"organizations": orgs})
			}
			if len(orgs) == 0 {
				fmt.Fprintln(a.Stdout, "No organizations yet. Create one: modeldoc orgs create NAME")
				return nil
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, o := range orgs {
				fmt.Fprintf(tw, "%d\t%s\t%s\n", o.ID, o.Name, o.CreatedAt.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	})
	return cmd
}
