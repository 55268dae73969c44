package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modeldoc/modeldoc"
)

// decodeJSON reads r's body into v: one JSON value, no unknown fields, at
// most MaxBodyBytes. An empty body is allowed when optional is true (v
// keeps its zero value).
func (a *API) decodeJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errorf(codeUnsupportedMedia, fmt.Sprintf("Send the body as application/json (got %q).", ct))
		}
	}
	// Read whole (it is bounded) to check its bytes: encoding/json would
	// turn invalid UTF-8 into U+FFFD silently.
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		return jsonError(err, a.cfg.MaxBodyBytes)
	}
	if !utf8.Valid(data) {
		return modeldoc.Errorf(modeldoc.EINVALID, "The body is not valid UTF-8: %s.", textRule)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if errors.Is(err, io.EOF) {
		if optional {
			return nil
		}
		return errorf(codeMalformedJSON, "The request body is empty: send a JSON object.")
	}
	if err == nil {
		// One value only: trailing data is as malformed as a missing brace.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return errorf(codeMalformedJSON, "The request body holds more than one JSON value: send exactly one object.")
		}
	}
	if err == nil {
		// A \u0000 escape decodes to a NUL that no column can hold.
		return checkValueText("The body", v)
	}
	return jsonError(err, a.cfg.MaxBodyBytes)
}

// jsonError says what was wrong with a body in terms a client can act on.
func jsonError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return modeldoc.Errorf(modeldoc.ETOOLARGE, "The request body is larger than %d bytes.", limit)
	case errors.As(err, &syn):
		return errorf(codeMalformedJSON, fmt.Sprintf("The body is not valid JSON: %v (at byte %d).", syn, syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(codeMalformedJSON, "The body is not valid JSON: it ends too early.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errorf(codeMalformedJSON, fmt.Sprintf("The body must be a JSON object, not a %s.", typ.Value))
		}
		return modeldoc.Errorf(modeldoc.EINVALID, "The field %q must be of type %s, not %s.", field, jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return errorf(codeUnknownField, fmt.Sprintf("The body has an unknown field %s: see the request schema in /api/v1/openapi.json.", name))
	}
	return errorf(codeMalformedJSON, "The body is not valid JSON: "+err.Error()+".")
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "number"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return kind
}

// pathID reads the {id} of the route as a positive integer.
func pathID(r *http.Request) (int64, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(codeInvalidID, fmt.Sprintf("%q is not an id: ids are positive integers.", raw))
	}
	return id, nil
}

// page is a limit and an offset from the query string.
type page struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

func pageOf(r *http.Request) (page, error) {
	p := page{Limit: defaultLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, modeldoc.Errorf(modeldoc.EINVALID, "limit must be a whole number from 1 to %d (got %q).", maxLimit, v)
		}
		p.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, modeldoc.Errorf(modeldoc.EINVALID, "offset must be a whole number, 0 or more (got %q).", v)
		}
		p.Offset = n
	}
	return p, nil
}

// queryBool reads an optional true/false query parameter.
func queryBool(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s must be true or false (got %q).", name, v)
	}
	return &b, nil
}

// list is the envelope of every paginated answer.
type list[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// pageList is a page the store has already cut, with the total it counted.
func pageList[T any](items []T, total int, p page) list[T] {
	return list[T]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset}
}

// paginate cuts an in-memory slice to p.
func paginate[T any](all []T, p page) list[T] {
	out := list[T]{Items: []T{}, Total: len(all), Limit: p.Limit, Offset: p.Offset}
	if p.Offset < len(all) {
		out.Items = all[p.Offset:min(len(all), p.Offset+p.Limit)]
	}
	return out
}
