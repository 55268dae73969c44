package fakellm

// Anthropic's Message Batches, as the fake serves them: POST
// /v1/messages/batches takes the requests inline ({custom_id, params},
// custom ids ^[a-zA-Z0-9_-]{1,64}$ and unique, at most 100,000), GET
// /v1/messages/batches/{id} reports processing_status (in_progress,
// canceling, ended) with request_counts (processing, succeeded, errored,
// canceled, expired) and expires_at, POST .../cancel cancels, and GET
// .../results streams one JSONL line per request, result.type succeeded
// (the message), errored, canceled or expired. A request is answered as
// the chat endpoint answers the same prompt: its forced tool's
// input_schema is the response format, and the answer comes back as the
// tool's input, with Anthropic's usage (input_tokens without the cached
// part, cache_read_input_tokens). The batch settings (delay, failures,
// expiry) are the OpenAI batches'.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"
)

var anthropicCustomID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

type anthropicParams struct {
	Model     string          `json:"model"`
	MaxTokens int             `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	ToolChoice struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
}

// anthropicText reads a system or message content: a string or text blocks.
func anthropicText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &blocks)
	out := ""
	for _, b := range blocks {
		if b.Type == "text" {
			out += b.Text
		}
	}
	return out
}

// chatBody is params as the chat request the fake answers.
func (p anthropicParams) chatBody() (json.RawMessage, string, error) {
	msgs := []map[string]string{}
	if sys := anthropicText(p.System); sys != "" {
		msgs = append(msgs, map[string]string{"role": "system", "content": sys})
	}
	for _, m := range p.Messages {
		msgs = append(msgs, map[string]string{"role": m.Role, "content": anthropicText(m.Content)})
	}
	body := map[string]any{"model": p.Model, "messages": msgs, "max_completion_tokens": p.MaxTokens}
	tool := ""
	for _, t := range p.Tools {
		if p.ToolChoice.Type == "tool" && t.Name == p.ToolChoice.Name {
			tool = t.Name
			body["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": t.Name, "schema": t.InputSchema, "strict": true}}
		}
	}
	if p.Model == "" || p.MaxTokens <= 0 || len(p.Messages) == 0 {
		return nil, "", fmt.Errorf("params need model, max_tokens and messages")
	}
	b, err := json.Marshal(body)
	return b, tool, err
}

func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}})
}

func (s *Server) handleMessageBatchCreate(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var in struct {
		Requests []struct {
			CustomID string          `json:"custom_id"`
			Params   anthropicParams `json:"params"`
		} `json:"requests"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 256<<20)).Decode(&in); err != nil {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "requests: could not parse the body: "+err.Error())
		return
	}
	if len(in.Requests) == 0 || len(in.Requests) > 100_000 {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "requests: a batch holds 1 to 100,000 requests")
		return
	}
	seen := map[string]bool{}
	lines := make([]batchLineIn, 0, len(in.Requests))
	for i, rq := range in.Requests {
		if !anthropicCustomID.MatchString(rq.CustomID) {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("requests.%d.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'", i))
			return
		}
		if seen[rq.CustomID] {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("requests.%d.custom_id: duplicate custom_id %q", i, rq.CustomID))
			return
		}
		seen[rq.CustomID] = true
		body, tool, err := rq.Params.chatBody()
		if err != nil {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("requests.%d.params: %v", i, err))
			return
		}
		lines = append(lines, batchLineIn{CustomID: rq.CustomID, Method: tool, Body: body})
	}
	b := s.batch
	b.mu.Lock()
	now := s.now()
	fb := &fakeBatch{ID: b.nextID("msgbatch_"), Status: "in_progress", CreatedAt: now.Unix(), ExpiresAt: now.Add(24 * time.Hour).Unix(),
		created: now, lines: lines, anthropic: true}
	fb.RequestCounts.Total = len(lines)
	for _, l := range lines {
		b.subs[l.CustomID]++
	}
	b.stats.Batches++
	b.stats.Lines += len(lines)
	b.batches[fb.ID] = fb
	b.order = append(b.order, fb.ID)
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, s.anthropicView(r, fb))
}

