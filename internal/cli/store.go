package cli

import (
	"context"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// store opens the store named by --db once per command, running its
// migrations, and closes it when the command ends.
func (a *App) store(ctx context.Context) (*store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	st, err := store.Open(ctx, a.DB)
	if err != nil {
		return nil, err
	}
	a.st = st
	a.onClose(st.Close)
	return st, nil
}

// org is the organization CLI commands act in: the default one, created on
// first use, unless --org names another.
func (a *App) org(ctx context.Context) (*modeldoc.Organization, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	if a.Org == "" {
		return st.EnsureDefaultOrganization(ctx)
	}
	return st.GetOrganizationByName(ctx, a.Org)
}
