package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dbTime scans a timestamp from either backend: PostgreSQL and SQLite
// columns declared TIMESTAMP give a time.Time, but SQLite can also hand
// back the text modernc wrote.
type dbTime struct {
	Time  time.Time
	Valid bool
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
}

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = dbTime{}
		return nil
	case time.Time:
		*t = dbTime{Time: v.UTC(), Valid: true}
		return nil
	case []byte:
		return t.parse(string(v))
	case string:
		return t.parse(v)
	case int64:
		*t = dbTime{Time: time.Unix(v, 0).UTC(), Valid: true}
		return nil
	}
	return fmt.Errorf("jobs: cannot scan %T into a time", src)
}

func (t *dbTime) parse(s string) error {
	for _, l := range timeLayouts {
		if tt, err := time.Parse(l, s); err == nil {
			*t = dbTime{Time: tt.UTC(), Valid: true}
			return nil
		}
	}
	return fmt.Errorf("jobs: cannot parse time %q", s)
}

func (t dbTime) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

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

// idList encodes ids as a JSON array bound as one parameter, so no
// parameter limit is ever reached.
func idList(ids []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte(']')
	return b.String()
}

// inIDs returns "col IN (<ids from one JSON parameter>)".
func (m *Manager) inIDs(col string) string {
	if m.store.IsPostgres() {
		return col + " IN (SELECT CAST(jsonb_array_elements_text(CAST(CAST(? AS text) AS jsonb)) AS bigint))"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

func (m *Manager) forUpdate() string {
	if m.store.IsPostgres() {
		return " FOR UPDATE"
	}
	return ""
}

func (m *Manager) now() time.Time { return m.clock().UTC().Round(time.Microsecond) }
