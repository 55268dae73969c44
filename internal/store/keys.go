package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// ProviderKeyInfo describes an organization's stored provider key without
// the key: Masked is what a person may see ("sk-…3xQ").
type ProviderKeyInfo struct {
	Provider  string    `json:"provider"`
	Masked    string    `json:"masked"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PutProviderKey stores or replaces the organization's key for provider.
// The store sees only ciphertext: encryption happens before it.
func (s *Store) PutProviderKey(ctx context.Context, orgID int64, provider string, ciphertext, nonce []byte, masked string) error {
	provider = strings.ToLower(strings.TrimSpace(provider))
	if provider == "" {
		return modeldoc.Errorf(modeldoc.EINVALID, "Name the provider the key is for (openai, anthropic, ...).")
	}
	if len(ciphertext) == 0 || len(nonce) == 0 {
		return modeldoc.Errorf(modeldoc.EINVALID, "The key for %s is empty.", provider)
	}
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM organizations WHERE id = ?", orgID).Scan(&n); err != nil {
			return internal("put provider key", err)
		}
		if n == 0 {
			return modeldoc.Errorf(modeldoc.ENOTFOUND, "No organization with id %d.", orgID)
		}
		now := s.now()
		_, err := s.exec(ctx, tx, `INSERT INTO provider_keys (org_id, provider, ciphertext, nonce, masked, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, provider) DO UPDATE SET ciphertext = excluded.ciphertext, nonce = excluded.nonce,
				masked = excluded.masked, updated_at = excluded.updated_at`,
			orgID, provider, ciphertext, nonce, masked, now, now)
		return internal("put provider key", err)
	})
}

// GetProviderKey returns the ciphertext and nonce of the organization's key
// for provider, or ENOTFOUND.
func (s *Store) GetProviderKey(ctx context.Context, orgID int64, provider string) (ciphertext, nonce []byte, err error) {
	provider = strings.ToLower(strings.TrimSpace(provider))
	err = s.queryRow(ctx, s.read, "SELECT ciphertext, nonce FROM provider_keys WHERE org_id = ? AND provider = ?", orgID, provider).Scan(&ciphertext, &nonce)
	if isNoRows(err) {
		return nil, nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No API key configured for provider %s in this organization.", provider)
	}
	if err != nil {
		return nil, nil, internal("get provider key", err)
	}
	return ciphertext, nonce, nil
}

// ListProviderKeys returns the organization's keys, masked, by provider.
func (s *Store) ListProviderKeys(ctx context.Context, orgID int64) ([]ProviderKeyInfo, error) {
	rows, err := s.query(ctx, s.read, "SELECT provider, masked, created_at, updated_at FROM provider_keys WHERE org_id = ? ORDER BY provider", orgID)
	if err != nil {
		return nil, internal("list provider keys", err)
	}
	defer rows.Close()
	var out []ProviderKeyInfo
	for rows.Next() {
		var k ProviderKeyInfo
		var created, updated sqldialect.Time
		if err := rows.Scan(&k.Provider, &k.Masked, &created, &updated); err != nil {
			return nil, internal("list provider keys", err)
		}
		k.CreatedAt, k.UpdatedAt = created.Time, updated.Time
		out = append(out, k)
	}
	return out, internal("list provider keys", rows.Err())
}

// DeleteProviderKey removes the organization's key for provider, or
// answers ENOTFOUND when it has none.
func (s *Store) DeleteProviderKey(ctx context.Context, orgID int64, provider string) error {
	provider = strings.ToLower(strings.TrimSpace(provider))
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM provider_keys WHERE org_id = ? AND provider = ?", orgID, provider)
		if err != nil {
			return internal("delete provider key", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return modeldoc.Errorf(modeldoc.ENOTFOUND, "No API key configured for provider %s in this organization.", provider)
		}
		return nil
	})
}

// KeyCheck returns the sealed check value of the master key, or ENOTFOUND
// when none is stored yet.
func (s *Store) KeyCheck(ctx context.Context) (ciphertext, nonce []byte, err error) {
	err = s.queryRow(ctx, s.read, "SELECT ciphertext, nonce FROM provider_key_check WHERE id = 1").Scan(&ciphertext, &nonce)
	if isNoRows(err) {
		return nil, nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No master key check value is stored.")
	}
	if err != nil {
		return nil, nil, internal("read key check", err)
	}
	return ciphertext, nonce, nil
}

// PutKeyCheck stores the check value of the master key. With replace false
// it keeps a value another process stored first.
func (s *Store) PutKeyCheck(ctx context.Context, ciphertext, nonce []byte, replace bool) error {
	q := `INSERT INTO provider_key_check (id, ciphertext, nonce, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING`
	if replace {
		q = `INSERT INTO provider_key_check (id, ciphertext, nonce, created_at) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET ciphertext = excluded.ciphertext, nonce = excluded.nonce, created_at = excluded.created_at`
	}
	_, err := s.exec(ctx, s.write, q, ciphertext, nonce, s.now())
	return internal("put key check", err)
}

// AnyProviderKey returns one stored provider key of any organization (its
// organization, provider, ciphertext and nonce), or ENOTFOUND when no key
// is stored: a database whose keys predate the check value is verified
// against one of them.
func (s *Store) AnyProviderKey(ctx context.Context) (orgID int64, provider string, ciphertext, nonce []byte, err error) {
	err = s.queryRow(ctx, s.read, "SELECT org_id, provider, ciphertext, nonce FROM provider_keys ORDER BY org_id, provider LIMIT 1").
		Scan(&orgID, &provider, &ciphertext, &nonce)
	if isNoRows(err) {
		return 0, "", nil, nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No provider key is stored.")
	}
	if err != nil {
		return 0, "", nil, nil, internal("read a provider key", err)
	}
	return orgID, provider, ciphertext, nonce, nil
}
