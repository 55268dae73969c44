package sqlscan

import "testing"

func TestOriginFollowsPassthroughColumns(t *testing.T) {
	sql := `
with __dbt__cte__stg_people as (
    select id, full_name from raw.crm.people
),
orders as (
    select o.order_id, cast(o.customer_id as bigint) as customer_ref, o.amount * 2 as amount,
           round(cast(o.coefficient as numeric(28,6)), 3) as coefficient, round(o.score) as score,
           try_to_number(o.metric_value::text) as metric_value, to_number(o.a) + to_number(o.b) as a_plus_b
    from "db"."shop"."orders_data" o
),
joined as (
    select orders.*, c.full_name as customer_name,
           coalesce(orders.order_id, r.order_id) as order_id_any,
           coalesce(r.is_deleted, false) as is_deleted,
           cast('' as text) as source_relation,
           round(cast(orders.amount as numeric(28,6)), 3) as amount_rounded,
           round(orders.amount * 100) as amount_cents
    from orders
    left join refunds r on r.order_id = orders.order_id
    left join __dbt__cte__stg_people c on c.id = orders.customer_ref
)
select * from joined`
	a := Analyze(sql)
	cases := []struct {
		name, relation, column string
		passthrough, constant  bool
	}{
		{"order_id", "db.shop.orders_data", "order_id", true, false},
		{"customer_ref", "db.shop.orders_data", "customer_id", true, false}, // renamed and cast
		{"amount", "", "", false, false},                                    // computed
		{"coefficient", "db.shop.orders_data", "coefficient", true, false},  // rounded: the same value
		{"score", "db.shop.orders_data", "score", true, false},
		{"metric_value", "db.shop.orders_data", "metric_value", true, false}, // converted twice
		{"a_plus_b", "", "", false, false},
		{"customer_name", "__dbt__cte__stg_people", "full_name", true, false},
		{"order_id_any", "db.shop.orders_data", "order_id", true, false}, // coalesced with itself
		{"is_deleted", "refunds", "is_deleted", true, false},             // with a constant default
		{"source_relation", "", "", false, true},
		{"amount_rounded", "", "", false, false}, // round of a computed column
		{"amount_cents", "", "", false, false},
	}
	for _, c := range cases {
		o := a.Origin(c.name, nil)
		if !o.Found || o.Passthrough != c.passthrough || o.Constant != c.constant {
			t.Errorf("%s: found %v passthrough %v constant %v, want passthrough %v constant %v", c.name, o.Found, o.Passthrough, o.Constant, c.passthrough, c.constant)
			continue
		}
		if c.passthrough && (o.Relation.Name != c.relation || o.Column != c.column) {
			t.Errorf("%s: from %s.%s, want %s.%s", c.name, o.Relation.Name, o.Column, c.relation, c.column)
		}
	}
	if o := a.Origin("nope", func(Relation) []string { return []string{"x"} }); o.Found {
		t.Errorf("a column no relation has was found: %+v", o)
	}
	var names []string
	for _, r := range a.Externals() {
		names = append(names, r.Name)
	}
	// raw.crm.people is the ephemeral model's own read, not this model's.
	if want := "[db.shop.orders_data refunds __dbt__cte__stg_people]"; sprint(names) != want {
		t.Errorf("externals %v, want %s", names, want)
	}
}

func TestCoalesceWithOtherColumnsIsComputed(t *testing.T) {
	a := Analyze("select coalesce(a.x, b.y) as x, coalesce(a.z, 0) + 1 as z from a join b on a.id = b.id")
	for _, n := range []string{"x", "z"} {
		if o := a.Origin(n, nil); !o.Found || o.Passthrough || o.Constant {
			t.Errorf("%s: %+v, want computed", n, o)
		}
	}
}

func sprint(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
