package offlinewriter

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// write runs one layer and decodes it into out.
func write(t *testing.T, subj *writer.Subject, layer modeldoc.Layer, out any) string {
	t.Helper()
	res, err := New().Write(context.Background(), writer.Request{Layer: layer, Subject: subj})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(res.Content), out); err != nil {
		t.Fatal(err)
	}
	return res.Content
}

func columnsOf(t *testing.T, subj *writer.Subject) map[string]modeldoc.ColumnDescription {
	t.Helper()
	var out modeldoc.ColumnDescriptionsOut
	write(t, subj, modeldoc.LayerColumnDescriptions, &out)
	m := map[string]modeldoc.ColumnDescription{}
	for _, c := range out.Columns {
		m[c.Name] = c
	}
	return m
}

func rulesOf(t *testing.T, subj *writer.Subject) []modeldoc.BusinessRule {
	t.Helper()
	var out modeldoc.BusinessRulesOut
	write(t, subj, modeldoc.LayerBusinessRules, &out)
	return out.Rules
}

func summaryOf(t *testing.T, subj *writer.Subject) string {
	t.Helper()
	var out modeldoc.ExecutiveSummaryOut
	write(t, subj, modeldoc.LayerExecutiveSummary, &out)
	return out.Summary
}

var payments = writer.Neighbor{Object: modeldoc.Object{Name: "stg_payments", UniqueID: "model.shop.stg_payments", Type: modeldoc.TypeModel,
	Columns: []modeldoc.Column{{Name: "payment_id", Description: "Payment key."}, {Name: "order_id"}, {Name: "date_day"}, {Name: "amount"}, {Name: "status"}}}}

// TestGoldenIncrementalWatermark: the is_incremental() watermark is one
// rule about how the model refreshes, never a filter on its rows; the same
// condition in compiled SQL (the model's own relation) reads the same way.
func TestGoldenIncrementalWatermark(t *testing.T) {
	t.Parallel()
	for name, sql := range map[string]string{
		"raw": `{{ config(materialized='incremental') }}
select date_day, sum(amount) as amount
from {{ ref('stg_payments') }}
where status = 'paid'
{% if is_incremental() %}
  and date_day >= (select max(date_day) from {{ this }})
{% endif %}
group by 1`,
		"compiled": `select date_day, sum(amount) as amount
from analytics.stg_payments
where status = 'paid'
  and date_day >= (select max(date_day) from analytics.daily_revenue)
group by 1`,
	} {
		t.Run(name, func(t *testing.T) {
			subj := &writer.Subject{Object: modeldoc.Object{Name: "daily_revenue", Materialization: "incremental", RawSQL: sql}, Upstream: []writer.Neighbor{payments}}
			rules := rulesOf(t, subj)
			if len(rules) != 2 {
				t.Fatalf("%d rules, want the watermark and the status filter: %+v", len(rules), rules)
			}
			if want := "On incremental runs the model only processes rows whose `date_day` is at or after the latest `date_day` already in the model."; rules[0].Rule != want {
				t.Errorf("watermark rule = %q\nwant %q", rules[0].Rule, want)
			}
			if rules[1].Rule != "Only rows where `status` is 'paid' are kept." {
				t.Errorf("filter rule = %q", rules[1].Rule)
			}
			for _, r := range rules {
				if strings.Contains(r.CodeReference, "{{") || strings.Contains(r.CodeReference, "{%") {
					t.Errorf("code reference carries Jinja: %q", r.CodeReference)
				}
			}
			sum := summaryOf(t, subj)
			if !strings.Contains(sum, "It is built incrementally: only processes rows whose `date_day` is at or after") {
				t.Errorf("summary does not say how it refreshes: %q", sum)
			}
		})
	}
}

// TestGoldenThisIsNotAnUpstream: {{ this }} is the model itself.
func TestGoldenThisIsNotAnUpstream(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "payments_latest", RawSQL: `
select p.payment_id, p.amount
from {{ ref('stg_payments') }} p
left join {{ this }} old on old.payment_id = p.payment_id
where old.payment_id is null`}, Upstream: []writer.Neighbor{payments}}
	f := New().facts(subj)
	if ups := f.upstreamNames(); len(ups) != 1 || ups[0] != "stg_payments" {
		t.Errorf("upstreams = %v, want [stg_payments]", ups)
	}
	var n modeldoc.BusinessNarrative
	content := write(t, subj, modeldoc.LayerBusinessNarrative, &n)
	if strings.Contains(content, "{{") || strings.Contains(content, "`this`") {
		t.Errorf("narrative shows {{ this }} as a relation:\n%s", content)
	}
	for _, j := range n.DataJourney {
		if strings.HasPrefix(j, "Reads") && strings.Contains(j, "this") {
			t.Errorf("journey reads the model itself as an input: %q", j)
		}
	}
}

