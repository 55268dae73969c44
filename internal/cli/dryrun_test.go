package cli_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// storeState is every row of every table of the store at db (a SQLite
// file or a postgres:// URL), one line per table: the row count and a
// digest of the rows, so that a write anywhere shows.
func storeState(t *testing.T, db string) string {
	t.Helper()
	driver, dsn := "pgx", db
	list := `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`
	if !strings.HasPrefix(db, "postgres") {
		driver, dsn = "sqlite", "file:"+(&url.URL{Path: db}).EscapedPath()+"?mode=ro"
		list = `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1`
	}
	h, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var tables []string
	rows, err := h.Query(list)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, tb := range tables {
		rs, err := h.Query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		n := 0
		var all bytes.Buffer
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&all, "%v\n", vals)
			n++
		}
		rs.Close()
		fmt.Fprintf(&b, "%s %d rows %x\n", tb, n, all.Len())
		fmt.Fprintf(&b, "%s\n", all.String())
	}
	return b.String()
}

// estimateBlock is the estimate a human run prints, from "Estimate for"
// to the first blank line.
func estimateBlock(t *testing.T, stdout string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)Estimate for .*?\n\n`).FindString(stdout + "\n\n")
	if m == "" {
		t.Fatalf("no estimate in:\n%s", stdout)
	}
	return m
}

// runBinary runs the built modeldoc with stdin /dev/null.
func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(modeldocBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// TestDryRunWritesNothing: `generate PATH --dry-run` reads the project,
// plans and estimates, and leaves the store as it was (a SQLite file that
// did not exist is not created); its estimate is the one a real run
// prints, also on a project already imported and partly documented,
// whose changed model it must see (as the real run's import would) and
// whose documentation it must skip.
func TestDryRunWritesNothing(t *testing.T) {
	offlineEnv(t)
	priced := []string{"--provider", "openai", "--model", "gpt-4o-mini", "--budget", "0.000001", "--price-in", "1", "--price-out", "2"}

	t.Run("no store yet", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "absent")
		db := filepath.Join(dir, "m.db")
		r := runBinary(t, append([]string{"--db", db, "generate", shop(t), "--dry-run"}, priced...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "the store was not changed") {
			t.Fatalf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("the dry run created %s (%v)", dir, err)
		}
		// A real run on an empty store estimates the same.
		real := runBinary(t, append([]string{"--db", db, "generate", shop(t)}, priced...)...)
		if real.code == 0 || !strings.Contains(real.stderr, "exceeds the budget") {
			t.Fatalf("the real run was not refused over budget: exit %d\n%s%s", real.code, real.stdout, real.stderr)
		}
		if d, g := estimateBlock(t, r.stdout), estimateBlock(t, real.stdout); d != g {
			t.Fatalf("dry run estimate:\n%s\nreal run estimate:\n%s", d, g)
		}
	})

	forEachDB(t, func(t *testing.T, db string) {
		dir := copyTree(t, shop(t))
		runJSON(t, db, "import", dir)
		runJSON(t, db, "generate", "--select", "stg_*")
		runJSON(t, db, "generate", "--select", "dim_*")
		sqlFile := filepath.Join(dir, "models", "staging", "stg_orders.sql")
		b, err := os.ReadFile(sqlFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sqlFile, append(b, "\n-- changed after it was documented\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		before := storeState(t, db)
		dry := runBinary(t, append([]string{"--db", db, "generate", dir, "--dry-run"}, priced...)...)
		if dry.code != 0 {
			t.Fatalf("dry run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
		}
		if after := storeState(t, db); after != before {
			t.Fatalf("the dry run changed the store:\nbefore:\n%.2000s\nafter:\n%.2000s", before, after)
		}
		skipped := regexp.MustCompile(`to document\s+(\d+) \((\d+) skipped`).FindStringSubmatch(dry.stdout)
		if skipped == nil || skipped[2] == "0" {
			t.Fatalf("the dry run does not see the documentation in the store:\n%s", dry.stdout)
		}
		real := runBinary(t, append([]string{"--db", db, "generate", dir}, priced...)...)
		if real.code == 0 || !strings.Contains(real.stderr, "exceeds the budget") {
			t.Fatalf("the real run was not refused over budget: exit %d\n%s%s", real.code, real.stdout, real.stderr)
		}
		d, g := estimateBlock(t, dry.stdout), estimateBlock(t, real.stdout)
		if strings.HasPrefix(db, "postgres") {
			// The project is in the store: the PostgreSQL dry run reads it as
			// last imported, before the change to stg_orders; said so.
			if !strings.Contains(dry.stdout, "was not imported") {
				t.Fatalf("the PostgreSQL dry run does not say what it estimated:\n%s", dry.stdout)
			}
			// After the real run's import, the dry run sees the change too.
			again := runBinary(t, append([]string{"--db", db, "generate", dir, "--dry-run"}, priced...)...)
			d = estimateBlock(t, again.stdout)
		}
		if d != g {
			t.Fatalf("dry run estimate:\n%s\nreal run estimate:\n%s", d, g)
		}
	})
}
