// Package modeldoc holds the domain of modeldoc: the catalog of a dbt
// project (projects, objects, columns, lineage), the documentation written
// for it, and the errors every layer speaks. It imports only the standard
// library; adapters (store, dbt, writers, API) translate to and from it.
package modeldoc

import (
	"errors"
	"fmt"
)

// Error codes are stable strings meant for programs: the API maps them to
// HTTP statuses and the CLI to exit codes. Only EINTERNAL is logged.
const (
	ECONFLICT     = "conflict"     // an invalid state transition, or a duplicate
	EINTERNAL     = "internal"     // a bug or an unexpected failure of a dependency
	EINVALID      = "invalid"      // input the user can correct
	ENOTFOUND     = "not_found"    // absent, or belongs to another organization
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials, insufficient role
	EUNSUPPORTED  = "unsupported"  // a format or version we do not read
	ETOOLARGE     = "too_large"    // a body or file past a limit
	EBUDGET       = "budget_exceeded"
)

// Error is an expected failure: Code is for programs, Message is a sentence
// for people that says what was wrong and, where it can, what to do.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// and a generic sentence for internal errors so that they leak nothing.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
