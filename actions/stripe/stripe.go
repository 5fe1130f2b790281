package stripe

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"hubspot-actions/actions"
)

// minter returns the code minter, reading the code secret the first time.
func (a *Provider) minter(ctx context.Context) (minter, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mint.secret != nil {
		return a.mint, nil
	}
	s, err := a.secret(ctx)
	if err != nil {
		return minter{}, fmt.Errorf("stripe: read the code secret: %w", err)
	}
	if len(s) < minSecretLen {
		return minter{}, fmt.Errorf("stripe: the code secret must be at least %d bytes", minSecretLen)
	}
	a.mint = minter{secret: bytes.Clone(s)}
	return a.mint, nil
}

// Register adds stripe-create-promotion-code and
// stripe-check-promotion-code to r.
func (a *Provider) Register(r *actions.Registry) error {
	if err := actions.Register(r, a.createSpec()); err != nil {
		return fmt.Errorf("stripe: %w", err)
	}
	if err := actions.Register(r, a.checkSpec()); err != nil {
		return fmt.Errorf("stripe: %w", err)
	}
	return nil
}

// isoTime formats Unix seconds as RFC 3339 UTC, or "" for 0 (never).
func isoTime(unix int64) string {
	if unix <= 0 {
		return ""
	}
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}
