package cli

import (
	"context"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
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

// orgStore returns the organization a command acts in and the store.
func (a *App) orgStore(ctx context.Context) (*modeldoc.Organization, *store.Store, error) {
	org, err := a.org(ctx)
	if err != nil {
		return nil, nil, err
	}
	return org, a.st, nil
}

// orgEngine returns the organization a command acts in and the wired job
// machinery.
func (a *App) orgEngine(ctx context.Context) (*modeldoc.Organization, *engine.Engine, error) {
	org, err := a.org(ctx)
	if err != nil {
		return nil, nil, err
	}
	eng, err := a.engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	return org, eng, nil
}

// resolveObject finds the object a command names (by name or unique id) in
// the command's organization.
func (a *App) resolveObject(ctx context.Context, name string) (*modeldoc.Organization, *store.Store, *modeldoc.Object, error) {
	org, st, err := a.orgStore(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	obj, err := st.ResolveObject(ctx, org.ID, name)
	if err != nil {
		return nil, nil, nil, err
	}
	return org, st, obj, nil
}