// anthropicView is fb as Anthropic describes a Message Batch.
func (s *Server) anthropicView(r *http.Request, fb *fakeBatch) map[string]any {
	rfc := func(unix *int64) any {
		if unix == nil {
			return nil
		}
		return time.Unix(*unix, 0).UTC().Format(time.RFC3339)
	}
	status := "in_progress"
	switch fb.Status {
	case "cancelling":
		status = "canceling"
	case "completed", "expired", "cancelled", "failed":
		status = "ended"
	}
	counts := map[string]int{"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
	var ended *int64
	switch {
	case fb.Status == "cancelled":
		counts["canceled"] = len(fb.lines)
		ended = fb.CancelledAt
	case status == "ended":
		for _, o := range fb.outcomes {
			switch o.kind {
			case "ok":
				counts["succeeded"]++
			case "expired":
				counts["expired"]++
			default:
				counts["errored"]++
			}
		}
		ended = fb.CompletedAt
		if ended == nil {
			ended = fb.ExpiredAt
		}
	default:
		counts["processing"] = len(fb.lines)
	}
	var results any
	if status == "ended" {
		results = "http://" + r.Host + "/v1/messages/batches/" + fb.ID + "/results"
	}
	exp := fb.ExpiresAt
	created := fb.CreatedAt
	return map[string]any{"id": fb.ID, "type": "message_batch", "processing_status": status, "request_counts": counts,
		"ended_at": rfc(ended), "created_at": rfc(&created), "expires_at": rfc(&exp), "archived_at": nil,
		"cancel_initiated_at": rfc(fb.CancellingAt), "results_url": results}
}

// messageBatch is the Anthropic batch the request's path names, advanced
// to now (cancelled first when cancel is set), or nil once it has answered
// 401 or 404.
func (s *Server) messageBatch(w http.ResponseWriter, r *http.Request, cancel bool) *fakeBatch {
	if !s.authorized(w, r) {
		return nil
	}
	fb := s.advance(r.PathValue("id"), cancel)
	if fb == nil || !fb.anthropic {
		anthropicError(w, http.StatusNotFound, "not_found_error", "message batch not found: "+r.PathValue("id"))
		return nil
	}
	return fb
}

func (s *Server) handleMessageBatchGet(w http.ResponseWriter, r *http.Request) {
	fb := s.messageBatch(w, r, false)
	if fb == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.anthropicView(r, fb))
}

func (s *Server) handleMessageBatchCancel(w http.ResponseWriter, r *http.Request) {
	fb := s.messageBatch(w, r, true)
	if fb == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.anthropicView(r, fb))
}

func (s *Server) handleMessageBatchResults(w http.ResponseWriter, r *http.Request) {
	fb := s.messageBatch(w, r, false)
	if fb == nil {
		return
	}
	if st := s.anthropicView(r, fb)["processing_status"]; st != "ended" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "message batch "+fb.ID+" is still "+fmt.Sprint(st)+": its results are available once it has ended")
		return
	}
	var out []byte
	if fb.Status == "cancelled" {
		for _, l := range fb.lines {
			out = appendLine(out, map[string]any{"custom_id": l.CustomID, "result": map[string]string{"type": "canceled"}})
		}
	}
	tools := map[string]string{}
	for _, l := range fb.lines {
		tools[l.CustomID] = l.Method
	}
	for _, o := range fb.outcomes {
		out = appendLine(out, map[string]any{"custom_id": o.customID, "result": anthropicResult(o, tools[o.customID])})
	}
	w.Header().Set("Content-Type", "application/x-jsonl")
	_, _ = w.Write(out)
}

// anthropicResult is an outcome as a Message Batch result.
func anthropicResult(o lineOutcome, tool string) map[string]any {
	switch o.kind {
	case "expired":
		return map[string]any{"type": "expired"}
	case "failed":
		return map[string]any{"type": "errored", "error": map[string]any{"type": "error", "error": map[string]string{"type": "api_error", "message": "Internal server error"}}}
	}
	var chat chatResponse
	if err := json.Unmarshal(o.body, &chat); err != nil || len(chat.Choices) == 0 {
		return map[string]any{"type": "errored", "error": map[string]any{"type": "error", "error": map[string]string{"type": "api_error", "message": "Internal server error"}}}
	}
	ch := chat.Choices[0]
	content := []map[string]any{}
	stop := "tool_use"
	if ch.FinishReason == "length" {
		stop = "max_tokens"
	}
	if json.Valid([]byte(ch.Message.Content)) && stop == "tool_use" && tool != "" {
		content = append(content, map[string]any{"type": "tool_use", "id": "toolu_" + chat.ID[len(chat.ID)-24:], "name": tool, "input": json.RawMessage(ch.Message.Content)})
	} else {
		if stop == "tool_use" {
			stop = "end_turn"
		}
		content = append(content, map[string]any{"type": "text", "text": ch.Message.Content})
	}
	u := chat.Usage
	return map[string]any{"type": "succeeded", "message": map[string]any{
		"id": "msg_" + chat.ID[len(chat.ID)-24:], "type": "message", "role": "assistant", "model": chat.Model, "content": content,
		"stop_reason": stop, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": u.PromptTokens - u.PromptTokensDetails.CachedTokens, "output_tokens": u.CompletionTokens,
			"cache_read_input_tokens": u.PromptTokensDetails.CachedTokens, "cache_creation_input_tokens": 0, "service_tier": "batch"},
	}}
}
