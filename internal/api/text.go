package api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/modeldoc/modeldoc"
)

// Text that reaches the store must be valid UTF-8 without NUL: PostgreSQL
// refuses both (a 500 if it got there), and SQLite's LIKE stops at a NUL,
// so that `q=%00` matched every object. The checks below run on every
// request before its handler (path and query), on every JSON body, and on
// every upload, so that no handler has to remember them.

// badText reports whether s cannot be stored as text.
func badText(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }

const textRule = "send UTF-8 text without NUL characters"

// checkRequestText refuses a request whose path or query string holds a
// NUL or invalid UTF-8 once decoded, or whose query string cannot be
// decoded at all (Go would drop the broken pair silently, and a filter
// would then match everything).
func checkRequestText(r *http.Request) error {
	if badText(r.URL.Path) {
		return modeldoc.Errorf(modeldoc.EINVALID, "The path holds a NUL or invalid UTF-8: %s.", textRule)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "The query string cannot be decoded (%v): escape it as application/x-www-form-urlencoded.", err)
	}
	for k, vs := range q {
		if badText(k) {
			return modeldoc.Errorf(modeldoc.EINVALID, "A query parameter's name holds a NUL or invalid UTF-8: %s.", textRule)
		}
		for _, v := range vs {
			if badText(v) {
				return modeldoc.Errorf(modeldoc.EINVALID, "The query parameter %q holds a NUL or invalid UTF-8: %s.", k, textRule)
			}
		}
	}
	return nil
}

// checkValueText walks a decoded value (a request body, a parsed upload)
// and refuses the first string that cannot be stored, naming where it is.
// what names the value in the message ("The body", "The manifest").
func checkValueText(what string, v any) error {
	if where, bad := findBadText(reflect.ValueOf(v), ""); bad {
		if where == "" {
			return modeldoc.Errorf(modeldoc.EINVALID, "%s holds a NUL or invalid UTF-8: %s.", what, textRule)
		}
		return modeldoc.Errorf(modeldoc.EINVALID, "%s holds a NUL or invalid UTF-8 at %s: %s.", what, where, textRule)
	}
	return nil
}

// findBadText returns the path (JSON names, dotted) of the first bad
// string below v. Unexported fields are skipped: they are not decoded.
func findBadText(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return path, badText(v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return findBadText(v.Elem(), path)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				name = tag
			}
			sub := path
			if !f.Anonymous {
				sub = join(path, name)
			}
			if p, bad := findBadText(v.Field(i), sub); bad {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			// Bytes (json.RawMessage) are checked where they are decoded.
			return "", false
		}
		for i := range v.Len() {
			if p, bad := findBadText(v.Index(i), path+"["+itoa(int64(i))+"]"); bad {
				return p, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			if k.Kind() == reflect.String && badText(k.String()) {
				return join(path, "(a key)"), true
			}
			name := "(a value)"
			if k.Kind() == reflect.String {
				name = k.String()
			}
			if p, bad := findBadText(it.Value(), join(path, name)); bad {
				return p, true
			}
		}
	}
	return "", false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// errNotUTF8 ends a read of bytes that are not UTF-8.
var errNotUTF8 = errors.New("not valid UTF-8")

// utf8Reader passes r through while checking that it is UTF-8, so that a
// body decoded as a stream is checked without being held whole. A rune cut
// between two reads waits in tail for the rest of its bytes.
type utf8Reader struct {
	r    io.Reader
	tail []byte
	bad  bool
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if u.bad {
		return 0, errNotUTF8
	}
	n, err := u.r.Read(p)
	data := append(u.tail, p[:n]...)
	cut := len(data)
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(data[:cut]) || (errors.Is(err, io.EOF) && cut < len(data)) {
		u.bad = true
		return 0, errNotUTF8
	}
	u.tail = append(u.tail[:0], data[cut:]...)
	return n, err
}
