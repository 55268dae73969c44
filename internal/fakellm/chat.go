package fakellm

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc/internal/tokens"
)

// chatRequest is the part of OpenAI's chat completion request the fake reads.
type chatRequest struct {
	Model               *string         `json:"model"`
	Messages            *[]message      `json:"messages"`
	ResponseFormat      *responseFormat `json:"response_format"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         json.RawMessage `json:"temperature"` // as sent: OpenAI's refusal quotes it
	ReasoningEffort     *string         `json:"reasoning_effort"`
	Stream              bool            `json:"stream"`
	PromptCacheKey      json.RawMessage `json:"prompt_cache_key"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name,omitempty"`

	text string // Content as text: a string, or the text parts joined
}

type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
		Strict *bool           `json:"strict"`
	} `json:"json_schema"`
}

// apiError is OpenAI's error envelope; nil pointers marshal as null, as
// OpenAI sends them.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func strp(s string) *string { return &s }

type chatResponse struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             chatUsage    `json:"usage"`
	ServiceTier       string       `json:"service_tier"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      responseMessage `json:"message"`
	Logprobs     *struct{}       `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type responseMessage struct {
	Role        string     `json:"role"`
	Content     string     `json:"content"`
	Refusal     *string    `json:"refusal"`
	Annotations []struct{} `json:"annotations"`
}

type chatUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

// OpenAI's own wording for the errors the fake sends.
const (
	msgServerError = "The server had an error while processing your request. Sorry about that!"
	msgQuota       = "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
	msgNoKey       = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys."
	msgBadJSON     = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)"
)

const maxBody = 32 << 20

