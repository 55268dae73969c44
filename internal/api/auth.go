package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc"
)

// authenticate reads the bearer token, throttles its client and returns
// who the request acts as. Throttling comes first so that a flood costs
// no database reads: a request with a token is counted against the token,
// one without against its IP address, and failed authentications also
// against the IP address, so that guessing tokens is throttled too.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (*principal, error) {
	ip := clientIP(r)
	raw, hasBearer := bearer(r)
	key := "ip:" + ip
	if hasBearer {
		sum := sha256.Sum256([]byte(raw))
		key = "tok:" + hex.EncodeToString(sum[:12])
	}
	if err := a.throttle(w, key); err != nil {
		return nil, err
	}
	if !hasBearer {
		return nil, errorf(modeldoc.EUNAUTHORIZED, "Send an API token as `Authorization: Bearer TOKEN`. An admin creates one with `modeldoc tokens create --org NAME --role admin|member`.")
	}
	if a.limiter != nil && a.limiter.empty("fail:"+ip) {
		return nil, a.throttle(w, "fail:"+ip)
	}
	tok, err := a.st.AuthenticateToken(r.Context(), raw)
	if err != nil {
		if modeldoc.ErrorCode(err) == modeldoc.EUNAUTHORIZED && a.limiter != nil {
			a.limiter.allow("fail:" + ip)
		}
		return nil, err
	}
	return &principal{tokenID: tok.ID, orgID: tok.OrgID, name: tok.Name, role: tok.Role}, nil
}

// throttle takes a token from key's bucket or answers rate_limited with a
// Retry-After header.
func (a *API) throttle(w http.ResponseWriter, key string) error {
	if a.limiter == nil {
		return nil
	}
	ok, wait := a.limiter.take(key)
	if ok {
		return nil
	}
	if a.metrics != nil {
		a.metrics.Throttled()
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	return errorf(codeRateLimited, fmt.Sprintf("Too many requests from this client: slow down and retry in %d s.", secs))
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// clientIP is the peer's address. X-Forwarded-For is not trusted: anyone
// can send it, and trusting it would let a client pick its own bucket.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a set of token buckets keyed by client.
type limiter struct {
	rate  float64 // tokens a second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	level float64
	at    time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}, swept: now()}
}

// get returns key's bucket refilled to now. The caller holds mu.
func (l *limiter) get(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		b = &bucket{level: l.burst, at: now}
		l.buckets[key] = b
	}
	b.level = math.Min(l.burst, b.level+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	return b
}

// take spends one token of key's bucket, or reports how long until one
// is there.
func (l *limiter) take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b := l.get(key, now)
	if b.level >= 1 {
		b.level--
		return true, 0
	}
	return false, time.Duration((1 - b.level) / l.rate * float64(time.Second))
}

func (l *limiter) allow(key string) bool {
	ok, _ := l.take(key)
	return ok
}

// empty reports whether key's bucket has no token, without spending one.
func (l *limiter) empty(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.get(key, l.now()).level < 1
}

// sweep drops buckets that have refilled completely: they hold no state a
// new bucket would not. It runs at most once a minute. The caller holds mu.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.at) >= full {
			delete(l.buckets, k)
		}
	}
}
