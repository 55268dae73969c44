package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dbTime scans a timestamp from either backend: PostgreSQL and SQLite
// columns declared TIMESTAMP give a time.Time, but SQLite expressions lose
// the declared type and give the text modernc wrote.
type dbTime struct {
	Time  time.Time
	Valid bool
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
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
	return fmt.Errorf("store: cannot scan %T into a time", src)
}

func (t *dbTime) parse(s string) error {
	for _, l := range timeLayouts {
		if tt, err := time.Parse(l, s); err == nil {
			*t = dbTime{Time: tt.UTC(), Valid: true}
			return nil
		}
	}
	return fmt.Errorf("store: cannot parse time %q", s)
}

func (t dbTime) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// nullTime is a nullable time argument.
func nullTime(t *time.Time) driver.Valuer {
	return nullTimeArg{t}
}

type nullTimeArg struct{ t *time.Time }

func (a nullTimeArg) Value() (driver.Value, error) {
	if a.t == nil {
		return nil, nil
	}
	return a.t.UTC(), nil
}

// idList encodes ids as a JSON array, for the membership fragment of
// inIDs: one bound parameter whatever the number of ids, so neither
// SQLite's nor PostgreSQL's parameter limit is ever reached.
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
func (s *Store) inIDs(col string) string {
	if s.dialect == Postgres {
		return col + " IN (SELECT CAST(jsonb_array_elements_text(CAST(CAST(? AS text) AS jsonb)) AS bigint))"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// forUpdate locks the selected rows on PostgreSQL; SQLite has one writer
// and needs nothing.
func (s *Store) forUpdate() string {
	if s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

func marshalJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func jsonStrings(s string) []string {
	if s == "" || s == "null" {
		return nil
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// byName orders by name the same way on both backends: bytewise, as
// SQLite does, rather than by the PostgreSQL database's locale.
func (s *Store) byName(col string) string {
	if s.dialect == Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}

func jsonMap(s string) map[string]any {
	if s == "" || s == "null" {
		return nil
	}
	var out map[string]any
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

// placeholders returns "(?,?,?),(?,?,?)" for rows rows of n columns.
func placeholders(rows, n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}
