package cli

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

func init() { register(newTokensCmd) }

func newTokensCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tokens",
		Aliases: []string{"token"},
		Short:   "Create, list and revoke API tokens for 'modeldoc serve'",
		Long: `API tokens authenticate requests to the REST API and the dashboard. A token
belongs to one organization (--org, default: the default organization) and has
a role: admin (create and control jobs, upload projects, manage provider keys)
or member (read). Only a hash of the token is stored: it is shown once.`,
	}
	cmd.AddCommand(newTokensCreateCmd(a), newTokensListCmd(a), newTokensRevokeCmd(a))
	return cmd
}

func newTokensCreateCmd(a *App) *cobra.Command {
	var role, name string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a token and print it once",
		Example: `  modeldoc tokens create --role admin --name ops@example.com
  modeldoc tokens create --org acme --role member --json`,
		Args: exactArgs(0),
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
			plain, tok, err := st.CreateToken(ctx, org.ID, name, role)
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"token": plain, "id": tok.ID, "org": org.Name, "role": tok.Role, "name": tok.Name})
			}
			fmt.Fprintf(a.Stderr, "Created %s token %d in organization %q. It is shown once; keep it secret:\n", tok.Role, tok.ID, org.Name)
			fmt.Fprintln(a.Stdout, plain)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", store.RoleMember, "admin or member")
	cmd.Flags().StringVar(&name, "name", "", "who or what the token is for (an email address, a CI job); jobs record it as triggered_by_email")
	return cmd
}

func newTokensListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the organization's tokens (never their secrets)",
		Args:  exactArgs(0),
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
			toks, err := st.ListTokens(ctx, org.ID)
			if err != nil {
				return err
			}
			if a.JSON {
				if toks == nil {
					toks = []store.Token{}
				}
				return a.printJSON(map[string]any{"tokens": toks})
			}
			if len(toks) == 0 {
				fmt.Fprintf(a.Stdout, "Organization %q has no tokens. Create one: modeldoc tokens create --role admin\n", org.Name)
				return nil
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tLAST USED\tSTATE")
			for _, t := range toks {
				state := "active"
				if t.RevokedAt != nil {
					state = "revoked " + t.RevokedAt.Local().Format(time.DateTime)
				}
				used := "never"
				if t.LastUsedAt != nil {
					used = t.LastUsedAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt.Local().Format(time.DateTime), used, state)
			}
			return tw.Flush()
		},
	}
}

func newTokensRevokeCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token: requests with it are refused from now on",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return modeldoc.Errorf(modeldoc.EINVALID, "%q is not a token id: run `modeldoc tokens list`.", args[0])
			}
			org, err := a.org(ctx)
			if err != nil {
				return err
			}
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			if err := st.RevokeToken(ctx, org.ID, id); err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]any{"revoked": id})
			}
			fmt.Fprintf(a.Stdout, "Revoked token %d.\n", id)
			return nil
		},
	}
}
