package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// Roles of an API token.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// TokenPrefix starts every API token, so that a leaked one is recognizable
// (secret scanners key on prefixes).
const TokenPrefix = "mdk_"

// Token is an API token as stored: never its plaintext.
type Token struct {
	ID         int64      `json:"id"`
	OrgID      int64      `json:"org_id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// lastUsedGranularity bounds how often authentication writes last_used_at:
// an API under load must not turn every read into a write.
const lastUsedGranularity = time.Minute

func hashToken(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a token for the organization and returns its plaintext,
// which is shown once and never stored. role is "admin" or "member".
func (s *Store) CreateToken(ctx context.Context, orgID int64, name, role string) (string, *Token, error) {
	if role != RoleAdmin && role != RoleMember {
		return "", nil, modeldoc.Errorf(modeldoc.EINVALID, "Unknown role %q: choose admin or member.", role)
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, internal("create token: random", err)
	}
	plaintext := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	tok := &Token{OrgID: orgID, Name: strings.TrimSpace(name), Role: role, CreatedAt: s.now()}
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM organizations WHERE id = ?", orgID).Scan(&n); err != nil {
			return internal("create token", err)
		}
		if n == 0 {
			return modeldoc.Errorf(modeldoc.ENOTFOUND, "No organization with id %d.", orgID)
		}
		return internal("create token", s.queryRow(ctx, tx,
			"INSERT INTO api_tokens (org_id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
			orgID, tok.Name, role, hashToken(plaintext), tok.CreatedAt).Scan(&tok.ID))
	})
	if err != nil {
		return "", nil, err
	}
	return plaintext, tok, nil
}

const tokenCols = "id, org_id, name, role, created_at, last_used_at, revoked_at"

func scanToken(r scanner) (*Token, error) {
	var t Token
	var created, used, revoked sqldialect.Time
	if err := r.Scan(&t.ID, &t.OrgID, &t.Name, &t.Role, &created, &used, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = created.Time, used.Ptr(), revoked.Ptr()
	return &t, nil
}

// AuthenticateToken returns the token whose plaintext this is. An unknown,
// malformed or revoked token is EUNAUTHORIZED, with one message for all so
// that an answer reveals nothing.
func (s *Store) AuthenticateToken(ctx context.Context, plaintext string) (*Token, error) {
	unauthorized := modeldoc.Errorf(modeldoc.EUNAUTHORIZED, "The API token is missing, unknown or revoked. Create one with `modeldoc tokens create`.")
	if !strings.HasPrefix(plaintext, TokenPrefix) || len(plaintext) > 200 {
		return nil, unauthorized
	}
	t, err := scanToken(s.queryRow(ctx, s.read, "SELECT "+tokenCols+" FROM api_tokens WHERE token_hash = ?", hashToken(plaintext)))
	if isNoRows(err) {
		return nil, unauthorized
	}
	if err != nil {
		return nil, internal("authenticate token", err)
	}
	if t.RevokedAt != nil {
		return nil, unauthorized
	}
	now := s.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= lastUsedGranularity {
		if _, err := s.exec(ctx, s.write, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", now, t.ID); err != nil {
			return nil, internal("authenticate token: touch", err)
		}
		t.LastUsedAt = &now
	}
	return t, nil
}

// ListTokens returns the organization's tokens, revoked ones included,
// oldest first.
func (s *Store) ListTokens(ctx context.Context, orgID int64) ([]Token, error) {
	rows, err := s.query(ctx, s.read, "SELECT "+tokenCols+" FROM api_tokens WHERE org_id = ? ORDER BY id", orgID)
	if err != nil {
		return nil, internal("list tokens", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, internal("list tokens", err)
		}
		out = append(out, *t)
	}
	return out, internal("list tokens", rows.Err())
}

// RevokeToken revokes the organization's token id. Revoking twice is not
// an error; another organization's token is ENOTFOUND.
func (s *Store) RevokeToken(ctx context.Context, orgID, id int64) error {
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE org_id = ? AND id = ?", s.now(), orgID, id)
		if err != nil {
			return internal("revoke token", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return modeldoc.Errorf(modeldoc.ENOTFOUND, "No token with id %d. Run `modeldoc tokens list`.", id)
		}
		return nil
	})
}

// TokenActive reports whether token id exists and is not revoked.
func (s *Store) TokenActive(ctx context.Context, id int64) (bool, error) {
	var n int
	if err := s.queryRow(ctx, s.read, "SELECT COUNT(*) FROM api_tokens WHERE id = ? AND revoked_at IS NULL", id).Scan(&n); err != nil {
		return false, internal("check token", err)
	}
	return n > 0, nil
}

// CountActiveTokens counts the tokens not revoked, in every organization.
func (s *Store) CountActiveTokens(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, s.read, "SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL").Scan(&n); err != nil {
		return 0, internal("count tokens", err)
	}
	return n, nil
}
