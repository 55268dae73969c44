package cost

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/testenv"
	"github.com/modeldoc/modeldoc/internal/tokens"
	"github.com/modeldoc/modeldoc/internal/writer"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEmbeddedTable(t *testing.T) {
	tab := MustLoad()
	if tab.Taken != "2026-11-29" || !strings.Contains(tab.Source, "Langfuse") {
		t.Errorf("table date %q, source %q", tab.Taken, tab.Source)
	}
	for _, p := range tab.Prices() {
		if p.Taken == "" || p.Source == "" {
			t.Errorf("%s %s has no date or source", p.Provider, p.Model)
		}
		if p.CachedInput > p.Input || p.Input < 0 || p.Output < p.Input {
			t.Errorf("%s %s: implausible prices %+v", p.Provider, p.Model, p)
		}
	}
	for _, want := range [][2]string{{"openai", "gpt-4o"}, {"openai", "gpt-5-mini"}, {"anthropic", "claude-sonnet-4-5"}, {"anthropic", "claude-haiku-4-5"}} {
		if _, ok := tab.Price(want[0], want[1]); !ok {
			t.Errorf("no price for %s %s", want[0], want[1])
		}
	}
}

func TestCostArithmetic(t *testing.T) {
	tab := MustLoad()
	// gpt-4o: 2.50 in, 1.25 cached, 10.00 out per 1M.
	u := writer.Usage{PromptTokens: 1_000_000, CachedTokens: 200_000, CompletionTokens: 100_000}
	if got, want := tab.Cost("openai", "gpt-4o", u), 0.8*2.50+0.2*1.25+0.1*10.00; !near(got, want) {
		t.Errorf("gpt-4o cost = %v, want %v", got, want)
	}
	// One layer of claude-sonnet-4-5: 3,000 prompt tokens (1,000 cached), 500 out.
	u = writer.Usage{PromptTokens: 3000, CachedTokens: 1000, CompletionTokens: 500}
	if got, want := tab.Cost("anthropic", "claude-sonnet-4-5", u), (2000*3.00+1000*0.30+500*15.00)/1e6; !near(got, want) {
		t.Errorf("sonnet cost = %v, want %v", got, want)
	}
	// Cached tokens beyond the prompt (a provider bug) never go negative.
	u = writer.Usage{PromptTokens: 100, CachedTokens: 500}
	if got, want := tab.Cost("openai", "gpt-4o", u), 100*1.25/1e6; !near(got, want) {
		t.Errorf("over-cached cost = %v, want %v", got, want)
	}
	if got := tab.Cost("offline", "anything", writer.Usage{PromptTokens: 1e6, CompletionTokens: 1e6}); got != 0 {
		t.Errorf("offline cost = %v", got)
	}
	if _, ok := tab.Price("offline", "offline-v1"); !ok {
		t.Errorf("offline is not priced")
	}
	if got := tab.Cost("openai", "llama3.1:8b", writer.Usage{PromptTokens: 1000}); got != 0 {
		t.Errorf("unknown model cost = %v", got)
	}
}

