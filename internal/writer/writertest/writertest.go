// Package writertest is a shared test suite for writers that call an LLM
// provider over HTTP. Each case starts a real HTTP server on a loopback
// port that replays one recorded provider response (status, headers, body)
// or misbehaves (hangs, drops the connection mid-body), points a fresh
// writer at it, makes one Write, and checks what came back: the error's
// kind, status and retry-after, that the key never shows in a message, and
// that exactly one HTTP request was made (the SDK's own retries are off).
package writertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Key is the API key writers under test must be given. It is deliberately
// not shaped like a provider key, so a leak cannot hide behind the generic
// sk-… redaction: only exact-secret redaction removes it.
const Key = "test-key-7f3a9c-DO-NOT-LEAK-e1b2d4"

// Timeout is the per-call timeout writers under test should be given: long
// enough for a loopback call on a loaded machine, short enough that the
// hung-server case ends soon.
const Timeout = 2 * time.Second

// Schema is the JSON Schema of Request: strict-mode shaped (every property
// required, no additional properties).
const Schema = `{"type":"object","properties":{"summary":{"type":"string","description":"2-3 sentences"}},"required":["summary"],"additionalProperties":false}`

// Request is the request every case sends.
func Request() writer.Request {
	return writer.Request{
		Layer:      modeldoc.Layer("executive_summary"),
		Model:      "test-model",
		System:     "You document dbt models for business readers.",
		User:       "Model: orders\n```sql\nselect * from stg_orders\n```",
		SchemaName: "executive_summary",
		Schema:     json.RawMessage(Schema),
		MaxTokens:  777,
	}
}

// Reply is what the fake provider does with the request.
type Reply struct {
	Status int
	Header map[string]string
	Body   string
	// Hang never answers; the writer's per-call timeout must end the call.
	Hang bool
	// CloseMidBody sends the status line, the headers and the first half of
	// Body, promising all of it in Content-Length, then closes the connection.
	CloseMidBody bool
}

// Recorded is one request the fake provider received.
type Recorded struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// JSON decodes the request body into a generic map.
func (r Recorded) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("request body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Case is one scenario.
type Case struct {
	Name  string
	Reply Reply
	// CancelCaller cancels the caller's context once the server has the
	// request (use with Hang): the error must wrap context.Canceled.
	CancelCaller bool

	// WantKind is the expected error kind; "" expects success.
	WantKind writer.Kind
	// WantStatus is the expected writer.Error.Status (checked when WantKind
	// is set).
	WantStatus int
	// WantRetryAfter, when non-nil, is the exact expected RetryAfter.
	WantRetryAfter *time.Duration
	// WantMessage lists substrings the error message must contain.
	WantMessage []string

	// WantContent is the expected Result.Content, compared as JSON.
	WantContent   string
	WantUsage     *writer.Usage
	WantFinish    string
	WantModel     string
	WantRateLimit *writer.RateLimit

	// CheckRequest inspects the request the writer sent.
	CheckRequest func(t *testing.T, r Recorded)
	// Check inspects the outcome further.
	Check func(t *testing.T, res writer.Result, err error)
}

// Dur is a helper for Case.WantRetryAfter.
func Dur(d time.Duration) *time.Duration { return &d }

// Server is a fake provider that replays one Reply and records requests.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Recorded
	got      chan struct{}
}

// NewServer starts a Server for reply; it is closed when t ends.
func NewServer(t *testing.T, reply Reply) *Server {
	s := &Server{got: make(chan struct{}, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, Recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		s.mu.Unlock()
		s.got <- struct{}{}
		switch {
		case reply.Hang:
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		case reply.CloseMidBody:
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("writertest: server cannot hijack")
			}
			conn, buf, err := hj.Hijack()
			if err != nil {
				panic(err)
			}
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", statusOr200(reply.Status), http.StatusText(statusOr200(reply.Status)))
			for k, v := range reply.Header {
				fmt.Fprintf(buf, "%s: %s\r\n", k, v)
			}
			fmt.Fprintf(buf, "Content-Length: %d\r\n\r\n", len(reply.Body))
			buf.WriteString(reply.Body[:len(reply.Body)/2])
			_ = buf.Flush()
			return
		}
		for k, v := range reply.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(statusOr200(reply.Status))
		_, _ = io.WriteString(w, reply.Body)
	}))
	t.Cleanup(s.Server.Close)
	return s
}

