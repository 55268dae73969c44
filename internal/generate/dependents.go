package generate

import (
	"context"
	"slices"

	"github.com/modeldoc/modeldoc"
)

// maxDependents bounds the walk: past it the count says "at least".
const maxDependents = 100_000

// dependents lists id and every object downstream of it, directly or
// through others (what a change to id can reach), walking the lineage one level per query (dbt lineages are a few
// levels deep). edges are the edges touching id, already read by Plan, so
// a model nothing reads costs no query.
func (s *Service) dependents(ctx context.Context, orgID, id int64, edges []modeldoc.ObjectEdge) ([]int64, error) {
	seen := map[int64]bool{id: true}
	frontier := map[int64]bool{id: true}
	for len(frontier) > 0 && len(seen) <= maxDependents {
		var next []int64
		for _, e := range edges {
			if frontier[e.Upstream] && !seen[e.Downstream] {
				seen[e.Downstream] = true
				next = append(next, e.Downstream)
			}
		}
		if len(next) == 0 {
			break
		}
		frontier = make(map[int64]bool, len(next))
		for _, n := range next {
			frontier[n] = true
		}
		var err error
		if edges, err = s.cfg.Catalog.EdgesTouching(ctx, orgID, next); err != nil {
			return nil, err
		}
	}
	reach := make([]int64, 0, len(seen))
	reach = append(reach, id)
	for o := range seen {
		if o != id {
			reach = append(reach, o)
		}
	}
	slices.Sort(reach[1:])
	return reach, nil
}
