package generate

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// edits is what a person edited in an object's current version. Edited
// text is a person's: the store keeps it over whatever a writer answers
// (store.carryOver), so asking a writer for it would only buy an answer
// that is thrown away.
type edits struct {
	layers  []modeldoc.Layer
	columns map[string]modeldoc.ColumnDescription // by lower-case name
}

// editsOf reads the edits of v, the object's current version (nil: none).
func editsOf(v *modeldoc.DocVersion) edits {
	var e edits
	if v == nil {
		return e
	}
	for _, l := range modeldoc.AllLayers {
		if l != modeldoc.LayerColumnDescriptions && v.LayerStatus[l].ReviewState == modeldoc.ReviewEdited {
			e.layers = append(e.layers, l)
		}
	}
	reviews := v.LayerStatus[modeldoc.LayerColumnDescriptions].ColumnReviews
	var cols modeldoc.ColumnDescriptionsOut
	if len(reviews) == 0 || json.Unmarshal(v.Layers[modeldoc.LayerColumnDescriptions], &cols) != nil {
		return e
	}
	for _, c := range cols.Columns {
		k := strings.ToLower(c.Name)
		if reviews[k].State == modeldoc.ReviewEdited && strings.TrimSpace(c.Description) != "" {
			if e.columns == nil {
				e.columns = map[string]modeldoc.ColumnDescription{}
			}
			e.columns[k] = c
		}
	}
	return e
}

// without drops the edited layers from layers.
func (e edits) without(layers []modeldoc.Layer) []modeldoc.Layer {
	if len(e.layers) == 0 {
		return layers
	}
	return slices.DeleteFunc(slices.Clone(layers), func(l modeldoc.Layer) bool { return slices.Contains(e.layers, l) })
}

// apply gives obj's edited columns the person's text as their human
// description, so that the prompts show them as documented and never ask
// for them; a column the object does not list (the SQL shows it, the YAML
// does not declare it) is added as declared, as a YAML entry would be, so
// that the prompts still ask for the SELECT's other columns.
func (e edits) apply(obj *modeldoc.Object) {
	if len(e.columns) == 0 {
		return
	}
	cols := slices.Clone(obj.Columns)
	seen := map[string]bool{}
	for i := range cols {
		k := strings.ToLower(cols[i].Name)
		if c, ok := e.columns[k]; ok {
			cols[i].Description, cols[i].HumanDescription, cols[i].InheritedFrom = c.Description, true, ""
			seen[k] = true
		}
	}
	var names []string
	for k := range e.columns {
		if !seen[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		c := e.columns[k]
		cols = append(cols, modeldoc.Column{Name: c.Name, Description: c.Description, HumanDescription: true, Declared: true, Position: len(cols) + 1})
	}
	obj.Columns = cols
}