func statusOr200(s int) int {
	if s == 0 {
		return 200
	}
	return s
}

// Requests returns what the server received so far.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.requests...)
}

// Run runs every case against a fresh server and a fresh writer built by
// newWriter from the server's base URL (scheme://host:port, no path). The
// writer must be given Key and Timeout.
func Run(t *testing.T, newWriter func(baseURL string) writer.Writer, cases []Case) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			srv := NewServer(t, c.Reply)
			w := newWriter(srv.URL)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.CancelCaller {
				go func() {
					select {
					case <-srv.got:
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			res, err := w.Write(ctx, Request())

			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("the writer made %d HTTP requests, want exactly 1 (SDK retries must be off)", len(reqs))
			}
			if c.CheckRequest != nil {
				c.CheckRequest(t, reqs[0])
			}
			check(t, w.Provider(), c, res, err)
			if c.Check != nil {
				c.Check(t, res, err)
			}
		})
	}
}

func check(t *testing.T, prov string, c Case, res writer.Result, err error) {
	t.Helper()
	if c.WantKind == "" {
		if err != nil {
			t.Fatalf("Write failed: %v", err)
		}
		if c.WantContent != "" && !sameJSON(c.WantContent, res.Content) {
			t.Errorf("Content = %s, want %s", res.Content, c.WantContent)
		}
		if c.WantUsage != nil && res.Usage != *c.WantUsage {
			t.Errorf("Usage = %+v, want %+v", res.Usage, *c.WantUsage)
		}
		if c.WantFinish != "" && res.FinishReason != c.WantFinish {
			t.Errorf("FinishReason = %q, want %q", res.FinishReason, c.WantFinish)
		}
		if c.WantModel != "" && res.Model != c.WantModel {
			t.Errorf("Model = %q, want %q", res.Model, c.WantModel)
		}
		if c.WantRateLimit != nil && res.RateLimit != *c.WantRateLimit {
			t.Errorf("RateLimit = %+v\nwant        %+v", res.RateLimit, *c.WantRateLimit)
		}
		return
	}
	if err == nil {
		t.Fatalf("Write succeeded with %q, want a %s error", res.Content, c.WantKind)
	}
	var we *writer.Error
	if !errors.As(err, &we) {
		t.Fatalf("error %T %v is not a *writer.Error", err, err)
	}
	if we.Kind != c.WantKind {
		t.Errorf("Kind = %s, want %s (message: %s)", we.Kind, c.WantKind, we.Message)
	}
	if we.Provider != prov {
		t.Errorf("Provider = %q, want %q", we.Provider, prov)
	}
	if c.WantStatus != 0 || c.WantKind == writer.Transient {
		if we.Status != c.WantStatus {
			t.Errorf("Status = %d, want %d", we.Status, c.WantStatus)
		}
	}
	if c.WantRetryAfter != nil && we.RetryAfter != *c.WantRetryAfter {
		t.Errorf("RetryAfter = %s, want %s", we.RetryAfter, *c.WantRetryAfter)
	}
	for _, s := range []string{we.Message, err.Error(), fmt.Sprintf("%v %+v", err, we)} {
		if strings.Contains(s, Key) {
			t.Errorf("the API key appears in the error: %s", s)
		}
	}
	if !strings.Contains(we.Message, prov) {
		t.Errorf("message does not name the provider %q: %s", prov, we.Message)
	}
	for _, s := range c.WantMessage {
		if !strings.Contains(we.Message, s) {
			t.Errorf("message lacks %q: %s", s, we.Message)
		}
	}
	if c.CancelCaller && !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled caller got %v, which does not wrap context.Canceled", err)
	}
	if !c.CancelCaller && errors.Is(err, context.Canceled) {
		t.Errorf("error wraps context.Canceled though the caller did not cancel: %v", err)
	}
}

func sameJSON(a, b string) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, []byte(a)) != nil || json.Compact(&y, []byte(b)) != nil {
		return a == b
	}
	var va, vb any
	_ = json.Unmarshal(x.Bytes(), &va)
	_ = json.Unmarshal(y.Bytes(), &vb)
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// Ptr is a helper for the Want* pointer fields.
func Ptr[T any](v T) *T { return &v }
