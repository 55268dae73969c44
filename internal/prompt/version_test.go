package prompt

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVersionBumped fails when templates or schemas change while Version
// stays the same: stored documentation records Version, and a stale
// Version would hide that documentation was written from other prompts.
// -update records the new fingerprint only together with a new Version.
func TestVersionBumped(t *testing.T) {
	h := sha256.New()
	for _, fsys := range []fs.FS{templateFS, schemaFS} {
		var names []string
		fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				names = append(names, p)
			}
			return nil
		})
		slices.Sort(names)
		for _, n := range names {
			b, _ := fs.ReadFile(fsys, n)
			h.Write([]byte(n + "\x00"))
			h.Write(b)
			h.Write([]byte{0})
		}
	}
	got := Version + " " + hex.EncodeToString(h.Sum(nil))
	path := filepath.Join("testdata", "version.txt")
	b, err := os.ReadFile(path)
	recorded := strings.TrimSpace(string(b))
	if err != nil && !*update {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if recorded == got {
		return
	}
	recVersion, _, _ := strings.Cut(recorded, " ")
	if recorded != "" && recVersion == Version {
		t.Fatalf("templates or schemas changed but prompt.Version is still %q: bump it, then run go test -update", Version)
	}
	if !*update {
		t.Fatalf("prompt.Version is %q but %s records %q: run go test -update", Version, path, recorded)
	}
	if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
