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
