package jobs

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/jobstore"
)

// creator creates jobs: it resolves a selection to objects in topological
// order, plans them through the Documenter's one planning path
// (PlanBriefs), and inserts the job and its items with the first release
// in one transaction. Estimate is the same without the insert.
type creator struct {
	*jobDB
	store       Store
	concurrency int // a job's default window when the request gives none
	log         *slog.Logger
	queries     *queries
	// runtime releases the new job's first items in its creating transaction.
	runtime *runtime
}

// selected is one object of a selection with what its item needs of its
// plan.
type selected struct {
	id       int64
	name     string
	est      itemEstimate
	skip     string // why it is skipped, "" when it is documented
	position int
	deps     []int64 // object ids of selected upstream objects
}

// itemEstimate is an item's share of the job's estimate: a whole
// generate.Plan per object, kept until the items were inserted, was most
// of what creating a 100,000-object job held.
type itemEstimate struct {
	promptTokens, completionTokens int64
	cost                           float64
	calls                          int32
	extrapolated                   bool
}

// normalize fills the defaults a Go caller may leave out (a zero
// concurrency, no provider) and checks the request.
func (c *creator) normalize(req *CreateRequest) error {
	o := &req.Options
	if o.Concurrency == 0 {
		o.Concurrency = c.concurrency
	}
	if o.Provider == "" {
		o.Provider = modeldoc.ProviderOffline
	}
	return o.Validate()
}

// resolve turns the selection into objects of orgID, with plans, skip
// decisions and the topological order.
func (c *creator) resolve(ctx context.Context, orgID int64, req *CreateRequest) ([]*selected, int64, error) {
	if err := c.normalize(req); err != nil {
		return nil, 0, err
	}
	s := req.Selection
	types := map[modeldoc.ObjectType]bool{}
	for _, t := range s.Types {
		types[t] = true
	}
	if len(types) == 0 {
		types = map[modeldoc.ObjectType]bool{modeldoc.TypeModel: true, modeldoc.TypeSnapshot: true, modeldoc.TypeSeed: true}
	}
	names := map[string]bool{}
	for _, n := range s.Names {
		names[n] = true
	}
	// Only a selection by ids or names needs to know what was found: a
	// project of 100,000 objects must not fill sets it never reads.
	found := map[string]bool{}
	// nameProjects holds the projects each selected name was found in: a
	// name in several projects is refused unless a project is chosen.
	nameProjects := map[string]map[int64]bool{}
	foundIDs := map[int64]bool{}
	var sel []*selected
	projects := map[int64]bool{}
	var projectID int64
	err := c.store.EachSelectable(ctx, orgID, s.ProjectID, s.ObjectIDs, func(id, pid int64, name string, typ modeldoc.ObjectType) error {
		o := selected{id: id, name: name}
		if len(s.ObjectIDs) > 0 {
			foundIDs[o.id] = true
		}
		if len(names) > 0 && !names[o.name] {
			return nil
		}
		if s.Pattern != "" {
			if ok, _ := path.Match(s.Pattern, o.name); !ok {
				return nil
			}
		}
		// Ids and names are explicit: they are documented whatever their
		// type; a project or a pattern takes the documentable types.
		if len(s.ObjectIDs) == 0 && len(names) == 0 && !types[typ] {
			return nil
		}
		if len(names) > 0 {
			found[o.name] = true
			if nameProjects[o.name] == nil {
				nameProjects[o.name] = map[int64]bool{}
			}
			nameProjects[o.name][pid] = true
		}
		projects[pid] = true
		projectID = pid
		sel = append(sel, &o)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: select objects: %w", err)
	}
	for _, id := range s.ObjectIDs {
		if !foundIDs[id] {
			return nil, 0, modeldoc.Errorf(modeldoc.ENOTFOUND, "Object %d was not found: list the objects with `modeldoc objects`.", id)
		}
	}
	var missing []string
	for _, n := range s.Names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, 0, modeldoc.Errorf(modeldoc.ENOTFOUND, "No object is named %s: check the names with `modeldoc objects`.", strings.Join(missing, ", "))
	}
	for _, n := range s.Names {
		if len(nameProjects[n]) > 1 {
			return nil, 0, c.nameInSeveralProjects(ctx, orgID, n, nameProjects[n])
		}
	}
	if len(sel) == 0 {
		return nil, 0, modeldoc.Errorf(modeldoc.ENOTFOUND, "The selection matches no object: check the pattern or the project.")
	}
	if len(projects) != 1 {
		projectID = 0
	}
	if err := c.order(ctx, sel); err != nil {
		return nil, 0, err
	}
	if err := c.plan(ctx, orgID, req, sel); err != nil {
		return nil, 0, err
	}
	return sel, projectID, nil
}

