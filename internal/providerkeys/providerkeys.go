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

// VerifyStore is Verify for a process that may run without a master key
// (a worker whose jobs use keys from its environment): with no key
// stored, a master key that cannot be loaded is no fault yet.
func VerifyStore(ctx context.Context, st *store.Store) error {
	r, err := Open(st)
	if err != nil {
		if _, _, _, _, e := st.AnyProviderKey(ctx); IsNotFound(e) {
			return nil
		}
		return err
	}
	return r.Verify(ctx)
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
	// A key sealed under another master key than the stored ones would
	// lock out one of the two sets.
	if err := r.Verify(ctx); err != nil {
		return "", err
	}
	masked := secrets.Mask(key)
	if err := r.st.PutProviderKey(ctx, orgID, provider, ct, nonce, masked); err != nil {
		return "", err
	}
	return masked, r.writeCheck(ctx, false)
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

// checkPlaintext is sealed under the master key as the store's check
// value: opening it tells whether this process has the key the provider
// keys were stored with.
var checkPlaintext = []byte("modeldoc master key check v1")

var checkBinding = []byte("modeldoc/master-key-check")

// Verify tells, when a process starts, whether its master key is the one
// the stored provider keys were sealed with; a wrong key would otherwise
// fail every job as auth_failed. The check value is written by the first
// Put or, for a database whose keys predate it, once a stored key opens.
// A mismatch with no key stored costs nothing, so the check value is
// then replaced.
func (r *Ring) Verify(ctx context.Context) error {
	ct, nonce, err := r.st.KeyCheck(ctx)
	switch {
	case err == nil:
		if _, err := r.box.Open(ct, nonce, checkBinding); err == nil {
			return nil
		}
		if _, _, _, _, err := r.st.AnyProviderKey(ctx); IsNotFound(err) {
			return r.writeCheck(ctx, true)
		} else if err != nil {
			return err
		}
		return wrongKey()
	case !IsNotFound(err):
		return err
	}
	orgID, provider, ct, nonce, err := r.st.AnyProviderKey(ctx)
	if IsNotFound(err) {
		return nil // nothing sealed yet: the first Put writes the check value
	}
	if err != nil {
		return err
	}
	if _, err := r.box.Open(ct, nonce, binding(orgID, provider)); err != nil {
		return wrongKey()
	}
	return r.writeCheck(ctx, false)
}

func (r *Ring) writeCheck(ctx context.Context, replace bool) error {
	ct, nonce, err := r.box.Seal(checkPlaintext, checkBinding)
	if err != nil {
		return err
	}
	return r.st.PutKeyCheck(ctx, ct, nonce, replace)
}

func wrongKey() error {
	return modeldoc.Errorf(modeldoc.EINVALID, "The master key (%s, or on SQLite the secret.key file beside the database) is not the one the stored provider keys were encrypted with, so every job would fail to authenticate. Start with the original key; if it is lost, delete the stored keys and store them again under this one (modeldoc keys remove PROVIDER, then modeldoc keys set PROVIDER, or the API's /api/v1/provider-keys).", secrets.EnvMasterKey)
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
