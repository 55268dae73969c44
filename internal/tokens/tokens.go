// Package tokens counts and cuts text in o200k_base tokens, the encoding of
// every current OpenAI chat model (gpt-4o, gpt-4.1, gpt-5, o-series). It
// reads the vocabulary embedded in github.com/tiktoken-go/tokenizer, so it
// never touches the network. For Claude, whose tokenizer is not public, the
// counts are an estimate that the provider's reported usage corrects.
package tokens

import (
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
const (
	TokensPerMessage = 3
	ReplyPriming     = 3
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
