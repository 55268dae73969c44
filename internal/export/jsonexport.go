package export

import (
	_ "embed"
	"encoding/json"
	"io"
	"time"

	"github.com/modeldoc/modeldoc"
)

// Schema is the JSON Schema of the document WriteJSON writes.
//
//go:embed export.schema.json
var Schema []byte

// JSONFormatVersion changes when the document changes incompatibly.
const JSONFormatVersion = 1

// JSONDocument is everything modeldoc knows, in one document.
type JSONDocument struct {
	FormatVersion int           `json:"format_version"`
	ExportedAt    time.Time     `json:"exported_at"`
	Projects      []JSONProject `json:"projects"`
}

// JSONProject is one project with its objects and lineage.
type JSONProject struct {
	modeldoc.Project
	Objects []JSONObject `json:"objects"`
	Lineage []JSONEdge   `json:"lineage"`
}

// JSONEdge is a lineage edge by unique id: downstream reads upstream.
type JSONEdge struct {
	Upstream   string `json:"upstream"`
	Downstream string `json:"downstream"`
}

// JSONObject is an object with its current documentation, if any.
type JSONObject struct {
	modeldoc.Object
	Upstream      []string             `json:"upstream"`
	Downstream    []string             `json:"downstream"`
	Stale         bool                 `json:"stale"`
	Documentation *modeldoc.DocVersion `json:"documentation"`
}

// BuildJSON assembles the document from loaded projects.
func BuildJSON(projects []*Project, now time.Time) *JSONDocument {
	doc := &JSONDocument{FormatVersion: JSONFormatVersion, ExportedAt: now.UTC(), Projects: []JSONProject{}}
	for _, p := range projects {
		jp := JSONProject{Project: p.Project, Objects: []JSONObject{}, Lineage: []JSONEdge{}}
		for _, o := range p.sortedObjects() {
			// The same view the Markdown export renders; the document keeps
			// the version whole, so its layers are not decoded here.
			d := projectView(p, o, nil, "")
			jo := JSONObject{Object: *d.Object, Upstream: []string{}, Downstream: []string{}, Stale: d.Stale, Documentation: d.Version}
			if jo.Columns == nil {
				jo.Columns = []modeldoc.Column{}
			}
			for _, u := range d.Upstream {
				jo.Upstream = append(jo.Upstream, u.UniqueID)
				jp.Lineage = append(jp.Lineage, JSONEdge{Upstream: u.UniqueID, Downstream: o.UniqueID})
			}
			for _, dn := range d.Downstream {
				jo.Downstream = append(jo.Downstream, dn.UniqueID)
			}
			jp.Objects = append(jp.Objects, jo)
		}
		doc.Projects = append(doc.Projects, jp)
	}
	return doc
}

// WriteJSON writes the document as indented JSON.
func WriteJSON(w io.Writer, doc *JSONDocument) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
