package generate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
	"github.com/modeldoc/modeldoc/internal/writer/openaiwriter"
)

// tuvaModels are real Tuva models of different shapes: many CTEs, a
// staging passthrough, a wide mart, one with downstream consumers.
var tuvaModels = []string{
	"cms_hcc__int_disease_factors",
	"core__stg_claims_medical_claim",
	"financial_pmpm__pmpm_prep",
	"cms_hcc__patient_risk_scores",
}

// shopModels are examples/shop's models of each layer: staging,
// intermediate, a fact and a dimension.
var shopModels = []string{"stg_orders", "int_order_lines", "fct_orders", "dim_customers"}

// catalogStore imports a dataset (a folder with manifest.json and
// catalog.json) into a fresh SQLite store.
// The dataset exampleShop is the repository's examples/shop, read as a dbt
// project folder: present on every clone, unlike the shared datasets.
func catalogStore(t testing.TB, dataset string) (*store.Store, int64) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join("..", "..", "examples", "shop")
	if dataset != exampleShop {
		path = dbttest.Path(t, dataset)
	}
	cat, err := dbt.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", dataset, err)
	}
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatalf("import %s: %v", dataset, err)
	}
	return st, org.ID
}

func newService(t testing.TB, st *store.Store) *generate.Service {
	t.Helper()
	svc, err := generate.New(generate.Config{Catalog: st})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func resolve(t testing.TB, st *store.Store, orgID int64, name string) *modeldoc.Object {
	t.Helper()
	o, err := st.ResolveObject(context.Background(), orgID, name)
	if err != nil {
		t.Fatalf("resolve %s: %v", name, err)
	}
	return o
}

// startFake serves a fakellm on a real port and returns an OpenAI writer
// pointed at it.
func startFake(t testing.TB, cfg fakellm.Config) (*fakellm.Server, writer.Writer) {
	t.Helper()
	srv := fakellm.New(cfg)
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	w, err := openaiwriter.New(openaiwriter.Config{APIKey: "sk-test-dummy", BaseURL: srv.BaseURL()})
	if err != nil {
		t.Fatal(err)
	}
	return srv, w
}

// checkAllLayers asserts that every layer came back ok and that what is
// stored is schema-valid JSON for the subject, with tokens counted.
func checkAllLayers(t *testing.T, plan *generate.Plan, v *modeldoc.DocVersion, wantTokens bool) {
	t.Helper()
	for _, l := range modeldoc.AllLayers {
		st, ok := v.LayerStatus[l]
		if !ok || st.Status != "ok" {
			t.Errorf("%s: layer %s status %+v", plan.Object.Name, l, st)
			continue
		}
		raw := v.Layers[l]
		if err := prompt.ValidateFor(l, string(raw), plan.Subject); err != nil {
			t.Errorf("%s: layer %s does not validate: %v\n%s", plan.Object.Name, l, err, raw)
		}
	}
	// A combined call's tokens are counted in its first layer, and a
	// column layer with nothing to ask has no call.
	if wantTokens && (v.PromptTokens == 0 || v.CompletionTokens == 0) {
		t.Errorf("%s: no token usage: %+v", plan.Object.Name, v.LayerStatus)
	}
	if len(v.MissingLayers()) != 0 {
		t.Errorf("%s: missing layers %v", plan.Object.Name, v.MissingLayers())
	}
	if v.ComplexityScore < 1 || v.ComplexityScore > 5 {
		t.Errorf("%s: complexity %d outside 1-5", plan.Object.Name, v.ComplexityScore)
	}
	if v.InputHash == "" || v.PromptVersion != prompt.Version {
		t.Errorf("%s: input hash %q, prompt version %q", plan.Object.Name, v.InputHash, v.PromptVersion)
	}
}

func TestEveryLayerAgainstFakeServer(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		dataset string
		models  []string
	}{
		{exampleShop, shopModels},
		{"tuva-health__tuva", tuvaModels},
	} {
		t.Run(filepath.Base(tc.dataset), func(t *testing.T) {
			st, orgID := catalogStore(t, tc.dataset)
			svc := newService(t, st)
			srv, w := startFake(t, fakellm.Config{})
			calls := 0
			for _, name := range tc.models {
				t.Run(name, func(t *testing.T) {
					obj := resolve(t, st, orgID, name)
					// Combined: the model-level layers in one call, the columns
					// in another unless a person documented them all.
					// Per-layer: one call per layer, the same exception.
					for _, mode := range []string{prompt.CallsCombined, prompt.CallsPerLayer} {
						plan, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini", Calls: mode})
						if err != nil {
							t.Fatal(err)
						}
						lo, hi := 1, 2
						if mode == prompt.CallsPerLayer {
							lo, hi = len(modeldoc.AllLayers)-1, len(modeldoc.AllLayers)
						}
						if n := len(plan.Requests); n < lo || n > hi {
							t.Fatalf("%s: %d requests, want %d to %d", mode, n, lo, hi)
						}
						calls += len(plan.Requests)
						v, err := svc.Write(ctx, plan, w)
						if err != nil {
							t.Fatal(err)
						}
						checkAllLayers(t, plan, v, true)
						if v.Provider != "openai" || v.Model == "" || v.Cost <= 0 || v.EstimatedCost <= 0 {
							t.Errorf("provider %q model %q cost %v estimate %v", v.Provider, v.Model, v.Cost, v.EstimatedCost)
						}
					}
				})
			}
			if s := srv.Stats(); s.Requests != int64(calls) || s.Faults != 0 {
				t.Errorf("fake served %d requests, %d faults", s.Requests, s.Faults)
			}
		})
	}
}