// TestGoldenCaseInAggregate: sum(case when x then 1 else 0 end) is a
// count, and is described as one.
func TestGoldenCaseInAggregate(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "order_payments", RawSQL: `
select order_id,
  sum(case when status = 'paid' then 1 else 0 end) as paid_payments,
  sum(case when status = 'paid' then amount else 0 end) as paid_amount,
  count(distinct case when status = 'refunded' then payment_id end) as refunds
from {{ ref('stg_payments') }}
group by order_id`}, Upstream: []writer.Neighbor{payments}}
	cols := columnsOf(t, subj)
	for name, want := range map[string]string{
		"paid_payments": "Number of rows where `status` is 'paid' per order (`order_id`).",
		"paid_amount":   "Sum of `amount` over rows where `status` is 'paid' per order (`order_id`).",
		"refunds":       "Number of distinct `payment_id` values among rows where `status` is 'refunded' per order (`order_id`).",
	} {
		if got := cols[name].Description; got != want {
			t.Errorf("%s = %q\nwant %q", name, got, want)
		}
	}
	rules := rulesOf(t, subj)
	for _, r := range rules {
		if strings.Contains(r.Rule, "set by a CASE") || strings.Contains(r.Rule, "1 when") {
			t.Errorf("a conditional count read as a CASE that sets a value: %q", r.Rule)
		}
	}
	if len(rules) != 3 || rules[2].Rule != "`refunds` is the number of distinct `payment_id` values among rows where `status` is 'refunded'." {
		t.Errorf("rules = %+v", rules)
	}
}

// TestGoldenMacroBuiltModel: a model whose imports come from simple_cte
// and whose final SELECT comes from dbt_audit keeps its lineage, columns
// and rules.
func TestGoldenMacroBuiltModel(t *testing.T) {
	t.Parallel()
	orders := writer.Neighbor{Object: modeldoc.Object{Name: "fct_orders", UniqueID: "model.gl.fct_orders", Type: modeldoc.TypeModel,
		Columns: []modeldoc.Column{{Name: "order_id", Description: "The order's key."}, {Name: "account_id"}, {Name: "status"}}}}
	subj := &writer.Subject{Object: modeldoc.Object{Name: "mart_open_orders", RawSQL: `{{ simple_cte([
    ('orders', 'fct_orders')
]) }}

, final AS (
    SELECT order_id, account_id
    FROM orders
    WHERE status = 'open'
)

{{ dbt_audit(cte_ref="final", created_by="@alice", updated_by="@bob", created_date="2021-01-01", updated_date="2022-02-02") }}`},
		Upstream: []writer.Neighbor{orders}}
	cols := columnsOf(t, subj)
	if c := cols["order_id"]; c.Lineage != "passthrough" || c.UpstreamModel != "fct_orders" || c.Description != "The order's key." {
		t.Errorf("order_id = %+v, want passthrough from fct_orders with its text", c)
	}
	if c := cols["created_by"]; c.Description != "Always '@alice'." {
		t.Errorf("created_by = %+v", c)
	}
	found := false
	for _, r := range rulesOf(t, subj) {
		found = found || r.Rule == "Only rows where `status` is 'open' are kept."
	}
	if !found {
		t.Error("the filter inside the macro-built model is lost")
	}
	if sum := summaryOf(t, subj); !strings.Contains(sum, "built from orders") {
		t.Errorf("summary does not name what it is built from: %q", sum)
	}
}

// TestGoldenPlaceholderColumns: a cast(null as ...) column says nothing,
// so nothing downstream inherits "null converted to TEXT"; a column the
// writer cannot explain stays undocumented rather than restated.
func TestGoldenPlaceholderColumns(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "stg_claims_placeholder", RawSQL: `
select cast(null as varchar) as claim_id, null::int as paid_amount, null as member_id,
  {{ some_macro('x') }} as magic, name, sent_by_id
from {{ ref('stg_payments') }}
limit 0`}, Upstream: []writer.Neighbor{payments}}
	for name, c := range columnsOf(t, subj) {
		if c.Description != "" {
			t.Errorf("%s = %q, want no description", name, c.Description)
		}
	}
}

