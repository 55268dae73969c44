package engine_test

import (
	"context"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/providerkeys"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestConcurrentKeyCalls is for -race: the workers of a server ask for
// keys at the same time, and the key ring behind Key is built on the first
// call. Both callers must read the organization's stored key.
func TestConcurrentKeyCalls(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		org, err := st.EnsureDefaultOrganization(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ring, err := providerkeys.Open(st)
		if err != nil {
			t.Fatal(err)
		}
		const key = "sk-concurrent-key-0123456789"
		if _, err := ring.Put(ctx, org.ID, "openai", key); err != nil {
			t.Fatal(err)
		}
		eng, err := engine.New(ctx, engine.Config{Store: st, NoEnvKeys: true})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		var wg sync.WaitGroup
		got := make([]string, 8)
		errs := make([]error, len(got))
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = eng.Key(ctx, org.ID, "openai")
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i] != key {
				t.Errorf("call %d: key %q, err %v", i, got[i], errs[i])
			}
		}
	})
}
