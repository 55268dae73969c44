// Package modeldoctest holds helpers for tests of other packages: stores
// on real SQLite and PostgreSQL, and the paths of the shared datasets. It
// is for _test.go files only.
package modeldoctest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/testenv"
)

// PostgresEnv names the variable that turns on the PostgreSQL half of the
// tests: a URL of a database the tests may create databases from, or "1"
// for DefaultPostgresURL.
const PostgresEnv = "MODELDOC_TEST_POSTGRES"

// DefaultPostgresURL is the server of the development and CI machines.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the administrative URL from MODELDOC_TEST_POSTGRES,
// or "" when the variable is unset.
func PostgresURL() string {
	v := os.Getenv(PostgresEnv)
	switch v {
	case "":
		return ""
	case "1", "true", "yes":
		return DefaultPostgresURL
	}
	return v
}

// NewSQLiteStore opens a store on a fresh SQLite file in a temporary
// folder, closed when the test ends.
func NewSQLiteStore(tb testing.TB, opts ...store.Option) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "modeldoc.db"), opts...)
	if err != nil {
		tb.Fatalf("open SQLite store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// NewPostgresStore opens a store on a fresh, empty PostgreSQL database
// dropped when the test ends. It skips the test unless
// MODELDOC_TEST_POSTGRES is set.
func NewPostgresStore(tb testing.TB, opts ...store.Option) *store.Store {
	tb.Helper()
	dsn := PostgresDSN(tb)
	s, err := store.Open(context.Background(), dsn, opts...)
	if err != nil {
		tb.Fatalf("open PostgreSQL store: %v", err)
	}
	// Registered after PostgresDSN's cleanup, so it runs first: the
	// database is dropped once the store's connections are closed.
	tb.Cleanup(func() { s.Close() })
	return s
}

// PostgresDSN creates an empty database (modeldoc_t_<random>) and returns
// its URL, for tests that open it themselves or hand it to a child
// process. The database is dropped, connections and all, when the test
// ends. It skips the test unless MODELDOC_TEST_POSTGRES is set.
//
// A database per test rather than a schema: River and our migrations then
// run exactly as in production (no search_path), and advisory locks,
// LISTEN channels and extensions of one test cannot reach another.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	admin := PostgresURL()
	if admin == "" {
		testenv.Missing(tb, "PostgreSQL tests are off: set %s=1 (or a URL) to run them", PostgresEnv)
	}
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("%s is not a URL: %v", PostgresEnv, err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("connect to PostgreSQL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "modeldoc_t_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// ForEachBackend runs fn as a subtest on a fresh SQLite store, and on a
// fresh PostgreSQL store when MODELDOC_TEST_POSTGRES is set.
func ForEachBackend(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, NewSQLiteStore(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, NewPostgresStore(t)) })
}

// DatasetsDir returns the absolute path of shared/dbt-datasets (see
// dbttest.Dir), or skips the test when the datasets are not on this machine.
func DatasetsDir(tb testing.TB) string {
	tb.Helper()
	return dbttest.Dir(tb)
}