// TestGoldenSQLCommentsNeverLeak: comments in the SQL never reach the text.
func TestGoldenSQLCommentsNeverLeak(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "paid_payments", RawSQL: `
select payment_id, -- the key
  case when amount > 100 /* cents */ then 'big' -- large
       else 'small' end as size
from {{ ref('stg_payments') }}
where status = 'paid' -- only paid ones
  and amount > 0`}, Upstream: []writer.Neighbor{payments}}
	for _, layer := range modeldoc.AllLayers {
		var v any
		content := write(t, subj, layer, &v)
		for _, s := range proseOf(layer, content) {
			if strings.Contains(s, "--") || strings.Contains(s, "/*") || strings.Contains(s, "large") || strings.Contains(s, "cents") {
				t.Errorf("%s: a comment leaks: %q", layer, s)
			}
		}
	}
}

// TestGoldenNeverCutMidWord: long texts are shortened between words.
func TestGoldenNeverCutMidWord(t *testing.T) {
	t.Parallel()
	long := "status in ('" + strings.Repeat("abcdefghij", 3) + "', 'second_value', 'third_value', 'fourth_value', 'fifth_value', 'sixth_value', 'seventh_value', 'eighth_value', 'ninth_value', 'tenth_value', 'eleventh_value', 'twelfth_value', 'thirteenth_value')"
	got := clip(long, 100)
	if !strings.HasSuffix(got, " …") {
		t.Fatalf("clip = %q, want a shortened text", got)
	}
	kept := strings.TrimSuffix(got, " …")
	if !strings.HasPrefix(long, kept) || long[len(kept)] != ' ' && long[len(kept)] != ',' {
		t.Errorf("clip cut inside a word: %q", got)
	}
	if word := strings.Repeat("x", 300); clip(word, 100) != word {
		t.Error("a single long word was cut")
	}
	subj := &writer.Subject{Object: modeldoc.Object{Name: "filtered", RawSQL: "select payment_id from {{ ref('stg_payments') }} where " + long}, Upstream: []writer.Neighbor{payments}}
	for _, r := range rulesOf(t, subj) {
		ref := strings.TrimSuffix(r.CodeReference, " …")
		if ref != r.CodeReference && !strings.Contains(long, ref[strings.Index(ref, "status"):]+" ") && !strings.Contains(long, ref[strings.Index(ref, "status"):]+",") {
			t.Errorf("code reference cut inside a word: %q", r.CodeReference)
		}
	}
}

// TestGoldenSummaryLeadsWithTheGrain: the first sentence says what one row
// is and what the model is for, in words, without identifiers or counts
// of SQL constructs.
func TestGoldenSummaryLeadsWithTheGrain(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "fct_order_payments", RawSQL: `
select order_id,
  sum(amount) as amount,
  max(case when status = 'paid' then 'paid' else 'open' end) as state,
  case when sum(amount) > 100 then 'big' when sum(amount) > 10 then 'medium' else 'small' end as size
from {{ ref('stg_payments') }}
group by order_id`}, Upstream: []writer.Neighbor{payments},
		Downstream: []writer.Neighbor{{Object: modeldoc.Object{Name: "finance_dashboard"}}}}
	sum := summaryOf(t, subj)
	first := firstSentence(sum)
	if first != "One row per order id of the order payments facts, built from payments." {
		t.Errorf("first sentence = %q", first)
	}
	if strings.Contains(first, "`") || strings.Contains(sum, "CASE expression") || strings.Contains(sum, "WHERE clause") {
		t.Errorf("summary reads like SQL: %q", sum)
	}
	if !strings.Contains(sum, "1 model reads it directly (`finance_dashboard`).") {
		t.Errorf("summary does not name its consumer: %q", sum)
	}
	// What a change reaches counts the consumers' consumers too.
	subj.Dependents = 241
	if sum := summaryOf(t, subj); !strings.Contains(sum, "1 model reads it directly (`finance_dashboard`), and 241 depend on it in all, through them.") {
		t.Errorf("summary does not count the transitive dependents: %q", sum)
	}
	var impact modeldoc.ImpactAnalysis
	write(t, subj, modeldoc.LayerImpactAnalysis, &impact)
	if !strings.Contains(impact.DownstreamImpact, "241 depend on it in all") {
		t.Errorf("impact does not count the transitive dependents: %q", impact.DownstreamImpact)
	}
	subj.Dependents = 0
	// A unique test states the grain too.
	subj.Object.RawSQL = "select payment_id, amount from {{ ref('stg_payments') }}"
	subj.Object.Columns = []modeldoc.Column{{Name: "payment_id", Tests: []string{"unique", "not_null"}}, {Name: "amount"}}
	if first := firstSentence(summaryOf(t, subj)); !strings.HasPrefix(first, "One row per payment id of the") {
		t.Errorf("first sentence = %q, want the grain from the unique test", first)
	}
	// The team's description leads; when it already says what a row is,
	// the grain is not said twice ("One row per payment. One row per
	// payment id." in examples/shop's fct_orders).
	subj.Object.Description = "One row per payment, with its amount. Used by finance."
	if sum := summaryOf(t, subj); !strings.HasPrefix(sum, "One row per payment, with its amount. ") || strings.Contains(sum, "payment id") {
		t.Errorf("summary = %q, want the team's grain once", sum)
	}
	subj.Object.Description = "Payments as finance reports them."
	if sum := summaryOf(t, subj); !strings.HasPrefix(sum, "Payments as finance reports them. One row per payment id.") {
		t.Errorf("summary = %q, want the grain after a description that does not state it", sum)
	}
}

