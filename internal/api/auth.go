package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc"
)

// authenticate reads the bearer token, throttles its client and returns
// who the request acts as. A request without a token is counted against
// its address. A request with one is counted against the token (so that
// a flood with one token costs no database read), then the token is looked
// up, and only a failure is counted against the address: guessing tokens
// is throttled, while a valid token is never refused for what other
// clients behind the same address (a proxy, a NAT) did.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (*principal, error) {
	raw, hasBearer := bearer(r)
	if !hasBearer {
		if err := a.throttle(w, "ip:"+a.clientIP(r)); err != nil {
			return nil, err
		}
		return nil, errorf(modeldoc.EUNAUTHORIZED, "Send an API token as `Authorization: Bearer TOKEN`. An admin creates one with `modeldoc tokens create --org NAME --role admin|member`.")
	}
	sum := sha256.Sum256([]byte(raw))
	if err := a.throttle(w, "tok:"+hex.EncodeToString(sum[:12])); err != nil {
		return nil, err
	}
	tok, err := a.st.AuthenticateToken(r.Context(), raw)
	if err != nil {
		if modeldoc.ErrorCode(err) == modeldoc.EUNAUTHORIZED {
			if terr := a.throttle(w, "fail:"+a.clientIP(r)); terr != nil {
				return nil, terr
			}
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

// clientIP is the address a request is throttled by: its TCP peer, or,
// when that peer is a trusted proxy, the client it names in
// X-Forwarded-For.
func (a *API) clientIP(r *http.Request) string {
	return clientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), a.cfg.TrustedProxies)
}

// clientAddr walks X-Forwarded-For from the nearest hop outwards and
// stops at the first address that is not a trusted proxy: each entry was
// written by the hop to its right, so an entry is believable only while
// every hop to its right is trusted. Anything a client wrote itself lies
// further left, so a client cannot pick its own bucket. Without trusted
// proxies the header is ignored: anyone can send it.
func clientAddr(remoteAddr string, forwarded []string, trusted []netip.Prefix) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	client, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(client, trusted) {
		return host
	}
	var hops []string
	for _, v := range forwarded {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			// A trusted proxy wrote something that is not an address:
			// the last address it vouched for is all we know.
			break
		}
		client = hop
		if !isTrusted(hop, trusted) {
			break
		}
	}
	return client.String()
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port ("192.0.2.1:4711", "[2001:db8::1]:4711") as some proxies write it.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
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
