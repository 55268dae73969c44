package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