// Salts separate the seeded draws a request makes.
const (
	drawFail uint64 = iota + 1
	drawTimeout
	drawMalformed
	drawTruncate
	drawJitter
	drawID
	drawLie
)

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	seq := s.seq.Add(1)
	s.stats.begin(start)
	status := 0
	defer func() { s.stats.end(status, s.now()) }()

	h := w.Header()
	h.Set("x-request-id", "req_"+hex.EncodeToString(u64bytes(draw(s.cfg.Seed, seq, drawID)))+hex.EncodeToString(u64bytes(uint64(seq))))
	h.Set("openai-version", "2020-10-01")
	h.Set("openai-organization", s.cfg.Organization)
	set := s.set.Load()
	fail := func(code int, e apiError) {
		status = code
		writeJSON(w, code, map[string]apiError{"error": e})
	}

	batch := inBatch(r.Context())
	if s.cfg.APIKey != "" && !batch {
		auth := r.Header.Get("Authorization")
		key, ok := strings.CutPrefix(auth, "Bearer ")
		switch {
		case !ok || strings.TrimSpace(key) == "":
			s.stats.unauthorized.Add(1)
			fail(http.StatusUnauthorized, apiError{Message: msgNoKey, Type: "invalid_request_error"})
			return
		case key != s.cfg.APIKey:
			s.stats.unauthorized.Add(1)
			fail(http.StatusUnauthorized, invalidKeyError(key))
			return
		}
	}
	if set.faults.AuthFail {
		s.stats.fault(faultAuth)
		key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		fail(http.StatusUnauthorized, invalidKeyError(key))
		return
	}

	req, msgs, maxTokens, cacheKey, perr := s.parseChat(r)
	if perr != nil {
		s.stats.badRequests.Add(1)
		fail(http.StatusBadRequest, *perr)
		return
	}
	model := *req.Model
	effort, rerr := checkReasoning(req)
	if rerr != nil {
		s.stats.badRequests.Add(1)
		fail(http.StatusBadRequest, *rerr)
		return
	}

	if set.faults.Quota {
		s.stats.fault(faultQuota)
		fail(http.StatusTooManyRequests, apiError{Message: msgQuota, Type: "insufficient_quota", Code: strp("insufficient_quota")})
		return
	}

	// OpenAI reserves prompt + max_tokens against TPM before answering;
	// without max_tokens the fake reserves the prompt alone.
	promptTokens := s.messageTokens(msgs) + s.schemaTokens(req.ResponseFormat)
	// A batch's lines are queued against the batch pool, not the
	// request and token limits of interactive calls.
	v := verdict{ok: true}
	if !batch {
		v = s.limiter.Load().admit(promptTokens+maxTokens, start)
		v.setHeaders(h)
	}
	if !v.ok {
		fail(http.StatusTooManyRequests, s.rateLimitError(v, model, h))
		return
	}
	if !batch {
		s.stats.reserve(promptTokens+maxTokens, start)
	}

	// The cache is read when the prompt is processed, before the answer
	// takes its time, and written once the answer is out: requests sent
	// together all miss.
	var blocks []uint64
	cached := 0
	if s.cache != nil {
		blocks = s.cache.blockHashes(cacheKey, s.renderPrompt(req.ResponseFormat, msgs))
		cached = min(s.cache.lookup(blocks, start), promptTokens)
	}

	if drawFloat(s.cfg.Seed, seq, drawFail) < set.faults.FailRate {
		s.stats.fault(faultServerError)
		fail(http.StatusInternalServerError, apiError{Message: msgServerError, Type: "server_error"})
		return
	}
	if drawFloat(s.cfg.Seed, seq, drawTimeout) < set.faults.TimeoutRate {
		s.stats.fault(faultTimeout)
		// Hang as an overloaded upstream does; the client's timeout is what
		// ends this, or the server's shutdown.
		select {
		case <-r.Context().Done():
			s.stats.clientGone.Add(1)
		case <-s.done:
			status = http.StatusServiceUnavailable
			w.WriteHeader(status)
		}
		return
	}
	if !batch && !s.gate.wait(r.Context(), s.done) {
		s.stats.clientGone.Add(1)
		return
	}
	if d := latency(set, s.cfg.Seed, seq); d > 0 && !batch {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.stats.clientGone.Add(1)
			return
		case <-s.done:
			t.Stop()
		}
	}

	content := s.answer(req, msgs)
	var invented []string
	if drawFloat(s.cfg.Seed, seq, drawLie) < set.faults.LieRate {
		if lie, inv := s.lie(content, msgs, seq); len(inv) > 0 {
			s.stats.fault(faultLie)
			content, invented = lie, inv
		}
	}
	finish := "stop"
	switch {
	case drawFloat(s.cfg.Seed, seq, drawMalformed) < set.faults.MalformedRate:
		s.stats.fault(faultMalformed)
		content = malform(content)
	case drawFloat(s.cfg.Seed, seq, drawTruncate) < set.faults.TruncateRate:
		s.stats.fault(faultTruncate)
		content, finish = cutHalf(content), "length"
	}
	// A reasoning model thinks first, out of the same cap as its answer:
	// when the thinking uses it all up, the answer is empty and cut at
	// "length", billed all the same.
	reasoning := 0
	if reasoningModel(model) {
		reasoning = set.reasoning[effort]
		if maxTokens > 0 && reasoning >= maxTokens {
			reasoning, content, finish = maxTokens, "", "length"
		}
	}
	answerCap := maxTokens - reasoning
	completionTokens := s.tokens.Count(content)
	if maxTokens > 0 && completionTokens > answerCap {
		content, _ = tokens.Truncate(content, answerCap)
		finish = "length"
		completionTokens = s.tokens.Count(content)
	}
	completionTokens += reasoning
	if len(invented) > 0 {
		s.lies.record(content, invented)
	}
	if s.cache != nil {
		s.cache.store(blocks, s.now())
	}

	resp := chatResponse{
		ID:                "chatcmpl-" + idString(draw(s.cfg.Seed, seq, drawID), seq),
		Object:            "chat.completion",
		Created:           start.Unix(),
		Model:             model,
		ServiceTier:       "default",
		SystemFingerprint: "fp_" + hex.EncodeToString(u64bytes(draw(s.cfg.Seed, 0, drawID)))[:10],
		Choices: []chatChoice{{
			Message:      responseMessage{Role: "assistant", Content: content, Annotations: []struct{}{}},
			FinishReason: finish,
		}},
	}
	resp.Usage.PromptTokens = promptTokens
	resp.Usage.CompletionTokens = completionTokens
	resp.Usage.TotalTokens = promptTokens + completionTokens
	resp.Usage.PromptTokensDetails.CachedTokens = cached
	resp.Usage.CompletionTokensDetails.ReasoningTokens = reasoning
	s.stats.usage(promptTokens, completionTokens, cached, reasoning)
	h.Set("openai-processing-ms", strconv.FormatInt(s.now().Sub(start).Milliseconds(), 10))
	status = http.StatusOK
	writeJSON(w, status, resp)
}

