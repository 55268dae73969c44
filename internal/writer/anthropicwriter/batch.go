package anthropicwriter

// Anthropic's Message Batches: POST /v1/messages/batches takes the
// requests inline ({custom_id, params}); the batch is in_progress, then
// canceling or ended (processing_status), with request_counts and
// expires_at (24 hours after its creation); GET .../results streams one
// JSONL line per request whose result.type is succeeded, errored,
// canceled or expired.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/modeldoc/modeldoc/internal/writer"
)

// Anthropic's limits per Message Batch.
const (
	BatchMaxRequests = 100_000
	BatchMaxBytes    = 256 << 20
)

var _ writer.Batcher = (*Writer)(nil)

// Limits implements writer.Batcher.
func (w *Writer) Limits() (int, int64) { return BatchMaxRequests, BatchMaxBytes }

func (w *Writer) batchRequest(c writer.BatchCall) (anthropic.MessageBatchNewParamsRequest, error) {
	p, err := w.Params(c.Request)
	if err != nil {
		return anthropic.MessageBatchNewParamsRequest{}, err
	}
	return anthropic.MessageBatchNewParamsRequest{CustomID: c.CustomID, Params: anthropic.MessageBatchNewParamsRequestParams{
		MaxTokens: p.MaxTokens, Messages: p.Messages, Model: p.Model, System: p.System, Tools: p.Tools, ToolChoice: p.ToolChoice,
	}}, nil
}

// Size implements writer.Batcher: the request's JSON in the batch body.
func (w *Writer) Size(c writer.BatchCall) (int64, error) {
	r, err := w.batchRequest(c)
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return 0, &writer.Error{Kind: writer.InvalidRequest, Provider: provider, Message: "the batch request could not be encoded: " + err.Error(), Err: err}
	}
	return int64(len(b)) + 1, nil
}

func (w *Writer) capture(x *writer.Exchange) option.RequestOption {
	return option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return x.Capture(r, next) })
}

func (w *Writer) fail(ctx context.Context, x writer.Exchange, err error) error {
	if ctx.Err() != nil {
		return writer.Canceled(provider, ctx)
	}
	e := Classify(x.Status, x.Header, x.Body, err)
	e.Message = writer.Redact(e.Message, w.secrets...)
	return e
}

// Submit implements writer.Batcher. Message Batches keep no name, so key
// is not sent.
func (w *Writer) Submit(ctx context.Context, _ string, calls []writer.BatchCall) (writer.BatchState, error) {
	reqs := make([]anthropic.MessageBatchNewParamsRequest, len(calls))
	for i, c := range calls {
		r, err := w.batchRequest(c)
		if err != nil {
			return writer.BatchState{}, err
		}
		reqs[i] = r
	}
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	b, err := w.batches.New(callCtx, anthropic.MessageBatchNewParams{Requests: reqs}, w.capture(&x))
	if err != nil {
		return writer.BatchState{}, w.fail(ctx, x, err)
	}
	return stateOf(b), nil
}

func stateOf(b *anthropic.MessageBatch) writer.BatchState {
	c := b.RequestCounts
	st := writer.BatchState{ID: b.ID, Status: string(b.ProcessingStatus), Ended: b.ProcessingStatus == anthropic.MessageBatchProcessingStatusEnded,
		Total: c.Processing + c.Succeeded + c.Errored + c.Canceled + c.Expired, Completed: c.Succeeded, FailedCalls: c.Errored + c.Canceled + c.Expired,
		ExpiresAt: b.ExpiresAt.UTC(), Output: b.ResultsURL}
	return st
}

// Poll implements writer.Batcher.
func (w *Writer) Poll(ctx context.Context, id string) (writer.BatchState, error) {
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	b, err := w.batches.Get(callCtx, id, anthropic.MessageBatchGetParams{}, w.capture(&x))
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
	if _, err := w.batches.Cancel(callCtx, id, anthropic.MessageBatchCancelParams{}, w.capture(&x)); err != nil {
		return w.fail(ctx, x, err)
	}
	return nil
}

// Results implements writer.Batcher.
func (w *Writer) Results(ctx context.Context, st writer.BatchState, calls map[string]writer.Request) (map[string]writer.BatchResult, error) {
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var x writer.Exchange
	stream := w.batches.ResultsStreaming(callCtx, st.ID, anthropic.MessageBatchResultsParams{}, w.capture(&x))
	defer stream.Close()
	out := map[string]writer.BatchResult{}
	for stream.Next() {
		r := stream.Current()
		req, ok := calls[r.CustomID]
		if !ok {
			continue
		}
		out[r.CustomID] = w.resultOf(req, r.Result)
	}
	if err := stream.Err(); err != nil {
		return nil, w.fail(ctx, x, err)
	}
	for id := range calls {
		if _, ok := out[id]; !ok {
			out[id] = writer.BatchResult{Err: &writer.Error{Kind: writer.Transient, Provider: provider,
				Message: fmt.Sprintf("anthropic batch %s has no result for this call: it goes into the next batch", st.ID)}}
		}
	}
	return out, nil
}

func (w *Writer) resultOf(req writer.Request, r anthropic.MessageBatchResultUnion) writer.BatchResult {
	switch r.Type {
	case "succeeded":
		params, err := w.Params(req)
		if err != nil {
			return writer.BatchResult{Err: err}
		}
		msg := r.Message
		res, err := check(req, params, &msg, http.StatusOK, writer.RateLimit{})
		return writer.BatchResult{Result: res, Err: err}
	case "errored":
		body, _ := json.Marshal(r.Error)
		status := http.StatusInternalServerError
		switch r.Error.Error.Type {
		case "invalid_request_error":
			status = http.StatusBadRequest
		case "authentication_error":
			status = http.StatusUnauthorized
		case "rate_limit_error":
			status = http.StatusTooManyRequests
		case "overloaded_error":
			status = 529
		}
		e := Classify(status, http.Header{}, body, fmt.Errorf("anthropic batch call errored: %s", r.Error.Error.Message))
		e.Message = writer.Redact(e.Message, w.secrets...)
		return writer.BatchResult{Err: e}
	}
	// canceled, expired: not run, not billed; it can go into another batch.
	return writer.BatchResult{Err: &writer.Error{Kind: writer.Transient, Provider: provider,
		Message: fmt.Sprintf("anthropic batch call %s: it was not run", r.Type)}}
}
