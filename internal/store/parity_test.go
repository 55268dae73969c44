package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
)

// TestMigrationParity checks that the SQLite and PostgreSQL migration sets
// build the same tables with the same columns: the two sets are written by
// hand, side by side, and a column added to one only would surface as a
// query that fails on one backend in production.
func TestMigrationParity(t *testing.T) {
	ctx := context.Background()
	lite := modeldoctest.NewSQLiteStore(t)
	pg := modeldoctest.NewPostgresStore(t)

	liteCols := schemaColumns(t, ctx, lite.ReadDB(), `
		SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table'`)
	pgCols := schemaColumns(t, ctx, pg.ReadDB(), `
		SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema()`)

	// Tables only one backend has, each for a reason of that backend.
	onlyLite := map[string]string{}
	onlyPG := map[string]string{
		// Shared token buckets for processes that share a database; on
		// SQLite the one process keeps its limits in memory.
		"rate_limits": "PostgreSQL-only limiter state",
	}
	for table := range liteCols {
		if _, ok := pgCols[table]; !ok && ours(table) {
			if _, known := onlyLite[table]; !known {
				t.Errorf("table %s exists on SQLite only", table)
			}
		}
	}
	for table := range pgCols {
		if _, ok := liteCols[table]; !ok && ours(table) {
			if _, known := onlyPG[table]; !known {
				t.Errorf("table %s exists on PostgreSQL only", table)
			}
		}
	}
	checked := 0
	for table, lc := range liteCols {
		pc, ok := pgCols[table]
		if !ok || !ours(table) {
			continue
		}
		checked++
		if !slices.Equal(lc, pc) {
			t.Errorf("table %s: columns differ\n  sqlite:   %s\n  postgres: %s", table, strings.Join(lc, ", "), strings.Join(pc, ", "))
		}
	}
	if checked < 10 {
		t.Fatalf("only %d tables compared: the schema queries found too little", checked)
	}
}

// ours leaves out River's tables (River migrates them itself, per driver)
// and each backend's own bookkeeping.
func ours(table string) bool {
	return !strings.HasPrefix(table, "river_") && !strings.HasPrefix(table, "sqlite_")
}

func schemaColumns(t *testing.T, ctx context.Context, db *sql.DB, query string) map[string][]string {
	t.Helper()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		out[table] = append(out[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(fmt.Errorf("schema query: %w", err))
	}
	for _, cols := range out {
		slices.Sort(cols)
	}
	return out
}
