// A line diff by longest common subsequence. Documentation versions are a
// few hundred lines at most, so the O(n·m) table is small; beyond a limit
// the common prefix and suffix are trimmed first, which keeps typical
// regenerations (a few changed paragraphs) cheap.

export function diffLines(a, b) {
  const A = a.split('\n');
  const B = b.split('\n');
  let pre = 0;
  while (pre < A.length && pre < B.length && A[pre] === B[pre]) pre++;
  let suf = 0;
  while (suf < A.length - pre && suf < B.length - pre && A[A.length - 1 - suf] === B[B.length - 1 - suf]) suf++;
  const a2 = A.slice(pre, A.length - suf);
  const b2 = B.slice(pre, B.length - suf);
  const out = A.slice(0, pre).map((t) => ({ op: ' ', text: t }));
  const n = a2.length;
  const m = b2.length;
  if (n * m > 4e6) {
    // Too large to align line by line: show it as a replacement.
    a2.forEach((t) => out.push({ op: '-', text: t }));
    b2.forEach((t) => out.push({ op: '+', text: t }));
  } else {
    // lcs[i][j] = length of the LCS of a2[i:] and b2[j:].
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i][j] = a2[i] === b2[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (a2[i] === b2[j]) {
        out.push({ op: ' ', text: a2[i] });
        i++;
        j++;
      } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
        out.push({ op: '-', text: a2[i++] });
      } else {
        out.push({ op: '+', text: b2[j++] });
      }
    }
    while (i < n) out.push({ op: '-', text: a2[i++] });
    while (j < m) out.push({ op: '+', text: b2[j++] });
  }
  A.slice(A.length - suf).forEach((t) => out.push({ op: ' ', text: t }));
  return out;
}
