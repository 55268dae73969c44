package yamledit

import (
	"strings"
	"testing"

	goccy "github.com/goccy/go-yaml"
)

func model(t *testing.T, f *File, name string) *Model {
	t.Helper()
	for _, m := range f.Models() {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no model %s", name)
	return nil
}

func column(t *testing.T, m *Model, name string) *Column {
	t.Helper()
	for _, c := range m.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %s.%s", m.Name, name)
	return nil
}

// Each case edits a small file and must produce exactly the wanted text:
// comments, quoting, flow style and doc() references untouched, new
// entries in the file's own indentation.
func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		in   string
		edit func(t *testing.T, f *File) error
		want string
	}{
		{
			name: "fill empty values in their own style, keep comments",
			in: `version: 2

# Orders, one row each.
models:
  - name: orders   # the fact table
    description: ""
    columns:
      - name: id
        description: ''  # TODO
      - name: status
        description:
      - name: amount
        description: "{{ doc('amount') }}"
`,
			edit: func(t *testing.T, f *File) error {
				m := model(t, f, "orders")
				if err := m.SetDescription("One row per order."); err != nil {
					return err
				}
				if err := column(t, m, "id").SetDescription("The order's key."); err != nil {
					return err
				}
				return column(t, m, "status").SetDescription("Where the order is: placed, shipped or returned.")
			},
			want: `version: 2

# Orders, one row each.
models:
  - name: orders   # the fact table
    description: "One row per order."
    columns:
      - name: id
        description: 'The order''s key.'  # TODO
      - name: status
        description: "Where the order is: placed, shipped or returned."
      - name: amount
        description: "{{ doc('amount') }}"
`,
		},
		{
			name: "new description keys go after the name; new columns follow the list's indentation",
			in: `models:
- name: customers
  config:
    materialized: table
  columns:
  - name: id
    tests: [unique, not_null]
- name: payments
`,
			edit: func(t *testing.T, f *File) error {
				m := model(t, f, "customers")
				if err := m.SetDescription("Customers."); err != nil {
					return err
				}
				if err := column(t, m, "id").SetDescription("Key."); err != nil {
					return err
				}
				if err := m.AddColumns([]Entry{{Name: "first_name", Description: "Given name."}}); err != nil {
					return err
				}
				p := model(t, f, "payments")
				return p.AddColumns([]Entry{{Name: "amount", Description: "In dollars: cents / 100."}})
			},
			want: `models:
- name: customers
  description: Customers.
  config:
    materialized: table
  columns:
  - name: id
    description: Key.
    tests: [unique, not_null]
  - name: first_name
    description: Given name.
- name: payments
  columns:
  - name: amount
    description: "In dollars: cents / 100."
`,
		},
		{
			name: "flow style entries stay flow",
			in: `models:
  - {name: a, columns: [{name: x}, {name: y, description: ""}]}
  - name: b
    columns: []
`,
			edit: func(t *testing.T, f *File) error {
				a := model(t, f, "a")
				if err := a.SetDescription("Model a, with commas, brackets [] and braces {}."); err != nil {
					return err
				}
				if err := column(t, a, "x").SetDescription("X"); err != nil {
					return err
				}
				if err := column(t, a, "y").SetDescription("Y"); err != nil {
					return err
				}
				if err := a.AddColumns([]Entry{{Name: "z", Description: "Z"}}); err != nil {
					return err
				}
				return model(t, f, "b").AddColumns([]Entry{{Name: "k", Description: "K"}})
			},
			want: `models:
  - {name: a, description: "Model a, with commas, brackets [] and braces {}.", columns: [{name: x, description: X}, {name: y, description: "Y"}, {name: z, description: Z}]}
  - name: b
    columns: [{name: k, description: K}]
`,
		},
		{
			name: "overwrite replaces block, folded and multi-line plain values, nothing around them",
			in: `models:
  - name: m
    description: >
      Written by a person
      over two lines.

    columns:
      - name: c
        description: a plain value that
          goes on
      # a comment between columns
      - name: d
        description: |
          kept
`,
			edit: func(t *testing.T, f *File) error {
				m := model(t, f, "m")
				if err := m.SetDescription("First line.\nSecond line."); err != nil {
					return err
				}
				return column(t, m, "c").SetDescription("yes")
			},
			want: `models:
  - name: m
    description: |-
      First line.
      Second line.

    columns:
      - name: c
        description: "yes"
      # a comment between columns
      - name: d
        description: |
          kept
`,
		},
		{
			name: "new models at the end of the list, before trailing comments; CRLF kept",
			in:   "version: 2\r\nmodels:\r\n    -   name: a\r\n        description: A\r\n# the end\r\n",
			edit: func(t *testing.T, f *File) error {
				return f.AddModels([]Entry{{Name: "b", Description: "B: the second.", Columns: []Entry{{Name: "id", Description: "Key"}}}})
			},
			want: "version: 2\r\nmodels:\r\n    -   name: a\r\n        description: A\r\n    -   name: b\r\n        description: \"B: the second.\"\r\n        columns:\r\n            -   name: id\r\n                description: Key\r\n# the end\r\n",
		},
		{
			name: "a file without models gets the list at its end",
			in:   "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: t\n",
			edit: func(t *testing.T, f *File) error {
				return f.AddModels([]Entry{{Name: "stg_t", Description: "Staged t."}})
			},
			want: "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: t\n\nmodels:\n  - name: stg_t\n    description: Staged t.\n",
		},
		{
			name: "an empty file",
			in:   "",
			edit: func(t *testing.T, f *File) error {
				return f.AddModels([]Entry{{Name: "x", Columns: []Entry{{Name: "true", Description: "123"}}}})
			},
			want: "models:\n  - name: x\n    columns:\n      - name: \"true\"\n        description: \"123\"\n",
		},
		{
			name: "no trailing newline",
			in:   "models:\n  - name: a",
			edit: func(t *testing.T, f *File) error {
				return model(t, f, "a").SetDescription("# not a comment")
			},
			want: "models:\n  - name: a\n    description: \"# not a comment\"",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.edit(t, f); err != nil {
				t.Fatal(err)
			}
			got, err := f.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			// A second YAML library must read the result too.
			var v any
			if err := goccy.Unmarshal(got, &v); err != nil {
				t.Errorf("goccy/go-yaml cannot read the result: %v", err)
			}
		})
	}
}

