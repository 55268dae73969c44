package generate

import (
	"cmp"
	"context"
	"slices"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Style examples come from the lineage around a model: its direct
// neighbours first (already loaded), then what lies up to nearbyHops away,
// up or down, nearest first. A team writes alike along a lineage, and the
// objects there are the ones whose words the model's text should match.
const (
	nearbyHops = 3
	maxNearby  = 40 // objects loaded beyond the direct neighbours
)

// nearby returns the objects 2 to nearbyHops hops from id (both ways),
// ordered by distance then name, at most maxNearby of them. edges are the
// edges touching id, already read by Plan.
func (s *Service) nearby(ctx context.Context, orgID, id int64, edges []modeldoc.ObjectEdge) ([]writer.Neighbor, error) {
	dist := map[int64]int{id: 0}
	var frontier []int64
	for _, e := range edges {
		for _, n := range []int64{e.Upstream, e.Downstream} {
			if _, ok := dist[n]; !ok {
				dist[n] = 1
				frontier = append(frontier, n)
			}
		}
	}
	var far []int64
	for hop := 2; hop <= nearbyHops && len(frontier) > 0 && len(far) < maxNearby; hop++ {
		slices.Sort(frontier)
		next, err := s.cfg.Catalog.EdgesTouching(ctx, orgID, frontier)
		if err != nil {
			return nil, err
		}
		frontier = frontier[:0:0]
		for _, e := range next {
			for _, n := range []int64{e.Upstream, e.Downstream} {
				if _, ok := dist[n]; !ok {
					dist[n] = hop
					frontier = append(frontier, n)
				}
			}
		}
		slices.Sort(frontier)
		far = append(far, frontier...)
	}
	if len(far) == 0 {
		return nil, nil
	}
	objs, err := s.cfg.Catalog.GetObjects(ctx, orgID, far)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(objs, func(a, b modeldoc.Object) int {
		return cmp.Or(cmp.Compare(dist[a.ID], dist[b.ID]), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	if len(objs) > maxNearby {
		objs = objs[:maxNearby]
	}
	out := make([]writer.Neighbor, len(objs))
	for i := range objs {
		out[i] = writer.Neighbor{Object: objs[i]}
	}
	return out, nil
}

// nearbyMany is nearby for every object of a chunk (ids, with edges the
// edges touching them), from two edge queries and one object query for
// the whole chunk, so that bulk planning builds the prompts Plan builds.
func (s *Service) nearbyMany(ctx context.Context, orgID int64, ids []int64, edges []modeldoc.ObjectEdge) (map[int64][]writer.Neighbor, error) {
	adj := map[int64][]int64{}
	known := map[int64]bool{} // every edge of these is in adj
	add := func(es []modeldoc.ObjectEdge) {
		seen := map[modeldoc.ObjectEdge]bool{}
		for _, e := range es {
			if seen[e] {
				continue
			}
			seen[e] = true
			adj[e.Upstream] = append(adj[e.Upstream], e.Downstream)
			adj[e.Downstream] = append(adj[e.Downstream], e.Upstream)
		}
	}
	for _, id := range ids {
		known[id] = true
	}
	add(edges)
	// Distance 3 from a chunk object is reached through the edges of the
	// objects 1 and 2 hops away: read them, a ring at a time.
	ring := ids
	for range nearbyHops - 1 {
		var next []int64
		for _, id := range ring {
			for _, n := range adj[id] {
				if !known[n] {
					known[n] = true
					next = append(next, n)
				}
			}
		}
		if len(next) == 0 {
			break
		}
		slices.Sort(next)
		es, err := s.cfg.Catalog.EdgesTouching(ctx, orgID, next)
		if err != nil {
			return nil, err
		}
		// Edges between two objects already known were read before.
		var fresh []modeldoc.ObjectEdge
		inNext := map[int64]bool{}
		for _, n := range next {
			inNext[n] = true
		}
		for _, e := range es {
			if inNext[e.Upstream] && (inNext[e.Downstream] || !known[e.Downstream]) ||
				inNext[e.Downstream] && !known[e.Upstream] {
				fresh = append(fresh, e)
			}
		}
		add(fresh)
		ring = next
	}
	farOf := map[int64][]int64{}
	dists := map[int64]map[int64]int{}
	var all []int64
	for _, id := range ids {
		dist := map[int64]int{id: 0}
		var frontier []int64
		for _, n := range adj[id] {
			if _, ok := dist[n]; !ok {
				dist[n] = 1
				frontier = append(frontier, n)
			}
		}
		var far []int64
		for hop := 2; hop <= nearbyHops && len(frontier) > 0 && len(far) < maxNearby; hop++ {
			var next []int64
			for _, f := range frontier {
				for _, n := range adj[f] {
					if _, ok := dist[n]; !ok {
						dist[n] = hop
						next = append(next, n)
					}
				}
			}
			frontier = next
			far = append(far, next...)
		}
		if len(far) > 0 {
			farOf[id], dists[id] = far, dist
			all = append(all, far...)
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	all = dedupe(all)
	objs, err := s.cfg.Catalog.NeighborObjects(ctx, orgID, all)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*modeldoc.Object, len(objs))
	for i := range objs {
		byID[objs[i].ID] = &objs[i]
	}
	out := make(map[int64][]writer.Neighbor, len(farOf))
	for id, far := range farOf {
		dist := dists[id]
		list := make([]*modeldoc.Object, 0, len(far))
		for _, f := range far {
			if o := byID[f]; o != nil {
				list = append(list, o)
			}
		}
		slices.SortStableFunc(list, func(a, b *modeldoc.Object) int {
			return cmp.Or(cmp.Compare(dist[a.ID], dist[b.ID]), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
		})
		if len(list) > maxNearby {
			list = list[:maxNearby]
		}
		ns := make([]writer.Neighbor, len(list))
		for i, o := range list {
			ns[i] = writer.Neighbor{Object: *o}
		}
		out[id] = ns
	}
	return out, nil
}
