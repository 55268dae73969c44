package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/store"
)

func init() { register(newKeysCmd) }

func newKeysCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Store, list and remove the organization's provider API keys",
		Long: `Provider keys are stored encrypted (AES-256-GCM) under a master key from
MODELDOC_SECRET_KEY or, when that is unset, a key file created with mode 0600
beside the SQLite database. Jobs of the organization use them; they are never
shown again, only masked.`,
	}
	cmd.AddCommand(newKeysSetCmd(a), newKeysListCmd(a), newKeysRemoveCmd(a))
	return cmd
}

func (a *App) ring(cmd *cobra.Command) (*providerkeys.Ring, *modeldoc.Organization, error) {
	org, err := a.org(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	st, err := a.store(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	r, err := providerkeys.Open(st)
	return r, org, err
}

func newKeysSetCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "set PROVIDER",
		Short: "Store or replace a provider's key (read from stdin, so it stays out of shell history)",
		Example: `  modeldoc keys set openai < openai.key
  printf '%s' "$OPENAI_API_KEY" | modeldoc keys set openai --org acme`,
		Args: exactArgs(1, "PROVIDER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			provider := strings.ToLower(args[0])
			if provider != modeldoc.ProviderOpenAI && provider != modeldoc.ProviderAnthropic {
				return modeldoc.Errorf(modeldoc.EINVALID, "Unknown provider %q: keys are stored for openai or anthropic.", args[0])
			}
			if f, ok := cmd.InOrStdin().(*os.File); ok {
				if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
					fmt.Fprintf(a.Stderr, "Paste the %s key and press Enter: ", provider)
				}
			}
			line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 4096)).ReadString('\n')
			if err != nil && err != io.EOF {
				return fmt.Errorf("read the key from stdin: %w", err)
			}
			ring, org, err := a.ring(cmd)
			if err != nil {
				return err
			}
			masked, err := ring.Put(cmd.Context(), org.ID, provider, strings.TrimSpace(line))
			if err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]string{"provider": provider, "masked": masked, "org": org.Name})
			}
			fmt.Fprintf(a.Stdout, "Stored the %s key %s for organization %q.\n", provider, masked, org.Name)
			return nil
		},
	}
}

func newKeysListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the organization's keys, masked",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ring, org, err := a.ring(cmd)
			if err != nil {
				return err
			}
			ks, err := ring.List(cmd.Context(), org.ID)
			if err != nil {
				return err
			}
			if a.JSON {
				if ks == nil {
					ks = []store.ProviderKeyInfo{}
				}
				return a.printJSON(map[string]any{"keys": ks})
			}
			if len(ks) == 0 {
				fmt.Fprintf(a.Stdout, "Organization %q has no stored keys. Store one: modeldoc keys set openai < key.txt\n", org.Name)
				return nil
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROVIDER\tKEY\tUPDATED")
			for _, k := range ks {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Provider, k.Masked, k.UpdatedAt.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
}

func newKeysRemoveCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "remove PROVIDER",
		Aliases: []string{"rm", "delete"},
		Short:   "Remove a provider's key",
		Args:    exactArgs(1, "PROVIDER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ring, org, err := a.ring(cmd)
			if err != nil {
				return err
			}
			if err := ring.Delete(cmd.Context(), org.ID, strings.ToLower(args[0])); err != nil {
				return err
			}
			if a.JSON {
				return a.printJSON(map[string]string{"removed": strings.ToLower(args[0])})
			}
			fmt.Fprintf(a.Stdout, "Removed the %s key of organization %q.\n", strings.ToLower(args[0]), org.Name)
			return nil
		},
	}
}
