package offlinewriter

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// role guesses the model's place in a dbt project from its name and path.
func (f *facts) role() string {
	n := strings.ToLower(f.obj.Name)
	p := strings.ToLower(f.obj.FilePath)
	switch {
	case f.obj.Type == modeldoc.TypeSource:
		return "source table"
	case f.obj.Type == modeldoc.TypeSeed:
		return "seed (a CSV loaded by dbt)"
	case f.obj.Type == modeldoc.TypeSnapshot:
		return "snapshot"
	case strings.HasSuffix(n, "_tmp"):
		return "temporary base model"
	case strings.HasPrefix(n, "stg_") || strings.Contains(n, "__stg_") || strings.Contains(p, "staging/"):
		return "staging model"
	case strings.HasPrefix(n, "int_") || strings.Contains(n, "__int_") || strings.Contains(p, "intermediate/"):
		return "intermediate model"
	case strings.HasPrefix(n, "fct_") || strings.HasPrefix(n, "fact_"):
		return "fact model"
	case strings.HasPrefix(n, "dim_"):
		return "dimension model"
	}
	return "model"
}

// area is the business area the folder or name points at.
func (f *facts) area() string {
	if i := strings.Index(f.obj.Name, "__"); i > 0 {
		return humanize(f.obj.Name[:i])
	}
	if dir := strings.Split(strings.Trim(f.obj.FilePath, "/"), "/"); len(dir) > 1 {
		d := dir[len(dir)-2]
		if d != "models" && d != "staging" && d != "intermediate" {
			return humanize(d)
		}
	}
	if f.obj.Schema != "" {
		return humanize(f.obj.Schema)
	}
	return ""
}

