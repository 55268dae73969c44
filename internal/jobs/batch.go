package jobs

// Batch mode (Options.Batch): an object's calls go to its job's batch
// collector instead of the chat endpoint. The collector gathers the calls
// of the objects in flight into chunks (submitted once the provider's
// request or byte limit is reached, or BatchLinger after the first call
// arrived), records each chunk and every call's custom id before it
// submits the chunk, and polls the batch until it ends; each object waits
// for its own calls' results, which are checked like any answer.
//
// A custom id is deterministic: the job, the object, the layer, a hash of
// the request and how many times this run of the item has sent that same
// request before. A run that starts again (a pause and resume, a crash,
// kill -9 and a take-over by another process) sends the same requests in
// the same way and so finds their custom ids recorded: it polls their
// batch, or reads their recorded result, and never submits them again. A
// re-ask (a different request) or a retry (the same request once more) has
// a new custom id and goes into the next chunk: a follow-up batch.
//
// A result is paid for once: the first delivery of a recorded result
// marks it charged, in the same statement that reads whether it was;
// later deliveries (the same item run again after a pause) are not logged
// by the guard, so that the job's cost stays the sum of what the provider
// billed. A crash between a delivery and its item's commit loses that
// call's log row, as an interactive call in flight at a crash is lost.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modeldoc/modeldoc/internal/jobstore"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// BatchProgress is a batch-mode job's provider batches, as Get shows it.
type BatchProgress = jobstore.BatchProgress

func (rt *runtime) batchLinger() time.Duration {
	if rt.cfg.BatchLinger > 0 {
		return rt.cfg.BatchLinger
	}
	return 2 * time.Second
}

func (rt *runtime) batchPoll() time.Duration {
	if rt.cfg.BatchPoll > 0 {
		return rt.cfg.BatchPoll
	}
	return 30 * time.Second
}

func (rt *runtime) batchYield() time.Duration {
	if rt.cfg.BatchYield > 0 {
		return rt.cfg.BatchYield
	}
	return rt.cfg.ItemTimeout / 2
}

// batchJobs holds this process's batch collectors, one per job.
type batchJobs struct {
	mu   sync.Mutex
	jobs map[int64]*batchJob
}

func (rt *runtime) batchJob(j *Job, b writer.Batcher) *batchJob {
	rt.batches.mu.Lock()
	defer rt.batches.mu.Unlock()
	if rt.batches.jobs == nil {
		rt.batches.jobs = map[int64]*batchJob{}
	}
	bj := rt.batches.jobs[j.ID]
	if bj == nil {
		bj = &batchJob{runtime: rt, jobID: j.ID, b: b, waiters: map[string][]*batchCall{}, polling: map[int64]bool{}}
		rt.batches.jobs[j.ID] = bj
	}
	return bj
}

// batchJob is one job's collector in this process.
type batchJob struct {
	runtime *runtime
	jobID   int64
	b       writer.Batcher

	mu      sync.Mutex
	pending []*batchCall
	bytes   int64
	timer   *time.Timer
	waiters map[string][]*batchCall // submitted calls by custom id
	polling map[int64]bool          // chunks polled by this process

	cancelOnce sync.Once
}

// batchCall is one call waiting for its result.
type batchCall struct {
	id     string
	itemID int64
	req    writer.Request
	size   int64
	chunk  int64
	done   chan writer.BatchResult // buffered: one result
	// unsent is set when the call left without reaching the provider
	// (refused before its chunk went, or its chunk was refused).
	unsent atomic.Bool
}

// batchWriter is the writer one item run sends its calls to.
type batchWriter struct {
	bj       *batchJob
	g        *guard
	c        *jobControl
	objectID int64
	itemID   int64

	mu   sync.Mutex
	seen map[string]int
}

func (w *batchWriter) Provider() string { return w.bj.b.Provider() }