func TestSnapshotMatching(t *testing.T) {
	tab := MustLoad()
	cases := []struct {
		provider, model, want string // want "" means unknown
	}{
		{"openai", "gpt-4o", "gpt-4o"},
		{"openai", "GPT-4o", "gpt-4o"},
		{"openai", "gpt-4o-2024-08-06", "gpt-4o"},
		{"openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"openai", "gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"},
		{"openai", "gpt-5-mini-2025-08-07", "gpt-5-mini"},
		{"openai", "openai/gpt-4o", "gpt-4o"},
		{"anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"anthropic", "claude-3-5-haiku-20241022", "claude-3-5-haiku"},
		{"anthropic", "claude-3-5-haiku-latest", "claude-3-5-haiku"},
		{"anthropic", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
		{"anthropic", "claude-sonnet-4.5", "claude-sonnet-4-5"},
		// An OpenAI-compatible proxy serving Claude.
		{"openai", "claude-haiku-4-5", "claude-haiku-4-5"},
		// Variants are priced differently: never matched by prefix.
		{"openai", "gpt-4o-audio-preview", ""},
		{"openai", "gpt-4o-mini-tts", ""},
		{"openai", "gpt-5-chat-latest", ""},
		{"openai", "llama3.1:8b", ""},
		{"anthropic", "claude-sonnet", ""},
	}
	for _, c := range cases {
		p, ok := tab.Price(c.provider, c.model)
		if c.want == "" {
			if ok {
				t.Errorf("%s %s matched %s; want unknown", c.provider, c.model, p.Model)
			}
			continue
		}
		if !ok || p.Model != c.want {
			t.Errorf("%s %s matched %q (%v); want %s", c.provider, c.model, p.Model, ok, c.want)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOverrideFile(t *testing.T) {
	for _, c := range []struct{ name, content string }{
		{"prices.json", `{"taken": "2027-01-15", "source": "our contract", "models": [
			{"provider": "openai", "model": "gpt-4o", "input": 2.0, "cached_input": 1.0, "output": 8.0},
			{"provider": "openai", "model": "llama3.1:8b", "input": 0, "output": 0, "source": "local Ollama"}]}`},
		{"prices.yaml", "taken: \"2027-01-15\"\nsource: our contract\nmodels:\n  - {provider: openai, model: gpt-4o, input: 2.0, cached_input: 1.0, output: 8.0}\n  - provider: openai\n    model: llama3.1:8b\n    input: 0\n    output: 0\n    source: local Ollama\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, err := Load(writeFile(t, c.name, c.content))
			if err != nil {
				t.Fatal(err)
			}
			p, ok := tab.Price("openai", "gpt-4o-2024-08-06")
			if !ok || p.Input != 2.0 || p.CachedInput != 1.0 || p.Output != 8.0 || p.Taken != "2027-01-15" || p.Source != "our contract" {
				t.Errorf("overridden gpt-4o = %+v", p)
			}
			p, ok = tab.Price("openai", "llama3.1:8b")
			if !ok || p.Input != 0 || p.Source != "local Ollama" {
				t.Errorf("added model = %+v, %v", p, ok)
			}
			// Entries the file leaves alone keep the embedded price and date.
			p, _ = tab.Price("anthropic", "claude-sonnet-4-5")
			if p.Input != 3.00 || p.Taken != "2026-11-29" {
				t.Errorf("untouched entry = %+v", p)
			}
		})
	}
	// cached_input left out means no cache discount.
	tab, err := Load(writeFile(t, "p.json", `{"models":[{"provider":"openai","model":"my-ft","input":4,"output":16}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := tab.Price("openai", "my-ft"); p.CachedInput != 4 || p.Taken != "2026-11-29" {
		t.Errorf("defaulted entry = %+v", p)
	}
}

func TestOverrideFileErrors(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"bad.json", `{"models":[{"provider":"openai","model":"gpt-4o","input":1,"output":2,"outptu":3}]}`, `unknown field "outptu"`},
		{"bad.json", `{"taken":"2027-01-15","currency":"EUR"}`, `unknown field "currency"`},
		{"bad.yaml", "models:\n  - provider: openai\n    model: gpt-4o\n    input: 1\n    output: 2\n    price: 3\n", "line 6: field price not found"},
		{"bad.json", "{\n\"models\": [\n{\"provider\": \"openai\",}\n]}", "line 3"},
		{"bad.json", `{"models":[{"provider":"openai","model":"gpt-4o","input":"cheap","output":2}]}`, "models.input should be a float64"},
		{"bad.json", `{"models":[{"provider":"openai","model":"gpt-4o","output":2}]}`, "input and output prices are required"},
		{"bad.json", `{"models":[{"provider":"openai","model":"gpt-4o","input":-1,"output":2}]}`, "input is negative"},
		{"bad.json", `{"models":[{"model":"gpt-4o","input":1,"output":2}]}`, "provider and model are both required"},
		{"bad.json", `{"taken":"Jan 2027","models":[]}`, `taken is "Jan 2027"`},
	}
	for _, c := range cases {
		path := writeFile(t, c.name, c.content)
		_, err := Load(path)
		if err == nil {
			t.Errorf("%s: no error for %s", c.want, c.content)
			continue
		}
		if modeldoc.ErrorCode(err) != modeldoc.EINVALID || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q: want EINVALID naming %s and saying %q", err, path, c.want)
		}
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.json"))
	if modeldoc.ErrorCode(err) != modeldoc.EINVALID || !strings.Contains(err.Error(), "missing.json does not exist") {
		t.Errorf("missing file: %v", err)
	}
}

type manifestNode struct {
	Name, Description string
	ResourceType      string `json:"resource_type"`
	CompiledCode      string `json:"compiled_code"`
	RawCode           string `json:"raw_code"`
	Columns           map[string]struct{ Name, Description string }
}

type manifest struct {
	Nodes     map[string]manifestNode
	ParentMap map[string][]string `json:"parent_map"`
	ChildMap  map[string][]string `json:"child_map"`
}

var (
	tuvaOnce sync.Once
	tuva     *manifest
)

// loadTuva reads the real Tuva manifest in place, as much of it as a
// prompt needs.
func loadTuva(t testing.TB) *manifest {
	t.Helper()
	tuvaOnce.Do(func() {
		dir, _ := os.Getwd()
		for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
			b, err := os.ReadFile(filepath.Join(d, "shared", "dbt-datasets", "tuva-health__tuva", "manifest.json"))
			if err != nil {
				continue
			}
			var m manifest
			if json.Unmarshal(b, &m) == nil {
				tuva = &m
			}
			return
		}
	})
	if tuva == nil {
		testenv.Missing(t, "Tuva dataset not found")
	}
	return tuva
}

func (m *manifest) requests(t testing.TB, id string) []writer.Request {
	t.Helper()
	obj := func(id string) modeldoc.Object {
		n := m.Nodes[id]
		o := modeldoc.Object{UniqueID: id, Name: n.Name, Type: modeldoc.ObjectType(n.ResourceType), Description: n.Description, CompiledSQL: n.CompiledCode, RawSQL: n.RawCode}
		for _, c := range n.Columns {
			o.Columns = append(o.Columns, modeldoc.Column{Name: c.Name, Description: c.Description, HumanDescription: c.Description != ""})
		}
		slices.SortFunc(o.Columns, func(a, b modeldoc.Column) int { return strings.Compare(a.Name, b.Name) })
		return o
	}
	s := &writer.Subject{Object: obj(id)}
	for _, p := range m.ParentMap[id] {
		s.Upstream = append(s.Upstream, writer.Neighbor{Object: obj(p), Summary: "An upstream summary of two sentences. It names " + p + "."})
	}
	for _, c := range m.ChildMap[id] {
		s.Downstream = append(s.Downstream, writer.Neighbor{Object: obj(c)})
	}
	reqs, err := prompt.BuildAll(modeldoc.AllLayers, s, prompt.Options{Model: "gpt-4o-mini"})
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}

func (m *manifest) models() []string {
	var ids []string
	for id, n := range m.Nodes {
		if n.ResourceType == "model" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// goldenRequests builds every layer's request for Tuva's
// cms_hcc__int_disease_factors.
func goldenRequests(t testing.TB) []writer.Request {
	return loadTuva(t).requests(t, "model.the_tuva_project.cms_hcc__int_disease_factors")
}

func TestEstimateRequestMatchesCountChat(t *testing.T) {
	for _, req := range goldenRequests(t) {
		got, _ := EstimateRequest(req)
		// The schema travels as a response format; count it like a message.
		exact := tokens.CountChat(req.System, req.User, string(req.Schema))
		if diff := math.Abs(float64(got-exact)) / float64(exact); diff > 0.02 {
			t.Errorf("%s: estimate %d vs exact %d (%.1f%%)", req.Layer, got, exact, 100*diff)
		}
		// Without the schema the framing is exactly the chat format's.
		noSchema := req
		noSchema.Schema = nil
		if got, _ := EstimateRequest(noSchema); got != tokens.CountChat(req.System, req.User) {
			t.Errorf("%s: estimate without schema %d, CountChat %d", req.Layer, got, tokens.CountChat(req.System, req.User))
		}
	}
}

// The expected completion sizes are calibrated on answers written to each
// layer's instructions for the same model (testdata/answers): each must
// land within a factor of 1.6 of the real answer's size.
func TestCompletionCalibration(t *testing.T) {
	for _, req := range goldenRequests(t) {
		b, err := os.ReadFile(filepath.Join("testdata", "answers", string(req.Layer)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := prompt.ValidateFor(req.Layer, string(b), req.Subject); err != nil {
			t.Errorf("%s: the calibration answer is itself invalid: %v", req.Layer, err)
		}
		actual := tokens.Count(strings.TrimSpace(string(b)))
		_, expected := EstimateRequest(req)
		ratio := float64(expected) / float64(actual)
		t.Logf("%-22s answer %4d tokens, expected %4d (max %4d), ratio %.2f", req.Layer, actual, expected, req.MaxTokens, ratio)
		if ratio < 1/1.6 || ratio > 1.6 {
			t.Errorf("%s: expected completion %d is off the calibration answer's %d by a factor of %.2f", req.Layer, expected, actual, ratio)
		}
		if actual > req.MaxTokens {
			t.Errorf("%s: a realistic answer (%d tokens) does not fit MaxTokens %d", req.Layer, actual, req.MaxTokens)
		}
	}
}

func TestEstimate(t *testing.T) {
	tab := MustLoad()
	reqs := goldenRequests(t)
	e := tab.Estimate("openai", "gpt-4o-mini-2024-07-18", reqs)
	var p, c int64
	for _, r := range reqs {
		rp, rc := EstimateRequest(r)
		p += int64(rp)
		c += int64(rc)
	}
	if !e.Known || e.PromptTokens != p || e.CompletionTokens != c || e.PriceDate != "2026-11-29" || e.Note != "" {
		t.Errorf("estimate = %+v", e)
	}
	if want := (float64(p)*0.15 + float64(c)*0.60) / 1e6; !near(e.Cost, want) {
		t.Errorf("cost = %v, want %v", e.Cost, want)
	}
	t.Logf("7 layers of cms_hcc__int_disease_factors on gpt-4o-mini: %d prompt + %d completion tokens, $%.5f", p, c, e.Cost)

	u := tab.Estimate("openai", "llama3.1:8b", reqs)
	if u.Known || u.Cost != 0 || u.PromptTokens != p || !strings.Contains(u.Note, "No price is known for openai model llama3.1:8b") {
		t.Errorf("unknown-model estimate = %+v", u)
	}
	o := tab.Estimate("offline", "", reqs)
	if !o.Known || o.Cost != 0 {
		t.Errorf("offline estimate = %+v", o)
	}
}

func BenchmarkEstimateRequest(b *testing.B) {
	reqs := goldenRequests(b)
	for b.Loop() {
		for _, r := range reqs {
			EstimateRequest(r)
		}
	}
}

// BenchmarkEstimateTuva estimates all 7 layers of every Tuva model (2,149
// requests) from a cold memo, as a batch estimate does.
func BenchmarkEstimateTuva(b *testing.B) {
	m := loadTuva(b)
	var reqs []writer.Request
	for _, id := range m.models() {
		reqs = append(reqs, m.requests(b, id)...)
	}
	tab := MustLoad()
	b.ReportMetric(float64(len(reqs)), "requests/op")
	for b.Loop() {
		counter = tokens.NewCounter()
		tab.Estimate("openai", "gpt-4o-mini", reqs)
	}
}

// Cached reads, cache writes and the rest of the prompt each at their own
// price; what the cache saved is the cached tokens' input price less their
// cached price.
func TestCostPricesCacheReadsAndWrites(t *testing.T) {
	tab := MustLoad()
	p, ok := tab.Price("anthropic", "claude-sonnet-4-5")
	if !ok || p.CacheWrite != 3.75 || p.CacheWrite1h == nil || *p.CacheWrite1h != 6 || p.CachedInput != 0.30 {
		t.Fatalf("claude-sonnet-4-5: %+v", p)
	}
	u := writer.Usage{PromptTokens: 1_000_000, CachedTokens: 500_000, CacheWriteTokens: 200_000, CompletionTokens: 100_000}
	want := 0.3*3.00 + 0.5*0.30 + 0.2*3.75 + 0.1*15.00
	if got := p.Cost(u); math.Abs(got-want) > 1e-9 {
		t.Errorf("cost %v, want %v", got, want)
	}
	if got := p.CacheSaved(1_000_000); math.Abs(got-2.70) > 1e-9 {
		t.Errorf("saved %v, want 2.70", got)
	}
	o, _ := tab.Price("openai", "gpt-4o-mini")
	if o.CacheWrite != o.Input || o.BatchInput == nil || *o.BatchInput != 0.075 || *o.BatchOutput != 0.30 {
		t.Errorf("gpt-4o-mini: cache write %v (want the input price), batch %v/%v", o.CacheWrite, o.BatchInput, o.BatchOutput)
	}
	if g, _ := tab.Price("openai", "gpt-5"); g.BatchInput != nil || g.BatchOutput != nil {
		t.Errorf("gpt-5 has a batch price the reference never listed")
	}
}

func TestPriceFileNeedsBothBatchPrices(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(path, []byte(`{"models":[{"provider":"openai","model":"m","input":1,"output":2,"batch_input":0.5}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "batch_output") {
		t.Errorf("a file with batch_input alone: %v", err)
	}
}
