package cli

import (
	"context"
	"strconv"
	"strings"

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
		return nil, readOnlyStore(a.DB, err)
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
	if a.Org == "" && !a.readOnly {
		return st.EnsureDefaultOrganization(ctx)
	}
	if a.Org == "" {
		org, err := st.GetOrganizationByName(ctx, store.DefaultOrganization)
		if modeldoc.ErrorCode(err) == modeldoc.ENOTFOUND {
			return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "Nothing is imported yet: the store has no organization. Import a project with: modeldoc import PATH")
		}
		return org, err
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
// the command's organization, in the --project project when it is given.
// A name several objects share is refused with the candidates listed.
func (a *App) resolveObject(ctx context.Context, name string) (*modeldoc.Organization, *store.Store, *modeldoc.Object, error) {
	org, st, err := a.orgStore(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	pid, err := a.projectID(ctx, org.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	obj, err := st.ResolveObjectIn(ctx, org.ID, pid, name)
	if err != nil {
		return nil, nil, nil, err
	}
	return org, st, obj, nil
}

// projectFlagUsage is the help of every --project flag.
const projectFlagUsage = "only this project (its name or id); needed when a name is in several projects"

// projectID is the id of the --project project, or 0 without --project.
// It takes a project's name (case-insensitive) or id.
func (a *App) projectID(ctx context.Context, orgID int64) (int64, error) {
	want := strings.TrimSpace(a.Project)
	if want == "" {
		return 0, nil
	}
	st, err := a.store(ctx)
	if err != nil {
		return 0, err
	}
	ps, err := st.ListProjects(ctx, orgID)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		if strings.EqualFold(p.Name, want) || strconv.FormatInt(p.ID, 10) == want {
			return p.ID, nil
		}
		names[i] = p.Name
	}
	if len(names) == 0 {
		return 0, modeldoc.Errorf(modeldoc.ENOTFOUND, "No project %q: nothing is imported yet. Import one with: modeldoc import PATH", want)
	}
	return 0, modeldoc.Errorf(modeldoc.ENOTFOUND, "No project %q: --project takes one of %s (or its id).", want, strings.Join(names, ", "))
}

// projectNames maps the organization's project ids to their names.
func (a *App) projectNames(ctx context.Context, orgID int64) (map[int64]string, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := st.ListProjects(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(ps))
	for _, p := range ps {
		out[p.ID] = p.Name
	}
	return out, nil
}

// readOnlyStore turns SQLite's "attempt to write a readonly database" (or
// a folder it cannot create its files in) into what to do about it.
func readOnlyStore(db string, err error) error {
	msg := strings.ToLower(err.Error())
	if !strings.Contains(msg, "readonly") && !strings.Contains(msg, "read-only") && !strings.Contains(msg, "permission denied") {
		return err
	}
	return modeldoc.Errorf(modeldoc.EINVALID, "Cannot write the store %s: it is read-only to this user (%v). modeldoc writes to it on every command (migrations, the -wal and -shm files beside it): give --db (or MODELDOC_DB) a file in a folder you can write, or fix the permissions of the file and its folder.", db, err)
}
