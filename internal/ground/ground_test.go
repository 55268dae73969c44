package ground

import (
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

func subject() *writer.Subject {
	return &writer.Subject{
		Object: modeldoc.Object{
			UniqueID: "model.shop.fct_orders", Name: "fct_orders", Type: modeldoc.TypeModel,
			RawSQL:      "with orders as (\n  select * from {{ ref('stg_orders') }}\n)\nselect order_id,\n  sum( amount ) as total_amount\nfrom orders\nwhere status = 'Completed'\ngroup by 1",
			CompiledSQL: "with orders as (\n  select * from \"db\".\"analytics\".\"stg_orders\"\n)\nselect order_id,\n  sum( amount ) as total_amount\nfrom orders\nwhere status = 'Completed'\ngroup by 1",
			Columns:     []modeldoc.Column{{Name: "order_id", DataType: "int"}, {Name: "total_amount", DataType: "numeric"}},
		},
		Upstream: []writer.Neighbor{{Object: modeldoc.Object{UniqueID: "model.shop.stg_orders", Name: "stg_orders",
			Columns: []modeldoc.Column{{Name: "order_id"}, {Name: "amount"}, {Name: "status"}, {Name: "customer_id"}}}}},
		Downstream: []writer.Neighbor{{Object: modeldoc.Object{UniqueID: "model.shop.rpt_revenue", Name: "rpt_revenue"}}},
	}
}

func TestGroundedAnswersHaveNoFindings(t *testing.T) {
	s := subject()
	for layer, content := range map[modeldoc.Layer]string{
		modeldoc.LayerBusinessRules: `{"rules":[{"rule":"Only completed orders count.","codeReference":"WHERE status   = 'Completed'","impact":"x"},
			{"rule":"Amounts add up.","codeReference":"sum(amount) as total_amount;","impact":"x"},
			{"rule":"elided","codeReference":"select order_id, ... from orders","impact":"x"},
			{"rule":"located","codeReference":"Final SELECT, line 4: WHERE status = 'Completed' and total_amount","impact":"x"},
			{"rule":"commented","codeReference":"orders as (\n select *\n -- … 3 more lines","impact":"x"}]}`,
		modeldoc.LayerExecutiveSummary:   "{\"summary\":\"Sums `amount` of `stg_orders` by `order_id` for `rpt_revenue`; reads the `orders` CTE and `stg_orders.customer_id`, filtering on `status = 'Completed'` and `amount > 0`.\"}",
		modeldoc.LayerCodeExplanations:   `{"explanations":[{"codeBlock":"{{ ref('stg_orders') }}","plainEnglish":"p","businessContext":"b"}]}`,
		modeldoc.LayerColumnDescriptions: `{"columns":[{"name":"order_id","description":"The order.","lineage":"passthrough","upstreamModel":"stg_orders","upstreamColumn":"order_id"},{"name":"total_amount","description":"Sum of ` + "`amount`" + `.","lineage":"derived","upstreamModel":"stg_orders","upstreamColumn":"amount"}]}`,
	} {
		if f := Check(layer, content, s); len(f) != 0 {
			t.Errorf("%s: unexpected findings %+v", layer, f)
		}
	}
}

func TestInventionsAreFound(t *testing.T) {
	s := subject()
	cases := []struct {
		layer   modeldoc.Layer
		content string
		kind    string
		path    string
	}{
		{modeldoc.LayerBusinessRules, `{"rules":[{"rule":"r","codeReference":"where is_deleted = false","impact":"i"}]}`, modeldoc.FindingCodeReference, "/rules/0/codeReference"},
		{modeldoc.LayerBusinessRules, `{"rules":[{"rule":"r","codeReference":"where status = 'Cancelled'","impact":"i"}]}`, modeldoc.FindingCodeReference, "/rules/0/codeReference"},
		{modeldoc.LayerBusinessRules, `{"rules":[{"rule":"r","codeReference":"Final SELECT, line 4: where status = 'Completed' and amount > 0","impact":"i"}]}`, modeldoc.FindingCodeReference, "/rules/0/codeReference"},
		{modeldoc.LayerCodeExplanations, `{"explanations":[{"codeBlock":"select ... from ledger_x","plainEnglish":"p","businessContext":"b"}]}`, modeldoc.FindingCodeReference, "/explanations/0/codeBlock"},
		{modeldoc.LayerExecutiveSummary, "{\"summary\":\"Reads `crm_shadow_ledger` daily.\"}", modeldoc.FindingIdentifier, "/summary"},
		{modeldoc.LayerExecutiveSummary, "{\"summary\":\"Reads `stg_orders.refund_amount` daily.\"}", modeldoc.FindingIdentifier, "/summary"},
		{modeldoc.LayerColumnDescriptions, `{"columns":[{"name":"order_id","description":"d","lineage":"passthrough","upstreamModel":"stg_orders","upstreamColumn":"order_key"},{"name":"total_amount","description":"d","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`, modeldoc.FindingIdentifier, "/columns/0/upstreamColumn"},
		{modeldoc.LayerColumnDescriptions, `{"columns":[{"name":"order_id","description":"d","lineage":"derived","upstreamModel":"","upstreamColumn":""},{"name":"net_margin","description":"d","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`, modeldoc.FindingColumn, "/columns/1/name"},
	}
	for _, c := range cases {
		f := Check(c.layer, c.content, s)
		if len(f) != 1 || f[0].Kind != c.kind || f[0].Path != c.path {
			t.Errorf("%s %s: findings %+v, want one %s at %s", c.layer, c.content, f, c.kind, c.path)
		}
	}
	err := &Error{Layer: modeldoc.LayerBusinessRules, Findings: Check(cases[0].layer, cases[0].content, s)}
	if !strings.Contains(err.Error(), "is_deleted") {
		t.Errorf("the re-ask text does not quote the finding: %s", err)
	}
}

func TestColumnsWithoutAWarehouseListAreReadFromTheSQL(t *testing.T) {
	s := subject()
	s.Object.Columns = []modeldoc.Column{{Name: "order_id", Declared: true}}
	ok := `{"columns":[{"name":"order_id","description":"d","lineage":"derived","upstreamModel":"","upstreamColumn":""},{"name":"total_amount","description":"d","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`
	if f := Check(modeldoc.LayerColumnDescriptions, ok, s); len(f) != 0 {
		t.Errorf("findings %+v", f)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT  a ,\n b":    "select a,b",
		"where x = 'A  B'":   "where x='a b'",
		"sum( amount )::int": "sum(amount)::int",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