// order sorts sel upstream first (Kahn's algorithm over the lineage edges
// between selected objects; ties by name) and records each object's
// selected upstream objects. A cycle is an error naming its objects.
func (c *creator) order(ctx context.Context, sel []*selected) error {
	byID := make(map[int64]*selected, len(sel))
	ids := make([]int64, 0, len(sel))
	for _, o := range sel {
		byID[o.id] = o
		ids = append(ids, o.id)
	}
	edges, err := c.store.EdgesInto(ctx, ids)
	if err != nil {
		return fmt.Errorf("jobs: lineage: %w", err)
	}
	down := map[int64][]int64{}
	indeg := map[int64]int{}
	for _, e := range edges {
		up, dn := e.Upstream, e.Downstream
		if byID[up] == nil || up == dn {
			continue
		}
		byID[dn].deps = append(byID[dn].deps, up)
		down[up] = append(down[up], dn)
		indeg[dn]++
	}
	// A heap of the ready objects, by name, keeps the order deterministic
	// in O(n log n); re-sorting the ready list at every step was quadratic
	// on wide lineages (100,000 objects took minutes).
	ready := &readyHeap{}
	for _, o := range sel {
		if indeg[o.id] == 0 {
			ready.items = append(ready.items, o)
		}
	}
	heap.Init(ready)
	pos := 0
	for ready.Len() > 0 {
		o := heap.Pop(ready).(*selected)
		o.position = pos
		pos++
		for _, d := range down[o.id] {
			indeg[d]--
			if indeg[d] == 0 {
				heap.Push(ready, byID[d])
			}
		}
	}
	if pos < len(sel) {
		var cyc []string
		for _, o := range sel {
			if indeg[o.id] > 0 {
				cyc = append(cyc, o.name)
			}
		}
		sort.Strings(cyc)
		if len(cyc) > 10 {
			cyc = append(cyc[:10], fmt.Sprintf("and %d more", len(cyc)-10))
		}
		return modeldoc.Errorf(modeldoc.EINVALID, "The lineage of the selection has a cycle through %s: fix the refs in the project, or leave these objects out of the selection.", strings.Join(cyc, ", "))
	}
	sort.Slice(sel, func(i, j int) bool { return sel[i].position < sel[j].position })
	return nil
}

// plan asks the documenter for every object's plan and applies the skip
// rules.
func (c *creator) plan(ctx context.Context, orgID int64, req *CreateRequest, sel []*selected) error {
	ids := make([]int64, len(sel))
	for i, o := range sel {
		ids[i] = o.id
	}
	current := map[int64]bool{}
	if !req.RegenerateAll && (req.SkipExisting || req.OnlyStale) {
		var err error
		if current, err = c.store.CurrentDocIDs(ctx, ids); err != nil {
			return fmt.Errorf("jobs: current documentation: %w", err)
		}
	}
	// OnlyStale uses the store's one definition of stale, so that it
	// documents again exactly what `objects list --stale` lists.
	var stale map[int64]bool
	if !req.RegenerateAll && req.OnlyStale && len(current) > 0 {
		documented := make([]int64, 0, len(current))
		for id := range current {
			documented = append(documented, id)
		}
		var err error
		if stale, err = c.store.StaleIDs(ctx, orgID, documented); err != nil {
			return fmt.Errorf("jobs: stale documentation: %w", err)
		}
	}
	opts := generateOptions(&req.Options, 0)
	var todo []*selected
	for _, o := range sel {
		if current[o.id] && req.SkipExisting {
			o.skip = "has current documentation"
			continue
		}
		if current[o.id] && req.OnlyStale && !stale[o.id] {
			o.skip = "documentation is up to date"
			continue
		}
		todo = append(todo, o)
	}
	if len(todo) == 0 {
		return nil
	}
	ids = ids[:0]
	for _, o := range todo {
		ids = append(ids, o.id)
	}
	briefs, perr := c.documenter.PlanBriefs(ctx, orgID, ids, opts, generate.ManyOptions{})
	if perr != nil {
		return fmt.Errorf("jobs: plan: %w", perr)
	}
	if len(briefs) != len(todo) {
		return fmt.Errorf("jobs: plan: %d plans for %d objects", len(briefs), len(todo))
	}
	for i, o := range todo {
		b := &briefs[i]
		o.est = itemEstimate{b.EstimatedPromptTokens, b.EstimatedCompletionTokens, b.EstimatedCost, b.Calls, b.Extrapolated}
	}
	return nil
}