// parseChat reads and checks the request as OpenAI would, answering its
// 400 wording for what it refuses. maxTokens is 0 when the request sets none.
func (s *Server) parseChat(r *http.Request) (req chatRequest, msgs []message, maxTokens int, cacheKey string, _ *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return req, nil, 0, "", &apiError{Message: "Could not read the request body: " + err.Error(), Type: "invalid_request_error"}
	}
	if len(body) > maxBody {
		return req, nil, 0, "", &apiError{Message: fmt.Sprintf("Request body too large: the fake accepts at most %d bytes.", maxBody), Type: "invalid_request_error"}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, nil, 0, "", &apiError{Message: msgBadJSON, Type: "invalid_request_error"}
	}
	if req.Model == nil || *req.Model == "" {
		return req, nil, 0, "", &apiError{Message: "you must provide a model parameter", Type: "invalid_request_error"}
	}
	if req.Messages == nil {
		return req, nil, 0, "", &apiError{Message: "Missing required parameter: 'messages'.", Type: "invalid_request_error", Param: strp("messages"), Code: strp("missing_required_parameter")}
	}
	msgs = *req.Messages
	if len(msgs) == 0 {
		return req, nil, 0, "", &apiError{Message: "[] is too short - 'messages'", Type: "invalid_request_error", Param: strp("messages"), Code: strp("empty_array")}
	}
	if req.Stream {
		return req, nil, 0, "", &apiError{Message: "The fake LLM server does not stream; send stream=false.", Type: "invalid_request_error", Param: strp("stream"), Code: strp("unsupported_value")}
	}
	for i := range msgs {
		switch msgs[i].Role {
		case "system", "developer", "user", "assistant", "tool", "function":
		default:
			return req, nil, 0, "", &apiError{
				Message: fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", msgs[i].Role),
				Type:    "invalid_request_error", Param: strp(fmt.Sprintf("messages[%d].role", i)), Code: strp("invalid_value"),
			}
		}
		text, ok := contentText(msgs[i].Content)
		if !ok {
			return req, nil, 0, "", &apiError{
				Message: fmt.Sprintf("Invalid type for 'messages[%d].content': expected one of a string or array of objects, but got something else instead.", i),
				Type:    "invalid_request_error", Param: strp(fmt.Sprintf("messages[%d].content", i)), Code: strp("invalid_type"),
			}
		}
		msgs[i].text = text
	}
	for _, p := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if p.v == nil {
			continue
		}
		if *p.v < 1 {
			return req, nil, 0, "", &apiError{
				Message: fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", p.name, *p.v),
				Type:    "invalid_request_error", Param: strp(p.name), Code: strp("integer_below_min_value"),
			}
		}
		maxTokens = *p.v
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text", "json_object":
		case "json_schema":
			if rf.JSONSchema == nil {
				return req, nil, 0, "", &apiError{Message: "Missing required parameter: 'response_format.json_schema'.", Type: "invalid_request_error", Param: strp("response_format.json_schema"), Code: strp("missing_required_parameter")}
			}
			var schema any
			if err := json.Unmarshal(rf.JSONSchema.Schema, &schema); err != nil || !isSchema(schema) {
				return req, nil, 0, "", &apiError{
					Message: fmt.Sprintf("Invalid schema for response_format '%s': the schema must be a JSON object.", rf.JSONSchema.Name),
					Type:    "invalid_request_error", Param: strp("response_format"), Code: strp("invalid_json_schema"),
				}
			}
		default:
			return req, nil, 0, "", &apiError{
				Message: fmt.Sprintf("Invalid value: '%s'. Supported values are: 'json_object', 'json_schema', and 'text'.", rf.Type),
				Type:    "invalid_request_error", Param: strp("response_format.type"), Code: strp("invalid_value"),
			}
		}
	}
	key, kerr := cacheKeyOf(req.PromptCacheKey)
	if kerr != nil {
		return req, nil, 0, "", kerr
	}
	return req, msgs, maxTokens, key, nil
}

