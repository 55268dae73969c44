package fakellm

// OpenAI's Batch API, as the fake serves it: POST /v1/files (multipart,
// purpose "batch") takes a JSONL file of {custom_id, method, url, body}
// lines; POST /v1/batches starts a batch on it (endpoint
// /v1/chat/completions, completion_window "24h"); GET /v1/batches/{id}
// reports it (validating, in_progress, then completed, expired, failed,
// cancelling, cancelled, with request_counts, output_file_id and
// error_file_id); POST /v1/batches/{id}/cancel cancels it; GET
// /v1/files/{id}/content returns a file. A batch finishes BatchDelay after
// it was created: its lines are then answered as chat requests are (same
// answers, usage, cache and faults), outside the rate limits, as OpenAI's
// batch queue is. BatchFailRate of the lines fail with a 500 in the error
// file, and BatchExpireRate are never run (the batch ends expired, those
// lines carry batch_expired). Every custom id submitted is counted, so a
// test can tell a call submitted twice.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// BatchSettings are the batch endpoints' behaviour.
type BatchSettings struct {
	// Delay is how long after its creation a batch is finished.
	Delay time.Duration `json:"delay"`
	// FailRate is the fraction of lines that fail (HTTP 500 in the error
	// file); ExpireRate the fraction never run before the window ends.
	// Both are drawn from the custom id and the seed, so a line fails the
	// same way whenever it is sent, and another custom id (a retry) draws
	// again.
	FailRate   float64 `json:"fail_rate"`
	ExpireRate float64 `json:"expire_rate"`
}

// BatchStats counts what the batch endpoints received.
type BatchStats struct {
	Batches int `json:"batches"`
	Lines   int `json:"lines"`
	// Submissions counts, per custom id, the batches it was sent in.
	Submissions map[string]int `json:"submissions"`
	// Duplicates is how many custom ids were submitted more than once.
	Duplicates int `json:"duplicates"`
	Cancelled  int `json:"cancelled"`
	// Refused counts the batches whose input file failed validation
	// (a duplicate custom id, another model, a malformed line).
	Refused int `json:"refused"`
}

const (
	drawBatchFail uint64 = 100 + iota
	drawBatchExpire
)

type batchFile struct {
	id, purpose, name string
	data              []byte
	created           time.Time
}

type batchLineIn struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

type fakeBatch struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Errors           *batchErrors      `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        int64             `json:"expires_at"`
	CompletedAt      *int64            `json:"completed_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	FailedAt         *int64            `json:"failed_at"`
	RequestCounts    batchCounts       `json:"request_counts"`
	Metadata         map[string]string `json:"metadata"`
	Model            string            `json:"model,omitempty"`

	created time.Time
	lines   []batchLineIn
	// anthropic marks a Message Batch (anthropic.go), whose outcomes are
	// read back as its results.
	anthropic bool
	outcomes  []lineOutcome
}

type batchErrors struct {
	Object string          `json:"object"`
	Data   []batchErrorRow `json:"data"`
}

type batchErrorRow struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    *int   `json:"line"`
}

type batchCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

type batchStore struct {
	mu      sync.Mutex
	set     BatchSettings
	files   map[string]*batchFile
	batches map[string]*fakeBatch
	order   []string
	subs    map[string]int
	stats   BatchStats
	n       int
}

func newBatchStore(set BatchSettings) *batchStore {
	return &batchStore{set: set, files: map[string]*batchFile{}, batches: map[string]*fakeBatch{}, subs: map[string]int{}}
}

// SetBatch changes the batch endpoints' behaviour; a new Delay applies to
// the batches already running too.
func (s *Server) SetBatch(set BatchSettings) {
	s.batch.mu.Lock()
	s.batch.set = set
	s.batch.mu.Unlock()
}

// Batch returns the batch endpoints' behaviour.
func (s *Server) Batch() BatchSettings {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	return s.batch.set
}

// BatchStats returns what the batch endpoints received.
func (s *Server) BatchStats() BatchStats {
	b := s.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Submissions = make(map[string]int, len(b.subs))
	for k, v := range b.subs {
		st.Submissions[k] = v
		if v > 1 {
			st.Duplicates++
		}
	}
	return st
}

