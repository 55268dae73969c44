package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "90d": 90 * 24 * time.Hour, "1.5d": 36 * time.Hour, "36h": 36 * time.Hour} {
		if got, err := parseRetention(in); err != nil || got != want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"90", "d", "-3d", "NaNd", "Infd", "10m", "ninety days", "1e9d"} {
		if got, err := parseRetention(in); err == nil {
			t.Errorf("parseRetention(%q) = %v, want an error", in, got)
		}
	}
}

// TestServeRefusesBadRetention: a bad --retain-logs stops serve before it
// opens anything, with exit code 2 and a message that says what to write.
func TestServeRefusesBadRetention(t *testing.T) {
	var out, errb bytes.Buffer
	db := filepath.Join(t.TempDir(), "m.db")
	code := Main(context.Background(), []string{"--db", db, "serve", "--addr", "127.0.0.1:0", "--retain-logs", "90days"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "90d") {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
}
