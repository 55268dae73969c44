package jobs

import (
	"regexp"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// TestCustomID: a custom id is the same for the same request and sending,
// different for a re-ask (another request) or a retry (the next sending),
// and always fits Anthropic's ^[a-zA-Z0-9_-]{1,64}$ (OpenAI takes any
// string), whatever the ids and the layer's name.
func TestCustomID(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	req := writer.Request{Layer: "column_descriptions", Model: "gpt-4o-mini", System: "s", User: "u", Columns: []string{"a", "b"}, MaxTokens: 100}
	a := customID(123456789012, 987654321098, req, 1)
	if a != customID(123456789012, 987654321098, req, 1) {
		t.Fatal("not deterministic")
	}
	reask := req
	reask.User += "\n\nYour answer failed validation: ..."
	other := req
	other.Columns = []string{"c"}
	for name, id := range map[string]string{
		"retry": customID(123456789012, 987654321098, req, 2), "re-ask": customID(123456789012, 987654321098, reask, 1),
		"another part": customID(123456789012, 987654321098, other, 1), "another object": customID(123456789012, 987654321099, req, 1),
	} {
		if id == a {
			t.Errorf("%s has the same custom id %s", name, id)
		}
	}
	long := req
	long.Layer = "a layer with spaces and a very long name that goes on and on and on"
	for _, id := range []string{a, customID(1<<62, 1<<62, long, 1<<30), customID(1, 2, writer.Request{}, 1)} {
		if !valid.MatchString(id) {
			t.Errorf("%q does not fit ^[a-zA-Z0-9_-]{1,64}$", id)
		}
	}
	if !strings.HasPrefix(a, "j123456789012-o987654321098-column_desc") {
		t.Errorf("the custom id names the job, the object and the layer: %s", a)
	}
}
