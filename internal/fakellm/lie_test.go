package fakellm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// TestLies: at lie_rate 1 every structured answer stays schema-valid but
// carries an invented identifier in backticks and, where the schema has a
// code field, an invented code reference; neither is in the prompt, and
// Invented names them. The same seed tells the same lies.
func TestLies(t *testing.T) {
	schema, err := os.ReadFile(filepath.Join("..", "prompt", "schemas", "business_rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed int64) []string {
		srv, root := startServer(t, fakellm.Config{Seed: seed, Faults: fakellm.Faults{LieRate: 1}})
		sch := compileSchema(t, string(schema))
		var out []string
		for range 5 {
			c, _ := content(t, post(t, root+"/chat/completions", chatBody(columnsPrompt, schemaFormat("business_rules", string(schema)))))
			validate(t, sch, c)
			inv := srv.Invented(c)
			if len(inv) != 2 {
				t.Fatalf("invented %q in %s, want an identifier and a code reference", inv, c)
			}
			if !strings.Contains(c, "`"+inv[0]+"`") || !strings.Contains(c, inv[1]) {
				t.Errorf("the answer %s does not hold its inventions %q", c, inv)
			}
			for _, x := range inv {
				if strings.Contains(strings.ToLower(columnsPrompt), strings.ToLower(x)) {
					t.Errorf("invention %q is in the prompt", x)
				}
			}
			out = append(out, c)
		}
		if st := getStats(t, root); st.FaultsByKind["lie"] != 5 {
			t.Errorf("stats count %d lies, want 5", st.FaultsByKind["lie"])
		}
		return out
	}
	a, b := run(7), run(7)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("the same seed told different lies:\n%s\n%s", a, b)
	}

	// lie_rate 0 (the default) never lies; the control API sets the rate.
	srv, root := startServer(t, fakellm.Config{})
	c, _ := content(t, post(t, root+"/chat/completions", chatBody(columnsPrompt, schemaFormat("business_rules", string(schema)))))
	if inv := srv.Invented(c); inv != nil {
		t.Errorf("an honest server invented %q", inv)
	}
	post(t, root+"/control", `{"lie_rate": 1}`)
	if got := srv.Faults().LieRate; got != 1 {
		t.Errorf("lie_rate after control = %v", got)
	}
	if r := post(t, root+"/control", `{"lie_rate": 2}`); r.status != 400 {
		t.Errorf("lie_rate 2 accepted: %d", r.status)
	}
}
