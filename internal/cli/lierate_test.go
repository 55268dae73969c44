package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// fake-llm --lie-rate is a fraction like the other fault rates.
func TestFakeLLMLieRateIsChecked(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	r := run(t, db, "fake-llm", "--addr", "127.0.0.1:0", "--lie-rate", "1.5")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "--lie-rate must be a fraction between 0 and 1") {
		t.Errorf("--lie-rate 1.5: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, db, "fake-llm", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--lie-rate") {
		t.Errorf("fake-llm --help does not document --lie-rate: %s", r.stdout)
	}
}
