// Package cost prices documentation: an embedded, dated table of list
// prices that a file can override, the cost of the usage a provider
// reported, and an estimate of a run's cost from its exact prompts before
// any call is made.
package cost

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

//go:embed prices.json
var embedded []byte

// Price is the list price of one model in USD per million tokens.
type Price struct {
	Provider string `json:"provider" yaml:"provider"`
	// Model is the model's undated name ("gpt-4o"); "*" prices every model
	// of the provider.
	Model string `json:"model" yaml:"model"`
	// Input is the price of prompt tokens not served from the cache.
	Input float64 `json:"input" yaml:"input"`
	// CachedInput is the price of prompt tokens read from the provider's
	// prompt cache. Defaults to Input when a file leaves it out.
	CachedInput float64 `json:"cached_input" yaml:"cached_input"`
	// CacheWrite is the price of prompt tokens written to the provider's
	// cache (Anthropic's 5-minute writes; OpenAI's from GPT-5.6 on, free
	// before). Defaults to Input when a file leaves it out.
	CacheWrite float64 `json:"cache_write" yaml:"cache_write"`
	// CacheWrite1h is the price of Anthropic's 1-hour cache writes; nil
	// when not known.
	CacheWrite1h *float64 `json:"cache_write_1h,omitempty" yaml:"cache_write_1h,omitempty"`
	Output       float64  `json:"output" yaml:"output"`
	// BatchInput and BatchOutput are the prices through the provider's
	// batch API; nil when the table does not know them (a price is never
	// derived from a rule the table did not state for the model).
	BatchInput  *float64 `json:"batch_input,omitempty" yaml:"batch_input,omitempty"`
	BatchOutput *float64 `json:"batch_output,omitempty" yaml:"batch_output,omitempty"`
	// Source says where the price was read.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	// Taken is the date (YYYY-MM-DD) the price was read: the table's date
	// unless the entry has its own.
	Taken string `json:"taken,omitempty" yaml:"taken,omitempty"`
}

// Table is a price table. It is read-only after Load, so safe to share.
type Table struct {
	// Taken is the date of the embedded table, Source where it came from.
	Taken, Source string
	// Override is the file that changed the table, or "".
	Override string
	prices   map[key]Price
}

type key struct{ provider, model string }

// file is the format of prices.json and of override files.
type file struct {
	Taken  string      `json:"taken" yaml:"taken"`
	Source string      `json:"source" yaml:"source"`
	Models []fileEntry `json:"models" yaml:"models"`
}

type fileEntry struct {
	Provider     string   `json:"provider" yaml:"provider"`
	Model        string   `json:"model" yaml:"model"`
	Input        *float64 `json:"input" yaml:"input"`
	CachedInput  *float64 `json:"cached_input" yaml:"cached_input"`
	CacheWrite   *float64 `json:"cache_write" yaml:"cache_write"`
	CacheWrite1h *float64 `json:"cache_write_1h" yaml:"cache_write_1h"`
	Output       *float64 `json:"output" yaml:"output"`
	BatchInput   *float64 `json:"batch_input" yaml:"batch_input"`
	BatchOutput  *float64 `json:"batch_output" yaml:"batch_output"`
	Source       string   `json:"source" yaml:"source"`
	Taken        string   `json:"taken" yaml:"taken"`
}

// Load returns the embedded table, changed by the file at overridePath when
// it is not "". The file has the embedded table's shape (see prices.json),
// as JSON or as YAML (by its extension: .yaml or .yml, JSON otherwise); each
// of its models replaces the entry of the same provider and model, or adds
// one. Unknown keys, missing prices and negative prices are EINVALID errors
// that name the file.
func Load(overridePath string) (*Table, error) {
	base, err := parse("prices.json", embedded, false)
	if err != nil {
		return nil, fmt.Errorf("embedded price table: %w", err)
	}
	t := &Table{Taken: base.Taken, Source: base.Source, prices: map[key]Price{}}
	t.merge(base)
	if overridePath == "" {
		return t, nil
	}
	b, err := os.ReadFile(overridePath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "Price file %s does not exist: check the path, or leave it out to use the built-in prices of %s.", overridePath, t.Taken)
		}
		return nil, fmt.Errorf("read price file: %w", err)
	}
	ext := strings.ToLower(filepath.Ext(overridePath))
	over, err := parse(overridePath, b, ext == ".yaml" || ext == ".yml")
	if err != nil {
		return nil, err
	}
	t.merge(over)
	t.Override = overridePath
	return t, nil
}

