package fakellm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"sync"
	"time"
)

// promptCache models OpenAI's prompt cache as its guide describes it
// (developers.openai.com/api/docs/guides/prompt-caching):
//
//   - a prompt is cached from 1,024 tokens on, in 128-token blocks: a hit
//     reports the longest run of whole blocks from the start that an
//     earlier prompt shared, and nothing under 1,024;
//   - the prefix is the prompt as the model reads it: a json_schema
//     response format first ("the structured output schema serves as a
//     prefix to the system message"), then every message in order, so
//     two calls whose schemas differ share nothing;
//   - an entry exists only once the request that wrote it has been
//     answered: calls sent together all miss, which is the point of
//     sending an object's first call alone;
//   - entries live per prompt_cache_key (requests without one share the
//     keyless space) and are evicted after TTL without use; a hit
//     refreshes them.
//
// Real caches also evict under load and route past an overflowing
// machine; the fake never does, so its figures are the best a client can
// get, not a forecast.
type promptCache struct {
	seed maphash.Seed
	ttl  time.Duration

	mu      sync.Mutex
	entries map[uint64]time.Time // hash of (key, prefix of n blocks) → last use
}

const (
	cacheMinTokens   = 1024
	cacheGranularity = 128
	// cacheEntryLimit bounds the memory of a long benchmark: past it the
	// expired entries go, and if that is not enough, all of them.
	cacheEntryLimit = 1 << 21
	// DefaultCacheTTL is how long an unused prefix stays: OpenAI keeps
	// in-memory caches "5 to 10 minutes" of inactivity; the fake takes the
	// short end.
	DefaultCacheTTL = 5 * time.Minute
)

func newPromptCache(ttl time.Duration) *promptCache {
	return &promptCache{seed: maphash.MakeSeed(), ttl: ttl, entries: make(map[uint64]time.Time)}
}

// Ids standing for the chat format's special tokens (<|start|>,
// <|message|>, <|end|>, ...): outside o200k's range, so they never equal
// a text token.
const (
	tokStart uint = 1<<40 + iota
	tokMessage
	tokEnd
	tokName
	tokSchema
)

// renderPrompt is the token sequence of a request as the cache sees it,
// as long as the prompt_tokens it reports: the schema block (framing and
// role as schemaTokens counts them, then name and compact schema), each
// message (start, role, message, content, end, and the name when set),
// and the three tokens that prime the reply.
func (s *Server) renderPrompt(rf *responseFormat, msgs []message) []uint {
	var seq []uint
	if rf != nil && rf.Type == "json_schema" && rf.JSONSchema != nil && len(rf.JSONSchema.Schema) > 0 {
		var buf bytes.Buffer
		schema := string(rf.JSONSchema.Schema)
		if json.Compact(&buf, rf.JSONSchema.Schema) == nil {
			schema = buf.String()
		}
		seq = append(seq, tokStart, tokSchema, tokMessage, tokEnd)
		seq = append(seq, s.tokens.Encode(rf.JSONSchema.Name)...)
		seq = append(seq, s.tokens.Encode(schema)...)
	}
	for _, m := range msgs {
		seq = append(seq, tokStart)
		seq = append(seq, s.tokens.Encode(m.Role)...)
		seq = append(seq, tokMessage)
		seq = append(seq, s.tokens.Encode(m.text)...)
		seq = append(seq, tokEnd)
		if m.Name != "" {
			seq = append(seq, tokName)
			seq = append(seq, s.tokens.Encode(m.Name)...)
		}
	}
	return append(seq, tokStart, tokMessage, tokEnd)
}

// blockHashes returns, for each whole 128-token block of seq, the hash of
// key and every token up to the block's end.
func (c *promptCache) blockHashes(key string, seq []uint) []uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(key)
	h.WriteByte(0)
	out := make([]uint64, 0, len(seq)/cacheGranularity)
	var b [8]byte
	for i := 0; i+cacheGranularity <= len(seq); i += cacheGranularity {
		for _, t := range seq[i : i+cacheGranularity] {
			binary.LittleEndian.PutUint64(b[:], uint64(t))
			h.Write(b[:])
		}
		out = append(out, h.Sum64())
	}
	return out
}

// lookup returns how many tokens of the prompt the cache serves, and
// refreshes the entries it used.
func (c *promptCache) lookup(hashes []uint64, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, h := range hashes {
		last, ok := c.entries[h]
		if !ok || now.Sub(last) > c.ttl {
			break
		}
		n++
	}
	for _, h := range hashes[:n] {
		c.entries[h] = now
	}
	if n*cacheGranularity < cacheMinTokens {
		return 0
	}
	return n * cacheGranularity
}

// store makes the prompt's blocks readable by later requests; called once
// the request has been answered. Prompts under 1,024 tokens are not
// cached at all.
func (c *promptCache) store(hashes []uint64, now time.Time) {
	if len(hashes)*cacheGranularity < cacheMinTokens {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries)+len(hashes) > cacheEntryLimit {
		for h, last := range c.entries {
			if now.Sub(last) > c.ttl {
				delete(c.entries, h)
			}
		}
		if len(c.entries)+len(hashes) > cacheEntryLimit {
			clear(c.entries)
		}
	}
	for _, h := range hashes {
		c.entries[h] = now
	}
}
