package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// SQLitePath is the file a SQLite dsn names, or "" for a PostgreSQL URL.
func SQLitePath(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return ""
	}
	p := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// SnapshotSQLite copies the SQLite database at src into the new file dst
// (VACUUM INTO: one consistent snapshot, the WAL's committed pages
// included) without writing src: it is opened read-only and no migration
// runs on it, so a store of an older schema stays as it is. A dry run
// imports into the copy and estimates there, seeing the documentation the
// store already holds.
func SnapshotSQLite(ctx context.Context, src, dst string) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("store: resolve %s: %w", src, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("store: snapshot %s: %w", abs, err)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("store: open %s read-only: %w", abs, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("store: copy %s: %w", abs, err)
	}
	return nil
}
