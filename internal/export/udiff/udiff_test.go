package udiff

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGolden(t *testing.T) {
	a := "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"
	b := "one\ntwo\nthree\nfour\nfive\nsix\nSEVEN\neight\nnine\nten\neleven\n"
	want := `--- a/f
+++ b/f
@@ -4,7 +4,8 @@
 four
 five
 six
-seven
+SEVEN
 eight
 nine
 ten
+eleven
`
	if got := Unified("a/f", "b/f", []byte(a), []byte(b), 3); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := Unified("a", "b", []byte(a), []byte(a), 3); got != "" {
		t.Errorf("equal inputs: %q", got)
	}
	created := Unified("/dev/null", "b/new.yml", nil, []byte("x\ny"), 3)
	if created != "--- /dev/null\n+++ b/new.yml\n@@ -0,0 +1,2 @@\n+x\n+y\n\\ No newline at end of file\n" {
		t.Errorf("created: %q", created)
	}
}

// Random edits must give diffs that patch(1) applies exactly, and no
// longer than the edits need.
func TestPatchApplies(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("patch(1) not installed")
	}
	rng := rand.New(rand.NewSource(1))
	dir := t.TempDir()
	words := []string{"a", "b", "c", "d", "e", "f"}
	for iter := 0; iter < 200; iter++ {
		var x []string
		for i := rng.Intn(40); i > 0; i-- {
			x = append(x, words[rng.Intn(len(words))])
		}
		y := append([]string(nil), x...)
		for e := rng.Intn(6); e > 0; e-- {
			p := 0
			if len(y) > 0 {
				p = rng.Intn(len(y))
			}
			switch rng.Intn(3) {
			case 0:
				y = append(y[:p], append([]string{"new"}, y[p:]...)...)
			case 1:
				if len(y) > 0 {
					y = append(y[:p], y[p+1:]...)
				}
			case 2:
				if len(y) > 0 {
					y[p] = "changed"
				}
			}
		}
		as, bs := join(x, rng.Intn(4) != 0), join(y, rng.Intn(4) != 0)
		d := Unified("a/f", "b/f", []byte(as), []byte(bs), rng.Intn(4))
		if as == bs {
			if d != "" {
				t.Fatalf("equal: %q", d)
			}
			continue
		}
		f := filepath.Join(dir, "f")
		os.WriteFile(f, []byte(as), 0o644)
		cmd := exec.Command("patch", "-s", "-p1", "--no-backup-if-mismatch", "-d", dir)
		cmd.Stdin = strings.NewReader(d)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("patch failed: %v %s\nA=%q\nB=%q\ndiff:\n%s", err, out, as, bs, d)
		}
		got, _ := os.ReadFile(f)
		if string(got) != bs {
			t.Fatalf("patched file differs\nA=%q\nB=%q\ngot=%q\ndiff:\n%s", as, bs, got, d)
		}
		// Myers finds a shortest script: exactly n+m-2*LCS changed lines.
		xs, ys := splitLines(as), splitLines(bs)
		edits := 0
		for _, o := range diff(xs, ys) {
			if o.kind != eq {
				edits++
			}
		}
		if want := len(xs) + len(ys) - 2*lcs(xs, ys); edits != want {
			t.Fatalf("%d edits, shortest is %d\nA=%q\nB=%q", edits, want, as, bs)
		}
	}
}

func join(lines []string, finalNL bool) string {
	s := strings.Join(lines, "\n")
	if finalNL && s != "" {
		s += "\n"
	}
	return s
}

func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}
