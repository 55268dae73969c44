package prompt

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// InputHash is the sha256 of everything a documentation version is
// generated from, so that a later run can tell stale documentation from
// current: the object's name, type, materialization, schema, file path,
// description, raw and compiled SQL; its columns in order with their types
// and human descriptions; the upstream objects' names, types, current
// summaries, descriptions and column names, types and human or inherited
// descriptions (what this model's columns inherit); the downstream
// objects' names and types; the prompt Version, the provider, the model and
// the set of layers.
//
// Left out on purpose: ids, timestamps, tags, meta, tests and generated
// column descriptions (none reach a prompt), and the downstream objects'
// summaries: a downstream summary is written from this model's summary, so
// hashing it would make the two models mark each other stale forever.
//
// Every field is length-prefixed, so no two different inputs share an
// encoding; neighbors are sorted by name and layers by name, so the order a
// store returns them in does not matter.
func InputHash(s *writer.Subject, layers []modeldoc.Layer, provider, model string) string {
	h := sha256.New()
	w := hashWriter{h}
	w.str("modeldoc-input/1")
	w.str(Version)
	w.str(provider)
	w.str(model)
	ls := slices.Clone(layers)
	slices.Sort(ls)
	ls = slices.Compact(ls)
	w.num(len(ls))
	for _, l := range ls {
		w.str(string(l))
	}
	if s == nil {
		w.num(-1)
		return hex.EncodeToString(h.Sum(nil))
	}
	o := &s.Object
	w.str(o.Name)
	w.str(string(o.Type))
	w.str(o.Materialization)
	w.str(o.Schema)
	w.str(o.FilePath)
	w.str(o.Description)
	w.str(o.RawSQL)
	w.str(o.CompiledSQL)
	cols := sortedColumns(o.Columns)
	w.num(len(cols))
	for _, c := range cols {
		w.str(c.Name)
		w.str(c.DataType)
		if c.HumanDescription {
			w.str(c.Description)
		} else {
			w.str("")
		}
	}
	up := sortedNeighbors(s.Upstream)
	w.num(len(up))
	for _, n := range up {
		w.str(n.Object.Name)
		w.str(string(n.Object.Type))
		w.str(n.Summary)
		w.str(n.Object.Description)
		ncols := sortedColumns(n.Object.Columns)
		w.num(len(ncols))
		for _, c := range ncols {
			w.str(c.Name)
			w.str(c.DataType)
			// Human and inherited text is what this model's columns
			// inherit: a change upstream makes this documentation stale.
			if c.HumanDescription || c.InheritedFrom != "" {
				w.str(c.Description)
			} else {
				w.str("")
			}
		}
	}
	down := sortedNeighbors(s.Downstream)
	w.num(len(down))
	for _, n := range down {
		w.str(n.Object.Name)
		w.str(string(n.Object.Type))
	}
	return hex.EncodeToString(h.Sum(nil))
}

type hashWriter struct{ h hash.Hash }

func (w hashWriter) num(n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(int64(n)))
	w.h.Write(b[:])
}

func (w hashWriter) str(s string) {
	w.num(len(s))
	w.h.Write([]byte(s))
}