// joinsOf lists the non-first relations of every SELECT.
func (f *facts) allJoins() []sqlscan.Relation {
	var out []sqlscan.Relation
	for _, s := range f.a.Selects {
		for _, r := range s.From {
			if r.Join != "from" && !f.isSelf(r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// upstreamNames are the dbt names the model reads, in SQL order, then any
// lineage neighbor the SQL did not show.
func (f *facts) upstreamNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range f.inputs() {
		n := f.relName(r)
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, nb := range f.subj.Upstream {
		if !seen[nb.Object.Name] {
			seen[nb.Object.Name] = true
			names = append(names, nb.Object.Name)
		}
	}
	return names
}

// grain says what one output row is, when the SQL makes it clear.
func (f *facts) grain() string {
	if cols := f.sqlGrain(); len(cols) > 0 {
		return "one row per " + list(ticks(cols), 6)
	}
	return ""
}

// outputChain is the final SELECT and the SELECTs it passes through
// unchanged in row count: "select ... from final" reads the CTE final,
// whose grain is the model's. It stops at a join, a union or a
// subquery, where the rows may multiply or mix.
func (f *facts) outputChain() []*sqlscan.Select {
	var chain []*sqlscan.Select
	sel := f.finalSelect()
	for depth := 0; sel != nil && depth < 40; depth++ {
		chain = append(chain, sel)
		if sel.GroupBy != "" || sel.Qualify != "" || len(sel.From) != 1 || sel.From[0].Kind != "cte" {
			break
		}
		c := f.a.CTE(sel.From[0].Name)
		if c == nil || c.Query == nil || len(c.Query.Selects) != 1 {
			break
		}
		sel = c.Query.Selects[0]
	}
	return chain
}

// sqlGrain reads the grain from the SQL: the GROUP BY or the QUALIFY
// ROW_NUMBER() partition of the SELECT that last sets the row count.
func (f *facts) sqlGrain() []string {
	for _, sel := range f.outputChain() {
		if sel.GroupBy != "" {
			var cols []string
			for _, part := range groupItems(sel) {
				if part == "" || strings.ContainsAny(part, "( ") {
					return nil
				}
				cols = append(cols, bare(part))
			}
			return cols
		}
		if sel.Qualify == "" {
			continue
		}
		for _, w := range sel.Windows {
			o := strings.ToLower(w.Over)
			i := strings.Index(o, "partition by ")
			if w.Name != "row_number" || i < 0 {
				continue
			}
			rest := w.Over[i+13:]
			if j := strings.Index(strings.ToLower(rest), "order by"); j >= 0 {
				rest = rest[:j]
			}
			var cols []string
			for _, p := range splitTop(strings.TrimSuffix(strings.TrimSpace(rest), ")"), ",") {
				if p = strings.TrimSpace(p); p == "" || strings.ContainsAny(p, "( ") {
					return nil
				}
				cols = append(cols, bare(p))
			}
			return cols
		}
		return nil
	}
	return nil
}

// actions are the verbs of what the model does, most telling first. They
// say what happens to the rows, never how many SQL constructs do it.
func (f *facts) actions() []string {
	var acts []string
	joins := f.allJoins()
	if len(joins) > 0 {
		var names []string
		seen := map[string]bool{}
		for _, r := range joins {
			name := f.importedName(r)
			if name == "" {
				continue
			}
			if n := "`" + name + "`"; !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			acts = append(acts, "joins in "+list(names, 4))
		} else {
			acts = append(acts, "joins its intermediate steps together")
		}
	}
	if f.a.SetOps > 0 {
		acts = append(acts, "stacks the rows of several inputs (UNION)")
	}
	aggregated, filtered, cases, aggCases, windows, casts := false, false, false, false, false, 0
	for _, s := range f.a.Selects {
		if s.GroupBy != "" || len(s.Aggregates) > 0 {
			aggregated = true
		}
		if len(f.filterConds(s)) > 0 {
			filtered = true
		}
		for _, c := range s.Cases {
			if c.Aggregate != "" {
				aggCases = true
			} else {
				cases = true
			}
		}
		windows = windows || len(s.Windows) > 0
		for _, c := range s.Columns {
			if c.Kind == sqlscan.ColumnCast {
				casts++
			}
		}
	}
	if g := f.grain(); g != "" && aggregated {
		acts = append(acts, "aggregates to "+g)
	} else if aggregated {
		acts = append(acts, "aggregates rows")
	} else if g != "" {
		acts = append(acts, "keeps "+g)
	} else if s := f.finalSelect(); s != nil && s.Distinct {
		acts = append(acts, "removes duplicate rows")
	}
	if filtered {
		acts = append(acts, "filters rows")
	}
	if aggCases {
		acts = append(acts, "counts or sums rows by condition")
	}
	if cases {
		acts = append(acts, "sorts values into categories")
	}
	if windows {
		acts = append(acts, "ranks or compares rows within groups")
	}
	if casts > 0 && len(acts) < 2 {
		acts = append(acts, "casts columns to consistent types")
	}
	if len(acts) == 0 {
		if src := f.upstreamNames(); len(src) > 0 {
			acts = append(acts, "selects and renames columns from `"+src[0]+"`")
		}
	}
	return acts
}

// filterConds are the conditions of a SELECT's WHERE that decide which
// rows the model holds: an incremental watermark is left out, it only
// decides which rows a run refreshes.
func (f *facts) filterConds(sel *sqlscan.Select) []string {
	if sel.Where == "" {
		return nil
	}
	var out []string
	for _, c := range conjuncts(sel.Where) {
		if strings.TrimSpace(c) != "" && !f.isWatermark(c) {
			out = append(out, c)
		}
	}
	return out
}

// isWatermark reports whether cond compares with the latest (or
// earliest) value the model itself already holds: "d >= (select max(d)
// from {{ this }})", or in compiled SQL the model's own relation.
func (f *facts) isWatermark(cond string) bool {
	l := strings.ToLower(cond)
	if !strings.Contains(l, "select") || !strings.Contains(l, "max(") && !strings.Contains(l, "min(") {
		return false
	}
	toks := sqlscan.Tokenize(cond)
	for i, t := range toks {
		if !t.Is("from") || i+1 >= len(toks) {
			continue
		}
		if n := toks[i+1]; n.Kind == sqlscan.Jinja && sqlscan.IsThis(n.Text) {
			return true
		}
		last := ""
		for j := i + 1; j < len(toks) && (toks[j].Kind == sqlscan.Ident || toks[j].Kind == sqlscan.QuotedIdent); {
			last = toks[j].Name()
			if j+1 < len(toks) && toks[j+1].Kind == sqlscan.Dot {
				j += 2
				continue
			}
			break
		}
		if last != "" && norm(last) == norm(f.obj.Name) {
			return true
		}
	}
	return false
}

// incremental describes how the model refreshes when dbt builds it
// incrementally: from its is_incremental() block, or in compiled SQL from
// a watermark condition. ok is false for a model that is rebuilt whole.
func (f *facts) incremental() (rule modeldoc.BusinessRule, ok bool) {
	var cond, ref string
	for _, b := range f.a.Incremental {
		text := strings.TrimSpace(b.Text)
		for _, kw := range []string{"where ", "and "} {
			if len(text) > len(kw) && strings.EqualFold(text[:len(kw)], kw) {
				text = text[len(kw):]
			}
		}
		for _, c := range conjuncts(text) {
			if f.isWatermark(c) {
				cond = c
				break
			}
		}
		ref = fmt.Sprintf("is_incremental() block, line %d: %s", b.Line, clip(b.Text, 200))
		if cond != "" {
			break
		}
	}
	if ref == "" {
		for _, st := range f.steps {
			for _, sel := range st.q.Selects {
				for _, c := range conjuncts(sel.Where) {
					if cond == "" && f.isWatermark(c) {
						cond = c
						ref = fmt.Sprintf("%s, line %d: WHERE %s", f.stepTitle(st), sel.Line, clip(c, 200))
					}
				}
			}
		}
	}
	if ref == "" {
		return rule, false
	}
	rule.Rule = "On incremental runs the model only adds or refreshes rows newer than what it already holds."
	if col, than := watermarkColumns(cond); col != "" {
		rule.Rule = "On incremental runs the model only processes rows whose `" + col + "` is " + than + "."
	}
	rule.CodeReference = ref
	rule.Impact = "This decides which rows a run refreshes, not which rows the model holds: a full refresh rebuilds every row, and late rows older than the watermark wait for one."
	return rule, true
}

// watermarkColumns reads "col >= (select max(col2) from ...)" into the
// column compared and the phrase for the comparison.
func watermarkColumns(cond string) (string, string) {
	c := oneLine(cond)
	for _, op := range []struct{ sep, words string }{{" >= ", "at or after"}, {" > ", "after"}} {
		i := strings.Index(c, op.sep)
		if i <= 0 || strings.ContainsAny(c[:i], "( ") {
			continue
		}
		rest := strings.ToLower(c[i+len(op.sep):])
		agg := "max("
		if strings.Contains(rest, "min(") && !strings.Contains(rest, "max(") {
			agg = "min("
		}
		j := strings.Index(rest, agg)
		if j < 0 {
			continue
		}
		k := strings.IndexByte(rest[j:], ')')
		if k < 0 {
			continue
		}
		inner := strings.TrimSpace(c[i+len(op.sep)+j+len(agg) : i+len(op.sep)+j+k])
		what := "the latest"
		if agg == "min(" {
			what = "the earliest"
		}
		return bare(c[:i]), op.words + " " + what + " `" + clip(bare(inner), 50) + "` already in the model"
	}
	return "", ""
}

func plural(n int, w string) string {
	if n == 1 {
		return "1 " + w
	}
	if strings.HasSuffix(w, "s") || strings.HasSuffix(w, "x") {
		return fmt.Sprintf("%d %ses", n, w)
	}
	return fmt.Sprintf("%d %ss", n, w)
}

// statesGrain reports whether a team's sentence already says what one row
// is ("One row per order with ..."): the summary then does not say it
// again in its own words ("One row per order id.").
func statesGrain(s string) bool {
	s = strings.ToLower(s)
	for _, p := range []string{"row per ", "rows per ", "row for each ", "row for every ", "grain"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func firstSentence(s string) string {
	s = oneLine(s)
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

// executiveSummary leads with what one row is and what the model is for,
// in plain words (no code in the first sentence); then what it does, how
// it refreshes and who reads it.
func (f *facts) executiveSummary() string {
	var b []string
	grain := f.plainGrain()
	if meaningful(f.obj.Description) {
		lead := firstSentence(f.obj.Description)
		b = append(b, sentence(lead))
		if grain != "" && !statesGrain(lead) {
			b = append(b, sentence(grain))
		}
	} else {
		b = append(b, sentence(f.leadSentence(grain)))
	}
	if acts := f.actions(); len(acts) > 0 {
		b = append(b, sentence("It "+list(acts, 0)))
	}
	if f.obj.Materialization == "incremental" || len(f.a.Incremental) > 0 {
		if r, ok := f.incremental(); ok {
			b = append(b, "It is built incrementally: "+strings.TrimPrefix(r.Rule, "On incremental runs the model "))
		} else {
			b = append(b, "It is built incrementally: each run adds or refreshes recent rows instead of rebuilding the table.")
		}
	}
	if n := len(f.subj.Downstream); n > 0 {
		var names []string
		for _, d := range f.subj.Downstream {
			names = append(names, d.Object.Name)
		}
		b = append(b, sentence(fmt.Sprintf("%s it directly (%s)%s", verb(n, "model reads", "models read"), list(ticks(names), 3), f.reachPhrase())))
	} else if f.endPoint() {
		b = append(b, "No model in the project reads it: it is an end point for dashboards, exports or analysts.")
	} else {
		b = append(b, "No model in the project reads it.")
	}
	if len(f.subj.Exposures) > 0 {
		var names []string
		for _, e := range f.subj.Exposures {
			names = append(names, exposureName(e))
		}
		b = append(b, sentence("Declared uses built on it: "+list(names, 3)))
	}
	return strings.Join(b, " ")
}

// endPoint reports whether a model no model reads is plausibly made for
// people to query: not a seed (HubSpot's integration-test seeds are read
// through a source that names their table, not by any model), nor a
// staging, base or intermediate step, which nothing reading it means is
// unused, not published.
func (f *facts) endPoint() bool {
	if len(f.subj.Downstream) > 0 || f.obj.Type != modeldoc.TypeModel {
		return false
	}
	switch f.role() {
	case "staging model", "intermediate model", "temporary base model":
		return false
	}
	return true
}

// leadSentence is the summary's first sentence when the team wrote no
// description: the grain and the purpose, without identifiers.
func (f *facts) leadSentence(grain string) string {
	what := plainName(f.obj.Name)
	if a := plainName(strings.ReplaceAll(f.area(), " ", "_") + "_x"); a != "x" && a != "seeds x" && a != "seed x" && a != "data x" && !strings.Contains(what, strings.TrimSuffix(a, " x")) {
		a = strings.TrimSuffix(a, " x")
		what = a + " " + what
	}
	what += " " + map[string]string{
		"staging model": "staging data", "intermediate model": "intermediate data", "fact model": "facts",
		"dimension model": "dimension", "temporary base model": "base data",
	}[f.role()]
	what = strings.TrimSpace(what)
	var s string
	if grain != "" {
		s = grain + " of the " + what
	} else {
		s = "The " + what
	}
	var ups []string
	for _, n := range f.upstreamNames() {
		// Two inputs can read the same in words (Tuva's summary models of
		// two areas, HubSpot's ticket source and model): once is enough.
		if p := plainName(n); !slices.Contains(ups, p) {
			ups = append(ups, p)
		}
	}
	if len(ups) > 0 {
		verb := "built from "
		if f.role() == "staging model" {
			verb = "cleaned up from "
		}
		s += ", " + verb + list(ups, 2)
	}
	if f.endPoint() {
		s += ", for reporting and analysis"
	}
	return s
}

// plainName turns a model name into words a business reader uses: the
// package or area prefix and the layer prefix (stg_, int_, fct_...) go.
func plainName(name string) string {
	n := strings.ToLower(name)
	if i := strings.LastIndex(n, "__"); i > 0 && i+2 < len(n) {
		n = n[i+2:]
	}
	for _, p := range []string{"stg_", "int_", "fct_", "fact_", "dim_", "base_", "prep_", "mart_", "rpt_", "src_"} {
		if strings.HasPrefix(n, p) && len(n) > len(p) {
			n = n[len(p):]
			break
		}
	}
	return humanize(strings.TrimSuffix(n, "_tmp"))
}

// grainColumns are the columns that make a row unique, as the project
// says it (a unique test) or the SQL shows it (the final GROUP BY, a
// QUALIFY that keeps one row per partition).
func (f *facts) grainColumns() []string {
	var unique []string
	for _, c := range f.obj.Columns {
		for _, t := range c.Tests {
			if t == "unique" || strings.HasSuffix(t, ".unique") {
				unique = append(unique, c.Name)
			}
		}
	}
	if len(unique) == 1 {
		return unique
	}
	return f.sqlGrain()
}

// plainGrain says what one row is in words: "one row per order id".
func (f *facts) plainGrain() string {
	cols := f.grainColumns()
	if len(cols) == 0 || len(cols) > 4 {
		return ""
	}
	words := make([]string, len(cols))
	for i, c := range cols {
		words[i] = humanize(strings.ToLower(c))
	}
	return "one row per " + strings.Join(words, " and ")
}

func (f *facts) teamsPhrase() string {
	teams := f.teams()
	if len(teams) == 0 {
		return "the analytics consumers"
	}
	var names []string
	for _, t := range teams {
		names = append(names, t.name)
	}
	return "the " + list(names, 3) + " work that builds on it (teams inferred from names)"
}

func (f *facts) businessNarrative() modeldoc.BusinessNarrative {
	var what []string
	if meaningful(f.obj.Description) {
		what = append(what, sentence(oneLine(f.obj.Description)))
	}
	acts := f.actions()
	w := "This " + f.role()
	if len(acts) > 0 {
		w += " " + list(acts, 5)
	} else {
		w += " has no SQL structure the offline writer could read"
	}
	what = append(what, sentence(w))
	if g := f.grain(); g != "" {
		what = append(what, sentence("The result has "+g))
	}
	if len(f.steps) > 1 {
		what = append(what, sentence(fmt.Sprintf("The SQL works in %s, described in the transformation cards", plural(len(f.steps), "step"))))
	}

	var journey []string
	for _, r := range uniqueExternals(f) {
		line := "Reads " + f.relDisplay(r)
		if nb := f.byPos[r.Pos]; nb != nil && meaningful(nb.Summary) {
			line += ": " + firstSentence(nb.Summary)
		} else if nb != nil && meaningful(nb.Object.Description) {
			line += ": " + firstSentence(nb.Object.Description)
		}
		journey = append(journey, sentence(line))
	}
	for _, st := range f.steps {
		// An import step only names what the lines above already say the
		// model reads.
		if isImport(st) && len(f.steps) > 1 {
			continue
		}
		journey = append(journey, sentence(f.stepTitle(st)+": "+f.stepLogic(st, true)))
	}
	if len(journey) == 0 {
		journey = append(journey, sentence("Loads "+f.obj.Name+" as "+f.role()))
	}
	if n := len(f.subj.Downstream); n > 0 {
		var names []string
		for _, d := range f.subj.Downstream {
			names = append(names, d.Object.Name)
		}
		journey = append(journey, sentence("Feeds "+list(ticks(names), 5)))
	}

	impact := f.impactSentence()
	return modeldoc.BusinessNarrative{WhatItDoes: strings.Join(what, " "), DataJourney: journey, BusinessImpact: impact}
}

func (f *facts) impactSentence() string {
	n := len(f.subj.Downstream)
	cols := f.outputColumns()
	s := ""
	if n == 0 {
		s = "No dbt model depends on it: its value is in what people query from it directly"
	} else {
		s = fmt.Sprintf("%s on it, so its correctness carries into %s", verb(n, "downstream model builds", "downstream models build"), f.teamsPhrase())
	}
	var keys []string
	for _, c := range cols {
		if lc := strings.ToLower(c.Name); lc == "id" || strings.HasSuffix(lc, "_id") {
			keys = append(keys, c.Name)
		}
	}
	if len(keys) > 0 {
		s += "; its keys " + list(ticks(keys), 4) + " are what consumers join on, so their meaning must stay stable"
	}
	return sentence(s)
}

func uniqueExternals(f *facts) []sqlscan.Relation {
	var out []sqlscan.Relation
	seen := map[string]bool{}
	for _, r := range f.inputs() {
		n := f.relName(r)
		if !seen[n] {
			seen[n] = true
			out = append(out, r)
		}
	}
	return out
}

func (f *facts) stepTitle(st *step) string {
	switch st.kind {
	case "final":
		return "Final SELECT"
	case "subquery":
		return "Subquery `" + st.name + "`"
	}
	return "Step `" + st.name + "`"
}

// stepLogic describes what one step does. Short is one sentence for the
// data journey; long adds conditions and columns.
func (f *facts) stepLogic(st *step, short bool) string {
	var parts []string
	for bi, sel := range st.q.Selects {
		var p []string
		if len(sel.From) > 0 {
			p = append(p, "reads "+f.relDisplay(sel.From[0]))
		}
		for _, r := range sel.From[min(1, len(sel.From)):] {
			var j string
			if r.Join == "," {
				j = "cross joins "
			} else {
				j = strings.TrimSuffix(r.Join, "join") + "joins "
			}
			s := j + f.relDisplay(r)
			if r.On != "" && !short {
				s += " " + f.describeOn(r.On)
			} else if r.On != "" && strings.HasPrefix(strings.ToLower(r.On), "using") {
				s += " " + clip(r.On, 60)
			}
			p = append(p, strings.TrimSpace(s))
		}
		if conds := f.filterConds(sel); len(conds) > 0 {
			if short {
				p = append(p, "filters rows")
			} else {
				p = append(p, "keeps rows where "+f.describeWhere(sel, strings.Join(conds, " and ")))
			}
		}
		if g := groupingOf(sel); g != "" {
			p = append(p, "groups to one row per "+g)
		} else if len(sel.Aggregates) > 0 {
			p = append(p, "aggregates all rows into one")
		}
		if sel.Having != "" {
			p = append(p, "keeps groups where "+describeConditions(sel.Having))
		}
		if sel.Qualify != "" {
			p = append(p, "keeps only rows where "+describeConditions(sel.Qualify)+" (QUALIFY, usually deduplication)")
		}
		if sel.Distinct {
			p = append(p, "removes duplicate rows (DISTINCT)")
		}
		if !short {
			if n := len(sel.Windows); n > 0 {
				var ws []string
				for _, w := range sel.Windows {
					ws = append(ws, "`"+w.Name+"` "+describeOver(w.Over))
				}
				p = append(p, "computes "+list(ws, 3))
			}
			for _, c := range sel.Cases {
				if c.Aggregate == "" {
					p = append(p, "sorts values into categories")
					break
				}
			}
		}
		prefix := ""
		if len(st.q.Selects) > 1 {
			prefix = fmt.Sprintf("branch %d ", bi+1)
		}
		if len(p) == 0 {
			p = append(p, "selects constant values")
		}
		parts = append(parts, prefix+strings.Join(p, ", "))
		if short && bi >= 2 && len(st.q.Selects) > 3 {
			parts = append(parts, fmt.Sprintf("and %d more branches", len(st.q.Selects)-3))
			break
		}
	}
	joiner := "; "
	if len(st.q.SetOps) > 0 {
		joiner = "; " + strings.ToUpper(st.q.SetOps[0]) + " "
	}
	return strings.Join(parts, joiner)
}

// columnsSummary describes a step's output columns.
func columnsSummary(sel *sqlscan.Select) string {
	var names []string
	renamed, computed, constants, stars := 0, 0, 0, 0
	for _, c := range sel.Columns {
		switch c.Kind {
		case sqlscan.ColumnStar:
			stars++
			star := "every input column"
			if c.Qualifier != "" {
				star = "every column of `" + c.Qualifier + "`"
			}
			names = append([]string{star}, names...) // stars lead the list
			continue
		case sqlscan.ColumnRef, sqlscan.ColumnCast:
			if !strings.EqualFold(c.Name, c.SourceColumn) {
				renamed++
			}
		case sqlscan.Literal:
			constants++
		default:
			computed++
		}
		if c.Name != "" {
			names = append(names, "`"+c.Name+"`")
		}
	}
	n := len(sel.Columns) - stars
	s := ""
	switch {
	case n == 0 && stars > 0:
		s = list(names, 3)
	case stars > 0:
		s = list(names[:stars], 3) + ", plus " + plural(n, "column") + ": " + list(names[stars:], 8)
	default:
		s = plural(n, "column") + ": " + list(names, 8)
	}
	var notes []string
	if renamed > 0 {
		notes = append(notes, fmt.Sprintf("%d renamed", renamed))
	}
	if computed > 0 {
		notes = append(notes, fmt.Sprintf("%d computed", computed))
	}
	if constants > 0 {
		notes = append(notes, plural(constants, "constant"))
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// isImport reports a step in dbt's import-CTE pattern: `select *` from one
// relation, nothing filtered, grouped or computed.
func isImport(st *step) bool {
	if st.final || len(st.q.Selects) != 1 {
		return false
	}
	sel := st.q.Selects[0]
	return len(sel.From) == 1 && len(sel.Columns) == 1 && sel.Columns[0].Kind == sqlscan.ColumnStar &&
		sel.Where == "" && sel.GroupBy == "" && sel.Having == "" && sel.Qualify == "" && !sel.Distinct &&
		len(sel.Aggregates) == 0 && len(sel.Windows) == 0 && len(sel.Cases) == 0
}

func (f *facts) stepWhy(st *step) string {
	sel := st.q.Selects[0]
	switch {
	case st.final && len(st.q.Selects) == 1 && len(sel.From) == 1 && sel.From[0].Kind == "cte" && sel.Where == "" && sel.GroupBy == "":
		return "It is the model's contract: the columns and order that downstream models and dashboards see."
	case len(st.q.Selects) > 1:
		return "It brings rows from several inputs into one shape, so consumers query one table instead of " + fmt.Sprint(len(st.q.Selects)) + "."
	case sel.GroupBy != "" || len(sel.Aggregates) > 0:
		return "It sets the grain of what follows: every later step and consumer sees " + map[bool]string{true: "one row per " + groupingOf(sel), false: "aggregated values"}[groupingOf(sel) != ""] + "."
	case sel.Qualify != "" || len(sel.Windows) > 0 && sel.Where != "":
		return "It removes duplicates or picks one row per key, so counts and joins downstream do not double up."
	case hasJoin(sel, "left"):
		return "The left join keeps every row of " + f.relDisplay(sel.From[0]) + " even without a match, so missing matches show up as nulls instead of lost rows."
	case hasJoin(sel, "inner") || hasJoin(sel, "join") && !hasJoin(sel, "left") && !hasJoin(sel, "full") && !hasJoin(sel, "cross") && !hasJoin(sel, "right"):
		return "The inner join drops rows without a match, so only records present on both sides continue."
	case sel.Where != "":
		return "Rows that fail its conditions never reach later steps or consumers, so it defines which records the model is about."
	case len(sel.Cases) > 0:
		return "Its CASE logic encodes business categories that reports group and filter by."
	case len(sel.Columns) == 1 && sel.Columns[0].Kind == sqlscan.ColumnStar && len(sel.From) == 1:
		return "It isolates the dependency on " + f.relDisplay(sel.From[0]) + " in one named step (dbt's import-CTE pattern), so the rest of the SQL reads from a single place."
	}
	casts := 0
	for _, c := range sel.Columns {
		if c.Kind == sqlscan.ColumnCast {
			casts++
		}
	}
	if casts > 0 {
		return "It fixes column names and types, so downstream models and unions agree on them."
	}
	return "It shapes the columns that later steps rely on."
}

func hasJoin(sel *sqlscan.Select, word string) bool {
	for _, r := range sel.From {
		if r.Join != "from" && r.Join != "," && (word == "join" && r.Join == "join" || strings.HasPrefix(r.Join, word)) {
			return true
		}
	}
	return false
}

func (f *facts) transformationCards() []modeldoc.TransformationCard {
	var cards []modeldoc.TransformationCard
	for _, st := range f.steps {
		sel := st.q.Selects[0]
		var inputs []string
		seen := map[string]bool{}
		for _, s := range st.q.Selects {
			for _, r := range s.From {
				d := f.relDisplay(r)
				if !seen[d] {
					seen[d] = true
					inputs = append(inputs, d)
				}
			}
		}
		input := list(inputs, 6)
		if input == "" {
			input = "No table: the step computes constant values"
		}
		cards = append(cards, modeldoc.TransformationCard{
			StepNumber:   len(cards) + 1,
			Title:        f.stepTitle(st) + ": " + f.stepHeadline(st),
			Input:        sentence(capitalize(input)),
			Logic:        f.cardLogic(st),
			Output:       sentence(capitalize(columnsSummary(sel))),
			WhyItMatters: f.stepWhy(st),
		})
	}
	if len(cards) == 0 {
		cards = append(cards, modeldoc.TransformationCard{
			StepNumber:   1,
			Title:        "Load " + f.obj.Name,
			Input:        sentence("The " + f.role() + " `" + f.obj.Name + "` as dbt loads it"),
			Logic:        "The offline writer found no SELECT in this object's SQL, so there is no transformation to describe.",
			Output:       sentence(fmt.Sprintf("%s as stored in the warehouse", plural(len(f.outputColumns()), "column"))),
			WhyItMatters: "Models downstream read these columns as they are, so their meaning comes from the system that loads them.",
		})
	}
	return cards
}

// cardLogic is a card's logic line. For an import step, "Reads model X"
// would repeat the card's input: what it adds is that nothing changes.
func (f *facts) cardLogic(st *step) string {
	if isImport(st) {
		return "Passes " + f.relDisplay(st.q.Selects[0].From[0]) + " through unchanged: no filter, join or computed column."
	}
	return sentence(capitalize(f.stepLogic(st, false)))
}

// stepHeadline is a short verb phrase for a card title.
func (f *facts) stepHeadline(st *step) string {
	sel := st.q.Selects[0]
	switch {
	case len(st.q.Selects) > 1:
		return fmt.Sprintf("union of %d inputs", len(st.q.Selects))
	case sel.GroupBy != "" || len(sel.Aggregates) > 0:
		if g := groupingOf(sel); g != "" {
			return "aggregate per " + g
		}
		return "aggregate"
	case sel.Qualify != "":
		return "deduplicate"
	case len(sel.From) > 1:
		var names []string
		for _, r := range sel.From {
			names = append(names, "`"+f.relName(r)+"`")
		}
		return "join " + list(names, 3)
	case sel.Where != "":
		if len(sel.From) == 1 {
			return "filter `" + f.relName(sel.From[0]) + "`"
		}
		return "filter"
	case len(sel.Cases) > 0:
		return "classify"
	case len(sel.From) == 1 && len(sel.Columns) == 1 && sel.Columns[0].Kind == sqlscan.ColumnStar:
		return "import `" + f.relName(sel.From[0]) + "`"
	case len(sel.From) == 1:
		return "select columns from `" + f.relName(sel.From[0]) + "`"
	}
	return "compute values"
}

func (f *facts) codeExplanations() []modeldoc.CodeExplanation {
	// The most telling steps, up to six, in source order: reading a dozen
	// "select * from x" blocks helps nobody.
	type scored struct {
		st    *step
		score int
		i     int
	}
	var all []scored
	for i, st := range f.steps {
		s := 0
		for _, sel := range st.q.Selects {
			s += 3*max(len(sel.From)-1, 0) + 2*len(sel.Cases) + 2*len(sel.Windows) + len(sel.Aggregates)
			if sel.Where != "" {
				s += 2
			}
			if sel.GroupBy != "" || sel.Qualify != "" || sel.Having != "" {
				s += 2
			}
		}
		s += len(st.q.Selects) - 1
		if st.final {
			s++
		}
		all = append(all, scored{st, s, i})
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].score > all[b].score })
	if len(all) > 6 {
		all = all[:6]
	}
	sort.Slice(all, func(a, b int) bool { return all[a].i < all[b].i })
	var out []modeldoc.CodeExplanation
	for _, sc := range all {
		st := sc.st
		code := st.text
		if st.kind == "cte" {
			code = st.name + " as (\n    " + strings.TrimSpace(st.text) + "\n)"
		}
		out = append(out, modeldoc.CodeExplanation{
			CodeBlock:       codeBlock(code, 25),
			PlainEnglish:    sentence(fmt.Sprintf("%s (line %d) %s", f.stepTitle(st), st.line, f.stepLogic(st, false))) + " " + sentence("It outputs "+columnsSummary(st.q.Selects[0])),
			BusinessContext: f.stepWhy(st),
		})
	}
	if len(out) == 0 {
		sql := f.obj.SQL()
		if strings.TrimSpace(sql) == "" {
			sql = "-- no SQL: " + f.obj.Name + " is a " + f.role()
		}
		out = append(out, modeldoc.CodeExplanation{
			CodeBlock:       codeBlock(sql, 25),
			PlainEnglish:    "The offline writer found no SELECT statement it could break into steps here.",
			BusinessContext: sentence("Consumers read `" + f.obj.Name + "` as the " + f.role() + " it is"),
		})
	}
	return out
}

// codeBlock keeps the first lines of code and says how many were left out.
func codeBlock(code string, maxLines int) string {
	lines := strings.Split(strings.TrimSpace(code), "\n")
	var kept []string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue // compiled dbt SQL is full of blank lines left by Jinja
		}
		kept = append(kept, strings.TrimRight(l, " \t\r"))
	}
	if len(kept) > maxLines {
		n := len(kept) - maxLines
		kept = append(kept[:maxLines], fmt.Sprintf("-- … %d more lines", n))
	}
	return strings.Join(kept, "\n")
}

func (f *facts) businessRules() []modeldoc.BusinessRule {
	var rules []modeldoc.BusinessRule
	for _, st := range f.steps {
		where := f.stepTitle(st)
		for _, sel := range st.q.Selects {
			ref := func(kw, text string) string {
				return fmt.Sprintf("%s, line %d: %s %s", where, sel.Line, kw, clip(text, 240))
			}
			if conds := f.filterConds(sel); len(conds) > 0 {
				where := strings.Join(conds, " and ")
				rules = append(rules, modeldoc.BusinessRule{
					Rule:          sentence("Only rows where " + f.describeWhere(sel, where) + " are kept"),
					CodeReference: ref("WHERE", where),
					Impact:        sentence("Rows failing this never reach " + f.after(st) + ", so every count and total built on this model excludes them"),
				})
			}
			for _, c := range sel.Cases {
				target := ""
				for _, col := range sel.Columns {
					if strings.Contains(oneLine(col.Expr), oneLine(c.Text)) && col.Name != "" {
						target = col.Name
						break
					}
				}
				var rule, impact string
				switch {
				case c.Aggregate != "":
					// sum(case when x then 1 else 0 end) counts; it sets
					// no value of its own.
					what := aggregateCase(c.Aggregate, c.Text, c.AggregateDistinct, "")
					if what == "" {
						continue
					}
					rule = strings.TrimSuffix(what, ".")
					if target != "" {
						rule = "`" + target + "` is the " + strings.ToLower(rule[:1]) + rule[1:]
					}
					impact = "Only rows meeting the condition add to the total; the others count as zero."
				case caseSummary(c.Text) == "":
					continue
				case target != "":
					rule = "`" + target + "` is set by a CASE: " + caseSummary(c.Text)
					impact = "Decides the value of `" + target + "` that reports group and filter by; a row matching no branch gets the ELSE value or null."
				default:
					rule = "A CASE maps values: " + caseSummary(c.Text)
					impact = "Decides the value consumers see for this expression; a row matching no branch gets the ELSE value or null."
				}
				rules = append(rules, modeldoc.BusinessRule{
					Rule:          sentence(rule),
					CodeReference: fmt.Sprintf("%s, line %d: %s", where, c.Line, clip(c.Text, 240)),
					Impact:        impact,
				})
			}
			if sel.Having != "" {
				rules = append(rules, modeldoc.BusinessRule{
					Rule:          sentence("After grouping by " + or(groupingOf(sel), "all rows") + ", only groups where " + describeConditions(sel.Having) + " are kept"),
					CodeReference: ref("HAVING", sel.Having),
					Impact:        "Whole groups are dropped after aggregation, so small or failing groups are absent rather than shown with low values.",
				})
			}
			if sel.Qualify != "" {
				rules = append(rules, modeldoc.BusinessRule{
					Rule:          sentence("Only rows where " + describeConditions(sel.Qualify) + " survive the window ranking (QUALIFY)"),
					CodeReference: ref("QUALIFY", sel.Qualify),
					Impact:        "Picks one row per key (usually the latest or first), which sets the model's grain; a wrong ORDER BY in the window picks the wrong record.",
				})
			}
			for _, r := range sel.From {
				if r.Join == "join" || strings.HasPrefix(r.Join, "inner") {
					rules = append(rules, modeldoc.BusinessRule{
						Rule:          sentence("Only rows with a match in " + f.relDisplay(r) + " are kept (inner join" + map[bool]string{true: " on " + describeConditions(r.On), false: ""}[r.On != ""] + ")"),
						CodeReference: fmt.Sprintf("%s, line %d: %s %s on %s", where, f.a.Line(r.Pos), strings.ToUpper(r.Join), clip(r.Name, 80), clip(r.On, 160)),
						Impact:        sentence("Records missing from `" + f.relName(r) + "` silently disappear from `" + f.obj.Name + "`"),
					})
				}
			}
		}
	}
	if r, ok := f.incremental(); ok {
		rules = append([]modeldoc.BusinessRule{r}, rules...)
	}
	if len(rules) > 40 {
		rules = rules[:40]
	}
	if len(rules) == 0 {
		src := "its input"
		if ups := f.upstreamNames(); len(ups) > 0 {
			src = "`" + ups[0] + "`"
		}
		ref := "no WHERE, HAVING, QUALIFY or CASE in the SQL"
		if s := f.finalSelect(); s != nil {
			ref = fmt.Sprintf("Final SELECT, line %d: %s", s.Line, clip(s.Text, 200))
		}
		rules = append(rules, modeldoc.BusinessRule{
			Rule:          sentence("No filter or business rule: every row of " + src + " flows through"),
			CodeReference: ref,
			Impact:        map[bool]string{true: "The row count follows the first input, except where a join matches several rows; data quality here is the inputs' data quality.", false: "The row count follows the input exactly, so data quality here is the input's data quality."}[len(f.allJoins()) > 0],
		})
	}
	return rules
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// after names what follows a step: the next steps and the model output.
func (f *facts) after(st *step) string {
	if st.final {
		return "the model's output"
	}
	return "the later steps or the model's output"
}

// team is a consumer group inferred from names.
type team struct {
	name   string
	models []*writer.Neighbor
}

var teamWords = []struct{ team, words string }{
	{"Data quality", "data_quality dq test tests validation audit"},
	{"Finance", "revenue invoice payment billing cost spend pmpm financial price paid amount charge refund subscription arr mrr ledger"},
	{"Marketing", "email campaign marketing form contact lead utm ad ads click open newsletter list"},
	{"Sales", "deal pipeline opportunity sales owner quota account company"},
	{"Customer support", "ticket support conversation sla"},
	{"Clinical and quality", "clinical condition encounter patient quality measure hcc chronic readmission medical pharmacy lab procedure observation cms"},
	{"Product", "event session product feature usage engagement"},
	{"Operations", "operations inventory shipment order fulfillment"},
}

func teamOf(o *modeldoc.Object) string {
	hay := strings.ToLower(o.Name + " " + o.FilePath + " " + o.Schema + " " + strings.Join(o.Tags, " "))
	words := strings.FieldsFunc(hay, func(r rune) bool { return !(r >= 'a' && r <= 'z') })
	set := map[string]bool{}
	for _, w := range words {
		set[w] = true
	}
	for _, t := range teamWords {
		for _, w := range strings.Fields(t.words) {
			if set[w] || strings.Contains(w, "_") && strings.Contains(hay, w) {
				return t.team
			}
		}
	}
	return "Analytics"
}

func (f *facts) teams() []team {
	var out []team
	idx := map[string]int{}
	for i := range f.subj.Downstream {
		nb := &f.subj.Downstream[i]
		t := teamOf(&nb.Object)
		if j, ok := idx[t]; ok {
			out[j].models = append(out[j].models, nb)
			continue
		}
		idx[t] = len(out)
		out = append(out, team{name: t, models: []*writer.Neighbor{nb}})
	}
	return out
}

func (f *facts) impactAnalysis() modeldoc.ImpactAnalysis {
	// The project's declared exposures first: they are the team's own
	// word on who uses it, where the teams below are read from names.
	var used []modeldoc.ImpactUse
	for _, e := range f.subj.Exposures {
		team := e.Owner
		if team == "" {
			team = "Owner not declared in the exposure"
		}
		freq := "Whenever the " + exposureKind(e.Type) + " is used"
		if e.Maturity != "" {
			freq += "; declared maturity " + e.Maturity
		}
		purpose := sentence(capitalize(exposureName(e)) + " " + f.exposurePath(e))
		if d := firstSentence(e.Description); meaningful(d) {
			purpose += " " + sentence(d)
		}
		used = append(used, modeldoc.ImpactUse{Team: team, Frequency: freq, Purpose: purpose})
	}
	for _, t := range f.teams() {
		var names []string
		var summary string
		for _, m := range t.models {
			names = append(names, "`"+m.Object.Name+"`")
			if summary == "" && meaningful(m.Summary) {
				summary = " " + firstSentence(m.Summary)
			}
		}
		used = append(used, modeldoc.ImpactUse{
			Team:      t.name + " (inferred from model names)",
			Frequency: frequency(t.models),
			Purpose:   sentence("Feeds "+list(names, 4)) + summary,
		})
	}
	if len(used) == 0 {
		used = append(used, modeldoc.ImpactUse{
			Team:      teamOf(f.obj) + " (inferred from the model's own name)",
			Frequency: "Whenever someone queries it: no dbt model reads it, so use comes from dashboards, exports or ad hoc SQL",
			Purpose:   sentence("Serves " + f.role() + " data directly: " + list(f.actions(), 3)),
		})
	}
	return modeldoc.ImpactAnalysis{UsedBy: used, QuestionsAnswered: f.questions(), DownstreamImpact: f.downstreamImpact()}
}

func frequency(models []*writer.Neighbor) string {
	for _, m := range models {
		if m.Object.Materialization == "incremental" {
			return "On every dbt run, incrementally"
		}
	}
	return "On every dbt run that builds its consumers"
}

// reachPhrase adds the objects a change reaches through the direct
// consumers, when the lineage says how many there are.
func (f *facts) reachPhrase() string {
	if n := f.subj.Dependents; n > len(f.subj.Downstream) {
		return fmt.Sprintf(", and %d depend on it in all, through them", n)
	}
	return ""
}

// exposureKind is how a sentence names an exposure's type.
func exposureKind(t string) string {
	switch t {
	case "ml":
		return "ML model"
	case "":
		return "exposure"
	}
	return t
}

// exposureName is "dashboard `weekly_revenue`", with its label when the
// project gives one.
func exposureName(e modeldoc.ExposureUse) string {
	s := exposureKind(e.Type) + " `" + e.Name + "`"
	if e.Label != "" && e.Label != e.Name {
		s += " (" + e.Label + ")"
	}
	return s
}

// exposurePath says how an exposure reaches the subject: directly, or
// through which of its consumers.
func (f *facts) exposurePath(e modeldoc.ExposureUse) string {
	if slices.Contains(e.Reads, f.subj.Object.ID) {
		return "reads it directly"
	}
	var via []string
	for _, d := range f.subj.Downstream {
		if slices.Contains(e.Reads, d.Object.ID) {
			via = append(via, "`"+d.Object.Name+"`")
		}
	}
	if len(via) > 0 {
		return "reads it through " + list(via, 3)
	}
	return "reads models built from it"
}

// exposureImpact names the exposures a change reaches.
func (f *facts) exposureImpact() string {
	var names []string
	for _, e := range f.subj.Exposures {
		n := exposureName(e)
		if e.Owner != "" {
			n += ", owned by " + e.Owner
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return ""
	}
	return " " + sentence(fmt.Sprintf("The project declares %s on it: %s", verb(len(names), "exposure that depends", "exposures that depend"), list(names, 5)))
}

func (f *facts) downstreamImpact() string {
	n := len(f.subj.Downstream)
	if n == 0 && len(f.subj.Exposures) > 0 {
		return "No dbt model depends on it, so a change reaches the exposures that read it at once; check them before renaming or removing columns." + f.exposureImpact()
	}
	if n == 0 {
		return "No dbt model depends on it, so a change stays within the dashboards and queries that read it directly; check those before renaming or removing columns."
	}
	var names []string
	for _, d := range f.subj.Downstream {
		names = append(names, "`"+d.Object.Name+"`")
	}
	s := fmt.Sprintf("%s it directly (%s)%s. Renaming or removing a column breaks those models at the next dbt run, and a change in its filters or grain changes their numbers silently", verb(n, "model reads", "models read"), list(names, 6), f.reachPhrase())
	if g := f.grain(); g != "" {
		s += "; keep it at " + g
	}
	return sentence(s) + f.exposureImpact()
}

// questions turns the output columns into questions people ask of it,
// naming the columns as they are (backticked, so a reader can query them
// and grounding can check them). Columns are read by their words, not by
// substrings: `country_name` is not a count and `paid_at` is a date. With
// no column that suggests a question, it asks none: a question any table
// answers ("what does it contain?") is not worth a reader's time.
func (f *facts) questions() []string {
	var ids, dates, measures, cats []string
	for _, c := range f.outputColumns() {
		n := strings.ToLower(strings.Trim(c.Name, `"`))
		words := strings.FieldsFunc(n, func(r rune) bool { return r == '_' })
		last := ""
		if len(words) > 0 {
			last = words[len(words)-1]
		}
		has := func(ws ...string) bool {
			for _, w := range words {
				if slices.Contains(ws, w) {
					return true
				}
			}
			return false
		}
		name := "`" + c.Name + "`"
		switch {
		case last == "id" && n != "source_relation":
			ids = append(ids, name)
		case has("date", "day", "month", "week", "timestamp") || last == "at" || last == "ts":
			dates = append(dates, name)
		case has("count", "cnt", "amount", "total", "revenue", "sum", "avg", "cost", "price", "quantity", "qty", "paid", "spend", "balance", "sales"):
			measures = append(measures, name)
		case has("type", "status", "category", "code", "segment", "tier", "channel", "country", "region") || (len(words) > 1 && words[0] == "is"):
			cats = append(cats, name)
		}
	}
	q := []string{} // the schema wants an array, never null
	switch {
	case len(measures) > 0 && len(cats) > 0:
		q = append(q, fmt.Sprintf("What is the total %s per %s?", measures[0], cats[0]))
	case len(measures) > 0 && len(ids) > 0:
		q = append(q, fmt.Sprintf("What is the %s of a given %s?", measures[0], ids[0]))
	}
	switch {
	case len(dates) > 0 && len(measures) > 0:
		q = append(q, fmt.Sprintf("How does %s move over time, by %s?", measures[0], dates[0]))
	case len(dates) > 0:
		q = append(q, fmt.Sprintf("How many rows fall in each day or month of %s?", dates[0]))
	}
	if len(cats) > 0 && len(measures) == 0 {
		// Two at most: a question about 25 columns at once is no question.
		q = append(q, fmt.Sprintf("How many rows have each value of %s?", list(cats[:min(len(cats), 2)], 0)))
	}
	return q
}

// columnDescriptions describes each output column with what the SQL and
// the lineage say, and nothing else: a column that passes through keeps
// its upstream description word for word, a computed one gets one
// sentence on how it is computed, and a column the writer cannot explain
// gets an empty description, so coverage still counts it as missing
// instead of hiding the gap behind a restatement of its name.
func (f *facts) columnDescriptions() []modeldoc.ColumnDescription {
	cols := f.outputColumns()
	sel := f.finalSelect()
	out := make([]modeldoc.ColumnDescription, 0, len(cols))
	for _, c := range cols {
		d := modeldoc.ColumnDescription{Name: c.Name}
		o := f.trace(sel, c.Name, 0)
		switch {
		case o.found && o.passthrough && o.nb == nil && len(f.subj.Upstream) > 0:
			// A relation the lineage does not know (one a macro reads,
			// two hops up): naming it as the upstream model would be
			// refused, since it is not one of the model's upstreams.
			d.Lineage = "derived"
		case o.found && o.passthrough:
			d.Lineage = "passthrough"
			d.UpstreamColumn = o.column
			if o.nb != nil {
				d.UpstreamModel = o.nb.Object.Name
			} else {
				d.UpstreamModel = o.table
			}
			d.Description = upstreamText(o)
		case o.found:
			d.Lineage = "derived"
			d.Description = describeExpr(o.col, o.sel)
		default:
			d.Lineage = "derived"
			if nb, uc := f.sameNamed(c.Name); uc != nil {
				d.Lineage, d.UpstreamModel, d.UpstreamColumn = "passthrough", nb.Object.Name, uc.Name
				d.Description = upstreamText(origin{nb: nb, column: uc.Name})
			}
		}
		if c.HumanDescription && meaningful(c.Description) {
			d.Description = c.Description
		}
		if d.UpstreamModel == "" {
			d.UpstreamColumn = ""
		}
		out = append(out, d)
	}
	return out
}

// upstreamText is the description of the upstream column a passthrough
// column comes from, verbatim, or "" when it has none worth keeping.
func upstreamText(o origin) string {
	if o.nb == nil {
		return ""
	}
	if up := findColumn(o.nb.Object.Columns, o.column); up != nil && meaningful(up.Description) {
		return strings.TrimSpace(up.Description)
	}
	return ""
}

// meaningful rejects the placeholder descriptions real projects carry
// ("N/A", "TBD", "-"), which are worse than no description.
func meaningful(s string) bool {
	t := strings.ToLower(strings.Trim(strings.TrimSpace(s), ".!-_ "))
	switch t {
	case "", "n/a", "na", "none", "tbd", "todo", "null", "description", "no description", "tba", "?":
		return false
	}
	return true
}

func verb(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// describeWhere renders a WHERE in words, reading "x.col is null" on a
// left-joined x as what it means: no match in x (an anti-join).
func (f *facts) describeWhere(sel *sqlscan.Select, cond string) string {
	keep := len(sel.From) > 1
	var out []string
	for _, c := range conjuncts(cond) {
		c = oneLine(c)
		if c == "" {
			continue
		}
		lc := strings.ToLower(c)
		if strings.HasSuffix(lc, " is null") {
			q, _, ok := strings.Cut(strings.TrimSpace(c[:len(c)-8]), ".")
			if ok && !strings.ContainsAny(q, "( ") {
				if r := f.relFor(sel, q, ""); r != nil && strings.HasPrefix(r.Join, "left") {
					out = append(out, "there is no matching row in "+f.relDisplay(*r))
					continue
				}
			}
		}
		if topLevel(c, "or") {
			out = append(out, "either of `"+clip(c, 120)+"`")
			continue
		}
		out = append(out, describeCond(c, keep))
	}
	return list(out, 6)
}

// describeOn renders a join condition: equalities of same-named columns
// become "matching on `x`".
func (f *facts) describeOn(on string) string {
	if strings.HasPrefix(strings.ToLower(on), "using") {
		return clip(on, 80)
	}
	var keys, rest []string
	for _, c := range conjuncts(on) {
		l, r, ok := strings.Cut(oneLine(c), " = ")
		if ok && isPath(l) && isPath(r) {
			if strings.EqualFold(bare(l), bare(r)) {
				keys = append(keys, "`"+bare(l)+"`")
			} else {
				keys = append(keys, "`"+l+"` = `"+r+"`")
			}
			continue
		}
		rest = append(rest, describeCond(c, true))
	}
	s := ""
	if len(keys) > 0 {
		s = "matching on " + list(keys, 4)
	}
	if len(rest) > 0 {
		if s != "" {
			s += ", where "
		} else {
			s = "where "
		}
		s += list(rest, 4)
	}
	return s
}

func isPath(s string) bool {
	toks := sqlscan.Tokenize(s)
	if len(toks) == 0 {
		return false
	}
	for i, t := range toks {
		want := sqlscan.Ident
		if i%2 == 1 {
			want = sqlscan.Dot
		}
		if t.Kind != want && !(want == sqlscan.Ident && t.Kind == sqlscan.QuotedIdent) {
			return false
		}
	}
	return len(toks)%2 == 1
}

// importedName is the upstream name behind a relation: itself when it is
// external, or what an import CTE ("x as (select * from y)") reads.
func (f *facts) importedName(r sqlscan.Relation) string {
	for depth := 0; depth < 10; depth++ {
		switch r.Kind {
		case "subquery", "function", "this":
			return ""
		case "cte":
			c := f.a.CTE(r.Name)
			if c == nil || c.Query == nil || len(c.Query.Selects) != 1 || len(c.Query.Selects[0].From) != 1 {
				return ""
			}
			r = c.Query.Selects[0].From[0]
			continue
		}
		if f.isSelf(r) {
			return ""
		}
		return f.relName(r)
	}
	return ""
}