// customID names req's n-th sending in this run. Anthropic takes
// ^[a-zA-Z0-9_-]{1,64}$, so the layer is cut to fit and the rest is
// digits, hex and dashes.
func customID(jobID, objectID int64, req writer.Request, n int) string {
	h := sha256.New()
	for _, s := range []string{req.Model, req.System, req.User, req.SchemaName, string(req.Schema), req.ReasoningEffort, strings.Join(req.Columns, "\x00")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(req.MaxTokens))
	h.Write(b[:])
	sum := hex.EncodeToString(h.Sum(nil))[:12]
	head := fmt.Sprintf("j%d-o%d-", jobID, objectID)
	tail := fmt.Sprintf("-%s-%d", sum, n)
	if len(head)+len(tail) > 56 {
		// Ids this large are written in base 36, to leave the layer room.
		head = "j" + strconv.FormatInt(jobID, 36) + "-o" + strconv.FormatInt(objectID, 36) + "-"
	}
	layer := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, string(req.Layer))
	if room := 64 - len(head) - len(tail); len(layer) > room {
		layer = layer[:max(room, 0)]
	}
	return head + layer + tail
}

// callNote lets the batch writer tell the guard that a call must not be
// logged: its result was already paid for, or it was never made.
type callNote struct{ free bool }

type callNoteKey struct{}

func withCallNote(ctx context.Context) (context.Context, *callNote) {
	n := &callNote{}
	return context.WithValue(ctx, callNoteKey{}, n), n
}

func noteFree(ctx context.Context) {
	if n, ok := ctx.Value(callNoteKey{}).(*callNote); ok {
		n.free = true
	}
}

// refuse ends a call whose object stops waiting for its batch (a pause,
// or BatchYield passed): the object goes back to ready with what it has,
// and its next run finds its calls recorded. The call is not logged.
func (w *batchWriter) refuse(ctx context.Context, why string) error {
	noteFree(ctx)
	w.g.mu.Lock()
	if w.g.refused == "" {
		w.g.refused = refusedPause
	}
	w.g.mu.Unlock()
	return &writer.Error{Kind: writer.InvalidRequest, Provider: w.Provider(), Message: "the call was not answered here: " + why}
}

func (w *batchWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	w.mu.Lock()
	probe := customID(0, 0, req, 0)
	w.seen[probe]++
	n := w.seen[probe]
	w.mu.Unlock()
	// A sending that never reaches the provider is not counted: the next
	// sending of the request takes its custom id, as a run that starts
	// again would.
	unsent := func() {
		w.mu.Lock()
		w.seen[probe]--
		w.mu.Unlock()
	}
	id := customID(w.bj.jobID, w.objectID, req, n)
	bj, rt := w.bj, w.bj.runtime
	transient := func(what string, err error) error {
		unsent()
		return &writer.Error{Kind: writer.Transient, Provider: w.Provider(), Message: what + ": " + err.Error(), Err: err}
	}

	// Recorded already: its result, or its batch to wait for.
	var status, result, batchID, key string
	var chunk int64
	rec, err := rt.js.BatchCall(ctx, bj.jobID, id)
	if err == nil {
		status, result, chunk, batchID, key = rec.Status, rec.Result, rec.Chunk, rec.BatchID, rec.Key
	}
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
	case err != nil:
		return writer.Result{}, transient("reading the batch call", err)
	case status != "submitted":
		return bj.deliverRecorded(ctx, id, result)
	case batchID == "":
		// A chunk recorded but never known submitted: the process that
		// wrote it stopped between the record and the provider's answer.
		// A provider that names batches by their metadata (OpenAI) says
		// whether it took it; otherwise its calls go into a new chunk.
		st, found, err := bj.find(ctx, key)
		if err != nil {
			return writer.Result{}, transient("looking for an unrecorded batch", err)
		}
		if found {
			if err := bj.record(ctx, chunk, st); err != nil {
				return writer.Result{}, transient("recording the batch", err)
			}
			batchID = st.ID
			break
		}
		if err := rt.js.DeleteUnsubmittedChunk(ctx, chunk); err != nil {
			return writer.Result{}, transient("dropping an unsubmitted chunk", err)
		}
		chunk = 0
	}
	call := &batchCall{id: id, itemID: w.itemID, req: req, chunk: chunk, done: make(chan writer.BatchResult, 1)}
	if chunk != 0 {
		bj.mu.Lock()
		bj.waiters[id] = append(bj.waiters[id], call)
		bj.mu.Unlock()
		bj.ensurePolling(chunk, batchID)
	} else {
		if w.paused() {
			unsent()
			return writer.Result{}, w.refuse(ctx, "the job is paused; no new batch is submitted")
		}
		size, err := bj.b.Size(writer.BatchCall{CustomID: id, Request: req})
		if err != nil {
			unsent()
			return writer.Result{}, err
		}
		call.size = size
		bj.add(call)
	}
	res, err := w.wait(ctx, call)
	if call.unsent.Load() {
		unsent()
	}
	return res, err
}

