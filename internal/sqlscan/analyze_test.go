package sqlscan

import (
	"fmt"
	"strings"
	"testing"
)

// cols renders output columns as name=kind(qualifier.source) for compact
// comparisons.
func cols(cs []OutputColumn) string {
	var out []string
	for _, c := range cs {
		s := c.Name + "=" + string(c.Kind)
		if c.SourceColumn != "" || c.Qualifier != "" {
			s += "(" + strings.Trim(c.Qualifier+"."+c.SourceColumn, ".") + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func rels(rs []Relation) string {
	var out []string
	for _, r := range rs {
		s := r.Join + " " + r.Kind + ":" + r.Name
		if r.Alias != "" {
			s += " " + r.Alias
		}
		if r.On != "" {
			s += " [" + r.On + "]"
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func ctes(a *Analysis) string {
	var out []string
	for _, c := range a.CTEs {
		out = append(out, c.Name)
	}
	return strings.Join(out, ",")
}

func TestAnalyzeColumns(t *testing.T) {
	t.Parallel()
	tests := []struct{ sql, want string }{
		{"select a, t.b, s.t.c from t", "a=column(a) b=column(t.b) c=column(s.t.c)"},
		{"select a as x, b y, c as \"Z z\" from t", "x=column(a) y=column(b) Z z=column(c)"},
		{"select *, t.* from t", "*=star *=star(t)"},
		{"select cast(a as int) a, t.b::varchar(10) as b2, try_cast(c as date) from t", "a=cast(a) b2=cast(t.b) c=cast(c)"},
		{"select 'x' as k, 42 n, null as z, -1 m from t", "k=literal n=literal z=literal m=literal"},
		{"select count(*) as n, sum(x) from t", "n=expression =expression"},
		{"select case when a then 1 end, case when a then 1 end flag from t", "=expression flag=expression"},
		{"select not flag, a is not null as has_a from t", "=expression has_a=expression"},
		{"select interval '1' day, date '2020-01-01' from t", "=expression =expression"},
		{"select {{ dbt_utils.star(ref('x')) }} from t", "*=star"},
		{"select {{ my_macro('x') }} from t", "=jinja"},
		{"select distinct on (a) a, b from t", "a=column(a) b=column(b)"},
		{"select top 10 a from t", "a=column(a)"},
		{"select a from t where x is distinct from y", "a=column(a)"},
		{"select x is distinct from y as changed from t", "changed=expression"},
		{"select * except (a, b) from t", "=expression"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			t.Parallel()
			a := Analyze(tt.sql)
			if got := cols(a.FinalColumns()); got != tt.want {
				t.Errorf("columns\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAnalyzeFrom(t *testing.T) {
	t.Parallel()
	tests := []struct{ sql, want string }{
		{"select 1 from a", "from table:a"},
		{"select 1 from db.sch.a as x, b y", "from table:db.sch.a x; , table:b y"},
		{`select 1 from "DB"."Sch"."T" t left outer join u on t.id = u.id and u.ok`,
			"from table:DB.Sch.T t; left outer join table:u [t.id = u.id and u.ok]"},
		{"select 1 from a inner join b using (id) cross join c full join d on a.x = d.x natural join e",
			"from table:a; inner join table:b [using (id)]; cross join table:c; full join table:d [a.x = d.x]; natural join table:e"},
		{"select 1 from (select * from z) sub join w on true", "from subquery:subquery sub; join table:w [true]"},
		{"select 1 from t, lateral flatten(input => t.arr) f", "from table:t; , function:flatten(input => t.arr) f"},
		{"select 1 from t cross join unnest(t.items) as item", "from table:t; cross join function:unnest(t.items) item"},
		{"select 1 from (a join b on a.id = b.id) left join c on c.id = a.id",
			"from table:a; join table:b [a.id = b.id]; left join table:c [c.id = a.id]"},
		{"select 1 from `proj.ds.tbl` t where t.x = 1", "from table:proj.ds.tbl t"},
		{"select 1 from {{ source('s', 't') }} where true", "from source:t"},
		{"select 1 from t tablesample (10) join u on t.a = u.a", "from table:t; join table:u [t.a = u.a]"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			t.Parallel()
			a := Analyze(tt.sql)
			if a.Final == nil || len(a.Final.Selects) == 0 {
				t.Fatal("no final select")
			}
			if got := rels(a.Final.Selects[0].From); got != tt.want {
				t.Errorf("from\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAnalyzeClauses(t *testing.T) {
	t.Parallel()
	sql := `
-- a comment with select, join and case when in it
with recursive
  "Base" (id, amount) as materialized (
    select id, amount from {{ ref('orders') }} /* union all select 1 */
  ),
  ranked as (
    select b.*, row_number() over (partition by id order by amount desc) as rn,
           sum(amount) over w as running,
           last_value(amount) ignore nulls over (order by id) as lv,
           case when amount > 100 then 'large' when amount > 10 then case when id > 0 then 'medium' end else 'small' end as size
    from "Base" b
    where b.amount is not null and b.id in (select id from allowed where ok)
    qualify rn = 1
  )
select distinct size, count(*) as n, array_agg(id) within group (order by id) as ids
from ranked
group by size
having count(*) > 1
union all
select 'total', count(*), null from ranked
order by 2 desc
limit 10`
	a := Analyze(sql)
	if got := ctes(a); got != "Base,ranked" {
		t.Errorf("CTEs = %q", got)
	}
	if !a.Recursive {
		t.Error("Recursive = false")
	}
	if got := strings.Join(a.CTE("base").Columns, ","); got != "id,amount" {
		t.Errorf("Base columns = %q", got)
	}
	if got := a.CTE("base").Body; !strings.HasPrefix(got, "select id, amount from {{ ref('orders') }}") {
		t.Errorf("Base body = %q", got)
	}
	if a.CTE("ranked").Line != 7 {
		t.Errorf("ranked line = %d, want 7", a.CTE("ranked").Line)
	}
	r := a.CTE("ranked").Query.Selects[0]
	if got := rels(r.From); got != "from cte:Base b" {
		t.Errorf("ranked from = %q", got)
	}
	if r.Where != "b.amount is not null and b.id in (select id from allowed where ok)" {
		t.Errorf("where = %q", r.Where)
	}
	if r.Qualify != "rn = 1" {
		t.Errorf("qualify = %q", r.Qualify)
	}
	var ws []string
	for _, w := range r.Windows {
		ws = append(ws, w.Func+" "+w.Over)
	}
	if got := strings.Join(ws, " | "); got != "row_number() over (partition by id order by amount desc) | sum(amount) over w | last_value(amount) ignore nulls over (order by id)" {
		t.Errorf("windows = %q", got)
	}
	if len(r.Cases) != 1 || !strings.HasSuffix(r.Cases[0].Text, "else 'small' end") {
		t.Errorf("cases = %+v, want the outer CASE only", r.Cases)
	}
	if len(r.Aggregates) != 0 {
		t.Errorf("windowed sum counted as aggregate: %v", r.Aggregates)
	}
	if a.Subqueries != 1 {
		t.Errorf("Subqueries = %d, want 1", a.Subqueries)
	}
	f := a.Final
	if len(f.Selects) != 2 || strings.Join(f.SetOps, ",") != "union all" || a.SetOps != 1 {
		t.Fatalf("final: %d selects, ops %v", len(f.Selects), f.SetOps)
	}
	s := f.Selects[0]
	if !s.Distinct || s.GroupBy != "size" || s.Having != "count(*) > 1" {
		t.Errorf("first branch: distinct=%v group=%q having=%q", s.Distinct, s.GroupBy, s.Having)
	}
	if got := strings.Join(s.Aggregates, ","); got != "count,array_agg" {
		t.Errorf("aggregates = %q", got)
	}
	if got := cols(s.Columns); got != "size=column(size) n=expression ids=expression" {
		t.Errorf("columns = %q", got)
	}
	if f.Selects[1].OrderBy != "2 desc" || f.Selects[1].Limit != "10" {
		t.Errorf("order/limit = %q/%q", f.Selects[1].OrderBy, f.Selects[1].Limit)
	}
	if len(a.Selects) != 5 {
		t.Errorf("Selects = %d, want 5", len(a.Selects))
	}
	if !strings.HasPrefix(f.Text, "select distinct size") {
		t.Errorf("final text starts %q", f.Text[:20])
	}
}

func TestAnalyzeOddInputs(t *testing.T) {
	t.Parallel()
	for _, sql := range []string{
		"", ";", "((((", "))))", "select", "with", "with x as", "with x as (", "select * from",
		"{{ config(materialized='view') }}", "{% macro x() %}select 1{% endmacro %}",
		"create or replace table t as (select a from b)", "insert into t select a from b",
		"select a from b; select c from d", "values (1), (2)", "select case when", "select 1 over (",
		"select * from a join", "select a,, b from t", "(select 1) union (select 2)",
	} {
		a := Analyze(sql)
		_ = Complexity(a, 0, 0)
	}
	if got := cols(Analyze("create or replace table t as (select a from b)").FinalColumns()); got != "a=column(a)" {
		t.Errorf("CTAS columns = %q", got)
	}
	if got := cols(Analyze("{{ config(x=1) }}\n\nselect a from b; select c from d").FinalColumns()); got != "a=column(a)" {
		t.Errorf("first statement columns = %q", got)
	}
	if a := Analyze("(select 1 as a) union (select 2)"); len(a.Final.Selects) != 2 || a.SetOps != 1 {
		t.Errorf("parenthesized union: %d selects", len(a.Final.Selects))
	}
}

func TestComplexity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		sql        string
		deps, cols int
		want       int
		reason     string // a reason that must be present ("" for none)
		notReason  string
	}{
		{"plain select", "select a, b from t", 1, 2, 1, "a single SELECT", ""},
		{"keywords in comments and strings do not count",
			"-- join with cte over window, case when recursive\nselect 'selected join case when' as expected /* union all join */ from t", 1, 1, 1, "", "1 join"},
		{"import CTEs stay simple", "with a as (select * from x), b as (select * from y) select * from a", 2, 3, 1, "", "CTE"},
		{"one join", "select * from a join b on a.id = b.id", 2, 3, 2, "1 join (+1)", ""},
		{"join case aggregation", "select a.k, case when b.x then 1 else 0 end f, sum(a.v) from a left join b on a.id=b.id group by 1, 2", 2, 3, 3, "aggregation", ""},
		{"everything", `with a as (select 1), b as (select 1), c as (select 1), d as (select 1)
			select row_number() over (order by x), case when y then 1 end from a join b on true join c on true
			where x in (select 1) union select 1,2 from d`, 12, 30, 5, "4 CTEs (+0.5)", ""},
		{"recursive is a five", "with recursive r as (select 1 union all select n+1 from r) select * from r", 0, 1, 5, "recursive CTE", ""},
		{"dependencies and columns", "select * from t", 11, 21, 3, "11 upstream dependencies (+1)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Complexity(Analyze(tt.sql), tt.deps, tt.cols)
			all := strings.Join(s.Reasons, "; ")
			if s.Score != tt.want {
				t.Errorf("score = %d, want %d (%s)", s.Score, tt.want, all)
			}
			if tt.reason != "" && !strings.Contains(all, tt.reason) {
				t.Errorf("reasons %q lack %q", all, tt.reason)
			}
			if tt.notReason != "" && strings.Contains(strings.ToLower(all), strings.ToLower(tt.notReason)) {
				t.Errorf("reasons %q should not mention %q", all, tt.notReason)
			}
		})
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		"select a, b as c from t join u on t.id = u.id where x > 1 group by 1 having count(*) > 2",
		"with recursive r (n) as (select 1 union all select n + 1 from r where n < 10) select * from r",
		"select case when a then (select max(b) from c) else 'x''y' end from {{ ref('m') }} qualify row_number() over (partition by a) = 1",
		"select `a`.\"b\" from $$x$$ -- c\n/* d */ {% if x %} {# y #}",
		"((select 1) union all (select 2)) except select 3",
		"select * exclude (a) from t, lateral flatten(input => t.v) f",
		"{{ '}}' }} {% '%}' %} '\\",
		"select sum(x) filter (where y) over w from t window w as (order by z)",
		"{{ simple_cte([('a', 'b'), (\"c\", 'd')]) }}, f as (select * from a) {{ dbt_audit(cte_ref='f') }}",
		"select {{ dbt_utils.generate_surrogate_key(['a']) }} k from {{ this }} {% if is_incremental() %} where d > (select max(d) from {{ this }}) {% else %} where 1 {% endif %}",
		"with u as ({{ dbt_utils.union_relations(relations=[ref('a'), ref('b')]) }}) select sum(case when x then 1 end) from u {{ dbt_utils.group_by(n=1) }}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		a := Analyze(sql)
		s := Complexity(a, len(a.Refs), len(a.FinalColumns()))
		if s.Score < 1 || s.Score > 5 {
			t.Fatalf("score %d out of range", s.Score)
		}
		for _, tok := range Tokenize(sql) {
			if tok.Pos < 0 || tok.End() > len(sql) || sql[tok.Pos:tok.End()] != tok.Text || tok.Text == "" {
				t.Fatalf("bad token %+v", tok)
			}
		}
		_ = fmt.Sprint(len(Refs(sql)))
	})
}