func TestEveryLayerOffline(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		dataset string
		models  []string
	}{
		{exampleShop, shopModels},
		{"tuva-health__tuva", tuvaModels},
		{"fivetran__dbt_hubspot", nil}, // the first models with columns
	} {
		t.Run(filepath.Base(tc.dataset), func(t *testing.T) {
			st, orgID := catalogStore(t, tc.dataset)
			svc := newService(t, st)
			models := tc.models
			if models == nil {
				list, _, err := st.ListObjects(ctx, orgID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range list {
					if len(models) == 6 {
						break
					}
					models = append(models, o.UniqueID)
				}
			}
			w := offlinewriter.New()
			for _, name := range models {
				obj := resolve(t, st, orgID, name)
				plan, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "offline"})
				if err != nil {
					t.Fatal(err)
				}
				v, err := svc.Write(ctx, plan, w)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkAllLayers(t, plan, v, false)
				if v.Provider != "offline" {
					t.Errorf("provider %q", v.Provider)
				}
				// The summary names the model's subject, not a placeholder.
				if s := v.ExecutiveSummary(); len(strings.Fields(s)) < 8 {
					t.Errorf("%s: thin summary %q", name, s)
				}
			}
		})
	}
}

// scriptWriter answers with the offline writer's (valid) content, except
// where its hook says otherwise. It records every request it got.
type scriptWriter struct {
	inner writer.Writer
	hook  func(call int, req writer.Request) (writer.Result, error, bool)
	mu    sync.Mutex
	calls map[modeldoc.Layer][]writer.Request
	n     atomic.Int64
}

func newScript(hook func(call int, req writer.Request) (writer.Result, error, bool)) *scriptWriter {
	return &scriptWriter{inner: offlinewriter.New(), hook: hook, calls: map[modeldoc.Layer][]writer.Request{}}
}

func (s *scriptWriter) Provider() string { return "openai" }

func (s *scriptWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	s.mu.Lock()
	s.calls[req.Layer] = append(s.calls[req.Layer], req)
	call := len(s.calls[req.Layer])
	s.mu.Unlock()
	s.n.Add(1)
	usage := writer.Usage{PromptTokens: 100, CompletionTokens: 20}
	if s.hook != nil {
		if res, err, ok := s.hook(call, req); ok {
			res.Usage = usage
			return res, err
		}
	}
	res, err := s.inner.Write(ctx, req)
	res.Usage = usage
	res.Model = "gpt-4o-mini"
	return res, err
}

func (s *scriptWriter) requests(l modeldoc.Layer) []writer.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[l]
}

// exampleShop names examples/shop for catalogStore.
const exampleShop = "examples/shop"

