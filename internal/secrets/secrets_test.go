package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modeldoc/modeldoc"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	box, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	ct, nonce, err := box.Seal([]byte("sk-secret-value-1234567890"), []byte("org1/openai"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("secret")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	ct2, nonce2, _ := box.Seal([]byte("sk-secret-value-1234567890"), []byte("org1/openai"))
	if bytes.Equal(nonce, nonce2) || bytes.Equal(ct, ct2) {
		t.Fatal("two seals share a nonce or a ciphertext")
	}
	got, err := box.Open(ct, nonce, []byte("org1/openai"))
	if err != nil || string(got) != "sk-secret-value-1234567890" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := box.Open(ct, nonce, []byte("org2/openai")); err == nil {
		t.Fatal("a ciphertext opened under another organization's binding")
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(ct, nonce, []byte("org1/openai")); err == nil {
		t.Fatal("a ciphertext opened under another master key")
	}
}

func TestLoadMasterKeyCreatesFile0600(t *testing.T) {
	t.Setenv(EnvMasterKey, "")
	file := filepath.Join(t.TempDir(), "sub", "secret.key")
	k1, err := LoadMasterKey(file)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadMasterKey(file)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load returned another key (%v)", err)
	}
}

func TestLoadMasterKeyFromEnv(t *testing.T) {
	t.Setenv(EnvMasterKey, strings.Repeat("ab", 32))
	k, err := LoadMasterKey("")
	if err != nil || len(k) != 32 || k[0] != 0xab {
		t.Fatalf("got %x, %v", k, err)
	}
	t.Setenv(EnvMasterKey, "short")
	if _, err := LoadMasterKey(""); err == nil || !strings.Contains(err.Error(), "openssl rand -hex 32") {
		t.Fatalf("bad key error = %v", err)
	}
	t.Setenv(EnvMasterKey, "")
	if _, err := LoadMasterKey(""); err == nil {
		t.Fatal("no env and no file must be an error")
	}
}

func TestMaskAndValidate(t *testing.T) {
	key := "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
	m := Mask(key)
	if strings.Contains(m, "abcdefghij") || !strings.HasSuffix(m, "0123") || !strings.HasPrefix(m, "sk-") {
		t.Fatalf("Mask = %q", m)
	}
	for _, tc := range []struct {
		provider, key string
		ok            bool
	}{
		{"openai", key, true},
		{"openai", "pk-abcdefghijklmnopqrstuvwxyz", false},
		{"openai", "sk-short", false},
		{"openai", "sk-abc defghijklmnopqrstuvwxyz", false},
		{"anthropic", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz", true},
		{"anthropic", key, false},
		{"mistral", key, false},
	} {
		if err := ValidateKey(tc.provider, tc.key); (err == nil) != tc.ok {
			t.Errorf("ValidateKey(%s, %s) = %v, want ok=%v", tc.provider, tc.key, err, tc.ok)
		}
	}
}

// TestKeysArePrintableASCII: a key with a control character, a NUL or a
// non-ASCII letter (pasted from a rich-text page, say) is refused with a
// sentence that says so, before anything is stored.
func TestKeysArePrintableASCII(t *testing.T) {
	for _, key := range []string{
		"sk-abcdefghij\x00klmnopqrstuvwxyz",
		"sk-abcdefghij\x7fklmnopqrstuvwxyz",
		"sk-abcdefghij\x1bklmnopqrstuvwxyz",
		"sk-abcdéfghijklmnopqrstuvwxyz",
		"sk-abcdefghijklmnopqrstuvwxyz\u2026",
		"sk-abcdefghij\xffklmnopqrstuvwxyz",
	} {
		err := ValidateKey("openai", key)
		if modeldoc.ErrorCode(err) != modeldoc.EINVALID || !strings.Contains(err.Error(), "printable ASCII") {
			t.Errorf("ValidateKey(%q) = %v, want an invalid-key error about printable ASCII", key, err)
		}
	}
}

// TestMaskCutsByCharacter: Mask never splits a multi-byte character, so
// its answer is always valid UTF-8 (PostgreSQL refuses anything else).
func TestMaskCutsByCharacter(t *testing.T) {
	for _, key := range []string{
		"sk-proj-abcdefghijklmnop€€€",
		"€€€-abcdefghijklmnop",
		"é-é",
		"ééééééééé",
		"sk€abcdefghijklmnop",
	} {
		m := Mask(key)
		if !utf8.ValidString(m) {
			t.Errorf("Mask(%q) = %q: not valid UTF-8", key, m)
		}
	}
	if m := Mask("sk-proj-abcdefghijklmnop€€€€"); !strings.HasSuffix(m, "€€€€") {
		t.Errorf("Mask keeps the last four characters, got %q", m)
	}
	if m := Mask("éééé"); m != "••••" {
		t.Errorf("a short key is one bullet a character, got %q", m)
	}
}

// TestOpenUnderAnotherMasterKeySaysSo: the error names what happened and
// what to do, under its own code rather than as an internal error (whose
// message the API hides).
func TestOpenUnderAnotherMasterKeySaysSo(t *testing.T) {
	old, _ := New(bytes.Repeat([]byte{1}, 32))
	ct, nonce, err := old.Seal([]byte("sk-secret-value-1234567890"), []byte("b"))
	if err != nil {
		t.Fatal(err)
	}
	now, _ := New(bytes.Repeat([]byte{2}, 32))
	_, err = now.Open(ct, nonce, []byte("b"))
	if modeldoc.ErrorCode(err) != EMASTERKEY || !strings.Contains(modeldoc.ErrorMessage(err), "master key") {
		t.Fatalf("Open under another master key: code %q, %v", modeldoc.ErrorCode(err), err)
	}
}
