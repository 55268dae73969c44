package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// DefaultOrganization is the organization the CLI works in when none is
// named.
const DefaultOrganization = "default"

// CreateOrganization creates an organization. A name in use is ECONFLICT;
// an empty name is EINVALID.
func (s *Store) CreateOrganization(ctx context.Context, name string) (*modeldoc.Organization, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "An organization needs a name.")
	}
	var org *modeldoc.Organization
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		var err error
		org, err = s.createOrganization(ctx, tx, name)
		return err
	})
	return org, err
}

func (s *Store) createOrganization(ctx context.Context, tx *sql.Tx, name string) (*modeldoc.Organization, error) {
	if _, err := s.organizationByName(ctx, tx, name); err == nil {
		return nil, modeldoc.Errorf(modeldoc.ECONFLICT, "An organization named %q already exists.", name)
	} else if modeldoc.ErrorCode(err) != modeldoc.ENOTFOUND {
		return nil, err
	}
	org := &modeldoc.Organization{Name: name, CreatedAt: s.now()}
	if err := s.queryRow(ctx, tx, "INSERT INTO organizations (name, created_at) VALUES (?, ?) RETURNING id", name, org.CreatedAt).Scan(&org.ID); err != nil {
		return nil, internal("create organization", err)
	}
	return org, nil
}

// GetOrganization returns the organization with id, or ENOTFOUND.
func (s *Store) GetOrganization(ctx context.Context, id int64) (*modeldoc.Organization, error) {
	return s.scanOrganization(s.queryRow(ctx, s.read, "SELECT id, name, created_at FROM organizations WHERE id = ?", id),
		modeldoc.Errorf(modeldoc.ENOTFOUND, "No organization with id %d.", id))
}

// GetOrganizationByName returns the organization called name, or
// ENOTFOUND.
func (s *Store) GetOrganizationByName(ctx context.Context, name string) (*modeldoc.Organization, error) {
	return s.organizationByName(ctx, s.read, name)
}

func (s *Store) organizationByName(ctx context.Context, q querier, name string) (*modeldoc.Organization, error) {
	return s.scanOrganization(s.queryRow(ctx, q, "SELECT id, name, created_at FROM organizations WHERE name = ?", name),
		modeldoc.Errorf(modeldoc.ENOTFOUND, "No organization named %q. Create it with `modeldoc orgs create %s`.", name, name))
}

func (s *Store) scanOrganization(row *sql.Row, notFound error) (*modeldoc.Organization, error) {
	var org modeldoc.Organization
	var created sqldialect.Time
	if err := row.Scan(&org.ID, &org.Name, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound
		}
		return nil, internal("read organization", err)
	}
	org.CreatedAt = created.Time
	return &org, nil
}

// ListOrganizations returns every organization, by name.
func (s *Store) ListOrganizations(ctx context.Context) ([]modeldoc.Organization, error) {
	rows, err := s.query(ctx, s.read, "SELECT id, name, created_at FROM organizations ORDER BY "+s.byName("name"))
	if err != nil {
		return nil, internal("list organizations", err)
	}
	defer rows.Close()
	var out []modeldoc.Organization
	for rows.Next() {
		var org modeldoc.Organization
		var created sqldialect.Time
		if err := rows.Scan(&org.ID, &org.Name, &created); err != nil {
			return nil, internal("list organizations", err)
		}
		org.CreatedAt = created.Time
		out = append(out, org)
	}
	return out, internal("list organizations", rows.Err())
}

// EnsureDefaultOrganization returns the organization named "default",
// creating it on first use.
func (s *Store) EnsureDefaultOrganization(ctx context.Context) (*modeldoc.Organization, error) {
	if org, err := s.GetOrganizationByName(ctx, DefaultOrganization); err == nil {
		return org, nil
	}
	var org *modeldoc.Organization
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		// ON CONFLICT makes two processes starting at once agree.
		if _, err := s.exec(ctx, tx, "INSERT INTO organizations (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", DefaultOrganization, s.now()); err != nil {
			return internal("create default organization", err)
		}
		var err error
		org, err = s.organizationByName(ctx, tx, DefaultOrganization)
		return err
	})
	return org, err
}

// ListProjects returns the organization's projects, by name.
func (s *Store) ListProjects(ctx context.Context, orgID int64) ([]modeldoc.Project, error) {
	rows, err := s.query(ctx, s.read, "SELECT "+projectCols+" FROM projects WHERE org_id = ? ORDER BY "+s.byName("name"), orgID)
	if err != nil {
		return nil, internal("list projects", err)
	}
	defer rows.Close()
	var out []modeldoc.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, internal("list projects", err)
		}
		out = append(out, *p)
	}
	return out, internal("list projects", rows.Err())
}

// GetProject returns the organization's project id, or ENOTFOUND.
func (s *Store) GetProject(ctx context.Context, orgID, id int64) (*modeldoc.Project, error) {
	p, err := scanProject(s.queryRow(ctx, s.read, "SELECT "+projectCols+" FROM projects WHERE org_id = ? AND id = ?", orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No project with id %d.", id)
	}
	if err != nil {
		return nil, internal("get project", err)
	}
	return p, nil
}

const projectCols = "id, org_id, name, source, path, schema_version, dbt_version, adapter_type, imported_at"

type scanner interface{ Scan(dest ...any) error }

func scanProject(r scanner) (*modeldoc.Project, error) {
	var p modeldoc.Project
	var at sqldialect.Time
	if err := r.Scan(&p.ID, &p.OrgID, &p.Name, &p.Source, &p.Path, &p.SchemaVersion, &p.DbtVersion, &p.AdapterType, &at); err != nil {
		return nil, err
	}
	p.ImportedAt = at.Time
	return &p, nil
}
