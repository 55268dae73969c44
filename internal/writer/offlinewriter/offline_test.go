package offlinewriter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// datasetDir is where the shared datasets are, read in place.
func datasetDir(tb testing.TB) string { return dbttest.Dir(tb) }

type mNode struct {
	UniqueID     string   `json:"unique_id"`
	ResourceType string   `json:"resource_type"`
	Name         string   `json:"name"`
	Schema       string   `json:"schema"`
	Database     string   `json:"database"`
	Path         string   `json:"original_file_path"`
	Description  string   `json:"description"`
	Tags         []string `json:"tags"`
	RawCode      string   `json:"raw_code"`
	CompiledCode string   `json:"compiled_code"`
	Config       struct {
		Materialized string `json:"materialized"`
	} `json:"config"`
	Columns map[string]struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		DataType    string `json:"data_type"`
	} `json:"columns"`
	DependsOn struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
}

type project struct {
	objects map[string]*modeldoc.Object
	up      map[string][]string
	down    map[string][]string
	models  []string
}

// loadProject builds catalog objects from a manifest and catalog the way
// an importer would, parsing only the fields the writer reads.
func loadProject(tb testing.TB, name string) *project {
	tb.Helper()
	dir := filepath.Join(datasetDir(tb), name)
	var m struct {
		Nodes   map[string]mNode `json:"nodes"`
		Sources map[string]mNode `json:"sources"`
	}
	var c struct {
		Nodes   map[string]catalogNode `json:"nodes"`
		Sources map[string]catalogNode `json:"sources"`
	}
	for file, v := range map[string]any{"manifest.json": &m, "catalog.json": &c} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			tb.Fatalf("%s/%s: %v", name, file, err)
		}
	}
	p := &project{objects: map[string]*modeldoc.Object{}, up: map[string][]string{}, down: map[string][]string{}}
	add := func(n mNode, cat catalogNode) {
		if n.ResourceType != "model" && n.ResourceType != "seed" && n.ResourceType != "source" && n.ResourceType != "snapshot" {
			return
		}
		o := &modeldoc.Object{UniqueID: n.UniqueID, Type: modeldoc.ObjectType(n.ResourceType), Name: n.Name, Schema: n.Schema,
			Database: n.Database, FilePath: n.Path, Description: n.Description, Tags: n.Tags, RawSQL: n.RawCode,
			CompiledSQL: n.CompiledCode, Materialization: n.Config.Materialized}
		seen := map[string]int{}
		for _, cc := range cat.sortedColumns() {
			seen[strings.ToLower(cc.Name)] = len(o.Columns)
			o.Columns = append(o.Columns, modeldoc.Column{Name: strings.ToLower(cc.Name), DataType: cc.Type, Position: cc.Index})
		}
		var declared []string
		for k := range n.Columns {
			declared = append(declared, k)
		}
		sort.Strings(declared)
		for _, k := range declared {
			mc := n.Columns[k]
			col := modeldoc.Column{Name: mc.Name, DataType: mc.DataType, Description: mc.Description, HumanDescription: mc.Description != "", Declared: true}
			if i, ok := seen[strings.ToLower(mc.Name)]; ok {
				col.DataType = o.Columns[i].DataType
				col.Position = o.Columns[i].Position
				o.Columns[i] = col
			} else {
				col.Position = len(o.Columns) + 1
				o.Columns = append(o.Columns, col)
			}
		}
		p.objects[n.UniqueID] = o
		if n.ResourceType == "model" {
			p.models = append(p.models, n.UniqueID)
		}
		for _, u := range n.DependsOn.Nodes {
			p.up[n.UniqueID] = append(p.up[n.UniqueID], u)
			p.down[u] = append(p.down[u], n.UniqueID)
		}
	}
	for id, n := range m.Nodes {
		add(n, c.Nodes[id])
	}
	for id, n := range m.Sources {
		n.ResourceType = "source"
		add(n, c.Sources[id])
	}
	sort.Strings(p.models)
	return p
}

