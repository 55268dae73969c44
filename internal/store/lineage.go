package store

import (
	"context"
	"slices"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// Neighbourhood bounds: a graph a reader can take in, and a query that
// stays quick on a project of thousands of models. A hub model (a
// calendar, a user dimension) can have hundreds of direct dependents;
// past MaxLineageNodes the graph says it is truncated instead of growing.
const (
	MaxLineageDepth     = 10
	DefaultLineageNodes = 150
	MaxLineageNodes     = 500
	DefaultLineageDepth = 2
)

// LineageNode is one object of a neighbourhood: its listing row and its
// distance from the centre, negative upstream and positive downstream
// (0 is the centre).
type LineageNode struct {
	ObjectSummary
	Depth int `json:"depth"`
}

// LineageExposure is an exposure that reads objects of the neighbourhood
// downstream of its centre (or the centre itself).
type LineageExposure struct {
	modeldoc.ExposureUse
	// Depth is one more than the farthest object it reads.
	Depth int `json:"depth"`
}

// LineageGraph is the neighbourhood of one object: the objects up to Up
// hops upstream and Down hops downstream, every edge between them, and
// the exposures reading its downstream side. Truncated is true when the
// node cap left objects within those depths out; the nearest are kept.
type LineageGraph struct {
	Center    int64             `json:"center"`
	Up        int               `json:"up"`
	Down      int               `json:"down"`
	Nodes     []LineageNode     `json:"nodes"`
	Edges     []LineageEdge     `json:"edges"`
	Exposures []LineageExposure `json:"exposures"`
	Truncated bool              `json:"truncated"`
}

// LineageStep answers the edges whose downstream end (upward) or upstream
// end (downward) is one of ids.
type LineageStep func(ids []int64, upward bool) ([]LineageEdge, error)

// WalkLineage finds the objects within up hops upstream and down hops
// downstream of center, at most maxNodes of them (center included),
// with their signed distance. It walks one level at a time, alternating
// the two directions, so that a cap cuts the farthest objects of both
// sides rather than one side whole; within a level, the lower ids are
// kept. It is the one walk behind the API's graph and the static site's.
func WalkLineage(center int64, up, down, maxNodes int, step LineageStep) (map[int64]int, bool, error) {
	depth := map[int64]int{center: 0}
	truncated := false
	frontier := map[bool][]int64{true: {center}, false: {center}}
	for level := 1; level <= max(up, down); level++ {
		for _, upward := range []bool{true, false} {
			limit := down
			if upward {
				limit = up
			}
			if level > limit || len(frontier[upward]) == 0 {
				continue
			}
			edges, err := step(frontier[upward], upward)
			if err != nil {
				return nil, false, err
			}
			var next []int64
			found := map[int64]bool{}
			for _, e := range edges {
				id := e.Downstream
				if upward {
					id = e.Upstream
				}
				if _, seen := depth[id]; !seen && !found[id] {
					found[id] = true
					next = append(next, id)
				}
			}
			slices.Sort(next)
			if room := maxNodes - len(depth); len(next) > room {
				next, truncated = next[:max(room, 0)], true
			}
			for _, id := range next {
				if upward {
					depth[id] = -level
				} else {
					depth[id] = level
				}
			}
			frontier[upward] = next
		}
	}
	return depth, truncated, nil
}

// LineageAround returns the neighbourhood of the organization's object
// id (see LineageGraph), or ENOTFOUND for an object it does not have. up
// and down are clamped to 0..MaxLineageDepth, maxNodes to
// 1..MaxLineageNodes (0: DefaultLineageNodes). It costs one query per level
// and direction, then three for the whole graph, whatever the project's
// size.
func (s *Store) LineageAround(ctx context.Context, orgID, id int64, up, down, maxNodes int) (*LineageGraph, error) {
	if err := s.checkObject(ctx, orgID, id); err != nil {
		return nil, err
	}
	up, down = min(max(up, 0), MaxLineageDepth), min(max(down, 0), MaxLineageDepth)
	if maxNodes <= 0 {
		maxNodes = DefaultLineageNodes
	}
	maxNodes = min(maxNodes, MaxLineageNodes)
	step := func(ids []int64, upward bool) ([]LineageEdge, error) {
		end := "e.upstream_id"
		if upward {
			end = "e.downstream_id"
		}
		// CROSS JOIN starts from the ids' index, not every edge of the
		// organization (see EdgesTouching).
		return s.edges(ctx, `SELECT e.upstream_id, e.downstream_id FROM edges e CROSS JOIN projects p
			WHERE p.id = e.project_id AND p.org_id = ? AND `+s.inIDs(end)+` ORDER BY e.upstream_id, e.downstream_id`,
			orgID, sqldialect.IDList(ids))
	}
	depth, truncated, err := WalkLineage(id, up, down, maxNodes, step)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(depth))
	for n := range depth {
		ids = append(ids, n)
	}
	slices.Sort(ids)
	g := &LineageGraph{Center: id, Up: up, Down: down, Truncated: truncated,
		Nodes: []LineageNode{}, Edges: []LineageEdge{}, Exposures: []LineageExposure{}}
	sums, _, err := s.ListObjects(ctx, orgID, ObjectFilter{IDs: ids, IncludeDeleted: true})
	if err != nil {
		return nil, err
	}
	for _, o := range sums {
		g.Nodes = append(g.Nodes, LineageNode{ObjectSummary: o, Depth: depth[o.ID]})
	}
	edges, err := s.EdgesTouching(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	for _, e := range edges {
		_, a := depth[e.Upstream]
		_, b := depth[e.Downstream]
		if a && b {
			g.Edges = append(g.Edges, e)
		}
	}
	slices.SortFunc(g.Edges, func(a, b LineageEdge) int {
		if a.Upstream != b.Upstream {
			return int(a.Upstream - b.Upstream)
		}
		return int(a.Downstream - b.Downstream)
	})
	if g.Exposures, g.Truncated, err = LineageExposures(depth, down, maxNodes, g.Truncated, func(ids []int64) ([]modeldoc.ExposureUse, error) {
		return s.ExposuresReading(ctx, orgID, ids)
	}); err != nil {
		return nil, err
	}
	return g, nil
}

// LineageExposures picks the exposures of a neighbourhood: those reading
// the centre or an object downstream of it that is nearer than down hops,
// each placed one level past the farthest object it reads, within what
// is left of maxNodes.
func LineageExposures(depth map[int64]int, down, maxNodes int, truncated bool, read func([]int64) ([]modeldoc.ExposureUse, error)) ([]LineageExposure, bool, error) {
	out := []LineageExposure{}
	if down < 1 {
		return out, truncated, nil
	}
	var near []int64
	for id, d := range depth {
		if d >= 0 && d < down {
			near = append(near, id)
		}
	}
	slices.Sort(near)
	uses, err := read(near)
	if err != nil {
		return nil, false, err
	}
	for _, u := range uses {
		if len(depth)+len(out) >= maxNodes {
			return out, true, nil
		}
		x := LineageExposure{ExposureUse: u}
		var reads []int64
		for _, r := range u.Reads {
			if d, ok := depth[r]; ok && d >= 0 && d < down {
				reads = append(reads, r)
				x.Depth = max(x.Depth, d+1)
			}
		}
		x.Reads = reads
		out = append(out, x)
	}
	return out, truncated, nil
}