// TestGoldenConstantsAndAggregates: a cast literal is a constant, not a
// conversion ("'postgres.public' converted to TEXT" said nothing of what
// the column holds); aggregates read as one phrase ("List of of" was
// printed for array_agg).
func TestGoldenConstantsAndAggregates(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "payment_lists", RawSQL: `
select order_id,
  cast('postgres.public' as text) as source_relation,
  cast(42 as integer) as answer,
  array_agg(payment_id) as payment_ids,
  listagg(distinct status, ', ') as statuses,
  count_if(amount > 100) as big_payments
from {{ ref('stg_payments') }}
group by 1`}, Upstream: []writer.Neighbor{payments}}
	want := map[string]string{
		"source_relation": "Always 'postgres.public'.",
		"answer":          "Always 42.",
		"payment_ids":     "List of `payment_id` per order (`order_id`).",
		"statuses":        "Concatenated list of distinct `status` per order (`order_id`).",
		"big_payments":    "Number of rows where `amount > 100` is true per order (`order_id`).",
	}
	got := columnsOf(t, subj)
	for name, w := range want {
		if got[name].Description != w {
			t.Errorf("%s = %q, want %q", name, got[name].Description, w)
		}
	}
}

// TestGoldenSummaryClaimsOnlyWhatTheLineageShows: a seed no model reads
// is not "an end point for dashboards" (HubSpot's integration-test seeds
// are read through a source), its folder is not its subject ("The seeds
// deal data"), and two inputs that read the same in words are named once
// ("built from ticket and ticket").
func TestGoldenSummaryClaimsOnlyWhatTheLineageShows(t *testing.T) {
	t.Parallel()
	seed := &writer.Subject{Object: modeldoc.Object{Name: "deal_data", Type: modeldoc.TypeSeed, FilePath: "seeds/deal_data.csv"}}
	s := summaryOf(t, seed)
	if strings.Contains(s, "end point") || strings.Contains(s, "reporting and analysis") || strings.Contains(strings.ToLower(s), "seeds") {
		t.Errorf("seed summary: %q", s)
	}
	src := writer.Neighbor{Object: modeldoc.Object{Name: "ticket", UniqueID: "source.h.hubspot.ticket", Type: modeldoc.TypeSource}}
	stg := writer.Neighbor{Object: modeldoc.Object{Name: "stg_ticket", UniqueID: "model.h.stg_ticket", Type: modeldoc.TypeModel}}
	m := &writer.Subject{Object: modeldoc.Object{Name: "int_ticket_spine", Type: modeldoc.TypeModel, RawSQL: `
select t.ticket_id, s.created_at from {{ source('hubspot', 'ticket') }} t join {{ ref('stg_ticket') }} s using (ticket_id)`},
		Upstream: []writer.Neighbor{src, stg}}
	if s := summaryOf(t, m); strings.Contains(s, "ticket and ticket") || strings.Contains(s, "end point") {
		t.Errorf("summary: %q", s)
	}
}

