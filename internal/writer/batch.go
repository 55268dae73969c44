package writer

import (
	"context"
	"time"
)

// Batcher is a provider's batch API: requests submitted together, answered
// within a window (24 hours on both OpenAI and Anthropic) at half the
// price. A job in batch mode sends its calls through one instead of Write.
// Implementations, like writers, never retry on their own.
type Batcher interface {
	Provider() string
	// Limits is the most requests and bytes of request bodies one batch
	// may carry (OpenAI: 50,000 and 200 MB per input file; Anthropic:
	// 100,000 and 256 MB per batch).
	Limits() (requests int, bytes int64)
	// Size is what call adds to a batch's bytes, as Submit would send it.
	Size(call BatchCall) (int64, error)
	// Submit sends calls as one batch and returns it. key names the batch
	// for Find where the provider keeps a name with it. Every error is an
	// *Error.
	Submit(ctx context.Context, key string, calls []BatchCall) (BatchState, error)
	// Poll reads the batch's state.
	Poll(ctx context.Context, batchID string) (BatchState, error)
	// Results reads the answers of an ended batch (BatchState.Ended), by
	// custom id. A call that the provider never finished (the batch was
	// cancelled or expired first) is there with an error of kind
	// Transient; a call it answered has the answer checked as Write checks
	// one, so its error (if any) has Write's kind, and its Usage is billed.
	Results(ctx context.Context, st BatchState, calls map[string]Request) (map[string]BatchResult, error)
	// Cancel asks the provider to stop the batch; its finished calls stay
	// answered (and billed).
	Cancel(ctx context.Context, batchID string) error
}

// BatchFinder is a Batcher that can find a batch by the key it was
// submitted with (OpenAI keeps it in the batch's metadata): a process that
// stopped after submitting and before recording the batch's id learns
// whether the provider took it, rather than submitting its calls again.
type BatchFinder interface {
	Find(ctx context.Context, key string) (BatchState, bool, error)
}

// BatchCall is one request of a batch, named by a custom id unique in it.
type BatchCall struct {
	CustomID string
	Request  Request
}

// BatchState is what the provider says of a batch.
type BatchState struct {
	ID string
	// Status is the provider's own word (OpenAI: validating, in_progress,
	// finalizing, completed, failed, expired, cancelling, cancelled;
	// Anthropic: in_progress, canceling, ended).
	Status string
	// Ended is true once no call of the batch will change any more: its
	// results can be read.
	Ended bool
	// Failed is true when the whole batch was refused (OpenAI's failed: a
	// malformed input file); Message says why.
	Failed  bool
	Message string
	// Total, Completed and Failed count the batch's calls as the provider
	// reports them (Anthropic's succeeded is Completed; its errored,
	// canceled and expired are FailedCalls).
	Total, Completed, FailedCalls int64
	ExpiresAt                     time.Time
	// Output and Errors are OpenAI's output and error file ids; Anthropic
	// has one results URL, held in Output.
	Output, Errors string
}

// BatchResult is one call's outcome in an ended batch.
type BatchResult struct {
	Result Result
	Err    error
}