// writeCases are the models the writing tests plan: one of examples/shop,
// so that every clone checks the behaviour, and a real Tuva model with many
// CTEs, for realism (skipped without the datasets).
var writeCases = []struct{ name, dataset, model string }{
	{"shop", exampleShop, "dim_customers"},
	{"tuva", "tuva-health__tuva", "cms_hcc__int_disease_factors"},
}

// eachPlan runs fn as a subtest on each of writeCases, planned as planModel does.
func eachPlan(t *testing.T, fn func(t *testing.T, svc *generate.Service, plan *generate.Plan, st *store.Store, orgID int64)) {
	t.Helper()
	for _, c := range writeCases {
		t.Run(c.name, func(t *testing.T) {
			svc, plan, st, orgID := planModel(t, c.dataset, c.model)
			fn(t, svc, plan, st, orgID)
		})
	}
}

func planModel(t *testing.T, dataset, name string) (*generate.Service, *generate.Plan, *store.Store, int64) {
	t.Helper()
	st, orgID := catalogStore(t, dataset)
	svc := newService(t, st)
	obj := resolve(t, st, orgID, name)
	// One call per layer: the scripted writers answer by layer.
	plan, err := svc.Plan(context.Background(), orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini", Calls: prompt.CallsPerLayer})
	if err != nil {
		t.Fatal(err)
	}
	return svc, plan, st, orgID
}

func TestInvalidJSONIsAskedAgainOnce(t *testing.T) {
	eachPlan(t, func(t *testing.T, svc *generate.Service, plan *generate.Plan, _ *store.Store, _ int64) {
		w := newScript(func(call int, req writer.Request) (writer.Result, error, bool) {
			if req.Layer == modeldoc.LayerBusinessRules && call == 1 {
				return writer.Result{Content: `{"confidence":"high","rules": [ {"rule": "unterminated`, FinishReason: "stop"}, nil, true
			}
			return writer.Result{}, nil, false
		})
		v, err := svc.Write(context.Background(), plan, w)
		if err != nil {
			t.Fatal(err)
		}
		checkAllLayers(t, plan, v, true)
		st := v.LayerStatus[modeldoc.LayerBusinessRules]
		if st.Attempts != 2 || st.PromptTokens != 200 {
			t.Errorf("business_rules status %+v, want 2 attempts and both calls' tokens", st)
		}
		reqs := w.requests(modeldoc.LayerBusinessRules)
		if len(reqs) != 2 {
			t.Fatalf("%d business_rules calls, want 2", len(reqs))
		}
		// The re-ask carries the bad answer's error so the model can fix it.
		if reqs[1].User == reqs[0].User && reqs[1].System == reqs[0].System {
			t.Errorf("the second request is the first one again; it must carry the validation error")
		}
		if !strings.Contains(reqs[1].User+reqs[1].System, "unterminated") && !strings.Contains(strings.ToLower(reqs[1].User+reqs[1].System), "json") {
			t.Errorf("the re-ask does not mention the invalid answer:\n%s", reqs[1].User)
		}
		for _, req := range plan.Requests {
			if l := req.Layer; l != modeldoc.LayerBusinessRules && len(w.requests(l)) != 1 {
				t.Errorf("layer %s called %d times, want 1", l, len(w.requests(l)))
			}
		}
	})
}

func TestStillInvalidFailsTheLayerAndKeepsTheOthers(t *testing.T) {
	eachPlan(t, func(t *testing.T, svc *generate.Service, plan *generate.Plan, st *store.Store, orgID int64) {
		w := newScript(func(call int, req writer.Request) (writer.Result, error, bool) {
			if req.Layer == modeldoc.LayerImpactAnalysis {
				// Valid JSON, wrong shape: the schema check must catch it.
				return writer.Result{Content: `{"confidence":"high","usedBy": "everyone"}`, FinishReason: "stop"}, nil, true
			}
			return writer.Result{}, nil, false
		})
		v, err := svc.Write(context.Background(), plan, w)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.MissingLayers(); len(got) != 1 || got[0] != modeldoc.LayerImpactAnalysis {
			t.Fatalf("missing layers %v, want [impact_analysis]", got)
		}
		ls := v.LayerStatus[modeldoc.LayerImpactAnalysis]
		if ls.Attempts != 2 || ls.ErrorClass != string(writer.Malformed) || ls.Error == "" {
			t.Errorf("impact_analysis status %+v", ls)
		}
		if _, ok := v.Layers[modeldoc.LayerImpactAnalysis]; ok {
			t.Error("an invalid layer was kept")
		}
		if n := len(w.requests(modeldoc.LayerImpactAnalysis)); n != 2 {
			t.Errorf("impact_analysis asked %d times, want 2 (one re-ask)", n)
		}
		for _, l := range modeldoc.AllLayers {
			if l == modeldoc.LayerImpactAnalysis {
				continue
			}
			if v.LayerStatus[l].Status != "ok" || v.Layers[l] == nil {
				t.Errorf("layer %s lost: %+v", l, v.LayerStatus[l])
			}
		}
		// The partial version stores, and says what it lacks once read back.
		if err := st.InsertDocVersion(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		back, err := st.GetDocVersion(context.Background(), orgID, plan.Object.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := back.MissingLayers(); len(got) != 1 || got[0] != modeldoc.LayerImpactAnalysis {
			t.Errorf("stored version misses %v", got)
		}
	})
}

func TestFatalErrorStopsTheObject(t *testing.T) {
	ctx := context.Background()
	for _, c := range writeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Run("scripted", func(t *testing.T) {
				svc, plan, _, _ := planModel(t, c.dataset, c.model)
				w := newScript(func(call int, req writer.Request) (writer.Result, error, bool) {
					return writer.Result{}, &writer.Error{Kind: writer.AuthFailed, Provider: "openai", Status: 401, Message: "Incorrect API key provided"}, true
				})
				v, err := svc.Write(ctx, plan, w)
				if v != nil || writer.KindOf(err) != writer.AuthFailed {
					t.Fatalf("got version %v, error %v; want no version and auth_failed", v, err)
				}
			})
			t.Run("fake server 401", func(t *testing.T) {
				svc, plan, _, _ := planModel(t, c.dataset, c.model)
				srv, w := startFake(t, fakellm.Config{Faults: fakellm.Faults{AuthFail: true}})
				v, err := svc.Write(ctx, plan, w)
				var we *writer.Error
				if v != nil || !errors.As(err, &we) || we.Kind != writer.AuthFailed || we.Status != 401 {
					t.Fatalf("got version %v, error %v; want auth_failed with HTTP 401", v, err)
				}
				// No re-ask of a fatal error: at most one call per layer.
				if n := srv.Stats().Requests; n > int64(len(modeldoc.AllLayers)) {
					t.Errorf("%d requests after a 401, want at most %d", n, len(modeldoc.AllLayers))
				}
			})
			t.Run("fake server quota", func(t *testing.T) {
				svc, plan, _, _ := planModel(t, c.dataset, c.model)
				_, w := startFake(t, fakellm.Config{Faults: fakellm.Faults{Quota: true}})
				if _, err := svc.Write(ctx, plan, w); writer.KindOf(err) != writer.QuotaExhausted {
					t.Fatalf("error %v, want quota_exhausted", err)
				}
			})
		})
	}
}

