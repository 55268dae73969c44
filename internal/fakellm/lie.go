package fakellm

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
)

// The lie fault (Faults.LieRate) answers JSON that is as schema-valid as
// an honest answer but invents: one prose field gains a sentence naming an
// identifier in backticks that is nowhere in the prompt, and one code
// field (a field whose name mentions code or sql, e.g. codeReference,
// codeBlock) quotes a condition on an invented column instead of a line
// of the prompt's SQL. Names, enums and the other fields stay as they
// were, so the answer passes schema validation and only a check against
// the model's SQL and lineage can catch it.

var (
	lieStems = []string{"legacy", "shadow", "archived", "manual", "offline", "staged", "interim", "backfill"}
	lieNouns = []string{"ledger", "adjustment", "override", "snapshot", "bucket", "flag", "weight", "score"}
)

// lieKeys are names and enum values: inventing there breaks validation,
// not grounding.
var lieSkipKeys = map[string]bool{"name": true, "lineage": true, "upstreammodel": true, "upstreamcolumn": true,
	"confidence": true, "team": true, "frequency": true, "inheritedfrom": true}

// lie returns content with invented identifiers and code, and what it
// invented; content unchanged and nil when it has nowhere to put them
// (not a JSON object, or no prose and no code field).
func (s *Server) lie(content string, msgs []message, seq uint64) (string, []string) {
	var tree any
	if json.Unmarshal([]byte(content), &tree) != nil {
		return content, nil
	}
	var prompt strings.Builder
	for _, m := range msgs {
		prompt.WriteString(strings.ToLower(m.text))
		prompt.WriteByte('\n')
	}
	text := prompt.String()
	r := rand.New(rand.NewPCG(uint64(s.cfg.Seed), seq^0x11e5))
	invent := func() string {
		for {
			name := fmt.Sprintf("%s_%s_%d", lieStems[r.IntN(len(lieStems))], lieNouns[r.IntN(len(lieNouns))], 100+r.IntN(900))
			if !strings.Contains(text, name) {
				return name
			}
		}
	}
	var prose, code []*leaf
	collectLeaves(&tree, "", &prose, &code)
	var invented []string
	if len(prose) > 0 {
		l := prose[r.IntN(len(prose))]
		name := invent()
		l.set(strings.TrimRight(l.get(), " ") + " It also draws on `" + name + "`.")
		invented = append(invented, name)
	}
	if len(code) > 0 {
		l := code[r.IntN(len(code))]
		name := invent()
		frag := fmt.Sprintf("and %s is not null", name)
		l.set(frag)
		invented = append(invented, frag)
	}
	if len(invented) == 0 {
		return content, nil
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return content, nil
	}
	return string(b), invented
}

// leaf is a string in a decoded JSON tree, settable in place.
type leaf struct {
	get func() string
	set func(string)
}

func collectLeaves(v *any, key string, prose, code *[]*leaf) {
	walkLeaves(*v, key, func(s string) { *v = s }, prose, code)
}

func walkLeaves(v any, key string, set func(string), prose, code *[]*leaf) {
	switch t := v.(type) {
	case string:
		k := strings.ToLower(key)
		cur := t
		l := &leaf{get: func() string { return cur }, set: func(s string) { cur = s; set(s) }}
		switch {
		case strings.Contains(k, "code") || strings.Contains(k, "sql"):
			*code = append(*code, l)
		case !lieSkipKeys[k] && strings.Contains(t, " "):
			*prose = append(*prose, l)
		}
	case []any:
		for i := range t {
			walkLeaves(t[i], key, func(s string) { t[i] = s }, prose, code)
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkLeaves(t[k], k, func(s string) { t[k] = s }, prose, code)
		}
	}
}

// lieLog remembers what each lying answer invented, by its content.
type lieLog struct {
	mu sync.Mutex
	m  map[uint64][]string
}

// maxLies bounds the log; a run that tells more forgets the oldest.
const maxLies = 1 << 20

func newLieLog() *lieLog { return &lieLog{m: map[uint64][]string{}} }

func contentKey(content string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(content))
	return h.Sum64()
}

func (l *lieLog) record(content string, invented []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= maxLies {
		clear(l.m)
	}
	l.m[contentKey(content)] = invented
}

// Invented returns what the fake invented in an answer whose content it
// sent: the invented identifiers (bare names) and code references (whole
// fragments), or nil for an honest answer. Benchmarks use it to score a
// grounding check against the truth.
func (s *Server) Invented(content string) []string {
	s.lies.mu.Lock()
	defer s.lies.mu.Unlock()
	return s.lies.m[contentKey(content)]
}