// find asks the provider for the batch submitted under key, when it can
// tell.
func (bj *batchJob) find(ctx context.Context, key string) (writer.BatchState, bool, error) {
	f, ok := bj.b.(writer.BatchFinder)
	if !ok || key == "" {
		return writer.BatchState{}, false, nil
	}
	return f.Find(ctx, key)
}

func (w *batchWriter) paused() bool {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.status == StatusPausing || w.c.status == StatusPaused
}

func (w *batchWriter) wait(ctx context.Context, call *batchCall) (writer.Result, error) {
	bj := w.bj
	tick := time.NewTicker(min(bj.runtime.cfg.PollInterval, bj.runtime.batchPoll()))
	defer tick.Stop()
	yield := time.NewTimer(bj.runtime.batchYield())
	defer yield.Stop()
	for {
		select {
		case r := <-call.done:
			return bj.charge(ctx, call.id, r)
		case <-ctx.Done():
			bj.forget(call)
			if errors.Is(context.Cause(ctx), errJobStopped) {
				bj.cancelProvider(context.WithoutCancel(ctx))
			}
			noteFree(ctx)
			return writer.Result{}, writer.Canceled(w.Provider(), ctx)
		case <-yield.C:
			if bj.forget(call) {
				return writer.Result{}, w.refuse(ctx, "its batch is still running; the object is picked up again")
			}
		case <-tick.C:
			if w.paused() && bj.forget(call) {
				return writer.Result{}, w.refuse(ctx, "the job is paused; the batch's results are read when it resumes")
			}
		}
	}
}

// forget takes call out of the pending chunk or the waiters; false when
// its result has just arrived (it is then read from call.done).
func (bj *batchJob) forget(call *batchCall) bool {
	bj.mu.Lock()
	defer bj.mu.Unlock()
	for i, c := range bj.pending {
		if c == call {
			bj.pending = append(bj.pending[:i], bj.pending[i+1:]...)
			bj.bytes -= c.size
			c.unsent.Store(true)
			return true
		}
	}
	ws := bj.waiters[call.id]
	for i, c := range ws {
		if c == call {
			bj.waiters[call.id] = append(ws[:i], ws[i+1:]...)
			if len(bj.waiters[call.id]) == 0 {
				delete(bj.waiters, call.id)
			}
			return true
		}
	}
	select {
	case r := <-call.done:
		call.done <- r
		return false
	default:
		// Submitting right now: its result is on its way.
		return false
	}
}

// storedResult is a call's outcome as batch_calls.result holds it.
type storedResult struct {
	Result  writer.Result `json:"result"`
	Kind    writer.Kind   `json:"kind,omitempty"`
	Status  int           `json:"status,omitempty"`
	Message string        `json:"message,omitempty"`
}

func encodeResult(r writer.BatchResult) (string, string) {
	s := storedResult{Result: r.Result}
	status := "succeeded"
	if r.Err != nil {
		status = "failed"
		s.Kind = writer.KindOf(r.Err)
		s.Message = r.Err.Error()
		var we *writer.Error
		if errors.As(r.Err, &we) {
			s.Status, s.Message = we.Status, we.Message
		}
	}
	s.Result.RateLimit = writer.RateLimit{}
	b, _ := json.Marshal(s)
	return status, string(b)
}

