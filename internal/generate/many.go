package generate

import (
	"context"
	"runtime"
	"sort"
	"sync"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// DefaultExactLimit is how many objects PlanMany plans with their exact
// prompts; past it, a sample of that size is planned exactly and the rest
// is extrapolated from it. Building and counting the exact prompts costs a
// few milliseconds an object: fine for thousands, not for 100,000.
const DefaultExactLimit = 2000

// planChunkSize is how many objects PlanMany loads and plans at once.
const planChunkSize = 4096

// ManyOptions tune PlanMany.
type ManyOptions struct {
	// ExactLimit: see DefaultExactLimit. Negative means always exact.
	ExactLimit int
}

// PlanMany plans every object of ids (in the organization) as Plan would,
// with a few queries in all rather than several per object, in parallel.
// Every plan has its input hash and complexity; its estimate is exact (from
// the very prompts Write would send) for up to ExactLimit objects, and for
// larger selections exact on an evenly spread sample and extrapolated by
// size for the others (Plan.Extrapolated). Plans carry no requests, only
// their count: the worker plans each object again when it writes it, with
// the fresh summaries of the objects upstream.
func (s *Service) PlanMany(ctx context.Context, orgID int64, ids []int64, opts Options, mo ManyOptions) ([]*Plan, error) {
	if len(opts.Layers) == 0 {
		opts.Layers = modeldoc.AllLayers
	}
	for _, l := range opts.Layers {
		if _, err := modeldoc.ParseLayer(string(l)); err != nil {
			return nil, err
		}
	}
	limit := mo.ExactLimit
	if limit == 0 {
		limit = DefaultExactLimit
	}
	ids = dedupe(ids)
	exact := func(int) bool { return true }
	if limit > 0 && len(ids) > limit {
		stride := float64(len(ids)) / float64(limit)
		picked := make(map[int]bool, limit)
		for k := 0; k < limit; k++ {
			picked[int(float64(k)*stride)] = true
		}
		exact = func(i int) bool { return picked[i] }
	}
	// Chunks bound what is held at once (objects with their SQL and
	// columns, and their neighbours) whatever the selection's size.
	nb, err := s.newNeighbors(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	plans := make([]*Plan, 0, len(ids))
	for k, start := 0, 0; start < len(ids); k, start = k+1, start+planChunkSize {
		chunk := ids[start:min(start+planChunkSize, len(ids))]
		got, err := s.planChunk(ctx, orgID, k, chunk, nb, opts, func(i int) bool { return exact(start + i) })
		if err != nil {
			return nil, err
		}
		plans = append(plans, got...)
	}
	s.extrapolate(plans, opts)
	return plans, nil
}

// bulkCatalog is what a store offers for reading many objects cheaply:
// the fields planning reads and nothing else (see store.PlanObjects).
type bulkCatalog interface {
	PlanObjects(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.Object, error)
	NeighborObjects(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.Object, error)
}

// neighbors holds the lineage of a whole selection and the neighbours
// already loaded, so that an object is read in full once (in its chunk)
// and as a neighbour at most once more, however many chunks need it. In a
// tree a chunk's parents and children sit in other chunks: reading them
// again for each would read most objects three times.
type neighbors struct {
	chunkOf map[int64]int32            // selected id -> its chunk
	edges   [][]modeldoc.ObjectEdge    // by chunk: the edges touching it
	lastUse map[int64]int32            // id -> the last chunk that needs it
	loaded  map[int64]*modeldoc.Object // without SQL; dropped after lastUse
	expire  map[int32][]int64          // chunk -> ids loaded to drop after it
}

func (s *Service) newNeighbors(ctx context.Context, orgID int64, ids []int64) (*neighbors, error) {
	nb := &neighbors{
		chunkOf: make(map[int64]int32, len(ids)),
		edges:   make([][]modeldoc.ObjectEdge, (len(ids)+planChunkSize-1)/planChunkSize),
		lastUse: make(map[int64]int32, len(ids)),
		loaded:  map[int64]*modeldoc.Object{},
		expire:  map[int32][]int64{},
	}
	for i, id := range ids {
		nb.chunkOf[id] = int32(i / planChunkSize)
	}
	// All the edges at once, a few bytes each, read in chunks of ids so
	// that no one query carries 100,000 of them.
	seen := map[modeldoc.ObjectEdge]bool{}
	for start := 0; start < len(ids); start += 4 * planChunkSize {
		edges, err := s.cfg.Catalog.EdgesTouching(ctx, orgID, ids[start:min(start+4*planChunkSize, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, e := range edges {
			if seen[e] {
				continue
			}
			seen[e] = true
			cu, uIn := nb.chunkOf[e.Upstream]
			cd, dIn := nb.chunkOf[e.Downstream]
			if uIn {
				nb.edges[cu] = append(nb.edges[cu], e)
				nb.use(e.Downstream, cu)
			}
			if dIn {
				if !uIn || cd != cu {
					nb.edges[cd] = append(nb.edges[cd], e)
				}
				nb.use(e.Upstream, cd)
			}
		}
	}
	return nb, nil
}

func (nb *neighbors) use(id int64, chunk int32) {
	if last, ok := nb.lastUse[id]; !ok || chunk > last {
		nb.lastUse[id] = chunk
	}
}

// keep remembers o (without its SQL) for the chunks after k that need it.
func (nb *neighbors) keep(o *modeldoc.Object, k int32) {
	last, ok := nb.lastUse[o.ID]
	if !ok || last <= k || nb.loaded[o.ID] != nil {
		return
	}
	nb.loaded[o.ID] = &modeldoc.Object{ID: o.ID, ProjectID: o.ProjectID, UniqueID: o.UniqueID, Type: o.Type,
		Name: o.Name, Description: o.Description, Columns: o.Columns}
	nb.expire[last] = append(nb.expire[last], o.ID)
}

// done forgets what no chunk after k needs.
func (nb *neighbors) done(k int32) {
	for _, id := range nb.expire[k] {
		delete(nb.loaded, id)
	}
	delete(nb.expire, k)
	nb.edges[k] = nil
}

// planChunk plans the objects of ids (chunk k of a selection) with their
// lineage; exact(i) says whether ids[i] gets its exact prompts counted.
func (s *Service) planChunk(ctx context.Context, orgID int64, k int, ids []int64, nb *neighbors, opts Options, exact func(int) bool) ([]*Plan, error) {
	bulk, isBulk := s.cfg.Catalog.(bulkCatalog)
	var objs []modeldoc.Object
	var err error
	if isBulk {
		objs, err = bulk.PlanObjects(ctx, orgID, ids)
	} else {
		objs, err = s.cfg.Catalog.GetObjects(ctx, orgID, ids)
	}
	if err != nil {
		return nil, err
	}
	if len(objs) != len(ids) {
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "%d of the %d objects were not found.", len(ids)-len(objs), len(ids))
	}
	index := make(map[int64]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	edges := nb.edges[k]
	byID := make(map[int64]*modeldoc.Object, len(objs))
	for i := range objs {
		byID[objs[i].ID] = &objs[i]
	}
	// The neighbours outside the chunk: those already loaded, and the
	// others in one more query.
	var outside []int64
	for _, e := range edges {
		for _, id := range []int64{e.Upstream, e.Downstream} {
			if byID[id] != nil {
				continue
			}
			if o := nb.loaded[id]; o != nil {
				byID[id] = o
				continue
			}
			byID[id] = nil
			outside = append(outside, id)
		}
	}
	outside = dedupe(outside)
	if len(outside) > 0 {
		var more []modeldoc.Object
		if isBulk {
			more, err = bulk.NeighborObjects(ctx, orgID, outside)
		} else {
			more, err = s.cfg.Catalog.GetObjects(ctx, orgID, outside)
		}
		if err != nil {
			return nil, err
		}
		for i := range more {
			byID[more[i].ID] = &more[i]
			nb.keep(&more[i], int32(k))
		}
	}
	for i := range objs {
		nb.keep(&objs[i], int32(k))
	}
	nb.done(int32(k))
	up := map[int64][]modeldoc.Object{}
	down := map[int64][]modeldoc.Object{}
	var upstreamIDs []int64
	seenUp := map[int64]bool{}
	for _, e := range edges {
		u, d := byID[e.Upstream], byID[e.Downstream]
		if u == nil || d == nil {
			continue
		}
		// The same neighbours as Plan's (store.Upstream/Downstream), so
		// that both give the same input hash.
		if _, in := index[d.ID]; in {
			up[d.ID] = append(up[d.ID], *u)
		}
		if _, in := index[u.ID]; in {
			down[u.ID] = append(down[u.ID], *d)
		}
		if !seenUp[u.ID] {
			seenUp[u.ID] = true
			upstreamIDs = append(upstreamIDs, u.ID)
		}
	}
	summaries, err := s.cfg.Catalog.CurrentDocVersions(ctx, upstreamIDs)
	if err != nil {
		return nil, err
	}

	// Plans in the order of ids, whatever order the store returned.
	order := make([]int, len(objs))
	for i := range objs {
		order[index[objs[i].ID]] = i
	}
	plans := make([]*Plan, len(objs))
	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	work := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				o := &objs[order[j]]
				subject := newSubject(o, byName(up[o.ID]), byName(down[o.ID]), summaries)
				if exact(j) {
					plans[j], errs[j] = s.PlanSubject(subject, opts)
				} else {
					plans[j] = s.planCheap(subject, opts)
				}
				if p := plans[j]; p != nil {
					p.size = subjectSize(subject)
					// Only the figures are needed here: dropping the
					// prompts, the subject and the SQL keeps a plan of
					// 100,000 objects small.
					p.Calls = len(p.Requests)
					p.Requests, p.Subject = nil, nil
					p.Object = &modeldoc.Object{ID: o.ID, ProjectID: o.ProjectID, UniqueID: o.UniqueID, Type: o.Type, Name: o.Name}
				}
			}
		}()
	}
	for j := range objs {
		if ctx.Err() != nil {
			break
		}
		work <- j
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return plans, nil
}

// planCheap is PlanSubject without the prompts: input hash and complexity.
func (s *Service) planCheap(subject *writer.Subject, opts Options) *Plan {
	p := s.planBase(subject, opts)
	p.Extrapolated = true
	p.Calls = len(opts.Layers)
	return p
}

// extrapolate estimates the extrapolated plans from the exact ones, by a
// least-squares line of tokens against the size of what the prompts show.
func (s *Service) extrapolate(plans []*Plan, opts Options) {
	var n, sx, sy, sz, sxx, sxy, sxz float64
	for _, p := range plans {
		if p.Extrapolated {
			continue
		}
		x := float64(p.size)
		n++
		sx += x
		sxx += x * x
		sy += float64(p.EstimatedPromptTokens)
		sxy += x * float64(p.EstimatedPromptTokens)
		sz += float64(p.EstimatedCompletionTokens)
		sxz += x * float64(p.EstimatedCompletionTokens)
	}
	if n == 0 {
		return
	}
	line := func(sy, sxy float64) (a, b float64) {
		d := n*sxx - sx*sx
		if d == 0 {
			return sy / n, 0
		}
		b = (n*sxy - sx*sy) / d
		return (sy - b*sx) / n, b
	}
	pa, pb := line(sy, sxy)
	ca, cb := line(sz, sxz)
	for _, p := range plans {
		if !p.Extrapolated || opts.Provider == "offline" {
			continue
		}
		x := float64(p.size)
		p.EstimatedPromptTokens = int64(max(0, pa+pb*x))
		p.EstimatedCompletionTokens = int64(max(0, ca+cb*x))
		p.EstimatedCost = s.cfg.Prices.Cost(opts.Provider, opts.Model, writer.Usage{
			PromptTokens: p.EstimatedPromptTokens, CompletionTokens: p.EstimatedCompletionTokens,
		})
	}
}

// subjectSize is the bytes of what the prompts show of a subject, the
// variable that a prompt's length follows.
func subjectSize(s *writer.Subject) int {
	n := len(s.Object.SQL()) + len(s.Object.Description)
	for _, c := range s.Object.Columns {
		n += len(c.Name) + len(c.DataType) + len(c.Description)
	}
	for _, nb := range s.Upstream {
		n += len(nb.Object.Name) + len(nb.Summary)
		for _, c := range nb.Object.Columns {
			n += len(c.Name) + len(c.DataType)
		}
	}
	for _, nb := range s.Downstream {
		n += len(nb.Object.Name)
	}
	return n
}

func byName(objs []modeldoc.Object) []modeldoc.Object {
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].Name != objs[j].Name {
			return objs[i].Name < objs[j].Name
		}
		return objs[i].ID < objs[j].ID
	})
	return objs
}

// dedupe drops repeated ids, keeping the first of each.
func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
