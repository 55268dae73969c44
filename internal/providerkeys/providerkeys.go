// Package providerkeys stores each organization's provider API keys
// encrypted: the store sees only ciphertext, a nonce and a masked form.
package providerkeys

import (
	"context"
	"fmt"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/secrets"
	"github.com/modeldoc/modeldoc/internal/store"
)

// Ring reads and writes provider keys for organizations.
type Ring struct {
	st  *store.Store
	box *secrets.Box
}

// Open returns a Ring whose master key comes from MODELDOC_SECRET_KEY or,
// on SQLite, from a 0600 key file beside the database file.
func Open(st *store.Store) (*Ring, error) {
	key, err := secrets.LoadMasterKey(secrets.KeyFileFor(st.Path()))
	if err != nil {
		return nil, err
	}
	box, err := secrets.New(key)
	if err != nil {
		return nil, err
	}
	return &Ring{st: st, box: box}, nil
}

// binding ties a ciphertext to its row: a key copied to another
// organization or provider does not decrypt.
func binding(orgID int64, provider string) []byte {
	return fmt.Appendf(nil, "modeldoc/provider-key/%d/%s", orgID, provider)
}

// Put validates key's format and stores it for the organization, replacing
// any earlier one. It returns the masked form.
func (r *Ring) Put(ctx context.Context, orgID int64, provider, key string) (string, error) {
	provider = strings.ToLower(strings.TrimSpace(provider))
	key = strings.TrimSpace(key)
	if err := secrets.ValidateKey(provider, key); err != nil {
		return "", err
	}
	ct, nonce, err := r.box.Seal([]byte(key), binding(orgID, provider))
	if err != nil {
		return "", err
	}
	masked := secrets.Mask(key)
	return masked, r.st.PutProviderKey(ctx, orgID, provider, ct, nonce, masked)
}

// Get returns the organization's key for provider, or ENOTFOUND.
func (r *Ring) Get(ctx context.Context, orgID int64, provider string) (string, error) {
	provider = strings.ToLower(strings.TrimSpace(provider))
	ct, nonce, err := r.st.GetProviderKey(ctx, orgID, provider)
	if err != nil {
		return "", err
	}
	plain, err := r.box.Open(ct, nonce, binding(orgID, provider))
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// List returns the organization's keys, masked.
func (r *Ring) List(ctx context.Context, orgID int64) ([]store.ProviderKeyInfo, error) {
	return r.st.ListProviderKeys(ctx, orgID)
}

// Delete removes the organization's key for provider, or ENOTFOUND.
func (r *Ring) Delete(ctx context.Context, orgID int64, provider string) error {
	return r.st.DeleteProviderKey(ctx, orgID, provider)
}

// IsNotFound reports whether err means "no key stored".
func IsNotFound(err error) bool { return modeldoc.ErrorCode(err) == modeldoc.ENOTFOUND }
