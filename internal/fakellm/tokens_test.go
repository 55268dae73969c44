package fakellm_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiktoken-go/tokenizer"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/testenv"
)

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

// The fake counts long texts line by line; it must give exactly what the
// tokenizer gives for the whole text.
func TestChunkedCountIsExact(t *testing.T) {
	enc, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		strings.Repeat("select a,\n  b -- note\n\n\nfrom x\n/* c */\n)\n", 40),
		strings.Repeat("line one.\n/path/to\n\t tab\n\r\nwindows\r\nend\n", 40),
		strings.Repeat("## Columns\n- order_id (integer)\n- naïve_ü (text)\n日本語\n", 40),
	}
	root := datasetsDir(t)
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
	templates, _ := filepath.Glob("../prompt/templates/*.tmpl")
	for _, f := range templates {
		b, _ := os.ReadFile(f)
		texts = append(texts, string(b))
	}
	for _, s := range texts {
		want, err := enc.Count(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := fakellm.CountTokens(s); got != want {
			t.Fatalf("chunked count %d, tokenizer %d, for:\n%s", got, want, s)
		}
	}
	t.Logf("%d texts counted exactly", len(texts))
}
