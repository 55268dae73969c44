package openaiwriter

// OpenAI's Batch API: the requests go up as a JSONL file (Files API,
// purpose "batch"), one line per call ({custom_id, method, url, body});
// POST /v1/batches starts the batch on it with a 24h completion window;
// the batch's output file holds the answers and its error file the calls
// that failed, each line naming its custom_id.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// OpenAI's limits per batch input file.
const (
	BatchMaxRequests = 50_000
	BatchMaxBytes    = 200 << 20
)

var _ writer.Batcher = (*Writer)(nil)

// Limits implements writer.Batcher.
func (w *Writer) Limits() (int, int64) { return BatchMaxRequests, BatchMaxBytes }

type batchLine struct {
	CustomID string                         `json:"custom_id"`
	Method   string                         `json:"method"`
	URL      string                         `json:"url"`
	Body     openai.ChatCompletionNewParams `json:"body"`
}

func (w *Writer) line(c writer.BatchCall) ([]byte, error) {
	b, err := json.Marshal(batchLine{CustomID: c.CustomID, Method: http.MethodPost, URL: "/v1/chat/completions", Body: w.Params(c.Request)})
	if err != nil {
		return nil, &writer.Error{Kind: writer.InvalidRequest, Provider: provider, Message: "the batch request could not be encoded: " + err.Error(), Err: err}
	}
	return append(b, '\n'), nil
}

// Size implements writer.Batcher: the call's line in the input file.
func (w *Writer) Size(c writer.BatchCall) (int64, error) {
	b, err := w.line(c)
	return int64(len(b)), err
}

// BatchKeyMetadata is the batch metadata field that holds Submit's key.
const BatchKeyMetadata = "modeldoc_chunk"

// Submit implements writer.Batcher: it uploads the calls as one input
// file and creates the batch on it, with key in its metadata.
func (w *Writer) Submit(ctx context.Context, key string, calls []writer.BatchCall) (writer.BatchState, error) {
	var buf bytes.Buffer
	for _, c := range calls {
		b, err := w.line(c)
		if err != nil {
			return writer.BatchState{}, err
		}
		buf.Write(b)
	}
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	files := w.files()
	var x writer.Exchange
	capture := option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return x.Capture(r, next) })
	f, err := files.New(callCtx, openai.FileNewParams{File: openai.File(&buf, "modeldoc-batch.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch}, capture)
	if err != nil {
		return writer.BatchState{}, w.fail(ctx, x, err)
	}
	x = writer.Exchange{}
	b, err := w.batches().New(callCtx, openai.BatchNewParams{
		InputFileID:      f.ID,
		Endpoint:         openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Metadata:         shared.Metadata{BatchKeyMetadata: key},
	}, capture)
	if err != nil {
		return writer.BatchState{}, w.fail(ctx, x, err)
	}
	return stateOf(b), nil
}

func (w *Writer) fail(ctx context.Context, x writer.Exchange, err error) error {
	if ctx.Err() != nil {
		return writer.Canceled(provider, ctx)
	}
	e := Classify(x.Status, x.Header, x.Body, err)
	e.Message = writer.Redact(e.Message, w.secrets...)
	return e
}

func stateOf(b *openai.Batch) writer.BatchState {
	st := writer.BatchState{ID: b.ID, Status: string(b.Status), Output: b.OutputFileID, Errors: b.ErrorFileID,
		Total: b.RequestCounts.Total, Completed: b.RequestCounts.Completed, FailedCalls: b.RequestCounts.Failed}
	if b.ExpiresAt > 0 {
		st.ExpiresAt = time.Unix(b.ExpiresAt, 0).UTC()
	}
	switch b.Status {
	case openai.BatchStatusCompleted, openai.BatchStatusExpired, openai.BatchStatusCancelled:
		st.Ended = true
	case openai.BatchStatusFailed:
		st.Ended, st.Failed = true, true
		for _, e := range b.Errors.Data {
			if st.Message != "" {
				st.Message += "; "
			}
			st.Message += e.Message
		}
	}
	return st
}

// Poll implements writer.Batcher.
func (w *Writer) Poll(ctx context.Context, id string) (writer.BatchState, error) {
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	b, err := w.batches().Get(callCtx, id, option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return x.Capture(r, next) }))
	if err != nil {
		return writer.BatchState{}, w.fail(ctx, x, err)
	}
	return stateOf(b), nil
}

