package writer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
)

// keyLike matches provider secrets as they can appear inside a provider's
// own error message (OpenAI echoes a masked key in its 401 text). Both
// OpenAI ("sk-", "sk-proj-") and Anthropic ("sk-ant-") keys start with sk-.
var keyLike = regexp.MustCompile(`sk-[A-Za-z0-9_\-*]{4,}`)

// Redact removes every secret and anything shaped like a provider key from
// s, so provider messages can be shown to users and written to logs.
func Redact(s string, secrets ...string) string {
	for _, k := range secrets {
		if len(k) >= 4 {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	return keyLike.ReplaceAllString(s, "[redacted key]")
}

// Canceled reports that the caller cancelled the call (or its own deadline
// passed). The result wraps ctx.Err(), so errors.Is(err, context.Canceled)
// holds and the caller can tell a pause or shutdown from a provider failure;
// its kind is Transient because nothing is wrong with the provider.
func Canceled(provider string, ctx context.Context) *Error {
	return &Error{
		Kind:     Transient,
		Provider: provider,
		Message:  fmt.Sprintf("the call to %s was cancelled by the caller before it finished (%v)", provider, ctx.Err()),
		Err:      ctx.Err(),
	}
}

// TransportError classifies a failure that produced no usable HTTP
// response: the per-call timeout, a refused or reset connection, a
// connection closed mid-response. All are Transient: the same request may
// well succeed a moment later. status is the HTTP status when headers had
// arrived before the body failed, 0 otherwise.
func TransportError(provider string, status int, err error, secrets ...string) *Error {
	var what string
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		what = "did not answer within the per-call timeout"
	case errors.Is(err, context.Canceled):
		what = "call was cancelled"
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		what = "closed the connection before the response was complete"
	case errors.Is(err, syscall.ECONNRESET):
		what = "reset the connection"
	case errors.Is(err, syscall.ECONNREFUSED):
		what = "refused the connection (is the base URL right and the server running?)"
	case errors.As(err, &netErr) && netErr.Timeout():
		what = "did not answer within the per-call timeout"
	default:
		what = "call failed without a usable response"
	}
	msg := fmt.Sprintf("%s %s: %s; the call can be retried", provider, what, Redact(err.Error(), secrets...))
	return &Error{Kind: Transient, Provider: provider, Status: status, Message: msg, Err: err}
}

// BodySnippet is the start of a response body that is not the provider's
// JSON error (an HTML page from a proxy, say) on one line, redacted, for a
// message.
func BodySnippet(body []byte, n int) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return Redact(s)
}
