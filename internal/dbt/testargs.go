package dbt

import (
	"slices"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// columnTest keeps the arguments of the generic tests whose arguments say
// something a reader of the column needs: accepted_values' list and
// relationships' target. Other tests (and these without usable
// arguments) give nil: their name is all that is kept.
func columnTest(name string, kwargs map[string]any) *modeldoc.ColumnTest {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	// dbt 1.10 nests a test's arguments under arguments:, beside config.
	if a, ok := kwargs["arguments"].(map[string]any); ok {
		kwargs = a
	}
	switch name {
	case "accepted_values":
		var values []string
		switch v := kwargs["values"].(type) {
		case []any:
			for _, x := range v {
				if x == nil {
					continue
				}
				values = append(values, scalarString(x))
			}
		case []string:
			values = v
		}
		if len(values) == 0 {
			return nil
		}
		return &modeldoc.ColumnTest{Name: name, Values: values}
	case "relationships":
		to, _ := kwargs["to"].(string)
		to = testTarget(to)
		if to == "" {
			return nil
		}
		field, _ := kwargs["field"].(string)
		return &modeldoc.ColumnTest{Name: name, To: to, Field: strings.TrimSpace(field)}
	}
	return nil
}

// testTarget reads a relationships test's to: "ref('customers')" is
// customers, "ref('pkg', 'customers')" customers, "source('crm',
// 'contact')" crm.contact. Anything else (Jinja the importer cannot
// evaluate) is kept out rather than guessed.
func testTarget(to string) string {
	m := kwargRefRE.FindStringSubmatch(to)
	if m == nil {
		return ""
	}
	switch {
	case m[1] == "source" && m[3] != "":
		return m[2] + "." + m[3]
	case m[1] == "ref" && m[3] != "":
		return m[3]
	case m[1] == "ref":
		return m[2]
	}
	return ""
}

// sortTestArgs orders a column's test arguments and drops repeats (a test
// declared under tests: and data_tests:, or in two YAML files).
func sortTestArgs(list []modeldoc.ColumnTest) []modeldoc.ColumnTest {
	if len(list) < 2 {
		return list
	}
	key := func(t modeldoc.ColumnTest) string {
		return t.Name + "\x00" + t.To + "\x00" + t.Field + "\x00" + strings.Join(t.Values, "\x00")
	}
	seen := map[string]bool{}
	out := list[:0]
	for _, t := range list {
		if k := key(t); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b modeldoc.ColumnTest) int { return strings.Compare(key(a), key(b)) })
	return out
}

// objectConfig reads the config keys a prompt shows from a manifest's or
// a YAML file's config: unique_key (a name or a list), incremental_strategy
// and contract.enforced.
func objectConfig(cfg map[string]any) *modeldoc.ObjectConfig {
	var c modeldoc.ObjectConfig
	switch k := cfg["unique_key"].(type) {
	case string:
		c.UniqueKey = uniqueKeyList(k)
	case []any:
		for _, x := range k {
			if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
				c.UniqueKey = append(c.UniqueKey, strings.TrimSpace(s))
			}
		}
	}
	if s, ok := cfg["incremental_strategy"].(string); ok && !strings.Contains(s, "{") {
		c.IncrementalStrategy = strings.TrimSpace(s)
	}
	if ct, ok := cfg["contract"].(map[string]any); ok {
		if b, ok := ct["enforced"].(bool); ok {
			c.ContractEnforced = b
		}
	}
	if c.Empty() {
		return nil
	}
	return &c
}

// uniqueKeyList reads a unique_key given as one string; Jinja is kept
// out rather than shown as a column name.
func uniqueKeyList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "{}()") {
		return nil
	}
	return []string{s}
}
