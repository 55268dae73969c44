package writer

// What the SDK-based writers share: recording the raw HTTP exchange and
// checking a base URL.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Exchange records the raw HTTP response of one call, which the provider
// SDKs do not hand back on every path (a non-JSON error body, a body cut
// short), so that errors can be classified from the status, headers and
// body the provider really sent.
type Exchange struct {
	Status int
	Header http.Header
	Body   []byte // error bodies only, at most 1 MiB
}

// Capture is an SDK middleware body: it runs the request through next and
// records the response, buffering an error body so that the SDK can still
// read it.
func (x *Exchange) Capture(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	res, err := next(req)
	if res != nil {
		x.Status, x.Header = res.StatusCode, res.Header
		if res.StatusCode >= 400 && res.Body != nil {
			b, rerr := io.ReadAll(io.LimitReader(res.Body, 1<<20))
			_ = res.Body.Close()
			x.Body = b
			res.Body = io.NopCloser(bytes.NewReader(b))
			if rerr != nil {
				return res, rerr
			}
		}
	}
	return res, err
}

// CheckBaseURL rejects a base URL that is not an absolute http(s) URL, with
// a message naming the provider and an example of a good one.
func CheckBaseURL(provider, baseURL, example string) error {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Kind: InvalidRequest, Provider: provider,
			Message: fmt.Sprintf("base URL %q is not an http(s) URL: use e.g. %s", baseURL, example)}
	}
	return nil
}
