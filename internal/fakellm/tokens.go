package fakellm

import "github.com/modeldoc/modeldoc/internal/tokens"

// messageTokens returns the prompt tokens of msgs, counted as OpenAI's chat
// format frames them (internal/tokens, whose rules are the provider's, so
// that the fake bills as OpenAI does). Array content counts its text parts
// concatenated; image and audio parts are not counted. A json_schema
// response format is counted apart (schemaTokens), as OpenAI bills it too.
func (s *Server) messageTokens(msgs []message) int {
	total := tokens.ReplyPriming
	for _, m := range msgs {
		total += s.tokens.Message(m.Role, m.text, m.Name)
	}
	return total
}
