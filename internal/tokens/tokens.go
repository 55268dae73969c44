// Package tokens counts and cuts text in o200k_base tokens, the encoding of
// every current OpenAI chat model (gpt-4o, gpt-4.1, gpt-5, o-series). It
// reads the vocabulary embedded in github.com/tiktoken-go/tokenizer, so it
// never touches the network. For Claude, whose tokenizer is not public, the
// counts are an estimate that the provider's reported usage corrects.
//
// It is the one rule set for counting: the estimate (internal/cost), the
// prompt's SQL budget (internal/prompt) and the fake server's usage
// (internal/fakellm) all count here. The fake must count as OpenAI bills,
// so the rules are the provider's (tiktoken's o200k_base and the
// cookbook's chat framing), and an estimate that agrees with the fake
// agrees with the bill.
package tokens

import (
	"hash/maphash"
	"sync"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
	"github.com/tiktoken-go/tokenizer/codec"
)

// Building the codec parses a ~200k-entry vocabulary; do it once. The codec
// is safe for concurrent use as long as its error mode never changes, and
// nothing here changes it.
var (
	codecOnce sync.Once
	enc       *codec.Codec
)

func get() *codec.Codec {
	codecOnce.Do(func() { enc = codec.NewO200kBase() })
	return enc
}

// Encoding is the name of the encoding every count in this package uses.
const Encoding = string(tokenizer.O200kBase)

// Count returns the number of o200k_base tokens in text. Special-token text
// such as "<|endoftext|>" is counted as ordinary text, which is what the API
// does with user content.
func Count(text string) int {
	if text == "" {
		return 0
	}
	n, err := get().Count(text)
	if err != nil {
		// Only the regexp engine's timeout can fail here, and none is set;
		// fall back to OpenAI's rule of thumb rather than report zero.
		return (len(text) + 3) / 4
	}
	return n
}

// Per OpenAI's cookbook ("How to count tokens with tiktoken",
// num_tokens_from_messages, for gpt-4o and later): every message is wrapped
// as <|start|>{role}<|message|>{content}<|end|>, which costs 3 tokens on top
// of the encoded role and content, and every reply is primed with
// <|start|>assistant<|message|>, 3 more. The roles we send (system, user,
// assistant) are one token each.
// A message's optional name costs TokensPerName on top of its tokens. A
// json_schema response format adds tokens that OpenAI does not document;
// SchemaFraming counts the compact schema JSON as if it were one more
// message (TokensPerMessage and a role token), plus the schema's name.
// That is an approximation, not a bill: bill from the usage the provider
// reports.
const (
	TokensPerMessage = 3
	ReplyPriming     = 3
	TokensPerName    = 1
	SchemaFraming    = TokensPerMessage + 1
)

// CountChat returns the prompt tokens a chat completion with these message
// contents costs, counted as OpenAI's chat format does: per message its
// content, its role (one token) and TokensPerMessage; ReplyPriming once.
// It matches the API's usage.prompt_tokens for plain-text messages without
// tools or a response format (a json_schema response format adds tokens
// that OpenAI does not document; see internal/cost).
func CountChat(messages ...string) int {
	n := ReplyPriming
	for _, m := range messages {
		n += TokensPerMessage + 1 + Count(m)
	}
	return n
}

// Truncate returns the longest prefix of text that holds at most maxTokens
// tokens, cut on a UTF-8 boundary, and whether it cut anything. A
// maxTokens of zero or less yields "".
func Truncate(text string, maxTokens int) (string, bool) {
	if maxTokens <= 0 {
		return "", text != ""
	}
	// Every token is at least one byte, so short text cannot be over budget:
	// skip the tokenizer on the common case.
	if len(text) <= maxTokens {
		return text, false
	}
	// Text of up to 4 times the budget in bytes is very likely inside it
	// (o200k averages ~4 bytes a token on code); count it first because
	// Count allocates nothing per token while Encode does.
	if len(text) <= 4*maxTokens && Count(text) <= maxTokens {
		return text, false
	}
	end, n := 0, 0
	_, pieces, err := get().Encode(text)
	if err != nil {
		return truncateBytes(text, maxTokens*4), true
	}
	for _, p := range pieces {
		if n == maxTokens {
			break
		}
		end += len(p)
		n++
	}
	if n < maxTokens || end >= len(text) {
		return text, false
	}
	// A token can end inside a multi-byte character; back off to the
	// character's start so the result stays valid UTF-8.
	for end > 0 && !utf8.RuneStart(text[end]) {
		end--
	}
	return text[:end], true
}