// Cancel implements writer.Batcher.
func (w *Writer) Cancel(ctx context.Context, id string) error {
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	_, err := w.batches().Cancel(callCtx, id, option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return x.Capture(r, next) }))
	if err != nil {
		return w.fail(ctx, x, err)
	}
	return nil
}

// outputLine is a line of a batch's output or error file.
type outputLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Results implements writer.Batcher: it reads the output and error files.
func (w *Writer) Results(ctx context.Context, st writer.BatchState, calls map[string]writer.Request) (map[string]writer.BatchResult, error) {
	out := map[string]writer.BatchResult{}
	for _, id := range []string{st.Output, st.Errors} {
		if id == "" {
			continue
		}
		if err := w.readFile(ctx, id, func(l outputLine) {
			req, ok := calls[l.CustomID]
			if !ok {
				return
			}
			out[l.CustomID] = w.resultOf(req, l)
		}); err != nil {
			return nil, err
		}
	}
	// What neither file names was never run: the batch ended first.
	for id := range calls {
		if _, ok := out[id]; !ok {
			out[id] = writer.BatchResult{Err: &writer.Error{Kind: writer.Transient, Provider: provider,
				Message: fmt.Sprintf("openai batch %s ended (%s) before this call was run: it goes into the next batch", st.ID, st.Status)}}
		}
	}
	return out, nil
}

func (w *Writer) resultOf(req writer.Request, l outputLine) writer.BatchResult {
	switch {
	case l.Response != nil && l.Response.StatusCode == http.StatusOK:
		var resp openai.ChatCompletion
		if err := json.Unmarshal(l.Response.Body, &resp); err != nil {
			return writer.BatchResult{Err: &writer.Error{Kind: writer.Malformed, Provider: provider, Status: http.StatusOK,
				Message: "openai batch answer is not a chat completion: ask again", Err: err}}
		}
		res, err := w.check(req, &resp, http.StatusOK, writer.RateLimit{})
		return writer.BatchResult{Result: res, Err: err}
	case l.Response != nil:
		e := Classify(l.Response.StatusCode, http.Header{}, l.Response.Body, fmt.Errorf("openai batch call failed with HTTP %d", l.Response.StatusCode))
		e.Message = writer.Redact(e.Message, w.secrets...)
		return writer.BatchResult{Err: e}
	case l.Error != nil:
		// batch_expired and its kind: the call was not run, and is not
		// billed; it can go into another batch.
		return writer.BatchResult{Err: &writer.Error{Kind: writer.Transient, Provider: provider,
			Message: fmt.Sprintf("openai batch call not run (%s): %s", l.Error.Code, l.Error.Message)}}
	}
	return writer.BatchResult{Err: &writer.Error{Kind: writer.Transient, Provider: provider, Message: "openai batch line without a response or an error"}}
}

func (w *Writer) readFile(ctx context.Context, id string, each func(outputLine)) error {
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	res, err := w.files().Content(callCtx, id, option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return x.Capture(r, next) }))
	if err != nil {
		return w.fail(ctx, x, err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l outputLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return &writer.Error{Kind: writer.Transient, Provider: provider, Message: "openai batch file " + id + " has a line that is not JSON: " + err.Error(), Err: err}
		}
		each(l)
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		if ctx.Err() != nil {
			return writer.Canceled(provider, ctx)
		}
		return &writer.Error{Kind: writer.Transient, Provider: provider, Message: "reading openai batch file " + id + ": " + err.Error(), Err: err}
	}
	return nil
}

func (w *Writer) batches() *openai.BatchService {
	s := openai.NewBatchService(w.opts...)
	return &s
}

func (w *Writer) files() *openai.FileService {
	s := openai.NewFileService(w.opts...)
	return &s
}

var _ writer.BatchFinder = (*Writer)(nil)

// findScan bounds how many of the account's most recent batches Find reads.
const findScan = 1000

// Find implements writer.BatchFinder: it reads the account's most recent
// batches (newest first) for the one whose metadata holds key.
func (w *Writer) Find(ctx context.Context, key string) (writer.BatchState, bool, error) {
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	pager := w.batches().ListAutoPaging(callCtx, openai.BatchListParams{Limit: openai.Int(100)}, option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return x.Capture(r, next) }))
	for n := 0; n < findScan && pager.Next(); n++ {
		b := pager.Current()
		if b.Metadata[BatchKeyMetadata] == key {
			return stateOf(&b), true, nil
		}
	}
	if err := pager.Err(); err != nil {
		return writer.BatchState{}, false, w.fail(ctx, x, err)
	}
	return writer.BatchState{}, false, nil
}
