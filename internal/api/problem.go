package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/secrets"
)

// Codes the API adds to modeldoc's own: they name what was wrong with a
// request more precisely than EINVALID, and clients may rely on them.
const (
	codeMalformedJSON    = "malformed_json"
	codeUnknownField     = "unknown_field"
	codeInvalidID        = "invalid_id"
	codeRateLimited      = "rate_limited"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
	codeUnavailable      = "unavailable"
)

// problemKind is one row of the table below.
type problemKind struct {
	status int
	title  string
}

// problems maps every error code the API answers to its HTTP status. It is
// the one place where codes meet statuses; a code missing here is a bug and
// answers 500.
var problems = map[string]problemKind{
	modeldoc.EINVALID:      {http.StatusBadRequest, "Invalid request"},
	modeldoc.EUNSUPPORTED:  {http.StatusBadRequest, "Unsupported input"},
	codeMalformedJSON:      {http.StatusBadRequest, "Malformed JSON"},
	codeUnknownField:       {http.StatusBadRequest, "Unknown field"},
	codeInvalidID:          {http.StatusBadRequest, "Invalid id"},
	modeldoc.EUNAUTHORIZED: {http.StatusUnauthorized, "Unauthorized"},
	modeldoc.EFORBIDDEN:    {http.StatusForbidden, "Forbidden"},
	modeldoc.ENOTFOUND:     {http.StatusNotFound, "Not found"},
	codeMethodNotAllowed:   {http.StatusMethodNotAllowed, "Method not allowed"},
	modeldoc.ECONFLICT:     {http.StatusConflict, "Conflict"},
	modeldoc.EBUDGET:       {http.StatusConflict, "Budget exceeded"},
	modeldoc.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "Request too large"},
	codeUnsupportedMedia:   {http.StatusUnsupportedMediaType, "Unsupported media type"},
	codeRateLimited:        {http.StatusTooManyRequests, "Too many requests"},
	// The stored key is there but unreadable until someone stores it
	// again: a state the client can resolve, as with ECONFLICT.
	secrets.EMASTERKEY: {http.StatusConflict, "Provider key unreadable"},
	modeldoc.EINTERNAL: {http.StatusInternalServerError, "Internal error"},
	codeUnavailable:    {http.StatusServiceUnavailable, "Service unavailable"},
}

// Problem is an RFC 9457 problem details body. Code is the stable,
// machine-readable part; Detail is a sentence for people.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Code     string `json:"code"`
	Instance string `json:"instance,omitempty"`
}

// problemType is the type URI of a code. A URN rather than an http URL:
// there is no page to dereference, and RFC 9457 allows any URI.
func problemType(code string) string { return "urn:modeldoc:problem:" + code }

// apiError is an error the API raises itself with one of its own codes.
type apiError struct {
	code, detail string
}

func (e *apiError) Error() string { return e.detail }

func errorf(code, detail string) error { return &apiError{code: code, detail: detail} }

// problemFor turns any error into a problem. Internal errors keep their
// cause out of the body: it is logged, never sent.
func problemFor(err error) Problem {
	code, detail := "", ""
	var ae *apiError
	if errors.As(err, &ae) {
		code, detail = ae.code, ae.detail
	} else {
		code, detail = modeldoc.ErrorCode(err), modeldoc.ErrorMessage(err)
	}
	kind, ok := problems[code]
	if !ok || code == modeldoc.EINTERNAL {
		code, kind, detail = modeldoc.EINTERNAL, problems[modeldoc.EINTERNAL], "An internal error occurred; it has been logged. Try again, and report it if it persists."
	}
	return Problem{Type: problemType(code), Title: kind.title, Status: kind.status, Detail: detail, Code: code}
}

// writeError answers err as problem details, logging internal errors.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	p.Instance = r.URL.Path
	if p.Code == modeldoc.EINTERNAL {
		a.log.Error("api: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if p.Status == http.StatusUnauthorized {
		// RFC 6750 §3: say which scheme to use, and, when a token was
		// sent, that it is the token that failed.
		challenge := `Bearer realm="modeldoc"`
		if _, sent := bearer(r); sent {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	writeBody(w, v)
}

func writeBody(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }
