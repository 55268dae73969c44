package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// Key identifies a provider key without holding it: a hash of the
// provider, the base URL and the API key, prefixed with the provider name
// so logs and the rate_limits table stay readable.
func Key(provider, baseURL, apiKey string) string {
	h := sha256.New()
	for _, s := range []string{provider, baseURL, apiKey} {
		h.Write([]byte(s))
		h.Write([]byte{0}) // so ("ab","c") and ("a","bc") differ
	}
	return provider + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Registry hands out one Limiter per provider key, so that every job in a
// process using a key shares its limit.
type Registry struct {
	newBucket func(key string) Bucket
	mu        sync.Mutex
	limiters  map[string]*Limiter
}

// NewRegistry returns a registry. newBucket makes the bucket behind a new
// key's limiter, e.g. a PGBucket to share limits between processes; nil
// means a MemoryBucket on the limiter's clock.
func NewRegistry(newBucket func(key string) Bucket) *Registry {
	return &Registry{newBucket: newBucket, limiters: map[string]*Limiter{}}
}

// Get returns key's limiter, creating it from cfg the first time. Later
// calls return the same limiter; when cfg names other non-zero ceilings
// than it has, the limiter takes them (the latest job's settings win).
func (r *Registry) Get(key string, cfg Config) *Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l, ok := r.limiters[key]; ok {
		if (cfg.RPM != 0 || cfg.TPM != 0) && (cfg.RPM != l.cfg.RPM || cfg.TPM != l.cfg.TPM) {
			l.SetLimits(cfg.RPM, cfg.TPM)
		}
		return l
	}
	if cfg.Bucket == nil && r.newBucket != nil {
		cfg.Bucket = r.newBucket(key)
	}
	l := New(cfg)
	r.limiters[key] = l
	return l
}
