package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/store/storetest"
	"github.com/modeldoc/modeldoc/internal/testenv"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) *store.Store { return modeldoctest.NewSQLiteStore(t) })
}

func TestPostgres(t *testing.T) {
	if modeldoctest.PostgresURL() == "" {
		testenv.Missing(t, "set %s=1 to run the PostgreSQL half", modeldoctest.PostgresEnv)
	}
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) *store.Store { return modeldoctest.NewPostgresStore(t) })
}

func TestOpenSQLiteCreatesFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "modeldoc.db")
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != path || s.IsPostgres() {
		t.Fatalf("Path() = %q, IsPostgres() = %v", s.Path(), s.IsPostgres())
	}
	var mode string
	if err := s.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	var fk int
	if err := s.ReadDB().QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys on the read pool = %d, %v", fk, err)
	}
	if _, err := s.ReadDB().Exec("INSERT INTO organizations (name, created_at) VALUES ('x', '2020-01-01')"); err == nil {
		t.Fatal("the read pool accepted a write")
	}
	if s.DB().Stats().MaxOpenConnections != 1 {
		t.Fatalf("write pool allows %d connections, want 1", s.DB().Stats().MaxOpenConnections)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"", ":memory:"} {
		_, err := store.Open(ctx, dsn)
		if modeldoc.ErrorCode(err) != modeldoc.EINVALID {
			t.Errorf("Open(%q) = %v, want invalid", dsn, err)
		}
	}
	// Nothing listens on port 1; the message names the server without the
	// password.
	_, err := store.Open(ctx, "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if msg := modeldoc.ErrorMessage(err); strings.Contains(msg, "secret") || !strings.Contains(msg, "127.0.0.1:1") {
		t.Fatalf("message = %q", msg)
	}
}
