// Package store keeps modeldoc's catalog, documentation, API tokens and
// provider keys in SQLite (the default) or PostgreSQL, over database/sql
// with one code path: queries are written once with `?` placeholders and a
// small dialect value rebinds them for PostgreSQL. Every exported method is
// one transaction; unexported helpers that take a *sql.Tx compose.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	_ "modernc.org/sqlite"             // registers driver "sqlite"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobstore"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
	"github.com/modeldoc/modeldoc/internal/sqlitestmt"
)

// Dialect names the SQL flavour a Store speaks.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is modeldoc's database. It is safe for concurrent use.
type Store struct {
	// Now is the clock every timestamp the store writes comes from, so that
	// tests can pin time. Defaults to time.Now.
	Now func() time.Time

	dialect Dialect
	dsn     string
	path    string
	write   *sql.DB
	read    *sql.DB

	jobsOnce sync.Once
	jobs     jobstore.Store
}

// JobStore is the job engine's storage on this store's handles.
func (s *Store) JobStore() jobstore.Store {
	s.jobsOnce.Do(func() { s.jobs = jobstore.New(s.write, s.read, s.dialect == Postgres) })
	return s.jobs
}

// Option configures Open.
type Option func(*Store)

// WithNow injects the clock. Defaults to time.Now.
func WithNow(now func() time.Time) Option {
	return func(s *Store) { s.Now = now }
}

// Open opens (creating if needed) the store at dsn and applies every
// migration that has not run yet. dsn is a SQLite file path, or a
// postgres:// (or postgresql://) URL.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "No database given: pass --db PATH (a SQLite file) or a postgres:// URL.")
	}
	s := &Store{Now: time.Now, dsn: dsn}
	for _, o := range opts {
		o(s)
	}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		err = s.openPostgres(ctx)
	} else {
		err = s.openSQLite(ctx)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) openPostgres(ctx context.Context) error {
	s.dialect = Postgres
	db, err := sql.Open("pgx", s.dsn)
	if err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "Cannot read the PostgreSQL URL: %v. Use postgres://user@host:5432/dbname.", redact(err))
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.write, s.read = db, db
	if err := db.PingContext(ctx); err != nil {
		return modeldoc.Errorf(modeldoc.EINTERNAL, "Cannot reach PostgreSQL at %s: %v. Check that the server is running and the URL is right.", redactDSN(s.dsn), redact(err))
	}
	return nil
}

func (s *Store) openSQLite(ctx context.Context) error {
	s.dialect = SQLite
	path := strings.TrimPrefix(strings.TrimPrefix(s.dsn, "sqlite://"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == ":memory:" || path == "" {
		return modeldoc.Errorf(modeldoc.EINVALID, "An in-memory SQLite database cannot be shared between connections: pass a file path to --db.")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("store: resolve %s: %w", path, err)
	}
	s.path = abs
	if err := createPrivate(abs); err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "Cannot create the database %s: %v.", abs, err)
	}
	// River and the application share this file, and River's SQLite driver
	// is only safe with one connection per handle: writes go through a
	// single connection (no SQLITE_BUSY between our own writers), and
	// _txlock=immediate takes the write lock at BEGIN so that a transaction
	// never fails half-way when it upgrades from read to write. Reads use
	// their own pool: WAL lets them run beside the writer.
	base := "file:" + (&url.URL{Path: abs}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sqlitestmt.Open(base+"&_txlock=immediate", sqlitestmt.DefaultSize)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s.write = w
	if err := pingSQLite(ctx, w); err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "Cannot open the SQLite database %s: %v.", abs, err)
	}
	r, err := sqlitestmt.Open(base+"&_pragma=query_only(1)", sqlitestmt.DefaultSize)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", abs, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.read = r
	return nil
}

// createPrivate creates the database file (0600) and its folder (0700)
// when they do not exist: the file holds API token hashes and sealed
// provider keys. SQLite gives its -wal and -shm files the mode of the
// database file. The modes are set explicitly, whatever the umask; an
// existing file or folder is left as its owner set it.
func createPrivate(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pingSQLite opens the first connection, which sets the file's pragmas.
// Two processes creating the same new database at once (a generate and a
// jobs show, or several tests) can meet SQLITE_BUSY while one of them
// switches the new file to WAL, a step SQLite's busy timeout does not
// cover; that passes within milliseconds, so it is retried for a while.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// DB is the handle for writes (on SQLite, the single write connection).
// Never use it while holding a transaction from it on SQLite: with one
// connection that blocks forever.
func (s *Store) DB() *sql.DB { return s.write }

// ReadDB is the handle for reads; on PostgreSQL it is DB().
func (s *Store) ReadDB() *sql.DB { return s.read }

// Ping checks that the database answers (on the read handle, which is the
// whole pool on PostgreSQL).
func (s *Store) Ping(ctx context.Context) error { return s.read.PingContext(ctx) }

// SetPoolSize caps the connections of a PostgreSQL store (a worker of
// many processes on one database); SQLite's handles keep their sizes.
func (s *Store) SetPoolSize(maxOpen int) {
	if s.dialect != Postgres || maxOpen <= 0 {
		return
	}
	s.write.SetMaxOpenConns(maxOpen)
	s.write.SetMaxIdleConns(min(maxOpen, 8))
}

// Dialect reports the SQL flavour.
func (s *Store) Dialect() Dialect { return s.dialect }

// IsPostgres reports whether the store is on PostgreSQL.
func (s *Store) IsPostgres() bool { return s.dialect == Postgres }

// DSN is the string the store was opened with.
func (s *Store) DSN() string { return s.dsn }

// Path is the absolute SQLite file path, or "" on PostgreSQL.
func (s *Store) Path() string { return s.path }

// Close closes both pools. It is safe to call twice.
func (s *Store) Close() error {
	var errs []error
	if s.read != nil && s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	s.read, s.write = nil, nil
	return errors.Join(errs...)
}

// Rebind turns the `?` placeholders of q into `$1, $2, ...` on PostgreSQL.
func (s *Store) Rebind(q string) string { return sqldialect.Rebind(s.dialect == Postgres, q) }

// WithTx runs fn in a write transaction, committing when it returns nil and
// rolling back otherwise (also on panic).
func (s *Store) WithTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return sqldialect.InTx(ctx, s.write, internal, fn)
}

// now is the store's clock in UTC, rounded to microseconds because that is
// what PostgreSQL keeps: a value read back equals the value written.
func (s *Store) now() time.Time { return s.Now().UTC().Round(time.Microsecond) }

// internal wraps a database failure. Its message never reaches a user:
// modeldoc.ErrorMessage answers "Internal error." for it.
func internal(what string, err error) error {
	if err == nil {
		return nil
	}
	var e *modeldoc.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// q runs a rebound query on a transaction, the read pool or any querier.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, s.Rebind(query), args...)
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.Rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.Rebind(query), args...)
}

// redactDSN hides a password in a URL before it appears in a message.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func redact(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "password="); i >= 0 {
		msg = msg[:i] + "password=xxxxx"
	}
	return msg
}
