package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/cli"
)

// lockedBuffer is a buffer the server's goroutines and the test may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeRefusesABadTrustedProxy(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	r := run(t, db, "serve", "--addr", "127.0.0.1:0", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "proxy.internal")
	if r.code != 2 || !strings.Contains(r.stderr, "--trusted-proxy") || !strings.Contains(r.stderr, "proxy.internal") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestServeTrustedProxy runs `serve --trusted-proxy` and shows that the
// flag reaches the API: behind the trusted peer, two clients named by
// X-Forwarded-For have separate failure buckets.
func TestServeTrustedProxy(t *testing.T) {
	offlineEnv(t)
	t.Setenv("MODELDOC_SECRET_KEY", "")
	db := filepath.Join(t.TempDir(), "m.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- cli.Main(ctx, []string{"--db", db, "serve", "--addr", addr, "--rate-limit", "0.5", "--rate-burst", "5", "--trusted-proxy", "127.0.0.0/8"}, &out, &stderr)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("serve did not stop")
		}
	}()
	base := "http://" + addr
	get := func(token, forwarded string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/jobs", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Forwarded-For", forwarded)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	for deadline := time.Now().Add(30 * time.Second); get("mdk_warmup", "198.51.100.1") != 401; {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer within 30 s: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	throttled := false
	for i := 0; i < 100 && !throttled; i++ {
		throttled = get(fmt.Sprintf("mdk_guess%d", i), "203.0.113.7") == 429
	}
	if !throttled {
		t.Fatal("a flood of bad tokens was never throttled")
	}
	if code := get("mdk_other", "203.0.113.8"); code != 401 {
		t.Fatalf("another client behind the trusted proxy: %d, want 401", code)
	}
}
