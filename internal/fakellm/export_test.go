package fakellm

// CountTokens exposes the server's token counter to the tests.
func CountTokens(s string) int { return newTokenCounter().count(s) }