// nameInSeveralProjects is the error of a selected name that objects of
// several projects have: which one is meant is never guessed.
func (c *creator) nameInSeveralProjects(ctx context.Context, orgID int64, name string, pids map[int64]bool) error {
	all, err := c.store.ListProjects(ctx, orgID)
	if err != nil {
		return fmt.Errorf("jobs: projects: %w", err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	var projects []string
	for _, p := range all {
		if pids[p.ID] {
			projects = append(projects, fmt.Sprintf("%s (project_id %d)", p.Name, p.ID))
		}
	}
	return modeldoc.Errorf(modeldoc.EINVALID, "The name %q is in several projects: %s. Choose one with the selection's project_id (--project in the CLI), or select by object id.", name, strings.Join(projects, ", "))
}

// generateOptions are the options of a plan or a write of job jobID (0
// while the job is being created).
func generateOptions(o *Options, jobID int64) generate.Options {
	return generate.Options{Provider: o.Provider, Model: o.Model, Layers: o.Layers, JobID: jobID, ReasoningEffort: o.ReasoningEffort, Calls: o.Calls, Price: o.GivenPrice()}
}

func (c *creator) estimateOf(req *CreateRequest, sel []*selected) *Estimate {
	e := &Estimate{Total: int64(len(sel)), Provider: req.Provider, Model: req.Model,
		PriceKnown: c.priceKnown(&req.Options), PriceGiven: req.GivenPrice() != nil}
	for _, o := range sel {
		if o.skip != "" {
			e.Skipped++
			continue
		}
		e.ToDocument++
		e.Calls += int64(o.est.calls)
		if o.est.extrapolated {
			e.Extrapolated++
		}
		e.EstimatedPromptTokens += o.est.promptTokens
		e.EstimatedCompletionTokens += o.est.completionTokens
		e.EstimatedCost += o.est.cost
	}
	e.EstimatedBatchCost, e.BatchPriceKnown = e.EstimatedCost, false
	if t := c.prices(); t != nil && req.GivenPrice() == nil {
		if p, ok := t.Price(req.Provider, req.Model); ok {
			if b, ok := p.Batch(); ok {
				// The interactive estimate scaled by what the same tokens
				// cost at the batch prices: exact when both prices are
				// halved, as both providers halve them.
				pt, ct := float64(e.EstimatedPromptTokens), float64(e.EstimatedCompletionTokens)
				if full := pt*p.Input + ct*p.Output; full > 0 {
					e.EstimatedBatchCost = e.EstimatedCost * (pt*b.Input + ct*b.Output) / full
				}
				e.BatchPriceKnown = true
			}
		}
	}
	return e
}

// Estimate resolves and plans the request as Create would, and creates
// nothing.
func (c *creator) Estimate(ctx context.Context, orgID int64, req CreateRequest) (*Estimate, error) {
	sel, projectID, err := c.resolve(ctx, orgID, &req)
	if err != nil {
		return nil, err
	}
	est := c.estimateOf(&req, sel)
	est.ProjectID = projectID
	return est, nil
}

// Create stores a job for the selection with its items in topological
// order and its estimate, and releases the first items to River, all in
// one transaction. Nothing runs until a Manager in some process is
// started (Start or RunJob).
func (c *creator) Create(ctx context.Context, orgID int64, req CreateRequest) (*Job, error) {
	if err := c.checkBudget(&req.Options, req.Budget); err != nil {
		return nil, err
	}
	sel, projectID, err := c.resolve(ctx, orgID, &req)
	if err != nil {
		return nil, err
	}
	est := c.estimateOf(&req, sel)
	opts, err := req.Options.encode()
	if err != nil {
		return nil, err
	}
	now := c.now()
	var jobID int64
	err = c.withTx(ctx, func(tx *jobstore.Tx) error {
		estCost := est.EstimatedCost
		if req.Batch && est.BatchPriceKnown {
			// What the job will cost: its calls are priced at the batch prices.
			estCost = est.EstimatedBatchCost
		}
		var err error
		if jobID, err = tx.InsertJob(ctx, jobstore.NewJob{OrgID: orgID, ProjectID: projectID, Options: opts, Total: est.Total, Skipped: est.Skipped,
			EstimatedCost: estCost, EstimatedPromptTokens: est.EstimatedPromptTokens, EstimatedCompletionTokens: est.EstimatedCompletionTokens,
			Budget: req.Budget, Concurrency: req.Concurrency, TriggeredByUserID: req.TriggeredByUserID, TriggeredByEmail: req.TriggeredByEmail,
			Now: now}); err != nil {
			return fmt.Errorf("jobs: insert job: %w", err)
		}
		if err := c.insertItems(ctx, tx, jobID, sel, now); err != nil {
			return err
		}
		if est.ToDocument == 0 {
			return tx.CompleteJob(ctx, jobID, now)
		}
		return c.runtime.release(ctx, tx, jobID)
	})
	if err != nil {
		return nil, err
	}
	c.log.Info("job created", "job", jobID, "org", orgID, "total", est.Total, "skipped", est.Skipped, "estimated_cost", est.EstimatedCost)
	return c.queries.Get(ctx, orgID, jobID)
}

// insertItems writes the job's items and their dependencies.
func (c *creator) insertItems(ctx context.Context, tx *jobstore.Tx, jobID int64, sel []*selected, now time.Time) error {
	items := make([]jobstore.NewItem, len(sel))
	for i, o := range sel {
		items[i] = jobstore.NewItem{ObjectID: o.id, ObjectName: o.name, Position: o.position, SkipReason: o.skip, EstimatedCost: o.est.cost, Deps: o.deps}
	}
	if err := tx.InsertItems(ctx, jobID, items, now); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return nil
}

// readyHeap orders the objects whose upstream is done by name, then id.
type readyHeap struct{ items []*selected }

func (h *readyHeap) Len() int { return len(h.items) }
func (h *readyHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.name != b.name {
		return a.name < b.name
	}
	return a.id < b.id
}
func (h *readyHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *readyHeap) Push(x any)    { h.items = append(h.items, x.(*selected)) }
func (h *readyHeap) Pop() any {
	last := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return last
}
