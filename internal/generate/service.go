package generate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/ground"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Catalog is what generation reads from the store.
type Catalog interface {
	CurrentDocVersions(ctx context.Context, objectIDs []int64) (map[int64]*modeldoc.DocVersion, error)
	// CurrentSummaries is CurrentDocVersions holding only the layers a
	// downstream prompt shows (executive summary, column descriptions).
	CurrentSummaries(ctx context.Context, objectIDs []int64) (map[int64]*modeldoc.DocVersion, error)
	// Many objects with their columns, and the lineage edges around them,
	// each in one query whatever the number of ids.
	GetObjects(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.Object, error)
	EdgesTouching(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.ObjectEdge, error)
	// ExposuresReading gives the exposures that read any of ids directly.
	ExposuresReading(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.ExposureUse, error)
	// PlanObjects and NeighborObjects are GetObjects holding only the
	// fields planning reads of the selected objects and of their
	// neighbours: a job of 100,000 objects reads each of them once or
	// twice, and their descriptions and raw SQL would be most of it.
	PlanObjects(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.Object, error)
	NeighborObjects(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.Object, error)
}

// Config configures a Service.
type Config struct {
	Catalog Catalog
	// Prices prices calls and estimates. Defaults to the embedded table.
	Prices *cost.Table
	// Prompt tunes the prompts (SQL token budget, neighbours shown).
	Prompt prompt.Options
	// Now is the clock. Defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service documents one object at a time; it is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Catalog == nil {
		return nil, errors.New("generate: Config.Catalog is required")
	}
	if cfg.Prices == nil {
		t, err := cost.Load("")
		if err != nil {
			return nil, err
		}
		cfg.Prices = t
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}, nil
}

// estimate prices reqs at the price the user gave, or else the table's.
func (s *Service) estimate(opts Options, reqs []writer.Request) cost.Estimate {
	if opts.Price != nil {
		return cost.EstimateAt(*opts.Price, reqs)
	}
	return s.cfg.Prices.Estimate(opts.Provider, opts.Model, reqs)
}

// costAt prices usage u at the price the user gave, or else the table's.
func (s *Service) costAt(opts Options, provider, model string, u writer.Usage) float64 {
	if opts.Price != nil {
		return opts.Price.Cost(u)
	}
	return s.cfg.Prices.Cost(provider, model, u)
}

// Prices returns the price table the service uses.
func (s *Service) Prices() *cost.Table { return s.cfg.Prices }

// Cost prices one call as Write prices a version's layers.
func (s *Service) Cost(provider, model string, u writer.Usage) float64 {
	return s.cfg.Prices.Cost(provider, model, u)
}