func (s *Server) handleBatchStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.BatchStats())
}

// authorized checks the key as the chat endpoint does, answering the 401.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && key == s.cfg.APIKey {
		return true
	}
	if k := r.Header.Get("X-Api-Key"); k != "" && k == s.cfg.APIKey {
		return true
	}
	s.stats.unauthorized.Add(1)
	if !ok || strings.TrimSpace(key) == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]apiError{"error": {Message: msgNoKey, Type: "invalid_request_error"}})
	} else {
		writeJSON(w, http.StatusUnauthorized, map[string]apiError{"error": invalidKeyError(key)})
	}
	return false
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]apiError{"error": {Message: msg, Type: "invalid_request_error"}})
}

func notFound(w http.ResponseWriter, what, id string) {
	writeJSON(w, http.StatusNotFound, map[string]apiError{"error": {Message: fmt.Sprintf("No such %s: '%s'", what, id), Type: "invalid_request_error"}})
}

func (b *batchStore) nextID(prefix string) string {
	b.n++
	return fmt.Sprintf("%s%024x", prefix, b.n)
}

func (s *Server) handleFileUpload(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		badRequest(w, "Could not parse multipart form: "+err.Error())
		return
	}
	purpose := r.FormValue("purpose")
	if purpose != "batch" {
		badRequest(w, fmt.Sprintf("Invalid value for purpose: '%s'. The fake takes 'batch' only.", purpose))
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		badRequest(w, "Missing required parameter: 'file'.")
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 200<<20+1))
	if err != nil {
		badRequest(w, "Could not read the file: "+err.Error())
		return
	}
	if len(data) > 200<<20 {
		badRequest(w, "File is too large: a batch input file holds at most 200 MB.")
		return
	}
	b := s.batch
	b.mu.Lock()
	file := &batchFile{id: b.nextID("file-"), purpose: purpose, name: hdr.Filename, data: data, created: s.now()}
	b.files[file.id] = file
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, fileObject(file))
}

func fileObject(f *batchFile) map[string]any {
	return map[string]any{"id": f.id, "object": "file", "bytes": len(f.data), "created_at": f.created.Unix(),
		"filename": f.name, "purpose": f.purpose, "status": "processed", "status_details": nil}
}