func (bj *batchJob) decode(result string) writer.BatchResult {
	var s storedResult
	if err := json.Unmarshal([]byte(result), &s); err != nil {
		return writer.BatchResult{Err: &writer.Error{Kind: writer.Transient, Provider: bj.b.Provider(), Message: "a recorded batch result is not readable: " + err.Error()}}
	}
	r := writer.BatchResult{Result: s.Result}
	if s.Kind != "" {
		r.Err = &writer.Error{Kind: s.Kind, Provider: bj.b.Provider(), Status: s.Status, Message: s.Message}
	}
	return r
}

func (bj *batchJob) deliverRecorded(ctx context.Context, id, result string) (writer.Result, error) {
	return bj.charge(ctx, id, bj.decode(result))
}

// charge hands r to the guard, which logs (and prices) it only when this
// is the result's first delivery.
func (bj *batchJob) charge(ctx context.Context, id string, r writer.BatchResult) (writer.Result, error) {
	rt := bj.runtime
	first, err := rt.js.ChargeBatchCall(context.WithoutCancel(ctx), bj.jobID, id)
	if err == nil && !first {
		noteFree(ctx)
	}
	return r.Result, r.Err
}

// add puts call into the pending chunk, submitting the chunk when it is
// full, or arming its linger timer.
func (bj *batchJob) add(call *batchCall) {
	maxReq, maxBytes := bj.b.Limits()
	bj.mu.Lock()
	defer bj.mu.Unlock()
	if len(bj.pending) > 0 && (len(bj.pending)+1 > maxReq || bj.bytes+call.size > maxBytes) {
		bj.flushLocked()
	}
	bj.pending = append(bj.pending, call)
	bj.bytes += call.size
	if bj.timer == nil {
		bj.timer = time.AfterFunc(bj.runtime.batchLinger(), func() {
			bj.mu.Lock()
			defer bj.mu.Unlock()
			bj.timer = nil
			bj.flushLocked()
		})
	}
}

func (bj *batchJob) flushLocked() {
	if bj.timer != nil {
		bj.timer.Stop()
		bj.timer = nil
	}
	if len(bj.pending) == 0 {
		return
	}
	calls := bj.pending
	bj.pending, bj.bytes = nil, 0
	go bj.submit(calls)
}

// submit records calls as one chunk, submits it, and starts polling it.
// The record comes first: a process that stops after the provider took
// the batch and before its id is written would otherwise lose it.
func (bj *batchJob) submit(calls []*batchCall) {
	rt := bj.runtime
	ctx := context.Background()
	fail := func(err error) {
		for _, c := range calls {
			c.unsent.Store(true)
			c.done <- writer.BatchResult{Err: err}
		}
	}
	if c := rt.control.controlOf(bj.jobID); c != nil {
		c.mu.Lock()
		st := c.status
		c.mu.Unlock()
		if st != StatusRunning && st != StatusQueued {
			// Pause stops new chunks: their calls are refused, their objects
			// go back to ready, and their next run submits them.
			fail(&writer.Error{Kind: writer.InvalidRequest, Provider: bj.b.Provider(), Message: "the call was not made: the job is " + st})
			return
		}
	}
	var chunk int64
	now := rt.now()
	key := "modeldoc-" + randomID() + randomID()
	cc := make([]jobstore.ChunkCall, len(calls))
	for i, c := range calls {
		cc[i] = jobstore.ChunkCall{CustomID: c.id, ItemID: c.itemID}
	}
	err := rt.withTx(ctx, func(tx *jobstore.Tx) error {
		var err error
		if chunk, err = tx.InsertChunk(ctx, bj.jobID, bj.b.Provider(), key, cc, now); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		return nil
	})
	if err != nil {
		fail(&writer.Error{Kind: writer.Transient, Provider: bj.b.Provider(), Message: err.Error(), Err: err})
		return
	}
	bc := make([]writer.BatchCall, len(calls))
	for i, c := range calls {
		bc[i] = writer.BatchCall{CustomID: c.id, Request: c.req}
		c.chunk = chunk
	}
	st, err := bj.b.Submit(ctx, key, bc)
	if err != nil {
		// Refused: nothing of it was submitted.
		if derr := rt.js.DeleteChunk(ctx, chunk); derr != nil {
			rt.log.Warn("jobs: drop a refused batch", "job", bj.jobID, "err", derr)
		}
		fail(err)
		return
	}
	if rt.batchFault != nil && rt.batchFault(chunk) != nil {
		// A test's process "dies" here: the provider took the batch, its
		// id is not recorded, and its calls wait for nothing.
		return
	}
	if err := bj.record(ctx, chunk, st); err != nil {
		rt.log.Warn("jobs: record a submitted batch", "job", bj.jobID, "batch", st.ID, "err", err)
	}
	bj.mu.Lock()
	for _, c := range calls {
		bj.waiters[c.id] = append(bj.waiters[c.id], c)
	}
	bj.mu.Unlock()
	rt.log.Info("jobs: batch submitted", "job", bj.jobID, "batch", st.ID, "calls", len(calls))
	bj.ensurePolling(chunk, st.ID)
}

