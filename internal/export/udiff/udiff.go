// Package udiff writes unified diffs (the `--- a/ +++ b/ @@` format that
// patch and git apply read) from a Myers shortest edit script over lines.
package udiff

import (
	"fmt"
	"strings"
)

// Unified returns the unified diff from a to b with context lines around
// each change, "" when they are equal. Names go on the --- and +++ lines
// as given (use "/dev/null" for a created or deleted file).
func Unified(aName, bName string, a, b []byte, context int) string {
	if string(a) == string(b) {
		return ""
	}
	x, y := splitLines(string(a)), splitLines(string(b))
	ops := diff(x, y)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	// Group the script into hunks: runs of changes with at most 2*context
	// equal lines between them.
	i := 0
	for i < len(ops) {
		if ops[i].kind == eq {
			i++
			continue
		}
		start := max(i-context, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != eq {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == eq {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(end+context, run)
				break
			}
			end = run
		}
		writeHunk(&out, ops[start:end], x, y)
		i = end
	}
	return out.String()
}

type kind int

const (
	eq kind = iota
	del
	ins
)

// op is one line of the edit script: ai/bi are the line indexes in a and b
// (the one that does not apply is where the line would be).
type op struct {
	kind   kind
	ai, bi int
}

func writeHunk(out *strings.Builder, ops []op, x, y []string) {
	var na, nb int
	for _, o := range ops {
		if o.kind != ins {
			na++
		}
		if o.kind != del {
			nb++
		}
	}
	sa, sb := ops[0].ai+1, ops[0].bi+1
	if na == 0 {
		sa--
	}
	if nb == 0 {
		sb--
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", rangeStr(sa, na), rangeStr(sb, nb))
	for _, o := range ops {
		switch o.kind {
		case eq:
			writeLine(out, ' ', x[o.ai])
		case del:
			writeLine(out, '-', x[o.ai])
		case ins:
			writeLine(out, '+', y[o.bi])
		}
	}
}

func rangeStr(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

func writeLine(out *strings.Builder, prefix byte, line string) {
	out.WriteByte(prefix)
	out.WriteString(line)
	if !strings.HasSuffix(line, "\n") {
		out.WriteString("\n\\ No newline at end of file\n")
	}
}

// splitLines splits s after each "\n", keeping the terminators so that a
// missing final newline is itself a difference.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// diff is Myers' O(ND) algorithm: it finds the furthest-reaching path on
// each diagonal for D = 0, 1, ... and walks the saved frontiers back.
func diff(x, y []string) []op {
	// Common prefix and suffix cost nothing and shrink the search.
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	a, b := x[pre:len(x)-suf], y[pre:len(y)-suf]
	n, m := len(a), len(b)
	maxD := n + m
	offset := maxD + 1
	v := make([]int, 2*maxD+3)
	// trace[d] is the frontier before step d.
	var trace [][]int
search:
	for d := 0; d <= maxD; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
				i = v[offset+k+1] // down: an insertion
			} else {
				i = v[offset+k-1] + 1 // right: a deletion
			}
			j := i - k
			for i < n && j < m && a[i] == b[j] {
				i++
				j++
			}
			v[offset+k] = i
			if i >= n && j >= m {
				break search
			}
		}
	}
	var rev []op
	i, j := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		vd := trace[d]
		k := i - j
		pk := k - 1
		if k == -d || (k != d && vd[offset+k-1] < vd[offset+k+1]) {
			pk = k + 1
		}
		pi := vd[offset+pk]
		pj := pi - pk
		for i > pi && j > pj {
			i--
			j--
			rev = append(rev, op{eq, pre + i, pre + j})
		}
		if d == 0 {
			break
		}
		if i == pi {
			j--
			rev = append(rev, op{ins, pre + i, pre + j})
		} else {
			i--
			rev = append(rev, op{del, pre + i, pre + j})
		}
	}
	ops := make([]op, 0, pre+len(rev)+suf)
	for k := 0; k < pre; k++ {
		ops = append(ops, op{eq, k, k})
	}
	for k := len(rev) - 1; k >= 0; k-- {
		ops = append(ops, rev[k])
	}
	for k := 0; k < suf; k++ {
		ops = append(ops, op{eq, len(x) - suf + k, len(y) - suf + k})
	}
	return ops
}