// Plan loads objectID with its lineage and builds the exact requests that
// Write will send, with their input hash and estimate. It calls no writer.
// Errors: ENOTFOUND for an unknown object or one of another organization;
// EINVALID for a layer that does not exist.
func (s *Service) Plan(ctx context.Context, orgID, objectID int64, opts Options) (*Plan, error) {
	layers := opts.Layers
	if len(layers) == 0 {
		layers = modeldoc.AllLayers
	}
	for _, l := range layers {
		if _, err := modeldoc.ParseLayer(string(l)); err != nil {
			return nil, err
		}
	}
	opts.Layers = layers
	// The object and its neighbours in four queries (lineage, objects,
	// columns, summaries): this runs once per object of every job.
	edges, err := s.cfg.Catalog.EdgesTouching(ctx, orgID, []int64{objectID})
	if err != nil {
		return nil, err
	}
	// EdgesTouching gives each edge once; an id twice in the list (a
	// neighbour both up- and downstream) is read once.
	ids := []int64{objectID}
	isUp, isDown := map[int64]bool{}, map[int64]bool{}
	for _, e := range edges {
		if e.Downstream == objectID {
			isUp[e.Upstream] = true
			ids = append(ids, e.Upstream)
		}
		if e.Upstream == objectID {
			isDown[e.Downstream] = true
			ids = append(ids, e.Downstream)
		}
	}
	objs, err := s.cfg.Catalog.GetObjects(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	var obj *modeldoc.Object
	var up, down []modeldoc.Object // by name, as GetObjects returns them
	var upIDs []int64
	for i := range objs {
		o := &objs[i]
		if o.ID == objectID {
			obj = o
		}
		if isUp[o.ID] {
			up = append(up, *o)
			upIDs = append(upIDs, o.ID)
		}
		if isDown[o.ID] {
			down = append(down, *o)
		}
	}
	if obj == nil {
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No object with id %d.", objectID)
	}
	// The object's own current version comes in the same query: its
	// edits decide what is not asked.
	summaries, err := s.cfg.Catalog.CurrentSummaries(ctx, append(slices.Clone(upIDs), objectID))
	if err != nil {
		return nil, err
	}
	own := summaries[objectID]
	subject := newSubject(obj, up, down, summaries)
	reach, err := s.dependents(ctx, orgID, objectID, edges)
	if err != nil {
		return nil, err
	}
	subject.Dependents = len(reach) - 1
	if subject.Nearby, err = s.nearby(ctx, orgID, objectID, edges); err != nil {
		return nil, err
	}
	if subject.Exposures, err = s.cfg.Catalog.ExposuresReading(ctx, orgID, reach); err != nil {
		return nil, err
	}
	return s.planSubject(subject, opts, s.ancestorDocs(ctx, orgID, objectID, upIDs), editsOf(own))
}

// newSubject puts an object together with its lineage; summaries holds the
// upstream objects' current documentation.
func newSubject(obj *modeldoc.Object, up, down []modeldoc.Object, summaries map[int64]*modeldoc.DocVersion) *writer.Subject {
	subject := &writer.Subject{Object: *obj}
	for _, o := range up {
		n := writer.Neighbor{Object: o}
		if v := summaries[o.ID]; v != nil {
			// A summary a reviewer rejected is not the truth about the
			// upstream: the prompt shows none rather than that one.
			if state := v.LayerReview(modeldoc.LayerExecutiveSummary); state != modeldoc.ReviewRejected {
				n.Summary, n.SummaryReview = v.ExecutiveSummary(), state
			}
			n.Object.Columns = withInherited(o.Columns, v)
			n.Generated = generatedColumns(v)
		}
		subject.Upstream = append(subject.Upstream, n)
	}
	for _, o := range down {
		subject.Downstream = append(subject.Downstream, writer.Neighbor{Object: o})
	}
	return subject
}

// PlanSubject is Plan for a subject the caller has already loaded, with
// no documentation of its own (nothing a person edited).
// Inheritance looks at the subject's direct upstreams only.
func (s *Service) PlanSubject(subject *writer.Subject, opts Options) (*Plan, error) {
	return s.planSubject(subject, opts, nil, edits{})
}

// planSubject plans subject; ed is what a person edited in its current
// version: those layers and columns are not asked for (see edits).
func (s *Service) planSubject(subject *writer.Subject, opts Options, deep ancestorDocs, ed edits) (*Plan, error) {
	if len(opts.Layers) == 0 {
		opts.Layers = modeldoc.AllLayers
	}
	opts.Layers = ed.without(prompt.FitLayers(&subject.Object, opts.Layers))
	ed.apply(&subject.Object)
	plan := s.planBase(subject, opts)
	plan.Edited = ed.layers
	var inh *inheritance
	if slices.Contains(opts.Layers, modeldoc.LayerColumnDescriptions) {
		// The prompts show what the direct upstreams give (as a bulk
		// plan, which reads no farther, does: both must build the same
		// requests); the farther ancestors' text joins the columns
		// written, replacing what a writer answered for them.
		inh = inheritColumns(subject)
		applyInherited(&subject.Object, inh.list())
		subject.Lineage = inh.lineage
		subject.OutputColumns = len(inh.names)
	}
	po := s.promptOptions(opts)
	reqs, err := prompt.BuildCalls(opts.Layers, subject, po, callsMode(opts))
	if err != nil {
		return nil, fmt.Errorf("build prompts for %s: %w", subject.Object.UniqueID, err)
	}
	plan.Requests = reqs
	plan.Calls = len(reqs)
	plan.prompt = po
	if inh != nil {
		inh.deepen(deep)
		plan.Inherited = inh.list()
		plan.Human = inh.human
	}
	if opts.Provider != modeldoc.ProviderOffline {
		est := s.estimate(opts, plan.Requests)
		plan.EstimatedPromptTokens = int64(est.PromptTokens)
		plan.EstimatedCompletionTokens = int64(est.CompletionTokens)
		plan.EstimatedCost = est.Cost
	}
	return plan, nil
}

func (s *Service) promptOptions(opts Options) prompt.Options {
	po := s.cfg.Prompt
	po.Model = opts.Model
	po.ReasoningEffort = opts.ReasoningEffort
	po.OverwriteHuman = opts.OverwriteHuman
	return po
}

// callsMode is the plan's calls mode; the offline writer reads one layer
// per request, and its calls cost nothing to split.
func callsMode(opts Options) string {
	if opts.Provider == modeldoc.ProviderOffline {
		return prompt.CallsPerLayer
	}
	return opts.Calls
}

// planBase is what every plan has, with or without its prompts: the input
// hash and the complexity score.
func (s *Service) planBase(subject *writer.Subject, opts Options) *Plan {
	analysis := sqlscan.Analyze(subject.Object.SQL())
	return &Plan{
		Object:          &subject.Object,
		Subject:         subject,
		InputHash:       prompt.InputHash(subject, opts.Layers, opts.Provider, opts.Model),
		ComplexityScore: sqlscan.Complexity(analysis, len(subject.Upstream), len(subject.Object.Columns)).Score,
		Options:         opts,
	}
}

// Write sends the plan's requests through w, all layers at once (no layer
// needs another's output), validates every answer against its schema and
// asks again once with the validation error. It returns an unsaved version:
// a layer that still fails is recorded in LayerStatus and the others are
// kept. The error is non-nil only when the whole object must stop: a fatal
// writer error (a rejected key, an exhausted quota), or ctx ending, when the
// version holds the layers answered before it ended (they were paid for).
// The layers of plan.Kept are taken as they are, without a call.
func (s *Service) Write(ctx context.Context, plan *Plan, w writer.Writer) (*modeldoc.DocVersion, error) {
	start := s.cfg.Now()
	// A fatal error in one layer stops the others: every further call would
	// fail the same way, and some would be billed.
	layerCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var mu sync.Mutex
	var results []outcome
	add := func(o ...outcome) {
		mu.Lock()
		results = append(results, o...)
		mu.Unlock()
		for _, r := range o {
			if r.fatal != nil {
				cancel()
			}
		}
	}
	var chunks []outcome // a wide model's column layer, in parts
	var wg sync.WaitGroup
	for _, l := range plan.Options.Layers {
		if k, ok := plan.Kept[l]; ok {
			results = append(results, outcome{layer: l, content: k.Content, status: k.Status})
		}
	}
	asked := map[modeldoc.Layer]bool{}
	nchunks := 0
	// Calls that share a cacheable prefix go one first and the others once
	// it has answered: a provider caches a prefix only once a call carrying
	// it is done, so calls sent together all pay for it in full. OpenAI
	// reads the schema before the system prompt, so only calls with the
	// same schema and system prompt (Request.CacheKey: a wide model's column
	// parts) share a prefix; the combined call and the column calls share
	// nothing, and holding one back would only slow the object
	// (docs/benchmarks.md, issue 16). The pipeline stays full by running
	// other objects meanwhile (the job's concurrency).
	type cacheGroup struct {
		answered chan struct{}
		once     sync.Once
	}
	groups := map[string]*cacheGroup{}
	launch := func(key string, run func(w writer.Writer)) {
		wg.Add(1)
		g := groups[key]
		if key == "" {
			// No schema, nothing a cache could share: no reason to wait.
			go func() {
				defer wg.Done()
				run(w)
			}()
			return
		}
		if g == nil {
			g = &cacheGroup{answered: make(chan struct{})}
			groups[key] = g
			signal := func() { g.once.Do(func() { close(g.answered) }) }
			go func() {
				defer wg.Done()
				defer signal()
				run(&signalWriter{Writer: w, signal: signal})
			}()
			return
		}
		go func() {
			defer wg.Done()
			t := time.NewTimer(FirstCallWait)
			defer t.Stop()
			select {
			case <-g.answered:
			case <-t.C:
			case <-layerCtx.Done():
			}
			run(w)
		}()
	}
	for _, req := range plan.Requests {
		if req.Layers != nil {
			var rest []modeldoc.Layer
			for _, l := range req.Layers {
				if _, kept := plan.Kept[l]; !kept {
					rest = append(rest, l)
				}
			}
			if len(rest) == 0 {
				continue
			}
			if len(rest) < len(req.Layers) {
				// An earlier run bought some of them: ask for the rest
				// (one layer left is a plain one-layer request).
				rebuilt, err := prompt.BuildCalls(rest, plan.Subject, plan.prompt, prompt.CallsCombined)
				if err != nil {
					return nil, err
				}
				req = rebuilt[0]
			}
		}
		if req.Layers != nil {
			for _, l := range req.Layers {
				asked[l] = true
			}
			launch(req.CacheKey(), func(w writer.Writer) { add(s.writeCombined(layerCtx, plan, w, req)...) })
			continue
		}
		if _, kept := plan.Kept[req.Layer]; kept {
			continue
		}
		asked[req.Layer] = true
		i := -1
		if req.Layer == modeldoc.LayerColumnDescriptions {
			i = nchunks
			nchunks++
			chunks = append(chunks, outcome{})
		}
		launch(req.CacheKey(), func(w writer.Writer) {
			content, st, model, fatal := s.writeLayer(layerCtx, plan, w, req, nil)
			o := outcome{layer: req.Layer, content: content, status: st, model: model, fatal: fatal, columns: req.Columns}
			if i < 0 {
				add(o)
				return
			}
			mu.Lock()
			chunks[i] = o
			mu.Unlock()
			if fatal != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	if nchunks > 0 {
		results = append(results, mergeChunks(chunks))
	}
	if _, kept := plan.Kept[modeldoc.LayerColumnDescriptions]; !kept && !asked[modeldoc.LayerColumnDescriptions] &&
		slices.Contains(plan.Options.Layers, modeldoc.LayerColumnDescriptions) {
		// Every column is documented: the layer is written from that
		// documentation, with no call.
		results = append(results, outcome{layer: modeldoc.LayerColumnDescriptions,
			content: json.RawMessage(`{"columns":[],"confidence":"high"}`), status: modeldoc.LayerStatus{Status: modeldoc.LayerOK}})
	}
	if ctx.Err() == nil {
		for _, r := range results {
			if r.fatal != nil && !errors.Is(r.fatal, context.Canceled) {
				return nil, r.fatal
			}
		}
	}

	v := &modeldoc.DocVersion{
		ObjectID:        plan.Object.ID,
		Provider:        w.Provider(),
		Model:           plan.Options.Model,
		PromptVersion:   prompt.Version,
		InputHash:       plan.InputHash,
		SQLHash:         plan.Object.SQLHash,
		Layers:          map[modeldoc.Layer]json.RawMessage{},
		LayerStatus:     map[modeldoc.Layer]modeldoc.LayerStatus{},
		ComplexityScore: plan.ComplexityScore,
		EstimatedCost:   plan.EstimatedCost,
		JobID:           plan.Options.JobID,
	}
	for _, r := range results {
		if r.model != "" && v.Model == "" {
			v.Model = r.model
		}
		if r.content != nil {
			v.Layers[r.layer] = r.content
		}
		v.LayerStatus[r.layer] = r.status
		v.PromptTokens += r.status.PromptTokens
		v.CompletionTokens += r.status.CompletionTokens
		v.CachedTokens += r.status.CachedTokens
		v.Cost += s.costAt(plan.Options, v.Provider, v.Model, writer.Usage{
			PromptTokens: r.status.PromptTokens, CompletionTokens: r.status.CompletionTokens, CachedTokens: r.status.CachedTokens,
		})
	}
	if raw, ok := v.Layers[modeldoc.LayerColumnDescriptions]; ok {
		if !plan.Options.OverwriteHuman {
			raw = keepHumanColumns(raw, plan.Object.Columns)
			raw = addHumanColumns(raw, plan.Human, plan.Object.Columns)
		}
		v.Layers[modeldoc.LayerColumnDescriptions] = mergeInherited(raw, plan.Inherited, plan.Object.Columns)
	}
	v.DurationMS = s.cfg.Now().Sub(start).Milliseconds()
	return v, ctx.Err()
}

// writeLayer runs one layer: the call, validation, the grounding checks
// (internal/ground) and the one re-ask, after an invalid or an ungrounded
// answer. An answer still ungrounded after the re-ask is kept with its
// findings and marked for review; so is the first one when the re-ask
// brings nothing better (an error, an invalid answer).
// It returns the validated JSON (nil when the layer failed), its status,
// the model that answered, and a non-nil error only when the job must stop.
//
// first, when not nil, is the first answer already bought (a combined
// answer's part): it is checked as if it had come from this layer's call.
func (s *Service) writeLayer(ctx context.Context, plan *Plan, w writer.Writer, req writer.Request, first *writer.Result) (json.RawMessage, modeldoc.LayerStatus, string, error) {
	var st modeldoc.LayerStatus
	start := s.cfg.Now()
	defer func() { st.DurationMS = s.cfg.Now().Sub(start).Milliseconds() }()
	var model string
	// flagged is a valid answer whose grounding failed, with its findings.
	var flagged json.RawMessage
	var findings []modeldoc.Finding
	// invalidFindings are those of the last answer that failed validation:
	// a failed layer keeps them to say what else was wrong.
	var invalidFindings []modeldoc.Finding
	review := func() (json.RawMessage, modeldoc.LayerStatus, string, error) {
		st.Status, st.Error, st.ErrorClass = modeldoc.LayerOK, "", ""
		st.Findings, st.Review = findings, true
		return flagged, st, model, nil
	}
	for attempt := 1; attempt <= 2; attempt++ {
		st.Attempts = attempt
		var res writer.Result
		var err error
		if attempt == 1 && first != nil {
			res = *first
		} else {
			res, err = w.Write(ctx, req)
		}
		st.PromptTokens += res.Usage.PromptTokens
		st.CompletionTokens += res.Usage.CompletionTokens
		st.CachedTokens += res.Usage.CachedTokens
		if res.Model != "" {
			model = res.Model
		}
		st.FinishReason = res.FinishReason
		var gerr *ground.Error
		invalidFindings = nil
		if err == nil {
			err = prompt.ValidateRequest(req, res.Content)
			if err == nil {
				f := ground.Check(req.Layer, res.Content, plan.Subject)
				if len(f) == 0 {
					st.Status, st.Error, st.ErrorClass = modeldoc.LayerOK, "", ""
					st.Findings, st.Review = nil, false
					return json.RawMessage(res.Content), st, model, nil
				}
				flagged, findings = json.RawMessage(res.Content), f
				gerr = &ground.Error{Layer: req.Layer, Findings: f}
			} else {
				msg := err.Error()
				// The re-ask also names what is not grounded, so that
				// one more answer can fix both.
				invalidFindings = ground.Check(req.Layer, res.Content, plan.Subject)
				if len(invalidFindings) > 0 {
					msg += "; and " + (&ground.Error{Layer: req.Layer, Findings: invalidFindings}).Error()
				}
				err = &writer.Error{Kind: writer.Malformed, Provider: w.Provider(), Message: msg, Err: err}
			}
		}
		if gerr != nil {
			if attempt == 2 {
				return review()
			}
			req = prompt.Repair(req, res.Content, gerr)
			continue
		}
		kind := writer.KindOf(err)
		st.Status, st.Error, st.ErrorClass = modeldoc.LayerFailed, err.Error(), string(kind)
		if ctx.Err() != nil {
			if flagged != nil {
				st.Status, st.Error, st.ErrorClass = modeldoc.LayerOK, "", ""
				st.Findings, st.Review = findings, true
				return flagged, st, model, ctx.Err()
			}
			return nil, st, model, ctx.Err()
		}
		if kind.Fatal() {
			return nil, st, model, err
		}
		if flagged != nil {
			return review()
		}
		if kind != writer.Malformed {
			return nil, st, model, nil // retries of transient errors happen below us
		}
		req = prompt.Repair(req, res.Content, err)
	}
	st.Findings = invalidFindings
	return nil, st, model, nil
}

// keepHumanColumns puts back the descriptions a person wrote into the
// generated column layer: generated text never replaces human text unless
// the user asks for it.
func keepHumanColumns(raw json.RawMessage, cols []modeldoc.Column) json.RawMessage {
	human := map[string]string{}
	for _, c := range cols {
		if c.HumanDescription && strings.TrimSpace(c.Description) != "" {
			human[strings.ToLower(c.Name)] = c.Description
		}
	}
	if len(human) == 0 {
		return raw
	}
	var out modeldoc.ColumnDescriptionsOut
	if json.Unmarshal(raw, &out) != nil {
		return raw
	}
	for i, c := range out.Columns {
		if d, ok := human[strings.ToLower(c.Name)]; ok {
			out.Columns[i].Description = d
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return raw
	}
	return b
}

// FirstCallWait bounds how long an object's other calls wait for its first
// one: a call that hangs (until its timeout, and its retries) must not hold
// the whole object, and a cache miss costs less than the object's time.
// Neither provider documents when a prefix becomes readable beyond "once
// the first response begins" (Anthropic), so the bound is a guess at a slow
// answer's length, not a provider's figure.
const FirstCallWait = 20 * time.Second

// signalWriter calls signal once its first call has returned, answered or
// not: the moment the provider has cached what the call carried.
type signalWriter struct {
	writer.Writer
	signal func()
}

func (w *signalWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	defer w.signal()
	return w.Writer.Write(ctx, req)
}
