package api

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/secrets"
	"github.com/modeldoc/modeldoc/internal/store"
)

// masterKey is a fixed master key: on PostgreSQL there is no file beside
// the database to keep one in.
func masterKey(t *testing.T) {
	t.Setenv(secrets.EnvMasterKey, hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
}

// doWith sends a request with extra headers.
func (e *env) doWith(method, path, token string, header http.Header) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: data}
}

// floodUntilThrottled sends bad tokens until one answers 429, and fails
// the test if none does within a few hundred.
func (e *env) floodUntilThrottled(header http.Header) {
	e.t.Helper()
	for i := 0; i < 300; i++ {
		a := e.doWith("GET", "/api/v1/jobs", fmt.Sprintf("mdk_guess%d", i), header)
		if a.status == 429 {
			return
		}
		if a.status != 401 {
			e.t.Fatalf("a bad token: %d %s", a.status, a.body)
		}
	}
	e.t.Fatal("300 bad tokens from one address were never throttled")
}

// TestFailuresDoNotLockOutValidTokens: once a flood of bad tokens from one
// address is throttled, a valid token from that same address (everyone
// behind one proxy or NAT) still gets through, again and again, while the
// guessing stays throttled.
func TestFailuresDoNotLockOutValidTokens(t *testing.T) {
	masterKey(t)
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, func(c *Config) { c.RatePerSecond, c.RateBurst = 0.5, 10 })
		e.floodUntilThrottled(nil)
		for i := 0; i < 5; i++ {
			e.must(200, "GET", "/api/v1/jobs", e.memberA, nil, nil)
			e.must(200, "GET", "/api/v1/me", e.adminA, nil, nil)
		}
		if a := e.do("GET", "/api/v1/jobs", "mdk_stillguessing", nil); a.status != 429 {
			t.Fatalf("guessing after the flood: %d %s", a.status, a.body)
		}
	})
}

// TestForwardedForOnlyFromTrustedProxies: behind a trusted proxy each
// client has its own failure bucket, named by the rightmost address the
// proxies did not write themselves; without --trusted-proxy the header is
// ignored, so a client cannot choose its bucket.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Setenv(secrets.EnvMasterKey, "")
	xff := func(v string) http.Header { return http.Header{"X-Forwarded-For": {v}} }
	tune := func(trusted ...netip.Prefix) func(*Config) {
		return func(c *Config) { c.RatePerSecond, c.RateBurst, c.TrustedProxies = 0.5, 5, trusted }
	}

	behind := newEnv(t, modeldoctest.NewSQLiteStore(t), tune(netip.MustParsePrefix("127.0.0.0/8")))
	behind.floodUntilThrottled(xff("203.0.113.7"))
	if a := behind.doWith("GET", "/api/v1/jobs", "mdk_other", xff("203.0.113.8")); a.status != 401 {
		t.Fatalf("another client behind the proxy: %d, want 401 (its own bucket)", a.status)
	}
	// The flooder prepends an address of its own choosing: the proxy's
	// entry, on the right, still names it.
	if a := behind.doWith("GET", "/api/v1/jobs", "mdk_spoof", xff("203.0.113.8, 203.0.113.7")); a.status != 429 {
		t.Fatalf("a spoofed X-Forwarded-For chose another bucket: %d", a.status)
	}

	direct := newEnv(t, modeldoctest.NewSQLiteStore(t), tune())
	direct.floodUntilThrottled(xff("203.0.113.7"))
	if a := direct.doWith("GET", "/api/v1/jobs", "mdk_other", xff("203.0.113.8")); a.status != 429 {
		t.Fatalf("X-Forwarded-For from an untrusted peer was believed: %d", a.status)
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for _, c := range []struct {
		remote    string
		forwarded []string
		trusted   []netip.Prefix
		want      string
	}{
		{"192.0.2.1:5000", []string{"198.51.100.9"}, nil, "192.0.2.1"},
		{"192.0.2.1:5000", []string{"198.51.100.9"}, trusted, "192.0.2.1"},
		{"10.0.0.2:5000", nil, trusted, "10.0.0.2"},
		{"10.0.0.2:5000", []string{"198.51.100.9"}, trusted, "198.51.100.9"},
		{"10.0.0.2:5000", []string{"6.6.6.6, 198.51.100.9, 10.0.0.3"}, trusted, "198.51.100.9"},
		{"10.0.0.2:5000", []string{"6.6.6.6", "198.51.100.9,10.0.0.3"}, trusted, "198.51.100.9"},
		{"10.0.0.2:5000", []string{"10.9.9.9, 10.0.0.3"}, trusted, "10.9.9.9"},
		{"10.0.0.2:5000", []string{"198.51.100.9:4711"}, trusted, "198.51.100.9"},
		{"10.0.0.2:5000", []string{"[2001:db9::1]:4711"}, trusted, "2001:db9::1"},
		{"[2001:db8::5]:80", []string{"::ffff:198.51.100.9"}, trusted, "198.51.100.9"},
		{"10.0.0.2:5000", []string{"198.51.100.9, garbage"}, trusted, "10.0.0.2"},
		{"[::ffff:10.0.0.2]:5000", []string{"198.51.100.9"}, trusted, "198.51.100.9"},
	} {
		if got := clientAddr(c.remote, c.forwarded, c.trusted); got != c.want {
			t.Errorf("clientAddr(%q, %q, %v) = %q, want %q", c.remote, c.forwarded, c.trusted, got, c.want)
		}
	}
}