// maxCacheKey is OpenAI's limit on prompt_cache_key, which it enforces
// with a 400 (string_above_max_length).
const maxCacheKey = 64

// cacheKeyOf reads prompt_cache_key as OpenAI does: absent or null is no
// key, a string of at most 64 characters is one, anything else is a 400.
func cacheKeyOf(raw json.RawMessage) (string, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var key string
	if err := json.Unmarshal(raw, &key); err != nil {
		return "", &apiError{
			Message: fmt.Sprintf("Invalid type for 'prompt_cache_key': expected a string, but got %s instead.", jsonKind(raw)),
			Type:    "invalid_request_error", Param: strp("prompt_cache_key"), Code: strp("invalid_type"),
		}
	}
	if n := len([]rune(key)); n > maxCacheKey {
		return "", &apiError{
			Message: fmt.Sprintf("Invalid 'prompt_cache_key': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", maxCacheKey, n),
			Type:    "invalid_request_error", Param: strp("prompt_cache_key"), Code: strp("string_above_max_length"),
		}
	}
	return key, nil
}

func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func isSchema(v any) bool {
	switch v.(type) {
	case map[string]any, bool:
		return true
	}
	return false
}

// contentText reads a message's content: a string, null, or an array of
// parts whose text parts are joined with newlines.
func contentText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	switch raw[0] {
	case '"':
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	case '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(raw, &parts) != nil {
			return "", false
		}
		var b strings.Builder
		for _, p := range parts {
			if p.Text == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p.Text)
		}
		return b.String(), true
	}
	return "", false
}

// answer writes the assistant's content for the request's response format.
func (s *Server) answer(req chatRequest, msgs []message) string {
	p := readPrompt(msgs)
	var schema any
	rf := req.ResponseFormat
	switch {
	case rf != nil && rf.Type == "json_schema":
		_ = json.Unmarshal(rf.JSONSchema.Schema, &schema) // checked in parseChat
	case rf != nil && rf.Type == "json_object":
		schema = p.fencedSchema()
		if schema == nil {
			schema = map[string]any{"type": "object", "required": []any{"summary"}, "properties": map[string]any{"summary": map[string]any{"type": "string"}}}
		}
	default:
		return p.sentence(p.rng(), "summary", 0) + " " + p.sentence(p.rng(), "impact", 1)
	}
	out, err := json.Marshal(newGenerator(schema, p).value(schema, "", 0, 0))
	if err != nil { // values come from the generator, so this is a bug
		panic("fakellm: marshal generated answer: " + err.Error())
	}
	return string(out)
}

