package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestInterruptSaysWhenThePauseFails: Ctrl-C's pause or cancel can be
// refused (here the job already ended); the user is told rather than left
// believing the job stopped.
func TestInterruptSaysWhenThePauseFails(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "MODELDOC_DB", "MODELDOC_ORG"} {
		t.Setenv(k, "")
	}
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "m.db")
	shop, err := filepath.Abs("../../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := Main(ctx, []string{"--db", db, "generate", shop, "--provider", "offline"}, io.Discard, &out); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, out.String())
	}
	var stderr bytes.Buffer
	a := &App{DB: db, Stdout: io.Discard, Stderr: &stderr}
	defer a.close()
	org, eng, err := a.orgEngine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.interrupt(ctx, eng, org.ID, 1, 1)
	a.interrupt(ctx, eng, org.ID, 1, 2)
	got := stderr.String()
	for _, want := range []string{"Job 1 was not paused: ", "modeldoc jobs pause 1", "Job 1 was not cancelled: ", "modeldoc jobs cancel 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got)
		}
	}
}