func TestVersionsThroughTheStore(t *testing.T) {
	eachPlan(t, func(t *testing.T, svc *generate.Service, plan *generate.Plan, st *store.Store, orgID int64) {
		ctx := context.Background()
		w := offlinewriter.New()
		for i := 1; i <= 2; i++ {
			v, err := svc.Write(ctx, plan, w)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.InsertDocVersion(ctx, v); err != nil {
				t.Fatalf("generation %d: %v", i, err)
			}
			if v.Version != i || !v.Current {
				t.Fatalf("generation %d stored as version %d current=%v", i, v.Version, v.Current)
			}
		}
		list, err := st.ListDocVersions(ctx, orgID, plan.Object.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("%d versions listed, want 2", len(list))
		}
		current := 0
		for _, v := range list {
			if v.Current {
				current++
				if v.Version != 2 {
					t.Errorf("version %d is current, want 2", v.Version)
				}
			}
		}
		if current != 1 {
			t.Errorf("%d current versions, want 1", current)
		}
		for _, n := range []int{1, 2} {
			v, err := st.GetDocVersion(ctx, orgID, plan.Object.ID, n)
			if err != nil {
				t.Fatalf("version %d: %v", n, err)
			}
			if v.Version != n || len(v.Layers) != len(modeldoc.AllLayers) || v.Provider != "offline" {
				t.Errorf("version %d read back as %d with %d layers by %q", n, v.Version, len(v.Layers), v.Provider)
			}
		}
		cur, err := st.CurrentDocVersions(ctx, []int64{plan.Object.ID})
		if err != nil || cur[plan.Object.ID] == nil || cur[plan.Object.ID].Version != 2 {
			t.Fatalf("current version %+v, %v", cur[plan.Object.ID], err)
		}
	})
}

