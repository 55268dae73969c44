package fakellm

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is what GET /stats answers: counts of what the server has served
// since it started or since the last reset.
type Stats struct {
	// Requests counts chat completion requests received, whatever the answer.
	Requests int64 `json:"requests"`
	// Succeeded counts 200 answers, malformed and truncated ones included.
	Succeeded int64 `json:"succeeded"`
	// RateLimited counts 429s from the RPM/TPM limits (not insufficient_quota,
	// which is a fault), split by the limit that refused.
	RateLimited         int64 `json:"rate_limited"`
	RateLimitedRequests int64 `json:"rate_limited_requests"`
	RateLimitedTokens   int64 `json:"rate_limited_tokens"`
	// Faults counts injected faults, with FaultsByKind keyed by
	// "server_error", "auth_fail", "quota", "timeout", "malformed", "truncate".
	Faults       int64            `json:"faults"`
	FaultsByKind map[string]int64 `json:"faults_by_kind"`
	// Unauthorized counts 401s from the --api-key check (auth_fail faults
	// are counted in Faults).
	Unauthorized int64 `json:"unauthorized"`
	// BadRequests counts 400s for requests the fake could not read.
	BadRequests int64 `json:"bad_requests"`
	// ClientGoneAway counts requests the client cancelled before the answer.
	ClientGoneAway int64 `json:"client_gone_away"`
	// ByStatus counts chat answers by HTTP status ("200", "429", ...).
	ByStatus map[string]int64 `json:"by_status"`
	// Token usage reported on 200 answers.
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`
	// ReservedTokens is what admitted requests debited from the TPM limit
	// (prompt + max_tokens, as OpenAI counts them), the quantity a TPM
	// ceiling is measured against.
	ReservedTokens int64 `json:"reserved_tokens"`
	// ReasoningTokens is the part of CompletionTokens reasoning models spent
	// thinking, and EmptyAnswers counts the 200s whose whole cap went on
	// reasoning (empty content, finish_reason "length").
	ReasoningTokens int64 `json:"reasoning_tokens"`
	EmptyAnswers    int64 `json:"empty_answers"`
	// InFlight is the number of chat requests being handled now, and
	// MaxConcurrent the highest it has been.
	InFlight      int64 `json:"in_flight"`
	MaxConcurrent int64 `json:"max_concurrent"`
	// PerSecond holds, oldest first, one entry per wall-clock second with at
	// least one request in the last perSecondWindow seconds, so a benchmark
	// can measure the rate it achieved and see the limiter's shape.
	PerSecond []SecondCount `json:"per_second"`
	Since     time.Time     `json:"since"`
	Uptime    float64       `json:"uptime_seconds"`
}

// SecondCount is one second of traffic.
type SecondCount struct {
	Unix        int64 `json:"unix"`
	Requests    int64 `json:"requests"`
	Succeeded   int64 `json:"succeeded"`
	RateLimited int64 `json:"rate_limited"`
	// Reserved is the TPM debit of the requests admitted in that second.
	Reserved int64 `json:"reserved_tokens"`
}

const perSecondWindow = 600

// stats is updated with atomics on the hot path; only the per-second ring
// takes a mutex, briefly.
type stats struct {
	requests, succeeded                      atomic.Int64
	rateLimitedReq, rateLimitedTok           atomic.Int64
	unauthorized, badRequests, clientGone    atomic.Int64
	promptTokens, completionTokens, cachedTk atomic.Int64
	reservedTokens                           atomic.Int64
	reasoningTokens, emptyAnswers            atomic.Int64
	inFlight, maxConcurrent                  atomic.Int64
	byStatus                                 [600]atomic.Int64
	faults                                   [numFaultKinds]atomic.Int64

	mu    sync.Mutex
	since time.Time
	ring  [perSecondWindow]SecondCount
}

type faultKind int

const (
	faultServerError faultKind = iota
	faultAuth
	faultQuota
	faultTimeout
	faultMalformed
	faultTruncate
	faultLie
	numFaultKinds
)

var faultNames = [numFaultKinds]string{"server_error", "auth_fail", "quota", "timeout", "malformed", "truncate", "lie"}

func newStats(now time.Time) *stats { return &stats{since: now} }

func (st *stats) begin(now time.Time) {
	st.requests.Add(1)
	n := st.inFlight.Add(1)
	for {
		m := st.maxConcurrent.Load()
		if n <= m || st.maxConcurrent.CompareAndSwap(m, n) {
			break
		}
	}
	st.second(now, func(c *SecondCount) { c.Requests++ })
}

func (st *stats) end(status int, now time.Time) {
	st.inFlight.Add(-1)
	if status > 0 && status < len(st.byStatus) {
		st.byStatus[status].Add(1)
	}
	switch status {
	case 200:
		st.succeeded.Add(1)
		st.second(now, func(c *SecondCount) { c.Succeeded++ })
	case 429:
		st.second(now, func(c *SecondCount) { c.RateLimited++ })
	}
}

func (st *stats) second(now time.Time, f func(*SecondCount)) {
	sec := now.Unix()
	st.mu.Lock()
	c := &st.ring[sec%perSecondWindow]
	if c.Unix != sec {
		*c = SecondCount{Unix: sec}
	}
	f(c)
	st.mu.Unlock()
}

// reserve counts an admitted request's TPM debit.
func (st *stats) reserve(tokens int, now time.Time) {
	st.reservedTokens.Add(int64(tokens))
	st.second(now, func(c *SecondCount) { c.Reserved += int64(tokens) })
}

func (st *stats) fault(k faultKind) { st.faults[k].Add(1) }

func (st *stats) usage(prompt, completion, cached, reasoning int) {
	st.promptTokens.Add(int64(prompt))
	st.completionTokens.Add(int64(completion))
	st.cachedTk.Add(int64(cached))
	st.reasoningTokens.Add(int64(reasoning))
	if reasoning > 0 && completion == reasoning {
		st.emptyAnswers.Add(1)
	}
}

func (st *stats) snapshot(now time.Time) Stats {
	s := Stats{
		Requests:            st.requests.Load(),
		Succeeded:           st.succeeded.Load(),
		RateLimitedRequests: st.rateLimitedReq.Load(),
		RateLimitedTokens:   st.rateLimitedTok.Load(),
		FaultsByKind:        make(map[string]int64, numFaultKinds),
		Unauthorized:        st.unauthorized.Load(),
		BadRequests:         st.badRequests.Load(),
		ClientGoneAway:      st.clientGone.Load(),
		ByStatus:            map[string]int64{},
		PromptTokens:        st.promptTokens.Load(),
		CompletionTokens:    st.completionTokens.Load(),
		CachedTokens:        st.cachedTk.Load(),
		ReservedTokens:      st.reservedTokens.Load(),
		ReasoningTokens:     st.reasoningTokens.Load(),
		EmptyAnswers:        st.emptyAnswers.Load(),
		InFlight:            st.inFlight.Load(),
		MaxConcurrent:       st.maxConcurrent.Load(),
		PerSecond:           []SecondCount{},
	}
	s.RateLimited = s.RateLimitedRequests + s.RateLimitedTokens
	for k := range st.faults {
		n := st.faults[k].Load()
		s.FaultsByKind[faultNames[k]] = n
		s.Faults += n
	}
	for code := range st.byStatus {
		if n := st.byStatus[code].Load(); n > 0 {
			s.ByStatus[strconv.Itoa(code)] = n
		}
	}
	st.mu.Lock()
	s.Since = st.since
	oldest := now.Unix() - perSecondWindow + 1
	for i := range perSecondWindow {
		c := st.ring[(now.Unix()+1+int64(i))%perSecondWindow]
		if c.Unix >= oldest && c.Unix <= now.Unix() && c.Requests > 0 {
			s.PerSecond = append(s.PerSecond, c)
		}
	}
	st.mu.Unlock()
	s.Uptime = now.Sub(s.Since).Seconds()
	return s
}

func (st *stats) reset(now time.Time) {
	for _, a := range []*atomic.Int64{&st.requests, &st.succeeded, &st.rateLimitedReq, &st.rateLimitedTok,
		&st.unauthorized, &st.badRequests, &st.clientGone, &st.promptTokens, &st.completionTokens, &st.cachedTk, &st.reservedTokens, &st.reasoningTokens, &st.emptyAnswers} {
		a.Store(0)
	}
	st.maxConcurrent.Store(st.inFlight.Load())
	for i := range st.byStatus {
		st.byStatus[i].Store(0)
	}
	for i := range st.faults {
		st.faults[i].Store(0)
	}
	st.mu.Lock()
	st.since = now
	st.ring = [perSecondWindow]SecondCount{}
	st.mu.Unlock()
}
