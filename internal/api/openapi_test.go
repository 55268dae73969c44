package api

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

type openapiDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]any `json:"schemas"`
	} `json:"components"`
}

// TestOpenAPIMatchesRoutes: every route of the table is in the document
// with its method, and the document describes no route the table lacks.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openapiDoc
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	a := New(Config{})
	inTable := map[string]route{}
	for _, rt := range a.routeTable() {
		inTable[strings.ToLower(rt.Method)+" "+rt.Pattern] = rt
	}
	inDoc := map[string]map[string]any{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op map[string]any
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			inDoc[method+" "+path] = op
		}
	}
	var missing, extra []string
	for k, rt := range inTable {
		op, ok := inDoc[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		// The document states who may call it, as the table does.
		role, _ := op["x-role"].(string)
		want := map[access]string{member: "member", admin: "admin"}[rt.access]
		if role != want {
			t.Errorf("%s: x-role %q, the route table says %q", k, role, want)
		}
		resp, _ := op["responses"].(map[string]any)
		if rt.access != public {
			for _, code := range []string{"401", "429", "500"} {
				if _, ok := resp[code]; !ok {
					t.Errorf("%s documents no %s answer", k, code)
				}
			}
		}
		if rt.access == admin {
			if _, ok := resp["403"]; !ok {
				t.Errorf("%s is for admins but documents no 403", k)
			}
		}
		if strings.Contains(rt.Pattern, "{id}") {
			if _, ok := resp["404"]; !ok {
				t.Errorf("%s names an id but documents no 404", k)
			}
		}
	}
	for k := range inDoc {
		if _, ok := inTable[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes missing from openapi.json: %v; documented routes that do not exist: %v", missing, extra)
	}
}

// TestOpenAPISchemasCompile: every schema the document holds is a valid
// JSON Schema whose references resolve.
func TestOpenAPISchemasCompile(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name := range schemas {
		if _, err := c.Compile("openapi.json#/components/schemas/" + name); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
	// Problem's code enum lists every code the API can answer.
	enum := schemas["Problem"].(map[string]any)["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]any)
	have := map[string]bool{}
	for _, c := range enum {
		have[c.(string)] = true
	}
	for code := range problems {
		if !have[code] {
			t.Errorf("Problem.code does not list %q", code)
		}
	}
}
