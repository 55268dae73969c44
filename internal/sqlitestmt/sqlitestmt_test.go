package sqlitestmt

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func open(t testing.TB, size int) *sql.DB {
	t.Helper()
	db, err := Open("file:"+filepath.Join(t.TempDir(), "t.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)", size)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// kept reports how many statements the handle's one connection keeps.
func kept(t *testing.T, db *sql.DB) int {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := -1
	if err := c.Raw(func(dc any) error {
		n = dc.(*conn).lru.Len()
		if len(dc.(*conn).byText) != n {
			t.Errorf("map holds %d statements, list %d", len(dc.(*conn).byText), n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func insert(t *testing.T, db *sql.DB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := db.Exec(`INSERT INTO t (name) VALUES (?)`, n); err != nil {
			t.Fatal(err)
		}
	}
}

func names(t *testing.T, q interface {
	Query(string, ...any) (*sql.Rows, error)
}, query string, args ...any) []string {
	t.Helper()
	rows, err := q.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRepeatedTextIsKeptOnceAndAnswersWithFreshArguments(t *testing.T) {
	db := open(t, 8)
	insert(t, db, "a", "b", "c")
	before := kept(t, db)
	for i, want := range []string{"a", "b", "c", "a"} {
		got := names(t, db, `SELECT name FROM t WHERE id = ?`, []int{1, 2, 3, 1}[i])
		if len(got) != 1 || got[0] != want {
			t.Fatalf("run %d: got %v, want [%s]", i, got, want)
		}
	}
	if n := kept(t, db); n != before+1 {
		t.Fatalf("kept %d statements after four runs of one text, want %d", n, before+1)
	}
}

// A transaction may run a text again while rows of that text are open: the
// second run must not reset the first's statement under it.
func TestSameTextWhileItsRowsAreOpen(t *testing.T) {
	db := open(t, 8)
	insert(t, db, "a", "b", "c")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT name FROM t WHERE id >= ? ORDER BY id`
	outer, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var s string
		if err := outer.Scan(&s); err != nil {
			t.Fatal(err)
		}
		inner := names(t, tx, q, 2)
		got = append(got, s+":"+strings.Join(inner, ""))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if want := "a:bc b:bc c:bc"; strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
}

func TestSchemaChangeIsSeenByAKeptStatement(t *testing.T) {
	db := open(t, 8)
	insert(t, db, "a")
	cols := func() int {
		rows, err := db.Query(`SELECT * FROM t`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, _ := rows.Columns()
		return len(c)
	}
	if n := cols(); n != 2 {
		t.Fatalf("%d columns, want 2", n)
	}
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN extra TEXT`); err != nil {
		t.Fatal(err)
	}
	if n := cols(); n != 3 {
		t.Fatalf("after ALTER TABLE: %d columns, want 3", n)
	}
}

func TestFailedStatementIsDroppedAndTheTextStillWorks(t *testing.T) {
	db := open(t, 8)
	insert(t, db, "a")
	base := kept(t, db)
	_, err := db.Exec(`INSERT INTO t (name) VALUES (?)`, "a")
	if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("duplicate insert: err = %v, want a UNIQUE violation", err)
	}
	if n := kept(t, db); n != base-1 {
		t.Fatalf("kept %d after the failure, want %d (the failed statement dropped)", n, base-1)
	}
	insert(t, db, "b")
	if got := names(t, db, `SELECT name FROM t ORDER BY id`); strings.Join(got, ",") != "a,b" {
		t.Fatalf("got %v", got)
	}
}

func TestEvictionKeepsTheSizeAndSparesOpenRows(t *testing.T) {
	db := open(t, 2)
	insert(t, db, "a", "b", "c")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(`SELECT name FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	// Three more texts push the open one out while its rows are read.
	var got []string
	for i := 0; rows.Next(); i++ {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
		for _, q := range []string{`SELECT 1`, `SELECT 2`, `SELECT 3`} {
			var n int
			if err := tx.QueryRow(q).Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("rows read across evictions: %v", got)
	}
	tx.Rollback()
	if n := kept(t, db); n > 2 {
		t.Fatalf("kept %d statements, size is 2", n)
	}
}

func TestCancelledQueryLeavesTheTextUsable(t *testing.T) {
	db := open(t, 8)
	insert(t, db, "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const q = `SELECT name FROM t`
	if _, err := db.QueryContext(ctx, q); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := names(t, db, q); len(got) != 1 || got[0] != "a" {
		t.Fatalf("got %v", got)
	}
}

func TestLongTextsAreNotKept(t *testing.T) {
	db := open(t, 8)
	base := kept(t, db)
	long := `SELECT 1 /*` + strings.Repeat("x", maxCachedLen) + `*/`
	var n int
	if err := db.QueryRow(long).Scan(&n); err != nil || n != 1 {
		t.Fatalf("n = %d, err = %v", n, err)
	}
	if got := kept(t, db); got != base {
		t.Fatalf("kept %d, want %d", got, base)
	}
}

// BenchmarkQuery compares a short indexed read through a kept statement
// with the same read compiled each time (plain sql.Open("sqlite")).
func BenchmarkQuery(b *testing.B) {
	for _, mode := range []string{"kept", "compiled-each-time"} {
		b.Run(mode, func(b *testing.B) {
			dsn := "file:" + filepath.Join(b.TempDir(), "b.db") + "?_pragma=journal_mode(WAL)"
			var db *sql.DB
			var err error
			if mode == "kept" {
				db, err = Open(dsn, DefaultSize)
			} else {
				db, err = sql.Open("sqlite", dsn)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, job_id INTEGER, status TEXT, run INTEGER, object_id INTEGER, name TEXT, attempts INTEGER)`); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO items (job_id, status, run, object_id, name, attempts) VALUES (1, 'running', 1, 7, 'x', 0)`); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				var status, name string
				var run, obj, attempts int64
				if err := db.QueryRow(`SELECT status, run, object_id, name, attempts FROM items WHERE id = ? AND job_id = ?`, 1, 1).
					Scan(&status, &run, &obj, &name, &attempts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
