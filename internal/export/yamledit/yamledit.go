// Package yamledit changes descriptions in a dbt properties file (the YAML
// that declares models and their columns) without rewriting the file. It
// parses the file into a yaml.v3 node tree only to know where things are;
// every change is a splice of new text into the original bytes, so
// comments, key order, quoting, indentation, blank lines and {{ doc() }}
// references outside the changed values stay exactly as they were. After
// splicing, the result is parsed again and compared with the tree the
// changes should produce: an edit that would corrupt the file is an error,
// never a write.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is one properties file being edited.
type File struct {
	src   []byte
	doc   *yaml.Node // the document node; nil for an empty file
	top   *yaml.Node // the top-level mapping; nil when there is none
	lines []int      // byte offset of each line's start
	nl    string

	models    []*Model
	modelsKey *yaml.Node
	modelsSeq *yaml.Node // value of the top-level models: key, or nil

	seqOffset  int // columns of a block sequence's dash right of its key
	itemOffset int // columns of an item's keys right of its dash

	edits  []edit
	expect []func(*gnode) error
}

// Model is one entry of the file's models: list.
type Model struct {
	Name        string
	Line        int
	Description Value
	Columns     []*Column

	f          *File
	index      int
	node       *yaml.Node
	flow       bool
	nameValue  *yaml.Node
	columnsKey *yaml.Node
	columnsSeq *yaml.Node
}

// Column is one entry of a model's columns: list.
type Column struct {
	Name        string
	Line        int
	Description Value

	model     *Model
	index     int
	node      *yaml.Node
	flow      bool
	nameValue *yaml.Node
}

// Value is a description as the file has it.
type Value struct {
	// Present is true when the entry has a description key at all.
	Present bool
	// Text is the value as YAML reads it ("" for an empty string or null).
	Text string
	// Raw is the value's text in the file.
	Raw string
	// Editable is false when the value is not a plain string (a list, an
	// alias, a tagged value): it is never replaced.
	Editable bool

	key, node *yaml.Node
}

// Empty reports whether the file gives no description text.
func (v Value) Empty() bool { return strings.TrimSpace(v.Text) == "" }

// DocRef reports whether the description uses Jinja, such as
// {{ doc('orders') }}: a reference a person wrote, never replaced.
func (v Value) DocRef() bool { return strings.Contains(v.Raw, "{{") || strings.Contains(v.Raw, "{%") }

type edit struct {
	start, end int
	text       string
	order      int
}

// Parse reads a properties file. A file that is not YAML, or holds more
// than one document, is an error naming the line.
func Parse(src []byte) (*File, error) {
	f := &File{src: src, nl: "\n", seqOffset: 2, itemOffset: 2}
	if bytes.Contains(src, []byte("\r\n")) {
		f.nl = "\r\n"
	}
	f.lines = []int{0}
	for i, c := range src {
		if c == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		return nil, err
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the file holds more than one YAML document; modeldoc edits single-document properties files only")
	}
	f.doc = &doc
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		f.top = doc.Content[0]
	}
	if f.top == nil {
		return f, nil
	}
	f.modelsKey, f.modelsSeq = lastKey(f.top, "models")
	f.detectIndent()
	if f.modelsSeq == nil || f.modelsSeq.Kind != yaml.SequenceNode {
		return f, nil
	}
	flow := f.top.Style&yaml.FlowStyle != 0 || f.modelsSeq.Style&yaml.FlowStyle != 0
	for i, item := range f.modelsSeq.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		m := &Model{f: f, index: i, node: item, Line: item.Line, flow: flow || item.Style&yaml.FlowStyle != 0}
		if _, nv := lastKey(item, "name"); nv != nil && nv.Kind == yaml.ScalarNode {
			m.Name, m.nameValue = nv.Value, nv
		}
		if m.Name == "" {
			continue
		}
		m.Description = f.value(item, "description")
		m.columnsKey, m.columnsSeq = lastKey(item, "columns")
		if m.columnsSeq != nil && m.columnsSeq.Kind == yaml.SequenceNode {
			cflow := m.flow || m.columnsSeq.Style&yaml.FlowStyle != 0
			for j, ci := range m.columnsSeq.Content {
				if ci.Kind != yaml.MappingNode {
					continue
				}
				c := &Column{model: m, index: j, node: ci, Line: ci.Line, flow: cflow || ci.Style&yaml.FlowStyle != 0}
				if _, nv := lastKey(ci, "name"); nv != nil && nv.Kind == yaml.ScalarNode {
					c.Name, c.nameValue = nv.Value, nv
				}
				if c.Name == "" {
					continue
				}
				c.Description = f.value(ci, "description")
				m.Columns = append(m.Columns, c)
			}
		}
		f.models = append(f.models, m)
	}
	return f, nil
}

