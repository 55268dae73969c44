package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store/storetest"
)

// Every operation has a unique operationId and tags the document defines:
// client generators name their functions after them.
func TestOpenAPIOperationsAreNamed(t *testing.T) {
	var doc struct {
		Tags []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"tags"`
		Paths map[string]map[string]struct {
			OperationID string         `json:"operationId"`
			Tags        []string       `json:"tags"`
			Responses   map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, tg := range doc.Tags {
		if tg.Description == "" {
			t.Errorf("tag %q has no description", tg.Name)
		}
		defined[tg.Name] = true
	}
	ids := map[string]string{}
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			n++
			where := strings.ToUpper(method) + " " + path
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s and %s share the operationId %q", where, other, op.OperationID)
			}
			ids[op.OperationID] = where
			if len(op.Tags) == 0 {
				t.Errorf("%s has no tag", where)
			}
			for _, tg := range op.Tags {
				if !defined[tg] {
					t.Errorf("%s: tag %q is not in the document's tags", where, tg)
				}
			}
		}
	}
	if n != len(New(Config{}).routeTable()) {
		t.Errorf("%d operations in the document, %d routes", n, len(New(Config{}).routeTable()))
	}
}

// A query parameter the operation does not take is refused, not ignored:
// ?match= for ?q= used to return every object.
func TestUnknownQueryParameters(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	st := modeldoctest.NewSQLiteStore(t)
	e := newEnv(t, st, nil)
	if _, err := st.ImportCatalog(context.Background(), e.orgA, storetest.Fixture()); err != nil {
		t.Fatal(err)
	}
	a := e.do("GET", "/api/v1/objects?match=orders", e.memberA, nil)
	p := a.problem(t)
	if a.status != 400 || p.Code != modeldoc.EINVALID || !strings.Contains(p.Detail, "match") || !strings.Contains(p.Detail, "q,") {
		t.Errorf("?match=: %d %+v", a.status, p)
	}
	a = e.do("GET", "/api/v1/me?verbose=1&x=2", e.memberA, nil)
	p = a.problem(t)
	if a.status != 400 || !strings.Contains(p.Detail, "verbose, x") || !strings.Contains(p.Detail, "no query parameters") {
		t.Errorf("/me?verbose=1&x=2: %d %+v", a.status, p)
	}
	// Declared parameters still work.
	if a := e.do("GET", "/api/v1/objects?q=orders&limit=5", e.memberA, nil); a.status != 200 {
		t.Errorf("?q=orders&limit=5: %d %s", a.status, a.body)
	}
	if a := e.do("GET", "/api/v1/jobs?status=completed&limit=5&offset=0", e.memberA, nil); a.status != 200 {
		t.Errorf("/jobs?status=…: %d %s", a.status, a.body)
	}
}