// record writes what the provider said of chunk's batch.
func (bj *batchJob) record(ctx context.Context, chunk int64, st writer.BatchState) error {
	return bj.runtime.js.RecordBatch(ctx, chunk, jobstore.BatchState{ID: st.ID, Status: st.Status, Ended: st.Ended,
		Completed: st.Completed, Failed: st.FailedCalls, Message: st.Message, ExpiresAt: st.ExpiresAt}, bj.runtime.now())
}

func (bj *batchJob) ensurePolling(chunk int64, batchID string) {
	bj.mu.Lock()
	if bj.polling[chunk] {
		bj.mu.Unlock()
		return
	}
	bj.polling[chunk] = true
	bj.mu.Unlock()
	go bj.pollLoop(chunk, batchID)
}

// waitersOf returns the calls of chunk waiting here; when there are none
// it ends the chunk's polling in the same critical section, so that a call
// that starts waiting afterwards starts it again.
func (bj *batchJob) waitersOf(chunk int64) map[string]writer.Request {
	bj.mu.Lock()
	defer bj.mu.Unlock()
	out := map[string]writer.Request{}
	for id, ws := range bj.waiters {
		for _, c := range ws {
			if c.chunk == chunk {
				out[id] = c.req
			}
		}
	}
	if len(out) == 0 {
		delete(bj.polling, chunk)
	}
	return out
}

func (bj *batchJob) pollLoop(chunk int64, batchID string) {
	rt := bj.runtime
	ctx := context.Background()
	sleep := false
	for {
		if sleep {
			time.Sleep(rt.batchPoll())
		}
		sleep = true
		calls := bj.waitersOf(chunk)
		if len(calls) == 0 {
			return // nobody here waits for it: the next to ask polls again
		}
		st, err := bj.b.Poll(ctx, batchID)
		if err != nil {
			if writer.KindOf(err).Fatal() {
				bj.deliver(chunk, calls, func(string) writer.BatchResult { return writer.BatchResult{Err: err} }, false)
			} else {
				rt.log.Warn("jobs: poll batch", "job", bj.jobID, "batch", batchID, "err", err)
			}
			continue
		}
		if err := bj.record(ctx, chunk, st); err != nil {
			rt.log.Warn("jobs: record batch", "job", bj.jobID, "batch", batchID, "err", err)
		}
		if !st.Ended {
			continue
		}
		if st.Failed {
			e := &writer.Error{Kind: writer.InvalidRequest, Provider: bj.b.Provider(), Message: "the provider refused the batch " + batchID + ": " + st.Message}
			bj.deliver(chunk, calls, func(string) writer.BatchResult { return writer.BatchResult{Err: e} }, true)
		} else {
			res, err := bj.b.Results(ctx, st, calls)
			if err != nil {
				rt.log.Warn("jobs: read batch results", "job", bj.jobID, "batch", batchID, "err", err)
				continue
			}
			bj.deliver(chunk, calls, func(id string) writer.BatchResult { return res[id] }, true)
		}
		// Calls that began waiting meanwhile are served at once by the
		// next turn: the batch has ended.
		sleep = false
	}
}