func TestNoEditsKeepsBytes(t *testing.T) {
	in := []byte("models:\n  - name: a   \n    description: x\n")
	f, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if &out[0] != &in[0] || f.Changed() {
		t.Error("a file without edits must come back as the same bytes")
	}
}

func TestValues(t *testing.T) {
	f, err := Parse([]byte(`models:
  - name: a
    description: "{{ doc('a') }}"
    columns:
      - name: x
        description: ~
      - name: y
        description: [not, a, string]
      - name: z
`))
	if err != nil {
		t.Fatal(err)
	}
	m := f.Models()[0]
	if !m.Description.DocRef() || m.Description.Empty() {
		t.Errorf("doc() reference not seen: %+v", m.Description)
	}
	x, y, z := m.Columns[0].Description, m.Columns[1].Description, m.Columns[2].Description
	if !x.Present || !x.Empty() || !x.Editable {
		t.Errorf("x: %+v", x)
	}
	if !y.Present || y.Editable {
		t.Errorf("y: %+v", y)
	}
	if err := m.Columns[1].SetDescription("no"); err == nil {
		t.Error("a list description must not be replaced")
	}
	if z.Present {
		t.Errorf("z: %+v", z)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse([]byte("models:\n  - name: a\n  bad: [\n")); err == nil {
		t.Error("broken YAML must be an error")
	}
	if _, err := Parse([]byte("models: []\n---\nmodels: []\n")); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("two documents: %v", err)
	}
}

// Text of every shape must read back exactly, whatever the encoder picks.
func TestEncodingRoundTrips(t *testing.T) {
	texts := []string{
		"plain text", "yes", "No", "null", "~", "123", "1e3", "0x1F", "-dash", "- item", "? q", "key: value",
		"ends with colon:", "has #hash", "has # comment", "'quoted'", `"dq"`, "{{ doc('x') }}", "[list]",
		"{map}", "a, b", "tab\there", "trailing space ", " leading space", "line1\nline2", "line1\n\nline3\n",
		"\nstarts with newline", "unicode: é ü 中文 \u2028 sep", "back\\slash", "bell\a", "*alias", "&anchor",
		"!tag", "%percent", "@at", "`tick`", "|pipe", ">gt", "multi\n  indented\nlines", "x\r\ny",
	}
	for _, flow := range []bool{false, true} {
		for _, s := range texts {
			var src string
			if flow {
				src = "models: [{name: a, description: \"\"}]\n"
			} else {
				src = "models:\n  - name: a\n    description: \"\"\n    columns:\n      - name: c\n"
			}
			f, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			m := f.Models()[0]
			if err := m.SetDescription(s); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if err := m.AddColumns([]Entry{{Name: s, Description: s}}); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if err := f.AddModels([]Entry{{Name: s, Description: s}}); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			out, err := f.Bytes()
			if err != nil {
				t.Errorf("flow=%v %q: %v", flow, s, err)
				continue
			}
			var v struct {
				Models []struct {
					Name        string
					Description string
					Columns     []struct{ Name, Description string }
				}
			}
			if err := goccy.Unmarshal(out, &v); err != nil {
				t.Errorf("flow=%v %q: goccy: %v\n%s", flow, s, err, out)
				continue
			}
			n := len(v.Models)
			if n != 2 || v.Models[0].Description != s || v.Models[1].Name != s || v.Models[1].Description != s {
				t.Errorf("flow=%v %q: goccy reads %+v\n%s", flow, s, v, out)
			}
		}
	}
}