type catalogNode struct {
	Columns map[string]struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Index int    `json:"index"`
	} `json:"columns"`
}

type catCol struct {
	Name, Type string
	Index      int
}

func (c catalogNode) sortedColumns() []catCol {
	var out []catCol
	for _, v := range c.Columns {
		out = append(out, catCol{v.Name, v.Type, v.Index})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

func (p *project) subject(id string) *writer.Subject {
	s := &writer.Subject{Object: *p.objects[id]}
	seen := map[string]bool{}
	for _, u := range p.up[id] {
		if o, ok := p.objects[u]; ok && !seen[u] {
			seen[u] = true
			s.Upstream = append(s.Upstream, writer.Neighbor{Object: *o})
		}
	}
	seen = map[string]bool{}
	for _, d := range p.down[id] {
		if o, ok := p.objects[d]; ok && !seen[d] {
			seen[d] = true
			s.Downstream = append(s.Downstream, writer.Neighbor{Object: *o})
		}
	}
	return s
}

// decodeStrict unmarshals content into the layer's shape, refusing
// unknown fields, and returns every string that must not be empty.
func decodeStrict(t *testing.T, layer modeldoc.Layer, content string, ncols int) []string {
	t.Helper()
	var v any
	switch layer {
	case modeldoc.LayerExecutiveSummary:
		v = &modeldoc.ExecutiveSummaryOut{}
	case modeldoc.LayerBusinessNarrative:
		v = &modeldoc.BusinessNarrative{}
	case modeldoc.LayerTransformationCards:
		v = &modeldoc.TransformationCardsOut{}
	case modeldoc.LayerCodeExplanations:
		v = &modeldoc.CodeExplanationsOut{}
	case modeldoc.LayerBusinessRules:
		v = &modeldoc.BusinessRulesOut{}
	case modeldoc.LayerImpactAnalysis:
		v = &modeldoc.ImpactAnalysis{}
	case modeldoc.LayerColumnDescriptions:
		v = &modeldoc.ColumnDescriptionsOut{}
	}
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v\n%s", layer, err, content)
	}
	var strs []string
	check := func(cond bool, format string, args ...any) {
		if !cond {
			t.Errorf("%s: "+format, append([]any{layer}, args...)...)
		}
	}
	switch x := v.(type) {
	case *modeldoc.ExecutiveSummaryOut:
		strs = append(strs, x.Summary)
		// Which writer wrote it is metadata, not text.
		check(!strings.Contains(x.Summary, "language model") && !strings.Contains(x.Summary, "offline writer"), "summary carries a note about its writer: %q", x.Summary)
	case *modeldoc.BusinessNarrative:
		strs = append(strs, x.WhatItDoes, x.BusinessImpact)
		strs = append(strs, x.DataJourney...)
		check(len(x.DataJourney) > 0, "empty dataJourney")
	case *modeldoc.TransformationCardsOut:
		check(len(x.Cards) > 0, "no cards")
		for i, c := range x.Cards {
			check(c.StepNumber == i+1, "card %d numbered %d", i+1, c.StepNumber)
			strs = append(strs, c.Title, c.Input, c.Logic, c.Output, c.WhyItMatters)
		}
	case *modeldoc.CodeExplanationsOut:
		check(len(x.Explanations) > 0, "no explanations")
		for _, e := range x.Explanations {
			strs = append(strs, e.CodeBlock, e.PlainEnglish, e.BusinessContext)
		}
	case *modeldoc.BusinessRulesOut:
		check(len(x.Rules) > 0, "no rules")
		for _, r := range x.Rules {
			strs = append(strs, r.Rule, r.CodeReference, r.Impact)
		}
	case *modeldoc.ImpactAnalysis:
		check(len(x.UsedBy) > 0, "usedBy %d", len(x.UsedBy))
		// A question names the columns it is asked of; none is a filler
		// any table answers.
		for _, q := range x.QuestionsAnswered {
			check(strings.Count(q, "`") >= 2 && strings.HasSuffix(q, "?"), "question %q names no column", q)
		}
		strs = append(strs, x.DownstreamImpact)
		strs = append(strs, x.QuestionsAnswered...)
		for _, u := range x.UsedBy {
			strs = append(strs, u.Team, u.Frequency, u.Purpose)
		}
	case *modeldoc.ColumnDescriptionsOut:
		check(len(x.Columns) == ncols, "%d column entries for %d columns", len(x.Columns), ncols)
		for _, c := range x.Columns {
			// An empty description leaves a column undocumented.
			strs = append(strs, c.Name)
			check(c.Lineage == "passthrough" || c.Lineage == "derived", "column %s lineage %q", c.Name, c.Lineage)
			if c.Lineage == "passthrough" {
				check(c.UpstreamModel != "" && c.UpstreamColumn != "", "passthrough column %s without upstream", c.Name)
			}
		}
	}
	return strs
}

func TestRealModelsEveryLayer(t *testing.T) {
	t.Parallel()
	w := New()
	ctx := context.Background()
	examples := map[string]bool{
		"model.the_tuva_project.hcc_suspecting__int_all_conditions":                              true,
		"model.hubspot.hubspot__email_event_sent":                                                true,
		"model.the_tuva_project.data_quality__claims_preprocessing_medical_claim_invalid_values": true,
	}
	stats := map[string]int{}
	for _, name := range []string{"tuva-health__tuva", "fivetran__dbt_hubspot"} {
		p := loadProject(t, name)
		for _, id := range p.models {
			subj := p.subject(id)
			var doc bytes.Buffer
			for _, layer := range modeldoc.AllLayers {
				res, err := w.Write(ctx, writer.Request{Layer: layer, Subject: subj})
				if err != nil {
					t.Fatalf("%s %s: %v", id, layer, err)
				}
				if res.Model != ModelName || res.FinishReason != "stop" || res.Usage != (writer.Usage{}) {
					t.Fatalf("%s %s: result %+v", id, layer, res)
				}
				// Without catalog columns the writer falls back to the
				// final SELECT's named columns.
				ncols := len(w.facts(subj).outputColumns())
				if ncols == 0 {
					t.Errorf("%s: no columns at all", id)
				}
				// The answer must pass the checks a provider's answer
				// passes: a layer that fails them is not kept.
				if err := prompt.Validate(layer, res.Content); err != nil {
					t.Errorf("%s %s: %v", id, layer, err)
				}
				strs := decodeStrict(t, layer, res.Content, ncols)
				for i, s := range strs {
					if strings.TrimSpace(s) == "" {
						t.Errorf("%s %s: required string %d is empty:\n%s", id, layer, i, res.Content)
					}
					for _, bad := range []string{"TODO", "N/A", "<nil>", "%!"} {
						if strings.Contains(s, bad) {
							t.Errorf("%s %s: %q contains %q", id, layer, s, bad)
						}
					}
				}
				if layer == modeldoc.LayerColumnDescriptions {
					var out modeldoc.ColumnDescriptionsOut
					_ = json.Unmarshal([]byte(res.Content), &out)
					for _, c := range out.Columns {
						stats[c.Lineage]++
						if c.Lineage == "passthrough" {
							if up := upstreamDescription(subj, c.UpstreamModel, c.UpstreamColumn); up != "" {
								stats["inherited"]++
							}
						}
					}
				}
				if examples[id] {
					var pretty bytes.Buffer
					_ = json.Indent(&pretty, []byte(res.Content), "  ", "  ")
					fmt.Fprintf(&doc, "\n--- %s\n  %s\n", layer, pretty.String())
				}
			}
			if examples[id] {
				t.Logf("===== %s%s", id, doc.String())
			}
		}
	}
	t.Logf("column lineage over both projects: %v", stats)
	if stats["passthrough"] < stats["derived"] {
		t.Errorf("most columns of these staging-heavy projects pass through, got %v", stats)
	}
	if stats["inherited"] == 0 {
		t.Error("no passthrough column found an upstream description")
	}
}

func upstreamDescription(s *writer.Subject, model, col string) string {
	for _, nb := range s.Upstream {
		if nb.Object.Name == model {
			if c := findColumn(nb.Object.Columns, col); c != nil {
				return c.Description
			}
		}
	}
	return ""
}

// TestPassthroughInheritance checks the dbt-osmosis behaviour on a small
// hand-made lineage: renamed, cast and star-selected columns keep their
// upstream description; computed columns are derived; the object's own
// human description wins.
func TestPassthroughInheritance(t *testing.T) {
	t.Parallel()
	orders := modeldoc.Object{Name: "stg_orders", Type: modeldoc.TypeModel, Schema: "staging", Columns: []modeldoc.Column{
		{Name: "order_id", Description: "Unique order number from the shop."},
		{Name: "customer_id", Description: "Customer who placed the order."},
		{Name: "amount_cents", Description: "Order total in cents, tax included."},
		{Name: "status", Description: "Order lifecycle state."},
		{Name: "ordered_at", Description: "When the order was placed (UTC)."},
	}}
	customers := modeldoc.Object{Name: "customers", Type: modeldoc.TypeSource, UniqueID: "source.shop.crm.customers", Columns: []modeldoc.Column{
		{Name: "id", Description: "CRM customer key."},
		{Name: "email", Description: "Customer's e-mail address."},
	}}
	sql := `
with o as (select * from {{ ref('stg_orders') }} where status <> 'cancelled'),
c as (select id as customer_id, email from {{ source('crm', 'customers') }}),
joined as (
  select o.order_id, o.customer_id, c.email as customer_email, cast(o.ordered_at as date) as order_date,
         o.amount_cents / 100.0 as amount, o.status,
         case when o.amount_cents > 10000 then 'large' else 'small' end as size
  from o left join c on o.customer_id = c.customer_id
)
select order_id, customer_id, customer_email, order_date, amount, status, size, 'shop' as channel from joined`
	subj := &writer.Subject{
		Object: modeldoc.Object{Name: "fct_orders", RawSQL: sql, Columns: []modeldoc.Column{
			{Name: "order_id"}, {Name: "customer_id"}, {Name: "customer_email"}, {Name: "order_date"},
			{Name: "amount"}, {Name: "status", Description: "Shop status, as agreed with finance.", HumanDescription: true},
			{Name: "size"}, {Name: "channel"},
		}},
		Upstream:   []writer.Neighbor{{Object: orders}, {Object: customers}},
		Downstream: []writer.Neighbor{{Object: modeldoc.Object{Name: "finance_revenue_daily"}}},
	}
	res, err := New().Write(context.Background(), writer.Request{Layer: modeldoc.LayerColumnDescriptions, Subject: subj})
	if err != nil {
		t.Fatal(err)
	}
	var out modeldoc.ColumnDescriptionsOut
	if err := json.Unmarshal([]byte(res.Content), &out); err != nil {
		t.Fatal(err)
	}
	type row struct{ lineage, model, column, desc string }
	got := map[string]row{}
	for _, c := range out.Columns {
		got[c.Name] = row{c.Lineage, c.UpstreamModel, c.UpstreamColumn, c.Description}
	}
	want := map[string]row{
		"order_id":       {"passthrough", "stg_orders", "order_id", "Unique order number from the shop."},
		"customer_id":    {"passthrough", "stg_orders", "customer_id", "Customer who placed the order."},
		"customer_email": {"passthrough", "customers", "email", "Customer's e-mail address."},
		"order_date":     {"passthrough", "stg_orders", "ordered_at", "When the order was placed (UTC)."},
		"amount":         {"derived", "", "", "Computed as `o.amount_cents / 100.0`."},
		"status":         {"passthrough", "stg_orders", "status", "Shop status, as agreed with finance."},
		"size":           {"derived", "", "", "'large' when `amount_cents` is greater than 10000; otherwise 'small'."},
		"channel":        {"derived", "", "", "Always 'shop'."},
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s:\n got %+v\nwant %+v", k, got[k], want[k])
			}
		}
	}
	// Rules come from WHERE and CASE with their code reference.
	res, _ = New().Write(context.Background(), writer.Request{Layer: modeldoc.LayerBusinessRules, Subject: subj})
	for _, want := range []string{"Only rows where `status` is not 'cancelled' are kept", "Step `o`, line 2: WHERE status <> 'cancelled'", "`size` is set by a CASE"} {
		if !strings.Contains(res.Content, want) {
			t.Errorf("business rules lack %q:\n%s", want, res.Content)
		}
	}
	res, _ = New().Write(context.Background(), writer.Request{Layer: modeldoc.LayerImpactAnalysis, Subject: subj})
	if !strings.Contains(res.Content, "Finance (inferred") {
		t.Errorf("impact analysis does not infer Finance from finance_revenue_daily:\n%s", res.Content)
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	w := New()
	if w.Provider() != "offline" {
		t.Errorf("Provider = %q", w.Provider())
	}
	_, err := w.Write(context.Background(), writer.Request{Layer: modeldoc.LayerExecutiveSummary})
	if writer.KindOf(err) != writer.InvalidRequest {
		t.Errorf("no subject: %v", err)
	}
	_, err = w.Write(context.Background(), writer.Request{Layer: "nope", Subject: &writer.Subject{}})
	if writer.KindOf(err) != writer.InvalidRequest || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown layer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = w.Write(ctx, writer.Request{Layer: modeldoc.LayerExecutiveSummary, Subject: &writer.Subject{}}); err == nil {
		t.Error("cancelled context: no error")
	}
	// An empty object still gets readable, schema-shaped layers.
	for _, l := range modeldoc.AllLayers {
		res, err := w.Write(context.Background(), writer.Request{Layer: l, Subject: &writer.Subject{Object: modeldoc.Object{Name: "empty"}}})
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		for i, s := range decodeStrict(t, l, res.Content, 0) {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: empty string %d in %s", l, i, res.Content)
			}
		}
	}
}

