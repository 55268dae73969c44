package generate

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// DefaultExactLimit is how many objects PlanBriefs plans with their exact
// prompts; past it, a sample of that size is planned exactly and the rest
// is extrapolated from it. Building and counting the exact prompts costs a
// few milliseconds an object: fine for thousands, not for 100,000.
const DefaultExactLimit = 2000

// planChunkSize is how many objects PlanBriefs loads and plans at once.
const planChunkSize = 2048

// ManyOptions tune PlanBriefs.
type ManyOptions struct {
	// ExactLimit: see DefaultExactLimit. Negative means always exact.
	ExactLimit int
}

// Brief is what a job keeps of one object's plan: the input hash its skip
// rules compare and the figures of its estimate, a few dozen bytes rather
// than a Plan with its object, subject and prompts (a job of 100,000
// objects held 60 MB of plans while it inserted its items).
type Brief struct {
	InputHash                 string
	EstimatedPromptTokens     int64
	EstimatedCompletionTokens int64
	EstimatedCost             float64
	// Calls is the number of requests Write will send (one per layer).
	Calls int32
	// Extrapolated: see Plan.Extrapolated.
	Extrapolated bool
	size         int32
}

// PlanBriefs plans every object of ids (in the organization) as Plan
// would, with a few queries in all rather than several per object, in
// parallel, and keeps of each plan its Brief; briefs[i] is the brief of
// ids[i] (ids must not repeat an id). Every brief has its input hash; its
// estimate is exact (from the very prompts Write would send) for up to
// ExactLimit objects, and for larger selections exact on an evenly spread
// sample and extrapolated by size for the others (Brief.Extrapolated). The
// worker plans each object again when it writes it, with the fresh
// summaries of the objects upstream.
func (s *Service) PlanBriefs(ctx context.Context, orgID int64, ids []int64, opts Options, mo ManyOptions) ([]Brief, error) {
	if len(dedupe(ids)) != len(ids) {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "The selection names an object twice.")
	}
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
	// One goroutine reads chunk k+1 while the others plan chunk k: reading
	// is one connection's work, planning is every core's.
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	loaded := make(chan *loadedChunk, 1)
	loadErr := make(chan error, 1)
	go func() {
		defer close(loaded)
		for k, start := 0, 0; start < len(ids); k, start = k+1, start+planChunkSize {
			c, err := s.loadChunk(loadCtx, orgID, k, ids[start:min(start+planChunkSize, len(ids))], nb)
			if err != nil {
				loadErr <- err
				return
			}
			c.start = start
			select {
			case loaded <- c:
			case <-loadCtx.Done():
				return
			}
		}
	}()
	briefs := make([]Brief, len(ids))
	for c := range loaded {
		if err := s.planLoaded(ctx, c, opts, briefs[c.start:c.start+len(c.ids)], exact); err != nil {
			return nil, err
		}
	}
	select {
	case err := <-loadErr:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.extrapolate(briefs, opts)
	return briefs, nil
}

// neighbors holds the lineage of a whole selection and the neighbours
// that later chunks need, so that an object is read in full once (in its
// chunk) and as a neighbour at most once more, however many chunks need
// it. In a tree a chunk's parents and children sit in other chunks:
// reading them again for each would read most objects three times.
type neighbors struct {
	chunkOf map[int64]int32         // selected id -> its chunk
	edges   [][]modeldoc.ObjectEdge // by chunk: the edges touching it
	uses    map[int64][]int32       // id -> the chunks that need it as a neighbour, in order
	// kept holds what a prompt shows of a neighbour until the next chunk
	// that needs it; nothing else (chunks after k only hold what they use).
	kept map[int64]*light
}

// light is what a prompt and the input hash read of a neighbour: a
// quarter of a modeldoc.Object with its columns.
type light struct {
	id, projectID                     int64
	uniqueID, name, descr             string
	pkg, database, schema, identifier string // to match relations back (inheritance)
	typ                               modeldoc.ObjectType
	cols                              []lightColumn
}