func (s *Server) rateLimitError(v verdict, model string, h http.Header) apiError {
	if v.tooLarge {
		return apiError{
			Message: fmt.Sprintf("Request too large for %s in organization %s on tokens per min (TPM): Limit %d, Requested %d. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.",
				model, s.cfg.Organization, v.limit, v.cost),
			Type: limitTokens, Code: strp("rate_limit_exceeded"),
		}
	}
	retryAfterHeaders(h, v.wait)
	what := "requests per min (RPM)"
	if v.kind == limitTokens {
		what = "tokens per min (TPM)"
		s.stats.rateLimitedTok.Add(1)
	} else {
		s.stats.rateLimitedReq.Add(1)
	}
	return apiError{
		Message: fmt.Sprintf("Rate limit reached for %s in organization %s on %s: Limit %d, Used %d, Requested %d. Please try again in %s. Visit https://platform.openai.com/account/rate-limits to learn more.",
			model, s.cfg.Organization, what, v.limit, v.used, v.cost, formatDuration(v.wait)),
		Type: v.kind, Code: strp("rate_limit_exceeded"),
	}
}

// invalidKeyError is OpenAI's 401 for a wrong key, which shows the key
// masked like OpenAI masks it.
func invalidKeyError(key string) apiError {
	masked := key
	if len(key) > 8 {
		masked = key[:3] + strings.Repeat("*", len(key)-7) + key[len(key)-4:]
	} else if key != "" {
		masked = strings.Repeat("*", len(key))
	}
	return apiError{
		Message: fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", masked),
		Type:    "invalid_request_error", Code: strp("invalid_api_key"),
	}
}

// malform returns content as a careless model writes it: chatty preamble,
// a code fence and a missing closing brace.
func malform(content string) string {
	return "Sure! Here is the JSON you asked for:\n```json\n" + strings.TrimSuffix(content, "}") + "\n```"
}

// cutHalf cuts content in the middle, at a rune boundary, as a model that
// ran out of tokens does.
func cutHalf(content string) string {
	n := len(content) / 2
	for n > 0 && !utf8RuneStart(content[n]) {
		n--
	}
	return content[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func latency(set *settings, seed int64, seq uint64) time.Duration {
	d := set.latency
	if set.jitter > 0 {
		d += time.Duration((drawFloat(seed, seq, drawJitter)*2 - 1) * float64(set.jitter))
	}
	return max(0, d)
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	data := make([]model, len(s.cfg.Models))
	for i, m := range s.cfg.Models {
		data[i] = model{ID: m, Object: "model", Created: 1715367049, OwnedBy: "system"}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]apiError{"error": {
		Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path),
		Type:    "invalid_request_error",
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"fakellm: cannot encode the answer","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// draw is the seeded random number of request seq for one purpose
// (splitmix64), so decisions do not depend on the order in which
// concurrent requests reach a shared generator.
func draw(seed int64, seq, salt uint64) uint64 {
	z := uint64(seed) ^ seq*0x9E3779B97F4A7C15 ^ salt*0xD1B54A32D192ED03
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func drawFloat(seed int64, seq, salt uint64) float64 {
	return float64(draw(seed, seq, salt)>>11) / (1 << 53)
}

func u64bytes(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return b
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// idString makes a 29-character id like OpenAI's chatcmpl suffixes, unique
// per request.
func idString(r, seq uint64) string {
	b := make([]byte, 0, 29)
	for len(b) < 29 {
		if r == 0 {
			r = draw(int64(seq), uint64(len(b)), drawID)
		}
		b = append(b, idAlphabet[r%uint64(len(idAlphabet))])
		r /= uint64(len(idAlphabet))
	}
	return string(b)
}

// schemaTokens is what a json_schema response format adds to the prompt:
// OpenAI renders the schema into the model's context and bills it as
// prompt tokens. Counted as internal/tokens counts a schema (like one more
// message holding the compact schema JSON, plus the schema's name), which
// is how cost.EstimateRequest counts it too.
func (s *Server) schemaTokens(rf *responseFormat) int {
	if rf == nil || rf.Type != "json_schema" || rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
		return 0
	}
	var buf bytes.Buffer
	schema := string(rf.JSONSchema.Schema)
	if json.Compact(&buf, rf.JSONSchema.Schema) == nil {
		schema = buf.String()
	}
	return s.tokens.Schema(schema, rf.JSONSchema.Name)
}