// TestGoldenGroupByAll: Snowflake's GROUP BY ALL groups by the columns
// that aggregate nothing; GitLab's texts read "Sum of `x` per `ALL`".
func TestGoldenGroupByAll(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "daily_amounts", RawSQL: `
select date_day, status, sum(amount) as amount, count(*) as payments
from {{ ref('stg_payments') }}
group by all`}, Upstream: []writer.Neighbor{payments}}
	got := columnsOf(t, subj)
	if w := "Sum of `amount` per `date_day` and `status`."; got["amount"].Description != w {
		t.Errorf("amount = %q, want %q", got["amount"].Description, w)
	}
	if s := summaryOf(t, subj); !strings.Contains(s, "date day and status") && !strings.Contains(s, "`date_day` and `status`") {
		t.Errorf("summary does not give the grain: %q", s)
	}
}

// TestGoldenCastSaysWhatItComputes: a cast of a computed expression is
// described by what the expression computes, not by its new type.
func TestGoldenCastSaysWhatItComputes(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "conditions", RawSQL: `
select cast(coalesce(p.order_id, s.order_id) as text) as order_ref,
  cast(case when p.amount > 100 then 'big' end as text) as size
from {{ ref('stg_payments') }} p left join {{ ref('stg_payments') }} s on p.payment_id = s.payment_id`}, Upstream: []writer.Neighbor{payments}}
	got := columnsOf(t, subj)
	for name, w := range map[string]string{"size": "'big' when `amount` is greater than 100; otherwise null."} {
		if got[name].Description != w {
			t.Errorf("%s = %q, want %q", name, got[name].Description, w)
		}
	}
	// One column from either side of a join says nothing beyond its name.
	if d := got["order_ref"].Description; d != "" {
		t.Errorf("order_ref = %q, want no description", d)
	}
}

// TestGoldenImpactNamesExposures: the project's exposures lead the impact
// layer with their owner, how they reach the model (directly or through
// which consumer), and are named in what a change reaches and in the
// summary; a model with none is described as before.
func TestGoldenImpactNamesExposures(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{ID: 1, Name: "orders", RawSQL: "select order_id, amount from {{ ref('stg_payments') }}"},
		Upstream:   []writer.Neighbor{payments},
		Downstream: []writer.Neighbor{{Object: modeldoc.Object{ID: 2, Name: "daily_revenue"}}},
		Dependents: 3,
		Exposures: []modeldoc.ExposureUse{
			{Exposure: modeldoc.Exposure{Name: "revenue", Label: "Daily revenue", Type: "dashboard", Maturity: "high", Owner: "Finance",
				Description: "The CFO's view. Refreshed hourly."}, Reads: []int64{2}},
			{Exposure: modeldoc.Exposure{Name: "churn_model", Type: "ml"}, Reads: []int64{1}},
		},
	}
	var impact modeldoc.ImpactAnalysis
	write(t, subj, modeldoc.LayerImpactAnalysis, &impact)
	if len(impact.UsedBy) < 2 {
		t.Fatalf("used by = %+v, want the two exposures first", impact.UsedBy)
	}
	first, second := impact.UsedBy[0], impact.UsedBy[1]
	if first.Team != "Finance" || first.Purpose != "Dashboard `revenue` (Daily revenue) reads it through `daily_revenue`. The CFO's view." ||
		first.Frequency != "Whenever the dashboard is used; declared maturity high" {
		t.Errorf("first use = %+v", first)
	}
	if second.Team != "Owner not declared in the exposure" || second.Purpose != "ML model `churn_model` reads it directly." {
		t.Errorf("second use = %+v", second)
	}
	if want := "The project declares 2 exposures that depend on it: dashboard `revenue` (Daily revenue), owned by Finance and ML model `churn_model`."; !strings.Contains(impact.DownstreamImpact, want) {
		t.Errorf("downstream impact = %q, want it to contain %q", impact.DownstreamImpact, want)
	}
	if sum := summaryOf(t, subj); !strings.Contains(sum, "Declared uses built on it: dashboard `revenue` (Daily revenue) and ML model `churn_model`.") {
		t.Errorf("summary does not name the exposures: %q", sum)
	}

	subj.Downstream, subj.Dependents = nil, 0
	subj.Exposures = subj.Exposures[1:]
	write(t, subj, modeldoc.LayerImpactAnalysis, &impact)
	if !strings.HasPrefix(impact.DownstreamImpact, "No dbt model depends on it, so a change reaches the exposures that read it at once") {
		t.Errorf("downstream impact with an exposure and no consumer = %q", impact.DownstreamImpact)
	}
	if len(impact.UsedBy) != 1 {
		t.Errorf("used by = %+v, want the exposure alone (nothing inferred from the model's own name)", impact.UsedBy)
	}
}