func truncateBytes(text string, n int) string {
	if n >= len(text) {
		return text
	}
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n]
}

// Counter counts as Count does and remembers what it counted. The requests
// of one model share most of their text (the system prompt, the model's
// SQL, columns and lineage) and a batch repeats the system prompt and the
// schemas thousands of times, so long texts are counted line by line and
// each line's count is kept: shared lines are tokenized once. This is
// exact: o200k's pre-tokenizer never lets a piece cross a newline run that
// is followed by a character other than whitespace or '/', and BPE merges
// never cross pieces, so cutting there splits the token sequence cleanly
// (TestCounterIsExact checks it on real SQL and prompts). The memo is
// dropped whole when it grows past memoLimit entries, so a run over
// thousands of models keeps only recent lines. A Counter is safe for
// concurrent use.
type Counter struct {
	seed maphash.Seed

	mu   sync.Mutex
	memo map[uint64]int
	ids  map[uint64][]uint // Encode's memo
}

const memoLimit = 1 << 16

// NewCounter returns a Counter with an empty memo.
func NewCounter() *Counter {
	return &Counter{seed: maphash.MakeSeed(), memo: make(map[uint64]int), ids: make(map[uint64][]uint)}
}

// chunks calls f with the pieces of s that Counter counts apart; short
// text is one piece.
func chunks(s string, f func(string)) {
	start := 0
	if len(s) >= 512 {
		for i := 0; i+1 < len(s); i++ {
			if s[i] != '\n' {
				continue
			}
			if c := s[i+1]; c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != '/' && c < 0x80 {
				f(s[start : i+1])
				start = i + 1
			}
		}
	}
	f(s[start:])
}

// Count returns the number of o200k_base tokens in s, as Count does.
func (c *Counter) Count(s string) int {
	n := 0
	chunks(s, func(piece string) { n += c.countChunk(piece) })
	return n
}

func (c *Counter) countChunk(s string) int {
	if s == "" {
		return 0
	}
	h := maphash.String(c.seed, s)
	c.mu.Lock()
	n, ok := c.memo[h]
	c.mu.Unlock()
	if ok {
		return n
	}
	n = Count(s)
	c.mu.Lock()
	if len(c.memo) >= memoLimit {
		clear(c.memo)
	}
	c.memo[h] = n
	c.mu.Unlock()
	return n
}

// Encode returns the o200k_base token ids of s, memoized at the same cuts
// as Count (exact for the same reason). The ids are shared: do not modify
// them.
func (c *Counter) Encode(s string) []uint {
	var out []uint
	chunks(s, func(piece string) { out = append(out, c.encodeChunk(piece)...) })
	return out
}

func (c *Counter) encodeChunk(s string) []uint {
	if s == "" {
		return nil
	}
	h := maphash.String(c.seed, s)
	c.mu.Lock()
	ids, ok := c.ids[h]
	c.mu.Unlock()
	if ok {
		return ids
	}
	ids, _, err := get().Encode(s)
	if err != nil {
		// As in Count: only a regexp timeout fails, and none is set.
		ids = make([]uint, (len(s)+3)/4)
	}
	c.mu.Lock()
	if len(c.ids) >= memoLimit/4 {
		clear(c.ids)
	}
	c.ids[h] = ids
	c.mu.Unlock()
	return ids
}

// Message returns the tokens one chat message costs in OpenAI's chat
// format: TokensPerMessage, its role, its content and, when it has one,
// its name and TokensPerName. A request costs the sum over its messages,
// plus ReplyPriming once, plus Schema for a json_schema response format.
func (c *Counter) Message(role, content, name string) int {
	n := TokensPerMessage + c.Count(role) + c.Count(content)
	if name != "" {
		n += TokensPerName + c.Count(name)
	}
	return n
}

// Schema returns the tokens a json_schema response format is counted as
// (see SchemaFraming): the compact schema JSON and its name.
func (c *Counter) Schema(schema, name string) int {
	return SchemaFraming + c.Count(schema) + c.Count(name)
}