type lightColumn struct {
	name, dataType string
	position       int
	declared       bool
	// human is the column's human description, which downstream columns
	// inherit (and so the input hash shows); "" when it has none.
	human string
}

func lighten(o *modeldoc.Object) *light {
	l := &light{id: o.ID, projectID: o.ProjectID, uniqueID: o.UniqueID, name: o.Name, descr: o.Description, typ: o.Type,
		pkg: o.Package, database: o.Database, schema: o.Schema, identifier: o.Identifier,
		cols: make([]lightColumn, len(o.Columns))}
	for i, c := range o.Columns {
		l.cols[i] = lightColumn{name: c.Name, dataType: c.DataType, position: c.Position, declared: c.Declared}
		if c.HumanDescription {
			l.cols[i].human = c.Description
		}
	}
	return l
}

// object is l as a neighbour: of column descriptions only the human ones,
// which downstream columns inherit.
func (l *light) object() *modeldoc.Object {
	o := &modeldoc.Object{ID: l.id, ProjectID: l.projectID, UniqueID: l.uniqueID, Name: l.name, Description: l.descr, Type: l.typ,
		Package: l.pkg, Database: l.database, Schema: l.schema, Identifier: l.identifier,
		Columns: make([]modeldoc.Column, len(l.cols))}
	for i, c := range l.cols {
		o.Columns[i] = modeldoc.Column{Name: c.name, DataType: c.dataType, Position: c.position, Declared: c.declared,
			Description: c.human, HumanDescription: c.human != ""}
	}
	return o
}

func (s *Service) newNeighbors(ctx context.Context, orgID int64, ids []int64) (*neighbors, error) {
	nb := &neighbors{
		chunkOf: make(map[int64]int32, len(ids)),
		edges:   make([][]modeldoc.ObjectEdge, (len(ids)+planChunkSize-1)/planChunkSize),
		uses:    make(map[int64][]int32, len(ids)),
		kept:    map[int64]*light{},
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
	for id, u := range nb.uses {
		slices.Sort(u)
		nb.uses[id] = slices.Compact(u)
	}
	return nb, nil
}

func (nb *neighbors) use(id int64, chunk int32) {
	nb.uses[id] = append(nb.uses[id], chunk)
}

// keep decides, at the end of chunk k, whether o is held for a later
// chunk: only when one needs it as a neighbour before o's own chunk (which
// reads it in full anyway) comes.
func (nb *neighbors) keep(id int64, o *modeldoc.Object, k int32) {
	u := nb.uses[id]
	i, _ := slices.BinarySearch(u, k+1)
	own, selected := nb.chunkOf[id]
	if i == len(u) || (selected && own > k && own <= u[i]) {
		delete(nb.kept, id)
		return
	}
	if nb.kept[id] == nil && o != nil {
		nb.kept[id] = lighten(o)
	}
}

// loadedChunk is a chunk of a selection with everything its plans read.
type loadedChunk struct {
	start     int // where the chunk starts in the selection
	ids       []int64
	objs      []modeldoc.Object
	order     []int // order[j] is the index in objs of ids[j]
	up, down  map[int64][]modeldoc.Object
	summaries map[int64]*modeldoc.DocVersion
	nearby    map[int64][]writer.Neighbor
}

// loadChunk reads the objects of ids (chunk k of a selection) and their
// lineage, in a few queries.
func (s *Service) loadChunk(ctx context.Context, orgID int64, k int, ids []int64, nb *neighbors) (*loadedChunk, error) {
	objs, err := s.cfg.Catalog.PlanObjects(ctx, orgID, ids)
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
			if l := nb.kept[id]; l != nil {
				byID[id] = l.object()
				continue
			}
			byID[id] = nil
			outside = append(outside, id)
		}
	}
	outside = dedupe(outside)
	if len(outside) > 0 {
		more, err := s.cfg.Catalog.NeighborObjects(ctx, orgID, outside)
		if err != nil {
			return nil, err
		}
		for i := range more {
			byID[more[i].ID] = &more[i]
		}
	}
	// Every object held for this chunk is among byID's: each is either
	// held for its next use or let go.
	for id, o := range byID {
		nb.keep(id, o, int32(k))
	}
	nb.edges[k] = nil
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
	// What Plan reads: the upstreams' summaries and the objects' own
	// current versions (their edits), in one query, rejected text left out.
	docIDs := slices.Clone(upstreamIDs)
	for _, id := range ids {
		if !seenUp[id] {
			docIDs = append(docIDs, id)
		}
	}
	summaries, err := s.cfg.Catalog.CurrentSummaries(ctx, docIDs)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(objs))
	for i := range objs {
		order[index[objs[i].ID]] = i
	}
	near, err := s.nearbyMany(ctx, orgID, ids, edges)
	if err != nil {
		return nil, err
	}
	return &loadedChunk{ids: ids, objs: objs, order: order, up: up, down: down, summaries: summaries, nearby: near}, nil
}

