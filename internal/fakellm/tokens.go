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
	ids  map[uint64][]uint // encodeChunk's memo
}

const memoLimit = 1 << 16

func newTokenCounter() *tokenCounter {
	c, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		panic("fakellm: o200k_base encoding missing from tiktoken-go/tokenizer: " + err.Error())
	}
	return &tokenCounter{codec: c, seed: maphash.MakeSeed(), memo: make(map[uint64]int), ids: make(map[uint64][]uint)}
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

// messageTokens returns the prompt tokens of msgs.
func (t *tokenCounter) messageTokens(msgs []message) (total int) {
	for _, m := range msgs {
		total += tokensPerMessage + t.count(m.Role) + t.count(m.text)
		if m.Name != "" {
			total += tokensPerName + t.count(m.Name)
		}
	}
	return total + tokensForReply
}

// encode returns the token ids of s, memoized chunk by chunk at the same
// cuts as count (exact for the same reason), so that the long context an
// object's calls share is encoded once.
func (t *tokenCounter) encode(s string) []uint {
	var out []uint
	start := 0
	if len(s) >= 512 {
		for i := 0; i+1 < len(s); i++ {
			if s[i] != '\n' {
				continue
			}
			if c := s[i+1]; c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != '/' && c < 0x80 {
				out = append(out, t.encodeChunk(s[start:i+1])...)
				start = i + 1
			}
		}
	}
	return append(out, t.encodeChunk(s[start:])...)
}

func (t *tokenCounter) encodeChunk(s string) []uint {
	if s == "" {
		return nil
	}
	h := maphash.String(t.seed, s)
	t.mu.Lock()
	ids, ok := t.ids[h]
	t.mu.Unlock()
	if ok {
		return ids
	}
	ids, _, err := t.codec.Encode(s)
	if err != nil { // only in strict UTF-8 mode, which is not set
		ids = make([]uint, len(s)/4)
	}
	t.mu.Lock()
	if len(t.ids) >= memoLimit/4 {
		clear(t.ids)
	}
	t.ids[h] = ids
	t.mu.Unlock()
	return ids
}
