package prompt

import (
	"fmt"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/tokens"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// chooseSQL picks the SQL a prompt shows. The raw SQL names upstreams as
// the project does (ref, source) and is usually the shorter, so it is
// shown whenever it fits the budget. Otherwise the compiled SQL (or the
// raw when there is none) is cut to its head and its final SELECT, which
// says what the model returns, with a marker of what was left out between.
func chooseSQL(o *modeldoc.Object, budget int) (kind, sql string) {
	raw, compiled := strings.TrimSpace(o.RawSQL), strings.TrimSpace(o.CompiledSQL)
	if raw != "" && fits(raw, budget) {
		return "raw dbt SQL: Jinja not compiled", raw
	}
	kind, sql = "compiled: Jinja resolved", compiled
	if sql == "" {
		kind, sql = "raw dbt SQL: Jinja not compiled", raw
	}
	return kind, cutSQL(sql, budget)
}

func fits(sql string, budget int) bool {
	// Every token is at least one byte: SQL no longer in bytes than the
	// budget in tokens fits without counting (counting is the dear part).
	return len(sql) <= budget || tokens.Count(sql) <= budget
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}

// testLines reads the columns' dbt tests: unique and not_null make the
// grain, accepted_values a column with a value list, relationships a key to
// another model. A test whose arguments the import could not read (Jinja)
// is still named, without them.
func testLines(cols []modeldoc.Column) (grain, notNull string, accepted, related []string) {
	var g, nn []string
	for _, c := range sortedColumns(cols) {
		has := map[string]bool{}
		for _, t := range c.Tests {
			has[strings.ToLower(t)] = true
		}
		name := line(c.Name)
		switch {
		case has["unique"] && has["not_null"]:
			g = append(g, name+" (unique, not null)")
		case has["unique"]:
			g = append(g, name+" (unique)")
		case has["not_null"]:
			nn = append(nn, name)
		}
		var av, rel bool
		for _, t := range c.TestArgs {
			switch t.Name {
			case "accepted_values":
				av = true
				accepted = append(accepted, "`"+name+"` accepted values: "+valueList(t.Values))
			case "relationships":
				rel = true
				to := line(t.To)
				if t.Field != "" {
					to += "." + line(t.Field)
				}
				related = append(related, "`"+name+"` → relationships to `"+to+"`")
			}
		}
		if has["accepted_values"] && !av {
			accepted = append(accepted, "`"+name+"` has an accepted_values test (its values are not known here)")
		}
		if has["relationships"] && !rel {
			related = append(related, "`"+name+"` has a relationships test (its target is not known here)")
		}
	}
	return strings.Join(g, ", "), strings.Join(nn, ", "), accepted, related
}

// maxValues caps an accepted_values list: a long list says "a closed set"
// as well as its head does, and costs tokens in every call.
const maxValues = 25

func valueList(values []string) string {
	var b strings.Builder
	for i, v := range values {
		if i == maxValues {
			fmt.Fprintf(&b, " and %d more", len(values)-maxValues)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + clip(line(v), 80) + "'")
	}
	return b.String()
}

// configLine says what the model's config tells of its rows and how its
// table is kept: "unique_key: `order_id` (incremental, merge)".
func configLine(materialization string, c *modeldoc.ObjectConfig) (key, contract string) {
	if c == nil {
		return "", ""
	}
	if len(c.UniqueKey) > 0 {
		names := make([]string, len(c.UniqueKey))
		for i, n := range c.UniqueKey {
			names[i] = "`" + line(n) + "`"
		}
		key = "unique_key: " + strings.Join(names, ", ")
		var how []string
		if m := line(materialization); m != "" {
			how = append(how, m)
		}
		if st := line(c.IncrementalStrategy); st != "" {
			how = append(how, st)
		}
		if len(how) > 0 {
			key += " (" + strings.Join(how, ", ") + ")"
		}
	} else if st := line(c.IncrementalStrategy); st != "" {
		key = "incremental_strategy: " + st
	}
	if c.ContractEnforced {
		contract = "enforced: the declared column names and data types are checked when the model is built"
	}
	return key, contract
}

// examples picks the project's own human descriptions near the model, for
// the writer to match the team's style: up to 3 model descriptions (the
// downstream models', then those of the objects farther along the lineage,
// Subject.Nearby, nearest first; the upstreams' are shown with them
// already) and up to 5 column descriptions of columns this model does not
// show (the direct neighbours', then the farther objects').
func examples(s *writer.Subject) (models, columns []string) {
	own := map[string]bool{}
	for _, c := range s.Object.Columns {
		own[strings.ToLower(c.Name)] = true
	}
	seenModel, seenCol := map[string]bool{}, map[string]bool{}
	addModel := func(n writer.Neighbor) {
		d := line(n.Object.Description)
		if d == "" || len(models) == 3 || seenModel[d] {
			return
		}
		seenModel[d] = true
		models = append(models, line(n.Object.Name)+": "+clip(d, 300))
	}
	addColumns := func(n writer.Neighbor) {
		for _, c := range n.Object.Columns {
			if len(columns) == 5 {
				return
			}
			d := clip(line(c.Description), 200)
			if !c.HumanDescription || own[strings.ToLower(c.Name)] || d == "" || seenCol[d] {
				continue
			}
			seenCol[d] = true
			columns = append(columns, line(n.Object.Name)+"."+line(c.Name)+": "+d)
		}
	}
	down, up := sortedNeighbors(s.Downstream), sortedNeighbors(s.Upstream)
	for _, n := range down {
		addModel(n)
	}
	for _, n := range s.Nearby {
		addModel(n)
	}
	for _, ns := range [][]writer.Neighbor{down, up, s.Nearby} {
		for _, n := range ns {
			addColumns(n)
		}
	}
	return models, columns
}

// selectWidth counts the columns the SQL's final SELECT returns, a star
// over a CTE counted as that CTE's own columns (a few levels deep); a star
// over anything else counts for nothing. It sizes the column layer's budget
// when the project lists fewer columns than the model returns.
func selectWidth(sql string) int {
	if strings.TrimSpace(sql) == "" {
		return 0
	}
	a := sqlscan.Analyze(sql)
	if a.Final == nil || len(a.Final.Selects) == 0 {
		return 0
	}
	return selWidth(a, a.Final.Selects[0], 4)
}

func selWidth(a *sqlscan.Analysis, sel *sqlscan.Select, depth int) int {
	n := 0
	for _, c := range sel.Columns {
		if c.Kind != sqlscan.ColumnStar {
			n++
			continue
		}
		if depth == 0 {
			continue
		}
		for _, r := range sel.From {
			if c.Qualifier != "" && !strings.EqualFold(c.Qualifier, r.Alias) && !strings.EqualFold(c.Qualifier, r.Name) {
				continue
			}
			if r.Kind != "cte" {
				continue
			}
			if cte := a.CTE(r.Name); cte != nil && cte.Query != nil && len(cte.Query.Selects) > 0 {
				n += selWidth(a, cte.Query.Selects[0], depth-1)
			}
		}
	}
	return n
}
