package jobs

import (
	"context"
	"database/sql"
	"time"

	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (m *Manager) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return m.stmts(q).Exec(ctx, q, m.store.Rebind(query), args...)
}

func (m *Manager) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return m.stmts(q).Query(ctx, q, m.store.Rebind(query), args...)
}

func (m *Manager) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return m.stmts(q).QueryRow(ctx, q, m.store.Rebind(query), args...)
}

// stmts is the statement cache for q: transactions run on the write
// handle (see withTx), plain reads on the read pool.
func (m *Manager) stmts(q querier) *sqldialect.Stmts {
	if db, ok := q.(*sql.DB); ok && db == m.store.ReadDB() && db != m.store.DB() {
		return m.readStmts
	}
	return m.writeStmts
}

// inIDs returns "col IN (<ids from one JSON parameter>)".
func (m *Manager) inIDs(col string) string { return sqldialect.InIDs(m.store.IsPostgres(), col) }

func (m *Manager) forUpdate() string { return sqldialect.ForUpdate(m.store.IsPostgres()) }

func (m *Manager) now() time.Time { return m.clock().UTC().Round(time.Microsecond) }
