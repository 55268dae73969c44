// Package sqldialect holds the few SQL pieces that differ between SQLite
// and PostgreSQL, shared by every package that writes its own SQL (the
// store and the job engine), so both backends run one code path.
package sqldialect

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time scans a timestamp from either backend: PostgreSQL and SQLite
// columns declared TIMESTAMP give a time.Time, but SQLite expressions lose
// the declared type and give the text modernc wrote.
type Time struct {
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

// Scan implements sql.Scanner.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = Time{}
		return nil
	case time.Time:
		*t = Time{Time: v.UTC(), Valid: true}
		return nil
	case []byte:
		return t.parse(string(v))
	case string:
		return t.parse(v)
	case int64:
		*t = Time{Time: time.Unix(v, 0).UTC(), Valid: true}
		return nil
	}
	return fmt.Errorf("cannot scan %T into a time", src)
}

func (t *Time) parse(s string) error {
	for _, l := range timeLayouts {
		if tt, err := time.Parse(l, s); err == nil {
			*t = Time{Time: tt.UTC(), Valid: true}
			return nil
		}
	}
	return fmt.Errorf("cannot parse time %q", s)
}

// Ptr returns the time, or nil for NULL.
func (t Time) Ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// IDList encodes ids as a JSON array, for the membership fragment of
// InIDs: one bound parameter whatever the number of ids, so neither
// SQLite's nor PostgreSQL's parameter limit is ever reached.
func IDList(ids []int64) string {
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

// InIDs returns "col IN (<ids from one JSON parameter>)", the parameter
// being IDList's output.
func InIDs(postgres bool, col string) string {
	if postgres {
		return col + " IN (SELECT CAST(jsonb_array_elements_text(CAST(CAST(? AS text) AS jsonb)) AS bigint))"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// ForUpdate locks the selected rows on PostgreSQL; SQLite has one writer
// and needs nothing.
func ForUpdate(postgres bool) string {
	if postgres {
		return " FOR UPDATE"
	}
	return ""
}

// Rebind turns the `?` placeholders of q into `$1, $2, ...` on PostgreSQL.
// Question marks inside quoted strings are left alone.
func Rebind(postgres bool, q string) string {
	if !postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// InTx runs fn in a transaction on db, committed when fn returns nil and
// rolled back otherwise (also on panic). A failure to begin or commit is
// given to wrap with what failed ("begin transaction", "commit"), so each
// package reports it in its own words; fn's own error is returned as is.
func InTx(ctx context.Context, db *sql.DB, wrap func(what string, err error) error, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin transaction", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return wrap("commit", err)
	}
	return nil
}