// MustLoad returns the embedded table; it panics only if the embedded file
// is broken, which the tests rule out.
func MustLoad() *Table {
	t, err := Load("")
	if err != nil {
		panic(err)
	}
	return t
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func parse(name string, b []byte, isYAML bool) (*file, error) {
	var f file
	if isYAML {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "Price file %s: %s. The keys are taken, source and models; each model has provider, model, input, cached_input, cache_write, cache_write_1h, output, batch_input, batch_output, source and taken.", name, strings.TrimPrefix(err.Error(), "yaml: "))
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "Price file %s: %s. The keys are taken, source and models; each model has provider, model, input, cached_input, cache_write, cache_write_1h, output, batch_input, batch_output, source and taken.", name, jsonProblem(b, err))
		}
	}
	if f.Taken != "" && !dateRE.MatchString(f.Taken) {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "Price file %s: taken is %q; write the date the prices were read as YYYY-MM-DD.", name, f.Taken)
	}
	for i, m := range f.Models {
		where := fmt.Sprintf("Price file %s, models[%d]", name, i)
		if strings.TrimSpace(m.Provider) == "" || strings.TrimSpace(m.Model) == "" {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s: provider and model are both required.", where)
		}
		if m.Input == nil || m.Output == nil {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s (%s %s): input and output prices are required, in USD per million tokens.", where, m.Provider, m.Model)
		}
		if (m.BatchInput == nil) != (m.BatchOutput == nil) {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s (%s %s): give both batch_input and batch_output, or neither.", where, m.Provider, m.Model)
		}
		for field, p := range map[string]*float64{"input": m.Input, "cached_input": m.CachedInput, "cache_write": m.CacheWrite, "cache_write_1h": m.CacheWrite1h, "output": m.Output, "batch_input": m.BatchInput, "batch_output": m.BatchOutput} {
			if p != nil && *p < 0 {
				return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s (%s %s): %s is negative (%g); prices are USD per million tokens, 0 or more.", where, m.Provider, m.Model, field, *p)
			}
		}
		if m.Taken != "" && !dateRE.MatchString(m.Taken) {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s (%s %s): taken is %q; write it as YYYY-MM-DD.", where, m.Provider, m.Model, m.Taken)
		}
	}
	return &f, nil
}