// TestDeterministicAndConcurrent writes the same layers from many
// goroutines (the orchestrator runs a model's layers concurrently) and
// expects identical output; run with -race.
func TestDeterministicAndConcurrent(t *testing.T) {
	t.Parallel()
	p := loadProject(t, "fivetran__dbt_hubspot")
	w := New()
	ids := p.models[:20]
	want := map[string]string{}
	for _, id := range ids {
		res, _ := w.Write(context.Background(), writer.Request{Layer: modeldoc.LayerTransformationCards, Subject: p.subject(id)})
		want[id] = res.Content
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fresh := New()
			for _, id := range ids {
				for _, ww := range []*Writer{w, fresh} {
					res, err := ww.Write(context.Background(), writer.Request{Layer: modeldoc.LayerTransformationCards, Subject: p.subject(id)})
					if err != nil || res.Content != want[id] {
						t.Errorf("%s: output differs between calls (err %v)", id, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkWriteAllLayers(b *testing.B) {
	p := loadProject(b, "tuva-health__tuva")
	var subjects []*writer.Subject
	for _, id := range p.models {
		subjects = append(subjects, p.subject(id))
	}
	w := New()
	b.ResetTimer()
	for b.Loop() {
		for _, s := range subjects {
			for _, l := range modeldoc.AllLayers {
				if _, err := w.Write(context.Background(), writer.Request{Layer: l, Subject: s}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(len(subjects)*b.N)/b.Elapsed().Minutes(), "models/min")
}
