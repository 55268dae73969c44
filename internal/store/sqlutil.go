package store

import (
	"encoding/json"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// inIDs returns "col IN (<ids from one JSON parameter>)".
func (s *Store) inIDs(col string) string { return sqldialect.InIDs(s.dialect == Postgres, col) }

// forUpdate locks the selected rows on PostgreSQL.
func (s *Store) forUpdate() string { return sqldialect.ForUpdate(s.dialect == Postgres) }

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

// jsonTestArgs reads columns.test_args; jsonConfig objects.config (nil
// when the project says nothing a prompt shows).
func jsonTestArgs(s string) []modeldoc.ColumnTest {
	if s == "" || s == "null" || s == "[]" {
		return nil
	}
	var out []modeldoc.ColumnTest
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

func jsonConfig(s string) *modeldoc.ObjectConfig {
	if s == "" || s == "null" || s == "{}" {
		return nil
	}
	var out modeldoc.ObjectConfig
	if json.Unmarshal([]byte(s), &out) != nil || out.Empty() {
		return nil
	}
	return &out
}

// testArgsJSON and configJSON are what the import writes: '[]' and '{}'
// for nothing, so that rows written before migration 0022 read the same.
func testArgsJSON(t []modeldoc.ColumnTest) string {
	if len(t) == 0 {
		return "[]"
	}
	return marshalJSON(t)
}

func configJSON(c *modeldoc.ObjectConfig) string {
	if c.Empty() {
		return "{}"
	}
	return marshalJSON(c)
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