// TestGoldenGrainInWords: an aggregate's grain names the entities its key
// columns identify before the keys (HubSpot's counts read "per
// `source_relation` and `contact_id`", which told a reader nothing the
// column name had not); a grain with no key column stays as the columns.
func TestGoldenGrainInWords(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "engagement_metrics", RawSQL: `
select source_relation, contact_id,
  count(case when engagement_type = 'MEETING' then 1 end) as count_engagement_meetings
from {{ ref('stg_payments') }}
group by 1, 2`}, Upstream: []writer.Neighbor{payments}}
	want := "Number of rows where `engagement_type` is 'MEETING' per contact (`source_relation` and `contact_id`)."
	if got := columnsOf(t, subj)["count_engagement_meetings"].Description; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	subj.Object.RawSQL = "select date_day, sum(amount) as amount from {{ ref('stg_payments') }} group by date_day"
	if got, want := columnsOf(t, subj)["amount"].Description, "Sum of `amount` per `date_day`."; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestGoldenImportStepsSayNothingTwice: in dbt's import-CTE pattern the
// journey already lists what the model reads, so the import steps are not
// listed again, and an import card's logic says it changes nothing instead
// of repeating its input (examples/shop's fct_orders said "Reads model
// `stg_orders`" three times).
func TestGoldenImportStepsSayNothingTwice(t *testing.T) {
	t.Parallel()
	subj := &writer.Subject{Object: modeldoc.Object{Name: "fct_payments", RawSQL: `
with payments as (
    select * from {{ ref('stg_payments') }}
),
paid as (
    select order_id, sum(amount) as amount from payments where status = 'paid' group by order_id
)
select * from paid`}, Upstream: []writer.Neighbor{payments}}
	var n modeldoc.BusinessNarrative
	write(t, subj, modeldoc.LayerBusinessNarrative, &n)
	mentions := 0
	for _, line := range n.DataJourney {
		mentions += strings.Count(line, "`stg_payments`")
		if strings.HasPrefix(line, "Step `payments`") {
			t.Errorf("the import step is in the journey: %q", n.DataJourney)
		}
	}
	if mentions != 1 {
		t.Errorf("the journey names `stg_payments` %d times, want once: %q", mentions, n.DataJourney)
	}
	var cards modeldoc.TransformationCardsOut
	write(t, subj, modeldoc.LayerTransformationCards, &cards)
	if len(cards.Cards) != 3 {
		t.Fatalf("%d cards, want 3: %+v", len(cards.Cards), cards.Cards)
	}
	if got := cards.Cards[0].Logic; got != "Passes model `stg_payments` through unchanged: no filter, join or computed column." {
		t.Errorf("import card logic = %q", got)
	}
	if got := cards.Cards[1].Logic; !strings.Contains(got, "groups to one row per") {
		t.Errorf("a working step's logic should say what it does: %q", got)
	}
}

// TestGoldenQuestionsNameRealColumns: the questions name the model's own
// columns, read by their words (`country_name` is no count, `paid_at` is
// a date), and a model with nothing to ask gets no question rather than
// one any table answers.
func TestGoldenQuestionsNameRealColumns(t *testing.T) {
	t.Parallel()
	questions := func(sql string) []string {
		subj := &writer.Subject{Object: modeldoc.Object{ID: 1, Name: "m", RawSQL: sql}, Upstream: []writer.Neighbor{payments}}
		var impact modeldoc.ImpactAnalysis
		write(t, subj, modeldoc.LayerImpactAnalysis, &impact)
		return impact.QuestionsAnswered
	}
	got := questions("select payment_id, country_name, amount, paid_at from {{ ref('stg_payments') }}")
	want := []string{
		"What is the total `amount` per `country_name`?",
		"How does `amount` move over time, by `paid_at`?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("questions =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = questions("select country_name, status from {{ ref('stg_payments') }}")
	if len(got) != 1 || got[0] != "How many rows have each value of `country_name` and `status`?" {
		t.Errorf("questions of categories alone = %q", got)
	}
	if got := questions("select payment_id, note from {{ ref('stg_payments') }}"); got == nil || len(got) != 0 {
		t.Errorf("questions of a model with nothing to ask = %#v, want an empty list (the schema refuses null)", got)
	}
}