// generatedColumns rewrites every column description, so that a human one
// surviving can only be the rule at work.
func generatedColumns(call int, req writer.Request) (writer.Result, error, bool) {
	if req.Layer != modeldoc.LayerColumnDescriptions {
		return writer.Result{}, nil, false
	}
	out := modeldoc.ColumnDescriptionsOut{Confidence: modeldoc.ConfidenceHigh}
	for _, c := range req.Subject.Object.Columns {
		out.Columns = append(out.Columns, modeldoc.ColumnDescription{
			Name: c.Name, Description: "Generated text about " + c.Name + ".", Lineage: "derived"})
	}
	b, _ := json.Marshal(out)
	return writer.Result{Content: string(b), Model: "gpt-4o-mini", FinishReason: "stop"}, nil, true
}

func TestHumanColumnDescriptionsWin(t *testing.T) {
	ctx := context.Background()
	// Models with both human-described columns and undescribed ones.
	for _, c := range []struct{ name, dataset, model string }{
		{"shop", exampleShop, "fct_orders"},
		{"tuva", "tuva-health__tuva", "cms_hcc__patient_risk_scores"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, orgID := catalogStore(t, c.dataset)
			svc := newService(t, st)
			obj := resolve(t, st, orgID, c.model)
			human, other := 0, 0
			for _, c := range obj.Columns {
				if c.HumanDescription && c.Description != "" {
					human++
				} else {
					other++
				}
			}
			if human == 0 {
				t.Fatalf("%s has no human column descriptions; pick another model", obj.Name)
			}
			for _, overwrite := range []bool{false, true} {
				t.Run(fmt.Sprintf("overwrite=%v", overwrite), func(t *testing.T) {
					plan, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini",
						Layers: []modeldoc.Layer{modeldoc.LayerColumnDescriptions}, OverwriteHuman: overwrite})
					if err != nil {
						t.Fatal(err)
					}
					v, err := svc.Write(ctx, plan, newScript(generatedColumns))
					if err != nil {
						t.Fatal(err)
					}
					var out modeldoc.ColumnDescriptionsOut
					if err := json.Unmarshal(v.Layers[modeldoc.LayerColumnDescriptions], &out); err != nil {
						t.Fatal(err)
					}
					got := map[string]string{}
					for _, c := range out.Columns {
						got[c.Name] = c.Description
					}
					for _, c := range obj.Columns {
						generated := "Generated text about " + c.Name + "."
						want := generated
						if c.HumanDescription && c.Description != "" && !overwrite {
							want = c.Description
						}
						if got[c.Name] != want {
							t.Errorf("column %s: %q, want %q", c.Name, got[c.Name], want)
						}
					}
				})
			}
		})
	}
}

