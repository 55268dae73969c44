package api

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// TestUTF8ReaderAcrossReads: a multi-byte rune cut between two reads is
// valid, a bad byte anywhere is not, and a rune cut short by the end of the
// body is not either.
func TestUTF8ReaderAcrossReads(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"ascii", []byte(`{"a":"b"}`), true},
		{"multibyte", []byte(`{"name":"Zoë 東京 🎉"}`), true},
		{"bad byte", []byte("{\"a\":\"\xff\"}"), false},
		{"cut at the end", []byte("{\"a\":\"\xe6\x9d"), false},
		{"overlong", []byte("\xc0\xaf"), false},
	} {
		// One byte per read puts every rune boundary between two reads.
		u := &utf8Reader{r: iotest.OneByteReader(bytes.NewReader(c.in))}
		got, err := io.ReadAll(u)
		if c.ok && (err != nil || !bytes.Equal(got, c.in) || u.bad) {
			t.Errorf("%s: got %q, %v, bad=%v; want the bytes back", c.name, got, err, u.bad)
		}
		if !c.ok && (err == nil || !u.bad) {
			t.Errorf("%s: read %q without an error; want errNotUTF8", c.name, got)
		}
	}
}