// planLoaded plans the objects of c, in the order of its ids, in parallel,
// into briefs (briefs[j] is c.ids[j]'s); exact(c.start+j) says whether
// c.ids[j] gets its exact prompts counted.
func (s *Service) planLoaded(ctx context.Context, c *loadedChunk, opts Options, briefs []Brief, exact func(int) bool) error {
	objs, order, up, down, summaries := c.objs, c.order, c.up, c.down, c.summaries
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
				subject.Nearby = c.nearby[o.ID]
				ed := editsOf(summaries[o.ID])
				var p *Plan
				if exact(c.start + j) {
					if p, errs[j] = s.planSubject(subject, opts, nil, ed); errs[j] != nil {
						continue
					}
				} else {
					p = s.planCheap(subject, opts, ed)
				}
				briefs[j] = Brief{
					InputHash:                 p.InputHash,
					EstimatedPromptTokens:     p.EstimatedPromptTokens,
					EstimatedCompletionTokens: p.EstimatedCompletionTokens,
					EstimatedCost:             p.EstimatedCost,
					Calls:                     int32(p.Calls),
					Extrapolated:              p.Extrapolated,
					size:                      int32(min(subjectSize(subject), math.MaxInt32)),
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
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// planCheap is PlanSubject without the prompts and without the
// complexity score: the input hash. A job's items need no score (the
// worker scores each object when it writes it), and analysing the SQL of
// 100,000 objects was a fifth of creating their job.
func (s *Service) planCheap(subject *writer.Subject, opts Options, ed edits) *Plan {
	layers := ed.without(prompt.FitLayers(&subject.Object, opts.Layers))
	ed.apply(&subject.Object)
	opts.Layers = layers
	p := &Plan{Object: &subject.Object, Subject: subject, Options: opts,
		InputHash: prompt.InputHash(subject, opts.Layers, opts.Provider, opts.Model)}
	p.Extrapolated = true
	p.Edited = ed.layers
	p.Calls = len(layers)
	if callsMode(opts) != prompt.CallsPerLayer {
		// One call for the model-level layers and, for most models, one
		// for the columns (not counted without the inheritance it costs
		// to know).
		p.Calls = min(len(layers), 2)
	}
	return p
}

// extrapolate estimates the extrapolated briefs from the exact ones, by a
// least-squares line of tokens against the size of what the prompts show.
func (s *Service) extrapolate(briefs []Brief, opts Options) {
	var n, sx, sy, sz, sxx, sxy, sxz float64
	for i := range briefs {
		p := &briefs[i]
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
	for i := range briefs {
		p := &briefs[i]
		if !p.Extrapolated || opts.Provider == modeldoc.ProviderOffline {
			continue
		}
		x := float64(p.size)
		p.EstimatedPromptTokens = int64(max(0, pa+pb*x))
		p.EstimatedCompletionTokens = int64(max(0, ca+cb*x))
		p.EstimatedCost = s.costAt(opts, opts.Provider, opts.Model, writer.Usage{
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