func TestInputHash(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	obj := resolve(t, st, orgID, "cms_hcc__int_disease_factors")
	opts := generate.Options{Provider: "openai", Model: "gpt-4o-mini"}
	hash := func(svc *generate.Service) string {
		p, err := svc.Plan(ctx, orgID, obj.ID, opts)
		if err != nil {
			t.Fatal(err)
		}
		return p.InputHash
	}
	// Stable across runs: a second service on a second import of the same
	// manifest gives the same hash.
	h1 := hash(newService(t, st))
	st2, org2 := catalogStore(t, "tuva-health__tuva")
	obj2 := resolve(t, st2, org2, obj.UniqueID)
	p2, err := newService(t, st2).Plan(ctx, org2, obj2.ID, opts)
	if err != nil {
		t.Fatal(err)
	}
	if h1 == "" || p2.InputHash != h1 || hash(newService(t, st)) != h1 {
		t.Fatalf("input hash not stable: %q, %q", h1, p2.InputHash)
	}

	// Changing the SQL changes it; so do the model and the layers.
	svc := newService(t, st)
	plan, _ := svc.Plan(ctx, orgID, obj.ID, opts)
	changed := *plan.Subject
	changed.Object.CompiledSQL += "\nwhere 1 = 1"
	changed.Object.RawSQL += "\nwhere 1 = 1"
	changed.Object.SQLHash = modeldoc.HashSQL(changed.Object.RawSQL, changed.Object.CompiledSQL)
	p3, err := svc.PlanSubject(&changed, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p3.InputHash == h1 {
		t.Error("changed SQL kept the input hash")
	}
	other := opts
	other.Model = "gpt-4o"
	p4, _ := svc.PlanSubject(plan.Subject, other)
	if p4.InputHash == h1 {
		t.Error("another model kept the input hash")
	}

	// And through a re-import of the project with changed SQL.
	cat, err := dbt.Load(dbttest.Path(t, "tuva-health__tuva"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range cat.Objects {
		if cat.Objects[i].UniqueID == obj.UniqueID {
			cat.Objects[i].RawSQL += "\n-- changed"
			cat.Objects[i].CompiledSQL += "\nwhere true"
			cat.Objects[i].SQLHash = modeldoc.HashSQL(cat.Objects[i].RawSQL, cat.Objects[i].CompiledSQL)
		}
	}
	if _, err := st.ImportCatalog(ctx, orgID, cat); err != nil {
		t.Fatal(err)
	}
	if h := hash(newService(t, st)); h == h1 {
		t.Error("re-imported SQL change kept the input hash")
	}
}

// TestEstimateMatchesFakeUsage compares the estimate from the exact
// prompts with what the fake server counts on the wire, over several real
// models. Prompt tokens must agree within 10%; completion tokens are a
// forecast, so their ratio is only reported.
func TestEstimateMatchesFakeUsage(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	svc := newService(t, st)
	srv, w := startFake(t, fakellm.Config{})
	var estPrompt, estCompletion int64
	for _, name := range tuvaModels {
		obj := resolve(t, st, orgID, name)
		plan, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := svc.Write(ctx, plan, w)
		if err != nil {
			t.Fatal(err)
		}
		for l, ls := range v.LayerStatus {
			if ls.Attempts > 1 {
				t.Errorf("%s %s took %d attempts: %s", name, l, ls.Attempts, ls.Error)
			}
		}
		estPrompt += plan.EstimatedPromptTokens
		estCompletion += plan.EstimatedCompletionTokens
		ratio := float64(plan.EstimatedPromptTokens) / float64(v.PromptTokens)
		t.Logf("%s: prompt estimate %d, fake %d (%.3f); completion estimate %d, fake %d (%.3f)", name,
			plan.EstimatedPromptTokens, v.PromptTokens, ratio,
			plan.EstimatedCompletionTokens, v.CompletionTokens, float64(plan.EstimatedCompletionTokens)/float64(v.CompletionTokens))
		if ratio < 0.9 || ratio > 1.1 {
			t.Errorf("%s: prompt estimate %d is %.1f%% off the %d tokens the fake counted", name,
				plan.EstimatedPromptTokens, (ratio-1)*100, v.PromptTokens)
		}
	}
	s := srv.Stats()
	pr := float64(estPrompt) / float64(s.PromptTokens)
	cr := float64(estCompletion) / float64(s.CompletionTokens)
	t.Logf("all: prompt estimate/fake = %d/%d = %.3f; completion estimate/fake = %d/%d = %.3f",
		estPrompt, s.PromptTokens, pr, estCompletion, s.CompletionTokens, cr)
	if pr < 0.9 || pr > 1.1 {
		t.Errorf("total prompt estimate %.1f%% off", (pr-1)*100)
	}
}
