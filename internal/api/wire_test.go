package api

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// wireTypes names the Go type of every JSON body the API reads or
// answers, by operation ("post /api/v1/jobs") and status ("request" for
// the body it reads). An operation with two kinds of answer (the logs)
// lists one type per anyOf branch of its schema, in order.
var wireTypes = []struct {
	op, status string
	types      []any
}{
	{"get /api/v1/me", "200", []any{meAnswer{}}},
	{"post /api/v1/jobs", "request", []any{jobRequest{}}},
	{"post /api/v1/jobs", "201", []any{job{}}},
	{"post /api/v1/jobs/estimate", "request", []any{jobRequest{}}},
	{"post /api/v1/jobs/estimate", "200", []any{estimate{}}},
	{"get /api/v1/jobs", "200", []any{list[*job]{}}},
	{"get /api/v1/jobs/{id}", "200", []any{job{}}},
	{"delete /api/v1/jobs/{id}", "200", []any{job{}}},
	{"post /api/v1/jobs/{id}/pause", "200", []any{job{}}},
	{"post /api/v1/jobs/{id}/resume", "request", []any{budgetRequest{}}},
	{"post /api/v1/jobs/{id}/resume", "200", []any{job{}}},
	{"post /api/v1/jobs/{id}/budget", "request", []any{budgetRequest{}}},
	{"post /api/v1/jobs/{id}/budget", "200", []any{job{}}},
	{"get /api/v1/jobs/{id}/items", "200", []any{list[jobItem]{}}},
	{"get /api/v1/jobs/{id}/logs", "200", []any{list[errorEntry]{}, list[generationLog]{}}},
	{"post /api/v1/projects", "201", []any{uploadAnswer{}}},
	{"post /api/v1/projects", "200", []any{uploadAnswer{}}},
	{"get /api/v1/projects", "200", []any{list[projectItem]{}}},
	{"get /api/v1/objects", "200", []any{list[objectSummary]{}}},
	{"get /api/v1/objects/{id}", "200", []any{objectDetail{}}},
	{"get /api/v1/objects/{id}/lineage", "200", []any{lineageGraph{}}},
	{"get /api/v1/objects/{id}/documentation", "200", []any{docVersion{}}},
	{"get /api/v1/objects/{id}/documentation/versions", "200", []any{list[docVersion]{}}},
	{"post /api/v1/objects/{id}/review", "request", []any{ReviewRequest{}}},
	{"post /api/v1/objects/{id}/review", "200", []any{ReviewAnswer{}}},
	{"get /api/v1/objects/{id}/review/history", "200", []any{reviewHistory{}}},
	{"get /api/v1/review", "200", []any{list[reviewItem]{}}},
	{"post /api/v1/review/accept", "request", []any{AcceptAllRequest{}}},
	{"post /api/v1/review/accept", "200", []any{AcceptAllAnswer{}}},
	{"get /api/v1/provider-keys", "200", []any{list[providerKeyInfo]{}}},
	{"put /api/v1/provider-keys/{provider}", "request", []any{keyRequest{}}},
	{"put /api/v1/provider-keys/{provider}", "200", []any{keyAnswer{}}},
}

// notTyped are the JSON answers written without a wire type: the
// document itself, and the health checks' small literal maps.
var notTyped = map[string]bool{
	"get /api/v1/openapi.json 200": true,
	"get /healthz 200":             true,
	"get /readyz 200":              true,
}

