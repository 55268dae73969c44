package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// declaredQuery maps "METHOD /pattern" to the query parameters that its
// operation declares in openapi.json, which is the one list of them: a
// handler reads only those, so anything else is a client's mistake
// (?match= for ?q=) that would otherwise return everything, unfiltered.
var declaredQuery = func() map[string][]string {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]queryParam `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		panic("openapi.json: " + err.Error())
	}
	out := map[string][]string{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				Parameters []queryParam `json:"parameters"`
			}
			if json.Unmarshal(raw, &op) != nil {
				continue // "parameters" or "summary" at path level
			}
			names := []string{}
			for _, p := range op.Parameters {
				if p.Ref != "" {
					p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				}
				if p.In == "query" {
					names = append(names, p.Name)
				}
			}
			sort.Strings(names)
			out[strings.ToUpper(method)+" "+path] = names
		}
	}
	return out
}()

type queryParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

// checkQueryNames refuses a query parameter the route's operation does not
// declare, naming the ones it takes.
func checkQueryNames(rt route, r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil // checkRequestText has said why
	}
	known, ok := declaredQuery[rt.Method+" "+rt.Pattern]
	if !ok {
		return nil // the route test keeps the table and the document equal
	}
	var unknown []string
	for name := range q {
		if !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	takes := "takes no query parameters"
	if len(known) > 0 {
		takes = "takes only " + strings.Join(known, ", ")
	}
	what := "parameter"
	if len(unknown) > 1 {
		what = "parameters"
	}
	return modeldoc.Errorf(modeldoc.EINVALID, "Unknown query %s %s: %s %s %s (see /api/v1/openapi.json).",
		what, strings.Join(unknown, ", "), rt.Method, rt.Pattern, takes)
}