// lastKey returns the last key called name in mapping m and its value: a
// repeated key's last value is the one dbt reads.
func lastKey(m *yaml.Node, name string) (*yaml.Node, *yaml.Node) {
	var k, v *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == name {
			k, v = m.Content[i], m.Content[i+1]
		}
	}
	return k, v
}

func (f *File) value(m *yaml.Node, key string) Value {
	k, v := lastKey(m, key)
	if k == nil {
		return Value{}
	}
	val := Value{Present: true, key: k, node: v}
	if v.Kind != yaml.ScalarNode || v.Anchor != "" || (v.Tag != "!!str" && v.Tag != "!!null") {
		val.Raw = "(not a string)"
		return val
	}
	val.Editable = true
	if v.Tag == "!!str" {
		val.Text = v.Value
	}
	if s, e, err := f.scalarSpan(v, m.Column-1, m.Style&yaml.FlowStyle != 0); err == nil {
		val.Raw = string(f.src[s:e])
	} else {
		val.Editable = false
	}
	return val
}

// detectIndent learns how the file indents block sequences under a key
// and the keys of their items, so that new entries look like old ones.
func (f *File) detectIndent() {
	found := false
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if found || n.Style&yaml.FlowStyle != 0 {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Line > k.Line {
					item := v.Content[0]
					if item.Kind == yaml.MappingNode && item.Style&yaml.FlowStyle == 0 && item.Line == v.Line {
						f.seqOffset = v.Column - k.Column
						f.itemOffset = item.Column - v.Column
						found = true
						return
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	if f.top != nil {
		walk(f.top)
	}
	if f.itemOffset < 1 {
		f.itemOffset = 2
	}
	if f.seqOffset < 0 {
		f.seqOffset = 2
	}
}

// Models returns the file's model entries in file order.
func (f *File) Models() []*Model { return f.models }

// HasModels reports whether the file has a top-level models: key.
func (f *File) HasModels() bool { return f.modelsKey != nil }

// Changed reports whether any edit is pending.
func (f *File) Changed() bool { return len(f.edits) > 0 }

func (f *File) add(start, end int, text string, expect func(*gnode) error) {
	f.edits = append(f.edits, edit{start: start, end: end, text: text, order: len(f.edits)})
	f.expect = append(f.expect, expect)
}

// SetDescription gives the model description text, replacing what the
// file has. Deciding whether it may is the caller's business.
func (m *Model) SetDescription(text string) error {
	idx := m.index
	return m.f.setDescription(m.node, m.nameValue, m.Description, m.flow, text, func(g *gnode) (*gnode, error) {
		return g.path("models", idx)
	})
}

// SetDescription gives the column description text.
func (c *Column) SetDescription(text string) error {
	mi, ci := c.model.index, c.index
	return c.model.f.setDescription(c.node, c.nameValue, c.Description, c.flow, text, func(g *gnode) (*gnode, error) {
		return g.path("models", mi, "columns", ci)
	})
}

func (f *File) setDescription(m, nameValue *yaml.Node, cur Value, flow bool, text string, target func(*gnode) (*gnode, error)) error {
	expect := func(g *gnode) error {
		t, err := target(g)
		if err != nil {
			return err
		}
		t.set("description", strNode(text))
		return nil
	}
	keyIndent := m.Column - 1
	if cur.Present {
		if !cur.Editable {
			return fmt.Errorf("line %d: the description is not a plain string; it is left alone", cur.key.Line)
		}
		start, end, err := f.scalarSpan(cur.node, keyIndent, flow)
		if err != nil {
			return err
		}
		rest := f.src[end:f.lineEnd(f.lineOf(end))]
		blockOK := !flow && isBlank(rest)
		enc := scalarText(text, styleOf(cur.node), flow, blockOK, keyIndent+f.itemOffset, f.nl)
		if start == end && (start == 0 || f.src[start-1] == ':') {
			enc = " " + enc
		}
		f.add(start, end, enc, expect)
		return nil
	}
	// A new key goes right after the name, where people put it.
	after := nameValue
	if after == nil {
		return fmt.Errorf("line %d: the entry has no name", m.Line)
	}
	_, nameEnd, err := f.scalarSpan(after, keyIndent, flow)
	if err != nil {
		return err
	}
	if flow {
		f.add(nameEnd, nameEnd, ", description: "+scalarText(text, Plain, true, false, 0, f.nl), expect)
		return nil
	}
	at := f.lineEnd(f.lineOf(nameEnd))
	pad := strings.Repeat(" ", keyIndent)
	f.add(at, at, f.nl+pad+"description: "+scalarText(text, Plain, false, true, keyIndent+f.itemOffset, f.nl), expect)
	return nil
}

// Entry is a new column or model entry: a name and an optional
// description; Columns only for models.
type Entry struct {
	Name        string
	Description string
	Columns     []Entry
}

// AddColumns appends column entries to the model's columns: list,
// creating the list if the model has none.
func (m *Model) AddColumns(cols []Entry) error {
	if len(cols) == 0 {
		return nil
	}
	f := m.f
	idx := m.index
	expect := func(g *gnode) error {
		t, err := g.path("models", idx)
		if err != nil {
			return err
		}
		seq := t.get("columns")
		if seq == nil || seq.kind != yaml.SequenceNode {
			seq = &gnode{kind: yaml.SequenceNode}
			t.set("columns", seq)
		}
		for _, c := range cols {
			seq.seq = append(seq.seq, entryNode(c))
		}
		return nil
	}
	keyIndent := m.node.Column - 1
	if m.columnsKey == nil {
		if m.flow {
			end, err := f.flowEnd(f.nodeStart(m.node))
			if err != nil {
				return err
			}
			f.add(end-1, end-1, ", columns: "+f.flowSeq(cols), expect)
			return nil
		}
		end, err := f.nodeEnd(m.node, keyIndent, false)
		if err != nil {
			return err
		}
		at := f.lineEnd(f.lineOf(end))
		pad := strings.Repeat(" ", keyIndent)
		f.add(at, at, f.nl+pad+"columns:"+f.blockSeq(cols, keyIndent+f.seqOffset), expect)
		return nil
	}
	return f.appendToSeq(m.columnsKey, m.columnsSeq, keyIndent, m.flow, cols, expect)
}

// appendToSeq adds items to the sequence that is key's value (seq), or
// replaces an empty value with a new sequence.
func (f *File) appendToSeq(key, seq *yaml.Node, keyIndent int, inFlow bool, items []Entry, expect func(*gnode) error) error {
	switch {
	case isEmptyNull(seq):
		start, _, err := f.scalarSpan(seq, keyIndent, inFlow)
		if err != nil {
			return err
		}
		if inFlow {
			f.add(start, start, " "+f.flowSeq(items), expect)
			return nil
		}
		f.add(start, start, f.blockSeq(items, keyIndent+f.seqOffset), expect)
		return nil
	case seq.Kind != yaml.SequenceNode:
		return fmt.Errorf("line %d: %s is not a list", key.Line, key.Value)
	case seq.Style&yaml.FlowStyle != 0 || inFlow:
		end, err := f.flowEnd(f.nodeStart(seq))
		if err != nil {
			return err
		}
		text := f.flowSeq(items)
		text = text[1 : len(text)-1] // the items without their brackets
		if len(seq.Content) > 0 {
			text = ", " + text
		}
		f.add(end-1, end-1, text, expect)
		return nil
	}
	end, err := f.nodeEnd(seq, keyIndent, false)
	if err != nil {
		return err
	}
	at := f.lineEnd(f.lineOf(end))
	f.add(at, at, f.blockSeq(items, seq.Column-1), expect)
	return nil
}

// AddModels appends model entries to the file's models: list, creating it
// at the end of the file when there is none.
func (f *File) AddModels(models []Entry) error {
	if len(models) == 0 {
		return nil
	}
	expect := func(g *gnode) error {
		if g.kind != yaml.MappingNode {
			*g = gnode{kind: yaml.MappingNode}
		}
		seq := g.get("models")
		if seq == nil || seq.kind != yaml.SequenceNode {
			seq = &gnode{kind: yaml.SequenceNode}
			g.set("models", seq)
		}
		for _, m := range models {
			seq.seq = append(seq.seq, entryNode(m))
		}
		return nil
	}
	if f.modelsKey != nil {
		return f.appendToSeq(f.modelsKey, f.modelsSeq, f.modelsKey.Column-1, f.top.Style&yaml.FlowStyle != 0, models, expect)
	}
	if f.doc != nil && len(f.doc.Content) > 0 && f.top == nil {
		return fmt.Errorf("the file's top level is not a mapping, so models cannot be added to it")
	}
	if f.top != nil && f.top.Style&yaml.FlowStyle != 0 {
		return fmt.Errorf("line %d: the file is one flow mapping; models are not added to it", f.top.Line)
	}
	text := "models:" + f.blockSeq(models, f.seqOffset)
	var at int
	if f.top != nil {
		end, err := f.nodeEnd(f.top, -1, false)
		if err != nil {
			return err
		}
		// At the end of the last line of content: the file's own final
		// newline, and any comments after, stay after the new text.
		at = f.lineEnd(f.lineOf(end))
		text = f.nl + f.nl + text
	} else {
		at = len(f.src)
		if at > 0 && f.src[at-1] != '\n' {
			text = f.nl + text
		}
		text += f.nl
	}
	f.add(at, at, text, expect)
	return nil
}

// blockSeq renders entries as block sequence items whose dashes sit at
// dash columns, each item on new lines (the text starts with a newline).
func (f *File) blockSeq(items []Entry, dash int) string {
	var b strings.Builder
	keyIndent := dash + f.itemOffset
	pad := strings.Repeat(" ", keyIndent)
	for _, it := range items {
		b.WriteString(f.nl)
		b.WriteString(strings.Repeat(" ", dash))
		b.WriteString("-")
		b.WriteString(strings.Repeat(" ", f.itemOffset-1))
		b.WriteString("name: ")
		b.WriteString(scalarText(it.Name, Plain, false, false, 0, f.nl))
		if it.Description != "" {
			b.WriteString(f.nl + pad + "description: ")
			b.WriteString(scalarText(it.Description, Plain, false, true, keyIndent+f.itemOffset, f.nl))
		}
		if len(it.Columns) > 0 {
			b.WriteString(f.nl + pad + "columns:")
			b.WriteString(f.blockSeq(it.Columns, keyIndent+f.seqOffset))
		}
	}
	return b.String()
}

func (f *File) flowSeq(items []Entry) string {
	parts := make([]string, len(items))
	for i, it := range items {
		p := "{name: " + scalarText(it.Name, Plain, true, false, 0, f.nl)
		if it.Description != "" {
			p += ", description: " + scalarText(it.Description, Plain, true, false, 0, f.nl)
		}
		if len(it.Columns) > 0 {
			p += ", columns: " + f.flowSeq(it.Columns)
		}
		parts[i] = p + "}"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Bytes returns the edited file. With no edits it returns the original
// bytes. The result is parsed again and must equal the expected tree.
func (f *File) Bytes() ([]byte, error) {
	if len(f.edits) == 0 {
		return f.src, nil
	}
	edits := append([]edit(nil), f.edits...)
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].start != edits[j].start {
			return edits[i].start < edits[j].start
		}
		return edits[i].order < edits[j].order
	})
	var out bytes.Buffer
	last := 0
	for _, e := range edits {
		if e.start < last {
			return nil, fmt.Errorf("internal: overlapping edits at line %d", f.lineOf(e.start)+1)
		}
		out.Write(f.src[last:e.start])
		out.WriteString(e.text)
		last = e.end
	}
	out.Write(f.src[last:])
	res := out.Bytes()

	want, err := f.tree(f.doc)
	if err != nil {
		return nil, err
	}
	for _, fn := range f.expect {
		if err := fn(want); err != nil {
			return nil, fmt.Errorf("internal: %v", err)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(res, &doc); err != nil {
		return nil, fmt.Errorf("internal: the edited file does not parse (%v); nothing is written", err)
	}
	got, err := f.tree(&doc)
	if err != nil {
		return nil, err
	}
	if path, ok := equal(want, got, ""); !ok {
		return nil, fmt.Errorf("internal: the edited file does not read back as intended at %s; nothing is written", path)
	}
	return res, nil
}

// IndentLike makes entries added to f indent the way o's do: a new file
// follows the project's other properties files.
func (f *File) IndentLike(o *File) {
	f.seqOffset, f.itemOffset = o.seqOffset, o.itemOffset
}

// HasVersions reports whether the entry declares versions: its columns
// may live under each version, which modeldoc does not edit.
func (m *Model) HasVersions() bool {
	k, _ := lastKey(m.node, "versions")
	return k != nil
}