// TestWireMatchesOpenAPI: every JSON body the API reads or answers has a
// wire type, and each wire type's JSON fields, at every depth, are the
// properties its schema in openapi.json lists: no more (a field nobody
// documented, such as one added to an internal struct that a wire type
// still embedded, fails here), no fewer.
func TestWireMatchesOpenAPI(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]map[string]any{} // "op status" -> schema
	for path, ops := range doc["paths"].(map[string]any) {
		for method, op := range ops.(map[string]any) {
			op := op.(map[string]any)
			key := method + " " + path
			if rb, ok := op["requestBody"].(map[string]any); ok {
				if s := jsonSchema(rb); s != nil {
					bodies[key+" request"] = s
				}
			}
			resps, _ := op["responses"].(map[string]any)
			for code, r := range resps {
				if !strings.HasPrefix(code, "2") {
					continue
				}
				if s := jsonSchema(r.(map[string]any)); s != nil {
					bodies[key+" "+code] = s
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, w := range wireTypes {
		key := w.op + " " + w.status
		seen[key] = true
		schema, ok := bodies[key]
		if !ok {
			t.Errorf("%s: openapi.json documents no JSON body", key)
			continue
		}
		branches := []any{schema}
		if anyOf, ok := schema["anyOf"].([]any); ok {
			branches = anyOf
		}
		if len(branches) != len(w.types) {
			t.Errorf("%s: %d wire types for %d schemas", key, len(w.types), len(branches))
			continue
		}
		for i, typ := range w.types {
			compareWire(t, doc, map[visit]bool{}, key, reflect.TypeOf(typ), branches[i].(map[string]any))
		}
	}
	var untyped []string
	for key := range bodies {
		if !seen[key] && !notTyped[key] {
			untyped = append(untyped, key)
		}
	}
	sort.Strings(untyped)
	if len(untyped) > 0 {
		t.Errorf("JSON bodies with no wire type in wireTypes: %v", untyped)
	}
}

// TestWireTypesAreTheAPIs: the wire types hold no struct of another
// package (time.Time aside), so that a field added to a struct of jobs,
// store or the catalog cannot reach the wire without a change here.
func TestWireTypesAreTheAPIs(t *testing.T) {
	pkg := reflect.TypeOf(API{}).PkgPath()
	checked := map[reflect.Type]bool{}
	var walk func(where string, typ reflect.Type)
	walk = func(where string, typ reflect.Type) {
		if checked[typ] {
			return
		}
		checked[typ] = true
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(where, typ.Elem())
		case reflect.Map:
			walk(where, typ.Key())
			walk(where, typ.Elem())
		case reflect.Struct:
			if typ == reflect.TypeOf(time.Time{}) {
				return
			}
			if typ.PkgPath() != pkg {
				t.Errorf("%s: the wire holds %s, a struct of another package: give the API its own type and map to it", where, typ)
				return
			}
			for i := 0; i < typ.NumField(); i++ {
				f := typ.Field(i)
				walk(where+"."+f.Name, f.Type)
			}
		}
	}
	for _, w := range wireTypes {
		for _, typ := range w.types {
			walk(w.op+" "+w.status, reflect.TypeOf(typ))
		}
	}
}

// jsonSchema is the application/json schema of a request body or an
// answer, or nil.
func jsonSchema(r map[string]any) map[string]any {
	content, _ := r["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	s, _ := media["schema"].(map[string]any)
	return s
}

// resolve follows $ref and merges allOf into one schema.
func resolve(doc map[string]any, s map[string]any) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		cur := any(doc)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		return resolve(doc, cur.(map[string]any))
	}
	all, ok := s["allOf"].([]any)
	if !ok {
		return s
	}
	props := map[string]any{}
	for _, part := range all {
		for k, v := range resolve(doc, part.(map[string]any))["properties"].(map[string]any) {
			props[k] = v
		}
	}
	return map[string]any{"type": "object", "properties": props}
}

// visit is a type met with a schema: recursive types (Markdown trees)
// are compared once.
type visit struct {
	typ    reflect.Type
	schema uintptr
}

// compareWire holds typ's JSON shape to schema, recursively.
func compareWire(t *testing.T, doc map[string]any, seen map[visit]bool, where string, typ reflect.Type, schema map[string]any) {
	t.Helper()
	schema = resolve(doc, schema)
	v := visit{typ, reflect.ValueOf(schema).Pointer()}
	if seen[v] {
		return
	}
	seen[v] = true
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == reflect.TypeOf(time.Time{}) || typ == reflect.TypeOf(json.RawMessage{}) {
		return
	}
	switch typ.Kind() {
	case reflect.Slice, reflect.Array:
		items, ok := schema["items"].(map[string]any)
		if !ok {
			t.Errorf("%s: an array whose schema has no items", where)
			return
		}
		compareWire(t, doc, seen, where+"[]", typ.Elem(), items)
	case reflect.Map:
		values, ok := schema["additionalProperties"].(map[string]any)
		if !ok {
			if typ.Elem().Kind() == reflect.Interface {
				return // free-form, as dbt's meta is
			}
			t.Errorf("%s: a map whose schema says nothing of its values (additionalProperties)", where)
			return
		}
		compareWire(t, doc, seen, where+"{}", typ.Elem(), values)
	case reflect.Struct:
		props, _ := schema["properties"].(map[string]any)
		fields := map[string]reflect.Type{}
		jsonFields(typ, fields)
		var extra, missing []string
		for name := range fields {
			if _, ok := props[name]; !ok {
				extra = append(extra, name)
			}
		}
		for name := range props {
			if _, ok := fields[name]; !ok {
				missing = append(missing, name)
			}
		}
		sort.Strings(extra)
		sort.Strings(missing)
		if len(extra) > 0 {
			t.Errorf("%s: %s answers fields openapi.json does not document: %v", where, typ, extra)
		}
		if len(missing) > 0 {
			t.Errorf("%s: openapi.json documents fields %s does not have: %v", where, typ, missing)
		}
		for name, ft := range fields {
			if p, ok := props[name].(map[string]any); ok {
				compareWire(t, doc, seen, where+"."+name, ft, p)
			}
		}
	}
}

// jsonFields collects the JSON names of typ's fields as encoding/json
// sees them: embedded structs without a name are flattened.
func jsonFields(typ reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				jsonFields(ft, into)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[name] = f.Type
	}
}