func (s *Server) handleFileContent(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	id := r.PathValue("id")
	b := s.batch
	b.mu.Lock()
	f := b.files[id]
	b.mu.Unlock()
	if f == nil {
		notFound(w, "File", id)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(f.data)
}

func (s *Server) handleBatchCreate(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var in struct {
		InputFileID      string            `json:"input_file_id"`
		Endpoint         string            `json:"endpoint"`
		CompletionWindow string            `json:"completion_window"`
		Metadata         map[string]string `json:"metadata"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		badRequest(w, msgBadJSON)
		return
	}
	if in.Endpoint != "/v1/chat/completions" {
		badRequest(w, fmt.Sprintf("Invalid value for endpoint: '%s'. The fake serves '/v1/chat/completions'.", in.Endpoint))
		return
	}
	if in.CompletionWindow != "24h" {
		badRequest(w, fmt.Sprintf("Invalid value for completion_window: '%s'. Supported values are: '24h'.", in.CompletionWindow))
		return
	}
	b := s.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.files[in.InputFileID]
	if f == nil {
		notFound(w, "File", in.InputFileID)
		return
	}
	now := s.now()
	fb := &fakeBatch{ID: b.nextID("batch_"), Object: "batch", Endpoint: in.Endpoint, InputFileID: f.id, CompletionWindow: "24h",
		Status: "validating", CreatedAt: now.Unix(), ExpiresAt: now.Add(24 * time.Hour).Unix(), Metadata: in.Metadata, created: now}
	fb.lines, fb.Errors = parseBatchFile(f.data)
	if fb.Errors == nil {
		for _, l := range fb.lines {
			var m struct {
				Model string `json:"model"`
			}
			_ = json.Unmarshal(l.Body, &m)
			fb.Model = m.Model
			b.subs[l.CustomID]++
		}
		b.stats.Lines += len(fb.lines)
		fb.RequestCounts.Total = len(fb.lines)
	} else {
		b.stats.Refused++
	}
	b.stats.Batches++
	b.batches[fb.ID] = fb
	b.order = append(b.order, fb.ID)
	writeJSON(w, http.StatusOK, fb)
}

// parseBatchFile reads an input file as OpenAI validates it: every line a
// JSON object with a custom_id unique in the file, method POST, the url
// /v1/chat/completions and one model for the whole file.
func parseBatchFile(data []byte) ([]batchLineIn, *batchErrors) {
	var lines []batchLineIn
	seen := map[string]bool{}
	model := ""
	fail := func(n int, code, msg string) ([]batchLineIn, *batchErrors) {
		return nil, &batchErrors{Object: "list", Data: []batchErrorRow{{Code: code, Message: msg, Line: &n}}}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l batchLineIn
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fail(n, "invalid_json_line", "This line is not parseable as valid JSON.")
		}
		if l.CustomID == "" || seen[l.CustomID] {
			return fail(n, "duplicate_custom_id", "The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.")
		}
		seen[l.CustomID] = true
		if l.Method != http.MethodPost || l.URL != "/v1/chat/completions" {
			return fail(n, "invalid_url", "The URL provided for this request does not match the batch endpoint.")
		}
		var m struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(l.Body, &m)
		if model == "" {
			model = m.Model
		} else if m.Model != model {
			return fail(n, "mismatched_model", "The provided model does not match the model of other requests in the file. All requests in a batch must use the same model.")
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return fail(0, "empty_file", "The batch input file is empty.")
	}
	if len(lines) > 50_000 {
		return fail(0, "too_many_requests", "The batch input file holds more than 50,000 requests.")
	}
	return lines, nil
}

func (s *Server) handleBatchGet(w http.ResponseWriter, r *http.Request) { s.answerBatch(w, r, false) }

func (s *Server) handleBatchCancel(w http.ResponseWriter, r *http.Request) { s.answerBatch(w, r, true) }

// answerBatch answers with the batch the request's path names, advanced
// to now (cancelled first when cancel is set), or 401 or 404.
func (s *Server) answerBatch(w http.ResponseWriter, r *http.Request, cancel bool) {
	if !s.authorized(w, r) {
		return
	}
	fb := s.advance(r.PathValue("id"), cancel)
	if fb == nil {
		notFound(w, "batch", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, fb)
}

func (s *Server) handleBatchList(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	b := s.batch
	b.mu.Lock()
	ids := slices.Clone(b.order)
	b.mu.Unlock()
	data := []*fakeBatch{}
	for i := len(ids) - 1; i >= 0; i-- {
		if fb := s.advance(ids[i], false); fb != nil && !fb.anthropic {
			data = append(data, fb)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": false})
}

// advance moves batch id on as time has passed (or cancels it) and returns
// a copy of it to answer; nil when there is no such batch.
func (s *Server) advance(id string, cancel bool) *fakeBatch {
	b := s.batch
	b.mu.Lock()
	fb := b.batches[id]
	if fb == nil {
		b.mu.Unlock()
		return nil
	}
	now := s.now()
	set := b.set
	at := now.Unix()
	if fb.Status == "validating" && fb.Errors != nil {
		fb.Status, fb.FailedAt = "failed", &at
	}
	if fb.Status == "validating" {
		fb.Status, fb.InProgressAt = "in_progress", &at
	}
	if cancel && (fb.Status == "in_progress" || fb.Status == "validating") {
		fb.Status, fb.CancellingAt = "cancelling", &at
		b.stats.Cancelled++
	}
	run := fb.Status == "in_progress" && !now.Before(fb.created.Add(set.Delay))
	if fb.Status == "cancelling" {
		// Nothing of a cancelled batch was run: its lines end unfinished.
		fb.Status, fb.CancelledAt = "cancelled", &at
		fb.RequestCounts.Failed = 0
	}
	var lines []batchLineIn
	if run {
		lines = fb.lines
		fb.Status = "finalizing"
	}
	b.mu.Unlock()
	if run {
		outs := s.runBatch(lines, set)
		b.mu.Lock()
		expired := 0
		if fb.anthropic {
			fb.outcomes = outs
			for _, o := range outs {
				switch o.kind {
				case "ok":
					fb.RequestCounts.Completed++
				case "expired":
					expired++
					fb.RequestCounts.Failed++
				default:
					fb.RequestCounts.Failed++
				}
			}
		} else {
			var out, errs []byte
			var done, failed int
			out, errs, done, failed, expired = openAIFiles(outs)
			fb.RequestCounts.Completed, fb.RequestCounts.Failed = done, failed
			if len(out) > 0 {
				id := b.nextID("file-")
				b.files[id] = &batchFile{id: id, purpose: "batch_output", name: "batch_output.jsonl", data: out, created: now}
				fb.OutputFileID = &id
			}
			if len(errs) > 0 {
				id := b.nextID("file-")
				b.files[id] = &batchFile{id: id, purpose: "batch_output", name: "batch_errors.jsonl", data: errs, created: now}
				fb.ErrorFileID = &id
			}
		}
		if expired > 0 {
			fb.Status, fb.ExpiredAt = "expired", &at
		} else {
			fb.Status, fb.CompletedAt = "completed", &at
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	c := *fb
	b.mu.Unlock()
	return &c
}

// batchCtxKey marks a chat request made for a batch line: it is admitted
// outside the rate limits and answered without latency.
type batchCtxKey struct{}

func inBatch(ctx context.Context) bool { return ctx.Value(batchCtxKey{}) != nil }

func customSeq(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// lineOutcome is how the fake answered one batch line.
type lineOutcome struct {
	customID string
	kind     string // ok, failed (a chat error or a drawn failure), expired
	status   int
	body     []byte // the chat answer or error body
}

// runBatch answers lines through the chat handler.
func (s *Server) runBatch(lines []batchLineIn, set BatchSettings) []lineOutcome {
	out := make([]lineOutcome, 0, len(lines))
	for _, l := range lines {
		seq := customSeq(l.CustomID)
		switch {
		case drawFloat(s.cfg.Seed, seq, drawBatchExpire) < set.ExpireRate:
			out = append(out, lineOutcome{customID: l.CustomID, kind: "expired"})
			continue
		case drawFloat(s.cfg.Seed, seq, drawBatchFail) < set.FailRate:
			s.stats.fault(faultServerError)
			b, _ := json.Marshal(map[string]apiError{"error": {Message: msgServerError, Type: "server_error"}})
			out = append(out, lineOutcome{customID: l.CustomID, kind: "failed", status: http.StatusInternalServerError, body: b})
			continue
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(l.Body))
		r = r.WithContext(context.WithValue(context.Background(), batchCtxKey{}, true))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.handleChat(rec, r)
		kind := "ok"
		if rec.Code != http.StatusOK {
			kind = "failed"
		}
		out = append(out, lineOutcome{customID: l.CustomID, kind: kind, status: rec.Code, body: bytes.TrimSpace(rec.Body.Bytes())})
	}
	return out
}

// openAIFiles writes outcomes as OpenAI's output and error files.
func openAIFiles(outs []lineOutcome) (out, errs []byte, done, failed, expired int) {
	for i, o := range outs {
		seq := customSeq(o.customID)
		line := map[string]any{"id": fmt.Sprintf("batch_req_%016x%04d", seq, i), "custom_id": o.customID}
		switch o.kind {
		case "expired":
			expired++
			failed++
			line["response"] = nil
			line["error"] = map[string]string{"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}
			errs = appendLine(errs, line)
		default:
			line["response"] = map[string]any{"status_code": o.status, "request_id": fmt.Sprintf("req_%016x", seq), "body": json.RawMessage(o.body)}
			line["error"] = nil
			if o.kind == "ok" {
				done++
				out = appendLine(out, line)
			} else {
				failed++
				errs = appendLine(errs, line)
			}
		}
	}
	return
}

func appendLine(buf []byte, v any) []byte {
	b, _ := json.Marshal(v)
	return append(append(buf, b...), '\n')
}
