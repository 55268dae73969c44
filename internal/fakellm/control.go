package fakellm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Control is a partial update of the server's behaviour, as POST /control
// takes it: only the fields present change. Durations are strings
// ("500ms") or numbers of milliseconds.
type Control struct {
	AuthFail      *bool         `json:"auth_fail,omitempty"`
	Quota         *bool         `json:"quota,omitempty"`
	FailRate      *float64      `json:"fail_rate,omitempty"`
	TimeoutRate   *float64      `json:"timeout_rate,omitempty"`
	MalformedRate *float64      `json:"malformed_rate,omitempty"`
	TruncateRate  *float64      `json:"truncate_rate,omitempty"`
	LieRate       *float64      `json:"lie_rate,omitempty"`
	Latency       *jsonDuration `json:"latency,omitempty"`
	Jitter        *jsonDuration `json:"jitter,omitempty"`
	RPM           *int          `json:"rpm,omitempty"`
	TPM           *int          `json:"tpm,omitempty"`
	// ReasoningTokens changes the reasoning tokens of the efforts it names,
	// e.g. {"low": 2000}.
	ReasoningTokens map[string]int `json:"reasoning_tokens,omitempty"`
	ResetStats      bool           `json:"reset_stats,omitempty"`
	// BatchDelay, BatchFailRate and BatchExpireRate change the batch
	// endpoints' behaviour (BatchSettings); a new delay applies to the
	// batches already running too.
	BatchDelay      *jsonDuration `json:"batch_delay,omitempty"`
	BatchFailRate   *float64      `json:"batch_fail_rate,omitempty"`
	BatchExpireRate *float64      `json:"batch_expire_rate,omitempty"`
}

// State is what GET and POST /control answer: the behaviour now in force.
type State struct {
	Faults
	Latency string `json:"latency"`
	Jitter  string `json:"jitter"`
	RPM     int    `json:"rpm"`
	TPM     int    `json:"tpm"`
	// ReasoningTokens is what a reasoning model spends thinking, by effort.
	ReasoningTokens map[string]int `json:"reasoning_tokens"`
	// Batch is how the batch endpoints behave (its delay in nanoseconds).
	Batch BatchSettings `json:"batch"`
}

type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return fmt.Errorf("%q is not a duration: write it like \"500ms\" or \"2s\"", s)
		}
		*d = jsonDuration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil || ms < 0 {
		return fmt.Errorf("%s is not a duration: write a string like \"500ms\" or a number of milliseconds", b)
	}
	*d = jsonDuration(ms * float64(time.Millisecond))
	return nil
}

// Apply changes what c sets and returns the state in force. It checks every
// field before changing anything.
func (s *Server) Apply(c Control) (State, error) {
	for name, r := range map[string]*float64{"fail_rate": c.FailRate, "timeout_rate": c.TimeoutRate, "malformed_rate": c.MalformedRate, "truncate_rate": c.TruncateRate, "lie_rate": c.LieRate,
		"batch_fail_rate": c.BatchFailRate, "batch_expire_rate": c.BatchExpireRate} {
		if r != nil && (*r < 0 || *r > 1) {
			return s.State(), fmt.Errorf("%s must be a fraction between 0 and 1, got %v", name, *r)
		}
	}
	for name, l := range map[string]*int{"rpm": c.RPM, "tpm": c.TPM} {
		if l != nil && *l < 0 {
			return s.State(), fmt.Errorf("%s must be 0 (no limit) or positive, got %d", name, *l)
		}
	}
	if err := checkReasoningTokens(c.ReasoningTokens); err != nil {
		return s.State(), err
	}
	for {
		old := s.set.Load()
		n := *old
		if len(c.ReasoningTokens) > 0 {
			n.reasoning = mergeReasoning(old.reasoning, c.ReasoningTokens)
		}
		f := &n.faults
		setIf(&f.AuthFail, c.AuthFail)
		setIf(&f.Quota, c.Quota)
		setIf(&f.FailRate, c.FailRate)
		setIf(&f.TimeoutRate, c.TimeoutRate)
		setIf(&f.MalformedRate, c.MalformedRate)
		setIf(&f.TruncateRate, c.TruncateRate)
		setIf(&f.LieRate, c.LieRate)
		if c.Latency != nil {
			n.latency = time.Duration(*c.Latency)
		}
		if c.Jitter != nil {
			n.jitter = time.Duration(*c.Jitter)
		}
		if s.set.CompareAndSwap(old, &n) {
			break
		}
	}
	if c.RPM != nil || c.TPM != nil {
		rpm, tpm := s.Limits()
		setIf(&rpm, c.RPM)
		setIf(&tpm, c.TPM)
		s.SetLimits(rpm, tpm)
	}
	if c.BatchDelay != nil || c.BatchFailRate != nil || c.BatchExpireRate != nil {
		s.batch.mu.Lock()
		if c.BatchDelay != nil {
			s.batch.set.Delay = time.Duration(*c.BatchDelay)
		}
		setIf(&s.batch.set.FailRate, c.BatchFailRate)
		setIf(&s.batch.set.ExpireRate, c.BatchExpireRate)
		s.batch.mu.Unlock()
	}
	if c.ResetStats {
		s.ResetStats()
	}
	return s.State(), nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// State returns the behaviour in force.
func (s *Server) State() State {
	set := s.set.Load()
	rpm, tpm := s.Limits()
	return State{Faults: set.faults, Latency: set.latency.String(), Jitter: set.jitter.String(), RPM: rpm, TPM: tpm,
		ReasoningTokens: mergeReasoning(set.reasoning, nil), Batch: s.Batch()}
}

func (s *Server) handleControl(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, s.State())
		return
	}
	var c Control
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		msg := err.Error()
		if strings.HasPrefix(msg, "json: unknown field") {
			msg += "; known fields: auth_fail, quota, fail_rate, timeout_rate, malformed_rate, truncate_rate, lie_rate, latency, jitter, rpm, tpm, reasoning_tokens, reset_stats"
		}
		writeJSON(w, http.StatusBadRequest, map[string]apiError{"error": {Message: "Bad control request: " + msg, Type: "invalid_request_error"}})
		return
	}
	if dec.More() {
		writeJSON(w, http.StatusBadRequest, map[string]apiError{"error": {Message: "Bad control request: send one JSON object.", Type: "invalid_request_error"}})
		return
	}
	st, err := s.Apply(c)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]apiError{"error": {Message: "Bad control request: " + err.Error(), Type: "invalid_request_error"}})
		return
	}
	writeJSON(w, http.StatusOK, st)
}
