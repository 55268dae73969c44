package cli

import (
	"context"

	"github.com/modeldoc/modeldoc/internal/providerkeys"
)

// storedProviderKey returns the organization's stored key for provider, or
// "" when none is stored.
func (a *App) storedProviderKey(ctx context.Context, orgID int64, provider string) (string, error) {
	st, err := a.store(ctx)
	if err != nil {
		return "", err
	}
	ring, err := providerkeys.Open(st)
	if err != nil {
		return "", err
	}
	key, err := ring.Get(ctx, orgID, provider)
	if providerkeys.IsNotFound(err) {
		return "", nil
	}
	return key, err
}
