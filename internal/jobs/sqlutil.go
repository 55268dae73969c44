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
	return q.ExecContext(ctx, m.store.Rebind(query), args...)
}

func (m *Manager) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, m.store.Rebind(query), args...)
}

func (m *Manager) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, m.store.Rebind(query), args...)
}

// inIDs returns "col IN (<ids from one JSON parameter>)".
func (m *Manager) inIDs(col string) string { return sqldialect.InIDs(m.store.IsPostgres(), col) }

func (m *Manager) forUpdate() string { return sqldialect.ForUpdate(m.store.IsPostgres()) }

func (m *Manager) now() time.Time { return m.clock().UTC().Round(time.Microsecond) }
