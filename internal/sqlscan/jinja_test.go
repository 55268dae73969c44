package sqlscan

import (
	"strings"
	"testing"
)

// TestIncrementalBlockIsNotAFilter: the watermark inside
// {% if is_incremental() %} is how the model refreshes, not a rule about
// which rows it holds, so it is not the SELECT's WHERE; the {% else %}
// branch is what a full build runs.
func TestIncrementalBlockIsNotAFilter(t *testing.T) {
	t.Parallel()
	a := Analyze(`select date_day, amount
from {{ ref('payments') }}
{% if is_incremental() %}
  -- only new days
  where date_day >= (select max(date_day) from {{ this }})
{% else %}
  where date_day >= '2020-01-01'
{% endif %}`)
	s := a.Final.Selects[0]
	if s.Where != "date_day >= '2020-01-01'" {
		t.Errorf("WHERE = %q, want the full-build branch only", s.Where)
	}
	if len(a.Selects) != 1 {
		t.Errorf("%d SELECTs, want 1 (the watermark's subquery is not part of the query)", len(a.Selects))
	}
	if len(a.Incremental) != 1 || a.Incremental[0].Text != "where date_day >= (select max(date_day) from {{ this }})" || a.Incremental[0].Line != 3 {
		t.Errorf("Incremental = %+v", a.Incremental)
	}
}

// TestThisIsNotAnUpstream: {{ this }} is the model itself.
func TestThisIsNotAnUpstream(t *testing.T) {
	t.Parallel()
	a := Analyze(`select * from {{ ref('events') }} e left join {{ this }} t on e.id = t.id`)
	from := a.Final.Selects[0].From
	if len(from) != 2 || from[0].Kind != "ref" || from[1].Kind != "this" || from[1].Alias != "t" {
		t.Errorf("FROM = %s, want ref:events then this", rels(from))
	}
}

// TestSQLCommentsLeaveTheTexts: comments never reach the clause and
// expression texts that documentation quotes.
func TestSQLCommentsLeaveTheTexts(t *testing.T) {
	t.Parallel()
	a := Analyze(`with x as ( -- import
  select a /* the key */, case when b = 1 then 'y' -- yes
  else 'n' end as flag
  from t
  where c > 0 -- keep positives
    and d is not null
)
select * from x`)
	s := a.Selects[0]
	for _, text := range []string{s.Where, s.Cases[0].Text, s.Columns[0].Expr, s.Columns[1].Expr, a.CTEs[0].Body, s.Text} {
		if strings.Contains(text, "--") || strings.Contains(text, "/*") {
			t.Errorf("text keeps a comment: %q", text)
		}
	}
	if w := strings.Join(strings.Fields(s.Where), " "); w != "c > 0 and d is not null" {
		t.Errorf("WHERE = %q", w)
	}
}

// TestMacroBuiltModels: models built by the common macros keep their
// CTEs, columns and refs.
func TestMacroBuiltModels(t *testing.T) {
	t.Parallel()
	t.Run("simple_cte and dbt_audit", func(t *testing.T) {
		a := Analyze(`{{ simple_cte([
    ('orders', 'fct_orders'),
    ("accounts", "dim_accounts")
]) }}

, final AS (
    SELECT orders.order_id, accounts.account_name
    FROM orders
    LEFT JOIN accounts ON orders.account_id = accounts.account_id
)

{{ dbt_audit(
    cte_ref="final",
    created_by="@alice",
    updated_by="@bob",
    created_date="2021-01-01",
    updated_date="2022-02-02"
) }}`)
		if got := ctes(a); got != "orders,accounts,final" {
			t.Errorf("CTEs = %s, want orders,accounts,final", got)
		}
		var refs []string
		for _, r := range a.Refs {
			refs = append(refs, r.Name)
		}
		if strings.Join(refs, ",") != "fct_orders,dim_accounts" {
			t.Errorf("refs = %v", refs)
		}
		if got := cols(a.FinalColumns()); !strings.HasPrefix(got, "*=star created_by=expression updated_by=expression") {
			t.Errorf("final columns = %s", got)
		}
		if from := a.Final.Selects[0].From; len(from) != 1 || from[0].Kind != "cte" || from[0].Name != "final" {
			t.Errorf("final FROM = %s", rels(from))
		}
		if line := a.CTE("final").Line; line != 6 {
			t.Errorf("final CTE at line %d, want 6 (the expansion keeps line numbers)", line)
		}
	})
	t.Run("dbt_utils", func(t *testing.T) {
		a := Analyze(`with unioned as (
  {{ dbt_utils.union_relations(relations=[ref('a'), source('s', 'b')]) }}
)
select {{ dbt_utils.generate_surrogate_key(['id', "source"]) }} as key, {{ dbt_utils.star(from=ref('a'), except=['x']) }}
from unioned {{ dbt_utils.group_by(n=2) }}`)
		c := a.CTE("unioned")
		if c == nil || len(c.Query.Selects) != 2 || c.Query.SetOps[0] != "union all" {
			t.Fatalf("union_relations not expanded: %+v", c)
		}
		if got := rels(c.Query.Selects[1].From); got != "from source:b" {
			t.Errorf("second branch reads %s", got)
		}
		s := a.Final.Selects[0]
		if got := cols(s.Columns); got != "key=expression *=star" {
			t.Errorf("columns = %s", got)
		}
		if s.Columns[0].Expr != "generate_surrogate_key(id, source)" || s.GroupBy != "1, 2" {
			t.Errorf("key = %q, group by %q", s.Columns[0].Expr, s.GroupBy)
		}
	})
}

// TestCaseInAggregate: a CASE that is an aggregate's argument is marked
// with the aggregate, so it reads as the count or sum it is.
func TestCaseInAggregate(t *testing.T) {
	t.Parallel()
	a := Analyze(`select account_id,
  sum(case when status = 'won' then 1 else 0 end) as won_deals,
  count(distinct case when is_open then deal_id end) as open_deals,
  case when amount > 100 then 'big' else 'small' end as size,
  sum(case when a then 1 else 0 end) + 1 as shifted
from deals group by 1`)
	var got []string
	for _, c := range a.Final.Selects[0].Cases {
		got = append(got, c.Aggregate)
	}
	if strings.Join(got, ",") != "sum,count,,sum" {
		t.Errorf("aggregates around the CASEs = %q, want sum,count,,sum", got)
	}
}
