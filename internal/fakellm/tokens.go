package fakellm

import (
	"hash/maphash"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// tokenCounter counts o200k tokens (the encoding of gpt-4o, gpt-4.1, gpt-5
// and the o-series). Counting is the fake's most expensive step, and batch
// prompts repeat a long system prompt, so counts are memoized by a hash of
// the text; the memo is dropped whole when it grows too big.
type tokenCounter struct {
	codec tokenizer.Codec
	seed  maphash.Seed

	mu   sync.Mutex
	memo map[uint64]int
}

const memoLimit = 1 << 16

func newTokenCounter() *tokenCounter {
	c, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		panic("fakellm: o200k_base encoding missing from tiktoken-go/tokenizer: " + err.Error())
	}
	return &tokenCounter{codec: c, seed: maphash.MakeSeed(), memo: make(map[uint64]int)}
}

// count returns the number of tokens of s. Long texts are counted line by
// line so that the lines prompts share (templates, a system prompt, the SQL
// of a model asked about in several layers) are tokenized once. This is
// exact: o200k's pre-tokenizer never lets a piece cross a newline run that
// is followed by a character other than whitespace or '/', and BPE merges
// never cross pieces, so cutting there splits the token sequence cleanly
// (TestChunkedCountIsExact checks it on real SQL and prompts).
func (t *tokenCounter) count(s string) int {
	if len(s) < 512 {
		return t.countChunk(s)
	}
	n, start := 0, 0
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '\n' {
			continue
		}
		if c := s[i+1]; c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != '/' && c < 0x80 {
			n += t.countChunk(s[start : i+1])
			start = i + 1
		}
	}
	return n + t.countChunk(s[start:])
}

func (t *tokenCounter) countChunk(s string) int {
	if s == "" {
		return 0
	}
	h := maphash.String(t.seed, s)
	t.mu.Lock()
	n, ok := t.memo[h]
	t.mu.Unlock()
	if ok {
		return n
	}
	n, err := t.codec.Count(s)
	if err != nil { // only in strict UTF-8 mode, which is not set
		n = len(s) / 4
	}
	t.mu.Lock()
	if len(t.memo) >= memoLimit {
		clear(t.memo)
	}
	t.memo[h] = n
	t.mu.Unlock()
	return n
}

// truncate returns the longest prefix of s that is at most n tokens.
func (t *tokenCounter) truncate(s string, n int) string {
	ids, _, err := t.codec.Encode(s)
	if err != nil || len(ids) <= n {
		return s
	}
	out, err := t.codec.Decode(ids[:max(0, n)])
	if err != nil {
		return s[:min(len(s), n*4)]
	}
	return out
}

// OpenAI's chat format wraps each message as
// <|start|>{role}<|message|>{content}<|end|>, which the cookbook
// ("How to count tokens with tiktoken", num_tokens_from_messages) counts as:
//
//	prompt_tokens = Σ_messages (3 + tokens(role) + tokens(content) [+ 1 + tokens(name)]) + 3
//
// the final 3 priming the reply (<|start|>assistant<|message|>). Roles are
// one token each. Array content counts its text parts concatenated; image
// and audio parts are not counted. A json_schema response format is
// counted apart (schemaTokens), as OpenAI bills it too.
const (
	tokensPerMessage = 3
	tokensPerName    = 1
	tokensForReply   = 3
)

// messageTokens returns the prompt tokens of msgs and, per message, the
// cumulative count up to and including it (for prefix caching).
func (t *tokenCounter) messageTokens(msgs []message) (total int, cumulative []int) {
	cumulative = make([]int, len(msgs))
	for i, m := range msgs {
		total += tokensPerMessage + t.count(m.Role) + t.count(m.text)
		if m.Name != "" {
			total += tokensPerName + t.count(m.Name)
		}
		cumulative[i] = total
	}
	return total + tokensForReply, cumulative
}

// prefixCache simulates OpenAI's automatic prompt caching: a prompt whose
// first 1,024 or more tokens were sent before gets those tokens reported as
// usage.prompt_tokens_details.cached_tokens, rounded down to a multiple of
// 128 (the cache's granularity). The fake matches whole messages, not
// tokens: a shared system prompt is what makes prompts share prefixes in
// practice, and that is matched exactly. Entries never expire; the set is
// dropped whole when it grows too big.
type prefixCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	seen map[uint64]struct{}
}

const (
	cacheMinTokens   = 1024
	cacheGranularity = 128
)

func newPrefixCache() *prefixCache {
	return &prefixCache{seed: maphash.MakeSeed(), seen: make(map[uint64]struct{})}
}

// lookupAndAdd returns the cached tokens for msgs and records their prefixes.
func (p *prefixCache) lookupAndAdd(msgs []message, cumulative []int) int {
	hashes := make([]uint64, len(msgs))
	var h maphash.Hash
	h.SetSeed(p.seed)
	for i, m := range msgs {
		h.WriteString(m.Role)
		h.WriteByte(0)
		h.WriteString(m.Name)
		h.WriteByte(0)
		h.WriteString(m.text)
		h.WriteByte(0)
		hashes[i] = h.Sum64()
	}
	cached := 0
	p.mu.Lock()
	for i, k := range hashes {
		if _, ok := p.seen[k]; !ok {
			break
		}
		cached = cumulative[i]
	}
	if len(p.seen)+len(hashes) > memoLimit {
		clear(p.seen)
	}
	for _, k := range hashes {
		p.seen[k] = struct{}{}
	}
	p.mu.Unlock()
	if cached < cacheMinTokens {
		return 0
	}
	return cached / cacheGranularity * cacheGranularity
}
