package export

import (
	"encoding/json"
	"slices"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// The site's lineage graphs are computed at export, with the API's walk
// (store.WalkLineage) over the project's edges in memory, and embedded in
// each page as data that assets/lineage.js draws: a page opened from disk
// can fetch nothing. Two hops each way, and fewer objects than the
// dashboard's cap, since every page carries its own.
const (
	siteGraphDepth = 2
	siteGraphNodes = 120
)

// siteNode is one object of a page's graph, in the API's field names so
// that one script draws both, with the page it links to.
type siteNode struct {
	ID         int64               `json:"id"`
	Name       string              `json:"name"`
	Type       modeldoc.ObjectType `json:"type"`
	Depth      int                 `json:"depth"`
	Documented bool                `json:"documented"`
	Stale      bool                `json:"stale,omitempty"`
	Href       string              `json:"href"`
}

type siteGraph struct {
	Center    int64                   `json:"center"`
	Up        int                     `json:"up"`
	Down      int                     `json:"down"`
	Nodes     []siteNode              `json:"nodes"`
	Edges     []store.LineageEdge     `json:"edges"`
	Exposures []store.LineageExposure `json:"exposures"`
	Truncated bool                    `json:"truncated"`
}

// graphJSON is the neighbourhood of o as the JSON its page embeds.
func graphJSON(p *Project, o *modeldoc.Object, names map[*modeldoc.Object]string, ext string) (string, error) {
	step := func(ids []int64, upward bool) ([]store.LineageEdge, error) {
		var out []store.LineageEdge
		for _, id := range ids {
			if upward {
				for _, u := range p.Upstream[id] {
					out = append(out, store.LineageEdge{Upstream: u, Downstream: id})
				}
			} else {
				for _, d := range p.Downstream[id] {
					out = append(out, store.LineageEdge{Upstream: id, Downstream: d})
				}
			}
		}
		return out, nil
	}
	depth, truncated, err := store.WalkLineage(o.ID, siteGraphDepth, siteGraphDepth, siteGraphNodes, step)
	if err != nil {
		return "", err
	}
	g := siteGraph{Center: o.ID, Up: siteGraphDepth, Down: siteGraphDepth, Truncated: truncated,
		Nodes: []siteNode{}, Edges: []store.LineageEdge{}}
	ids := make([]int64, 0, len(depth))
	for id := range depth {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		x := p.Object(id)
		sum := p.Summary[id]
		g.Nodes = append(g.Nodes, siteNode{ID: id, Name: x.Name, Type: x.Type, Depth: depth[id],
			Documented: p.Docs[id] != nil, Stale: sum.Stale, Href: names[x] + ext})
		for _, d := range p.Downstream[id] {
			if _, ok := depth[d]; ok {
				g.Edges = append(g.Edges, store.LineageEdge{Upstream: id, Downstream: d})
			}
		}
	}
	g.Exposures, g.Truncated, err = store.LineageExposures(depth, siteGraphDepth, siteGraphNodes, g.Truncated, func(ids []int64) ([]modeldoc.ExposureUse, error) {
		var out []modeldoc.ExposureUse
		for _, x := range p.Exposures {
			if slices.ContainsFunc(x.Reads, func(r int64) bool { return slices.Contains(ids, r) }) {
				out = append(out, x)
			}
		}
		return out, nil
	})
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(g)
	return string(b), err
}