// jsonProblem words a decoding error with the line it happened on, when
// the decoder says where.
func jsonProblem(b []byte, err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("line %d: %s", 1+bytes.Count(b[:min(int(syn.Offset), len(b))], []byte("\n")), syn.Error())
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("line %d: %s should be a %s", 1+bytes.Count(b[:min(int(typ.Offset), len(b))], []byte("\n")), typ.Field, typ.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func (t *Table) merge(f *file) {
	for _, m := range f.Models {
		p := Price{
			Provider: normProvider(m.Provider),
			Model:    strings.ToLower(strings.TrimSpace(m.Model)),
			Input:    *m.Input,
			Output:   *m.Output,
			Source:   cmpOr(m.Source, f.Source),
			Taken:    cmpOr(m.Taken, f.Taken, t.Taken),
		}
		p.CachedInput, p.CacheWrite = p.Input, p.Input
		if m.CachedInput != nil {
			p.CachedInput = *m.CachedInput
		}
		if m.CacheWrite != nil {
			p.CacheWrite = *m.CacheWrite
		}
		p.CacheWrite1h, p.BatchInput, p.BatchOutput = m.CacheWrite1h, m.BatchInput, m.BatchOutput
		t.prices[key{p.Provider, p.Model}] = p
	}
}

func cmpOr(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func normProvider(p string) string { return strings.ToLower(strings.TrimSpace(p)) }

// Prices lists the table's entries, sorted by provider and model.
func (t *Table) Prices() []Price {
	out := make([]Price, 0, len(t.prices))
	for _, p := range t.prices {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Price) int {
		return strings.Compare(a.Provider+"\x00"+a.Model, b.Provider+"\x00"+b.Model)
	})
	return out
}

// Snapshot suffixes providers put on a model's name: OpenAI's
// "-2024-08-06", Anthropic's "-20250929", Vertex's "@20250929", "-latest".
var snapshotRE = regexp.MustCompile(`(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|@latest|-latest)$`)

// Price returns the price of provider's model. It matches the model's name
// case-insensitively, then without a snapshot suffix ("gpt-4o-2024-08-06"
// is "gpt-4o", "claude-sonnet-4-5-20250929" is "claude-sonnet-4-5"),
// without a router prefix ("openai/gpt-4o") and, for Claude, with dots read
// as dashes ("claude-sonnet-4.5"). It never guesses further: a name that
// only starts like a known one ("gpt-4o-audio-preview") is unknown, since
// variants are priced differently.
//
// An OpenAI-compatible endpoint may serve another provider's models (a
// LiteLLM proxy serving Claude), so a model unknown under its provider is
// looked up under the others by exact name.
func (t *Table) Price(provider, model string) (Price, bool) {
	provider = normProvider(provider)
	for _, name := range candidates(model) {
		if p, ok := t.prices[key{provider, name}]; ok {
			return p, true
		}
	}
	if p, ok := t.prices[key{provider, "*"}]; ok {
		return p, true
	}
	for _, name := range candidates(model) {
		for _, other := range []string{modeldoc.ProviderOpenAI, modeldoc.ProviderAnthropic} {
			if other == provider {
				continue
			}
			if p, ok := t.prices[key{other, name}]; ok {
				return p, true
			}
		}
	}
	return Price{}, false
}

func candidates(model string) []string {
	m := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	out := []string{m}
	for {
		s := snapshotRE.ReplaceAllString(m, "")
		if s == m {
			break
		}
		m = s
		out = append(out, m)
	}
	if strings.HasPrefix(m, "claude") && strings.Contains(m, ".") {
		out = append(out, strings.ReplaceAll(m, ".", "-"))
	}
	return out
}

// Cost returns the USD cost of usage u of provider's model: cached prompt
// tokens at the cached rate, the rest of the prompt at the input rate,
// completion tokens at the output rate. It is 0 for a model the table does
// not price; check Price first to tell that from a free model.
func (t *Table) Cost(provider, model string, u writer.Usage) float64 {
	p, ok := t.Price(provider, model)
	if !ok {
		return 0
	}
	return p.Cost(u)
}

// Cost returns the USD cost of u at price p: cached prompt tokens at the
// cached price, those written to the cache at the cache-write price, the
// rest of the prompt at the input price.
func (p Price) Cost(u writer.Usage) float64 {
	prompt := max(u.PromptTokens, 0)
	cached := min(max(u.CachedTokens, 0), prompt)
	written := min(max(u.CacheWriteTokens, 0), prompt-cached)
	uncached := prompt - cached - written
	return (float64(uncached)*p.Input + float64(cached)*p.CachedInput + float64(written)*p.CacheWrite + float64(max(u.CompletionTokens, 0))*p.Output) / 1e6
}

// CacheSaved is what cached prompt tokens saved at price p: their price
// as plain input less what they cost read from the cache.
func (p Price) CacheSaved(cachedTokens int64) float64 {
	return float64(max(cachedTokens, 0)) * (p.Input - p.CachedInput) / 1e6
}

// Batch is the price through the provider's batch API, and whether the
// table knows it. The batch discount applies to cached and cache-write
// tokens as to the rest of the input (both providers' batch discounts
// stack with their caches), so those keep their ratio to the input price.
func (p Price) Batch() (Price, bool) {
	if p.BatchInput == nil || p.BatchOutput == nil {
		return p, false
	}
	b := p
	b.Input, b.Output = *p.BatchInput, *p.BatchOutput
	if p.Input > 0 {
		r := *p.BatchInput / p.Input
		b.CachedInput, b.CacheWrite = p.CachedInput*r, p.CacheWrite*r
	}
	return b, true
}
