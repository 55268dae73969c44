package tokens

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/modeldoc/modeldoc/internal/testenv"
)

func TestCount(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text string
		want int
	}{
		{"", 0},
		{"hello world", 2},
		// "tiktoken is great!" is the example of OpenAI's cookbook (6 tokens).
		{"tiktoken is great!", 6},
		// select| id| from| orders| where| status| =| '|paid|'
		{"select id from orders where status = 'paid'", 10},
	}
	for _, c := range cases {
		if got := Count(c.text); got != c.want {
			t.Errorf("Count(%q) = %d, want %d", c.text, got, c.want)
		}
	}
}

func TestCountChat(t *testing.T) {
	t.Parallel()
	// Two messages: 3 priming + 2*(3 framing + 1 role) + contents.
	got := CountChat("You are terse.", "hello world")
	want := 3 + 2*4 + Count("You are terse.") + Count("hello world")
	if got != want {
		t.Fatalf("CountChat = %d, want %d", got, want)
	}
	if CountChat() != ReplyPriming {
		t.Fatalf("CountChat() = %d, want %d", CountChat(), ReplyPriming)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("select customer_id, sum(amount) as total from payments group by 1;\n", 200)
	full := Count(text)
	for _, budget := range []int{1, 7, 100, full - 1} {
		cut, truncated := Truncate(text, budget)
		if !truncated {
			t.Fatalf("Truncate(%d): not truncated", budget)
		}
		if n := Count(cut); n > budget || n < budget-2 {
			t.Errorf("Truncate(%d) kept %d tokens", budget, n)
		}
		if !strings.HasPrefix(text, cut) {
			t.Errorf("Truncate(%d) is not a prefix", budget)
		}
	}
	if cut, truncated := Truncate(text, full); truncated || cut != text {
		t.Errorf("Truncate(full) changed the text")
	}
	if cut, truncated := Truncate("short", 100); truncated || cut != "short" {
		t.Errorf("Truncate(short) = %q, %v", cut, truncated)
	}
	if cut, truncated := Truncate("abc", 0); truncated != true || cut != "" {
		t.Errorf("Truncate(0) = %q, %v", cut, truncated)
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	t.Parallel()
	// CJK and emoji split into several byte-level tokens each.
	text := strings.Repeat("数据仓库的订单表🚀", 50)
	for budget := 1; budget < 60; budget++ {
		cut, _ := Truncate(text, budget)
		if !utf8.ValidString(cut) {
			t.Fatalf("Truncate(%d) returned invalid UTF-8", budget)
		}
		if Count(cut) > budget {
			t.Fatalf("Truncate(%d) kept %d tokens", budget, Count(cut))
		}
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	want := Count(sampleSQL(t))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if got := Count(sampleSQL(t)); got != want {
					t.Errorf("concurrent Count = %d, want %d", got, want)
				}
			}
		})
	}
	wg.Wait()
}

// sampleSQL is the compiled SQL of the real Tuva project's manifest: a large,
// realistic corpus for counting.
var (
	sampleOnce sync.Once
	sample     string
)

func sampleSQL(tb testing.TB) string {
	tb.Helper()
	sampleOnce.Do(func() {
		dir, _ := os.Getwd()
		for ; dir != "/" && dir != "."; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, "shared", "dbt-datasets", "tuva-health__tuva", "manifest.json")
			if b, err := os.ReadFile(p); err == nil {
				// A slice of the manifest is enough: JSON-escaped SQL and
				// descriptions are as hard on the tokenizer as the SQL itself.
				sample = string(b[:min(len(b), 200_000)])
				return
			}
		}
	})
	if sample == "" {
		sample = strings.Repeat("with orders as (select * from {{ ref('stg_orders') }}) select order_id, case when status = 'paid' then amount end as paid_amount from orders\n", 1000)
	}
	return sample
}

func BenchmarkCount(b *testing.B) {
	text := sampleSQL(b)
	Count("warm up")
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		Count(text)
	}
}

func BenchmarkCountSmall(b *testing.B) {
	text := sampleSQL(b)[:4000]
	Count("warm up")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Count(text)
	}
}

func BenchmarkTruncate(b *testing.B) {
	text := sampleSQL(b)
	Count("warm up")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Truncate(text, 6000)
	}
}

// datasetsDir finds shared/dbt-datasets by walking up from the package.
func datasetsDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	for {
		p := filepath.Join(dir, "shared", "dbt-datasets")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			testenv.Missing(t, "shared/dbt-datasets not found above the package")
		}
		dir = parent
	}
}

// A Counter counts long texts line by line; it must give exactly what the
// tokenizer gives for the whole text, and encode to the same ids.
func TestCounterIsExact(t *testing.T) {
	texts := []string{
		strings.Repeat("select a,\n  b -- note\n\n\nfrom x\n/* c */\n)\n", 40),
		strings.Repeat("line one.\n/path/to\n\t tab\n\r\nwindows\r\nend\n", 40),
		strings.Repeat("## Columns\n- order_id (integer)\n- naïve_ü (text)\n日本語\n", 40),
	}
	templates, _ := filepath.Glob("../prompt/templates/*.tmpl")
	for _, f := range templates {
		b, _ := os.ReadFile(f)
		texts = append(texts, string(b))
	}
	checkCounter(t, texts)

	// Real SQL, where the datasets are.
	root := datasetsDir(t)
	texts = nil
	for _, m := range []string{"fivetran__dbt_hubspot/manifest.json", "tuva-health__tuva/manifest.json"} {
		data, err := os.ReadFile(filepath.Join(root, m))
		if err != nil {
			t.Fatal(err)
		}
		var manifest struct {
			Nodes map[string]map[string]any `json:"nodes"`
		}
		if err := json.Unmarshal(data, &manifest); err != nil {
			t.Fatal(err)
		}
		for _, n := range manifest.Nodes {
			for _, k := range []string{"raw_code", "raw_sql", "compiled_code", "compiled_sql"} {
				if s, ok := n[k].(string); ok && len(s) >= 512 && len(texts) < 400 {
					texts = append(texts, s)
				}
			}
		}
	}
	checkCounter(t, texts)
}

func checkCounter(t *testing.T, texts []string) {
	t.Helper()
	enc := get()
	c := NewCounter()
	// Twice: the second pass is answered from the memo.
	for range 2 {
		for _, s := range texts {
			want, _, err := enc.Encode(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Count(s); got != len(want) {
				t.Fatalf("chunked count %d, tokenizer %d, for:\n%s", got, len(want), s)
			}
			if got := c.Encode(s); !slices.Equal(got, want) {
				t.Fatalf("chunked encoding differs from the tokenizer's for:\n%s", s)
			}
		}
	}
	t.Logf("%d texts counted exactly", len(texts))
}
