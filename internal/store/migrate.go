package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
)

// Migrations are append-only: a file, once released, never changes; a
// change to the schema is a new file. Any file named NNNN_name.sql in the
// dialect's folder is picked up, so other packages' tables (jobs) live in
// the same sequence.
//
//go:embed migrations/*/*.sql
var migrationFS embed.FS

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

type migration struct {
	version int
	name    string
	sql     string
}

// migrationsLockKey is the PostgreSQL advisory lock that serializes
// processes migrating the same database at once ("modeldoc" in ASCII).
const migrationsLockKey = 0x6d6f64656c646f63

func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(s.dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("store: migration file %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("store: migrations %s and %s share number %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: m[2], sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies, in order and each in its own transaction, every
// migration not yet recorded in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return internal("migrate: connect", err)
	}
	defer conn.Close()
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationsLockKey)); err != nil {
			return internal("migrate: lock", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationsLockKey))
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TIMESTAMP NOT NULL)`
	if s.dialect == Postgres {
		create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL)`
	}
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return internal("migrate: create schema_migrations", err)
	}
	for _, m := range ms {
		if err := s.applyMigration(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return internal("migrate: begin", err)
	}
	defer tx.Rollback()
	// Checked inside the transaction: on SQLite, BEGIN IMMEDIATE holds the
	// write lock, so another process that migrated first is seen here.
	var n int
	if err := tx.QueryRowContext(ctx, s.Rebind("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return internal("migrate: read schema_migrations", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("store: migration %04d_%s: %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.Rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"), m.version, m.name, s.now()); err != nil {
		return internal("migrate: record", err)
	}
	if err := tx.Commit(); err != nil {
		return internal("migrate: commit", err)
	}
	return nil
}

// MigrationsApplied reports whether every migration this binary knows has
// been applied, for readiness checks.
func (s *Store) MigrationsApplied(ctx context.Context) (bool, error) {
	ms, err := s.migrations()
	if err != nil {
		return false, err
	}
	rows, err := s.read.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return false, internal("read schema_migrations", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return false, internal("read schema_migrations", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return false, internal("read schema_migrations", err)
	}
	for _, m := range ms {
		if !applied[m.version] {
			return false, nil
		}
	}
	return true, nil
}