// deliver records the results of calls (when store) and hands them to
// their waiters.
func (bj *batchJob) deliver(chunk int64, calls map[string]writer.Request, result func(string) writer.BatchResult, store bool) {
	rt := bj.runtime
	if store {
		err := rt.withTx(context.Background(), func(tx *jobstore.Tx) error {
			for id := range calls {
				status, js := encodeResult(result(id))
				if err := tx.SetBatchCallResult(context.Background(), bj.jobID, chunk, id, status, js); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// The results still reach the objects waiting here; a later run
			// would read the batch again.
			rt.log.Warn("jobs: record batch results", "job", bj.jobID, "err", err)
		}
	}
	bj.mu.Lock()
	for id := range calls {
		var keep []*batchCall
		for _, c := range bj.waiters[id] {
			if c.chunk == chunk {
				c.done <- result(id)
			} else {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			delete(bj.waiters, id)
		} else {
			bj.waiters[id] = keep
		}
	}
	bj.mu.Unlock()
}

// cancelProvider cancels the job's open batches at the provider, once per
// process.
func (bj *batchJob) cancelProvider(ctx context.Context) {
	bj.cancelOnce.Do(func() {
		if err := bj.runtime.cancelBatches(ctx, bj.jobID, bj.b); err != nil {
			bj.runtime.log.Warn("jobs: cancel batches", "job", bj.jobID, "err", err)
		}
	})
}

// cancelBatches asks the provider to cancel every open batch of job id.
func (rt *runtime) cancelBatches(ctx context.Context, id int64, b writer.Batcher) error {
	opens, err := rt.js.OpenBatches(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range opens {
		if err := b.Cancel(ctx, o.BatchID); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := rt.js.MarkBatchCancelling(ctx, o.Chunk, rt.now()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cancelProviderBatches cancels a cancelled batch-mode job's batches at
// its provider, from the process that cancelled it; processes writing for
// the job do it too as they notice.
func (rt *runtime) cancelProviderBatches(ctx context.Context, j *Job) {
	if !j.Options.Batch || rt.cfg.Writers == nil {
		return
	}
	stack, err := rt.cfg.Writers(ctx, j)
	if err != nil {
		rt.log.Warn("jobs: cancel batches: no writer", "job", j.ID, "err", err)
		return
	}
	b, ok := stack.Writer.(writer.Batcher)
	if !ok {
		return
	}
	if err := rt.cancelBatches(ctx, j.ID, b); err != nil {
		rt.log.Warn("jobs: cancel batches", "job", j.ID, "err", err)
	}
}

// batchInner is the writer under an item's guard in batch mode.
func (rt *runtime) batchInner(j *Job, st *started, c *jobControl, g *guard, w writer.Writer) (writer.Writer, error) {
	b, ok := w.(writer.Batcher)
	if !ok {
		return nil, fmt.Errorf("batch mode needs a provider with a batch API (openai, anthropic), not %s", w.Provider())
	}
	return &batchWriter{bj: rt.batchJob(j, b), g: g, c: c, objectID: st.objectID, itemID: st.itemID, seen: map[string]int{}}, nil
}

// batchRatio is what a call costs through the batch API as a share of its
// interactive price (0.5 on both providers' tables), for the budget's
// reservations; 1 when the table has no batch price for the model.
func (rt *runtime) batchRatio(o *Options) float64 {
	t := rt.prices()
	if t == nil || o.GivenPrice() != nil {
		return 1
	}
	p, ok := t.Price(o.Provider, o.Model)
	if !ok {
		return 1
	}
	b, ok := p.Batch()
	if !ok || p.Input+p.Output <= 0 {
		return 1
	}
	return (b.Input + b.Output) / (p.Input + p.Output)
}
