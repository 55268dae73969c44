// Package secrets encrypts provider keys at rest with AES-256-GCM under a
// master key that never enters the database.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// EnvMasterKey names the environment variable holding the master key: 32
// bytes as 64 hex digits or standard base64.
const EnvMasterKey = "MODELDOC_SECRET_KEY"

// EMASTERKEY is the code of a stored key that does not open under the
// current master key. It is not EINTERNAL: the message says what to do,
// and the API shows EINTERNAL messages to nobody. Retrying cannot help.
const EMASTERKEY = "master_key_changed"

// Box seals and opens secrets under one master key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte master key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "The master key must be 32 bytes (64 hex digits or base64); got %d bytes.", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext with a fresh random nonce. additional binds the
// ciphertext to its owner (organization and provider), so a ciphertext
// copied to another row does not open.
func (b *Box) Seal(plaintext, additional []byte) (ciphertext, nonce []byte, err error) {
	nonce = make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	return b.aead.Seal(nil, nonce, plaintext, additional), nonce, nil
}

// Open decrypts what Seal produced.
func (b *Box) Open(ciphertext, nonce, additional []byte) ([]byte, error) {
	if len(nonce) != b.aead.NonceSize() {
		return nil, errors.New("secrets: bad nonce length")
	}
	out, err := b.aead.Open(nil, nonce, ciphertext, additional)
	if err != nil {
		return nil, modeldoc.Errorf(EMASTERKEY, "A stored provider key cannot be decrypted: the master key (%s or the key file) has changed since it was stored. Store the key again (PUT /api/v1/provider-keys/PROVIDER or `modeldoc keys set`), or start the server with the old master key.", EnvMasterKey)
	}
	return out, nil
}

// ParseKey reads a master key written as 64 hex digits or base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s must be 32 bytes written as 64 hex digits or base64 (try: openssl rand -hex 32).", EnvMasterKey)
}

// LoadMasterKey returns the master key from MODELDOC_SECRET_KEY or, when
// that is unset and keyFile is not empty, from keyFile, which is created
// with mode 0600 on first use. With neither, it says what to set.
func LoadMasterKey(keyFile string) ([]byte, error) {
	if v := os.Getenv(EnvMasterKey); v != "" {
		return ParseKey(v)
	}
	if keyFile == "" {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "Set %s (32 bytes, e.g. from `openssl rand -hex 32`) to store provider keys; on PostgreSQL every process must share it.", EnvMasterKey)
	}
	data, err := os.ReadFile(keyFile)
	if err == nil {
		return ParseKey(string(data))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process created it first
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, err
		}
		return ParseKey(string(data))
	}
	if err != nil {
		return nil, fmt.Errorf("create master key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		return nil, err
	}
	return key, f.Sync()
}

// KeyFileFor is the master key file beside a SQLite database file.
func KeyFileFor(sqlitePath string) string {
	if sqlitePath == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(sqlitePath), "secret.key")
}

// Mask shows enough of a key to recognise it and never enough to use it.
// It counts characters, not bytes: a cut inside a multi-byte character
// would leave invalid UTF-8, which PostgreSQL refuses to store.
func Mask(key string) string {
	rs := []rune(key)
	if len(rs) <= 8 {
		return strings.Repeat("•", len(rs))
	}
	prefix := string(rs[:3])
	if i := strings.LastIndexAny(string(rs[:8]), "-_"); i > 0 {
		prefix = string(rs[:8])[:i+1]
	}
	return prefix + "…" + string(rs[len(rs)-4:])
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidateKey checks a provider key's format before it is stored.
func ValidateKey(provider, key string) error {
	key = strings.TrimSpace(key)
	switch {
	case key == "":
		return modeldoc.Errorf(modeldoc.EINVALID, "The key is empty.")
	case strings.ContainsAny(key, " \t\r\n"):
		return modeldoc.Errorf(modeldoc.EINVALID, "The key contains whitespace: paste it without spaces or line breaks.")
	case !printableASCII(key):
		// Every provider's keys are printable ASCII; anything else was
		// picked up on the way (a typographic dash, a control character)
		// and would only be rejected by the provider later.
		return modeldoc.Errorf(modeldoc.EINVALID, "The key contains a character that is not printable ASCII: paste it exactly as the provider shows it.")
	case len(key) < 20 || len(key) > 512:
		return modeldoc.Errorf(modeldoc.EINVALID, "The key is %d characters long; %s keys are 20 to 512.", len(key), provider)
	}
	switch provider {
	case modeldoc.ProviderOpenAI:
		if !strings.HasPrefix(key, "sk-") {
			return modeldoc.Errorf(modeldoc.EINVALID, "OpenAI keys start with \"sk-\"; this one does not.")
		}
	case modeldoc.ProviderAnthropic:
		if !strings.HasPrefix(key, "sk-ant-") {
			return modeldoc.Errorf(modeldoc.EINVALID, "Anthropic keys start with \"sk-ant-\"; this one does not.")
		}
	default:
		return modeldoc.Errorf(modeldoc.EINVALID, "Unknown provider %q: keys can be stored for openai and anthropic.", provider)
	}
	return nil
}
