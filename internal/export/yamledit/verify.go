package yamledit

import (
	"fmt"
	"sort"

	"go.yaml.in/yaml/v3"
)

// gnode is a YAML value reduced to what a reader sees: kinds, resolved
// tags and values, mappings by key (the last of a repeated key wins, as in
// dbt). Positions, styles and comments are left out: the splices keep
// those by construction, and this tree checks the meaning.
type gnode struct {
	kind  yaml.Kind
	tag   string
	value string
	m     map[string]*gnode
	seq   []*gnode
}

func (f *File) tree(doc *yaml.Node) (*gnode, error) {
	if doc == nil || len(doc.Content) == 0 {
		return &gnode{}, nil
	}
	return conv(doc.Content[0], 0)
}

func conv(n *yaml.Node, depth int) (*gnode, error) {
	if depth > 200 {
		return nil, fmt.Errorf("line %d: the YAML nests too deep (or an alias refers to itself)", n.Line)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return &gnode{kind: yaml.AliasNode, value: n.Value}, nil
		}
		return conv(n.Alias, depth+1)
	case yaml.ScalarNode:
		g := &gnode{kind: yaml.ScalarNode, tag: n.ShortTag(), value: n.Value}
		if g.tag == "!!null" {
			g.value = ""
		}
		return g, nil
	case yaml.SequenceNode:
		g := &gnode{kind: yaml.SequenceNode}
		for _, c := range n.Content {
			cg, err := conv(c, depth+1)
			if err != nil {
				return nil, err
			}
			g.seq = append(g.seq, cg)
		}
		return g, nil
	case yaml.MappingNode:
		g := &gnode{kind: yaml.MappingNode, m: map[string]*gnode{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			key := k.Value
			if k.Kind != yaml.ScalarNode {
				key = fmt.Sprintf("\x00complex key at line %d", k.Line)
			}
			v, err := conv(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			g.m[key] = v
		}
		return g, nil
	}
	return &gnode{kind: n.Kind}, nil
}

func strNode(s string) *gnode { return &gnode{kind: yaml.ScalarNode, tag: "!!str", value: s} }

func entryNode(e Entry) *gnode {
	g := &gnode{kind: yaml.MappingNode, m: map[string]*gnode{"name": strNode(e.Name)}}
	if e.Description != "" {
		g.m["description"] = strNode(e.Description)
	}
	if len(e.Columns) > 0 {
		seq := &gnode{kind: yaml.SequenceNode}
		for _, c := range e.Columns {
			seq.seq = append(seq.seq, entryNode(c))
		}
		g.m["columns"] = seq
	}
	return g
}

func (g *gnode) get(key string) *gnode {
	if g.kind != yaml.MappingNode {
		return nil
	}
	return g.m[key]
}

func (g *gnode) set(key string, v *gnode) {
	if g.m == nil {
		g.m = map[string]*gnode{}
	}
	g.m[key] = v
}

// path walks keys (strings) and sequence indexes (ints).
func (g *gnode) path(steps ...any) (*gnode, error) {
	cur := g
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			next := cur.get(s)
			if next == nil {
				return nil, fmt.Errorf("no key %q", s)
			}
			cur = next
		case int:
			if cur.kind != yaml.SequenceNode || s >= len(cur.seq) {
				return nil, fmt.Errorf("no item %d", s)
			}
			cur = cur.seq[s]
		}
	}
	return cur, nil
}

func equal(a, b *gnode, path string) (string, bool) {
	if a.kind != b.kind || a.tag != b.tag || a.value != b.value {
		return orRoot(path), false
	}
	if len(a.seq) != len(b.seq) || len(a.m) != len(b.m) {
		return orRoot(path), false
	}
	for i := range a.seq {
		if p, ok := equal(a.seq[i], b.seq[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
			return p, false
		}
	}
	keys := make([]string, 0, len(a.m))
	for k := range a.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		bv, ok := b.m[k]
		if !ok {
			return path + "." + k, false
		}
		if p, ok := equal(a.m[k], bv, path+"."+k); !ok {
			return p, false
		}
	}
	return "", true
}

func orRoot(p string) string {
	if p == "" {
		return "the top level"
	}
	return p
}
