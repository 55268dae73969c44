package sqlscan

import (
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sql  string
		want string // "Kind:text" joined by " | "
	}{
		{"words and punctuation", "select a.b, c from t;",
			"Ident:select | Ident:a | Dot:. | Ident:b | Comma:, | Ident:c | Ident:from | Ident:t | Semicolon:;"},
		{"line comment runs to end of line", "a -- join b\nc",
			"Ident:a | Comment:-- join b | Ident:c"},
		{"block comment", "a /* case\nwhen */ b",
			"Ident:a | Comment:/* case\nwhen */ | Ident:b"},
		{"unterminated block comment", "a /* b", "Ident:a | Comment:/* b"},
		{"string with doubled quote", "'it''s -- not a comment'",
			"String:'it''s -- not a comment'"},
		{"string with backslash escape", `'a\'b' c`, `String:'a\'b' | Ident:c`},
		{"unterminated string", "'abc", "String:'abc"},
		{"double-quoted identifier", `"Order ""Items""".x`,
			`QuotedIdent:"Order ""Items""" | Dot:. | Ident:x`},
		{"backtick identifier", "`proj.ds.t`", "QuotedIdent:`proj.ds.t`"},
		{"dollar quoting", "$$ select 'x' $$ $tag$a$tag$ $1",
			"String:$$ select 'x' $$ | String:$tag$a$tag$ | Operator:$ | Number:1"},
		{"numbers", "1 2.5 .5 1e10 3E-2 0xFF",
			"Number:1 | Number:2.5 | Number:.5 | Number:1e10 | Number:3E-2 | Number:0xFF"},
		{"operators", "a::int <> b || c >= d != e -> f ->> g => h",
			"Ident:a | Operator::: | Ident:int | Operator:<> | Ident:b | Operator:|| | Ident:c | Operator:>= | Ident:d | Operator:!= | Ident:e | Operator:-> | Ident:f | Operator:->> | Ident:g | Operator:=> | Ident:h"},
		{"jinja expression kept whole", "from {{ ref('a') }} x",
			"Ident:from | Jinja:{{ ref('a') }} | Ident:x"},
		{"jinja string holding closer", `{{ "}}" }}`, `Jinja:{{ "}}" }}`},
		{"jinja statement and comment", "{% if x %}a{% endif %}{# c #}",
			"Jinja:{% if x %} | Ident:a | Jinja:{% endif %} | Jinja:{# c #}"},
		{"unicode identifier", "select café from t", "Ident:select | Ident:café | Ident:from | Ident:t"},
		{"dollar in snowflake identifier", "a$b", "Ident:a$b"},
		{"dot after word is not a number", "t.5", "Ident:t | Dot:. | Number:5"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			toks := Tokenize(tt.sql)
			var got []string
			for _, tok := range toks {
				got = append(got, tok.Kind.String()+":"+tok.Text)
				if tt.sql[tok.Pos:tok.End()] != tok.Text {
					t.Errorf("token %q: Pos %d does not point at its text", tok.Text, tok.Pos)
				}
			}
			if g := strings.Join(got, " | "); g != tt.want {
				t.Errorf("Tokenize(%q)\n got %s\nwant %s", tt.sql, g, tt.want)
			}
		})
	}
}

func TestTokenName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`"a""b"`: `a"b`, "`x`": "x", "plain": "plain", `"`: ``} {
		toks := Tokenize(in)
		if len(toks) != 1 {
			t.Fatalf("Tokenize(%q) = %d tokens", in, len(toks))
		}
		if got := toks[0].Name(); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRefs(t *testing.T) {
	t.Parallel()
	sql := `{{ config(materialized='table') }}
-- {{ ref('commented_out') }} is still Jinja, dbt renders it too
select * from {{ ref('orders') }} o
join {{ ref("pkg", "customers") }} c on true
join {{ source('stripe', 'payments') }} p on true
join {{ ref('versioned', v=2) }} v on true
join {{ ref(var_name) }} dynamic on true
where x = '{{ ref("in_string") }}'`
	var got []string
	for _, r := range Refs(sql) {
		got = append(got, r.String())
	}
	want := []string{"ref('commented_out')", "ref('orders')", "ref('pkg', 'customers')",
		"source('stripe', 'payments')", "ref('versioned')", "ref('in_string')"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Refs = %q, want %q", got, want)
	}
	a := Analyze(sql)
	if len(a.Refs) != len(want) {
		t.Errorf("Analyze().Refs has %d refs, want %d", len(a.Refs), len(want))
	}
	// In FROM, a ref is a relation of kind ref or source.
	var rels []string
	for _, r := range a.Final.Selects[0].From {
		rels = append(rels, r.Kind+":"+r.Name+" as "+r.Alias)
	}
	wantRels := "ref:orders as o,ref:customers as c,source:payments as p,ref:versioned as v,jinja:{{ ref(var_name) }} as dynamic"
	if strings.Join(rels, ",") != wantRels {
		t.Errorf("relations = %q\nwant %q", strings.Join(rels, ","), wantRels)
	}
}
