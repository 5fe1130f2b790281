package stripe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"hubspot-actions/actions"
)

// Register adds the Stripe actions (stripe-create-promotion-code and
// stripe-check-promotion-code) to r. c calls Stripe; keys returns the
// Stripe secret key of a portal (its own, else the app's default) or a
// NOT_CONNECTED error; codeSecret (at least 16 bytes, kept secret and
// stable) makes codes unguessable: a code's random part is an HMAC of the
// execution's callbackId under it. Changing it changes the code a retried
// execution asks for and the IDs of the shared coupons (new ones are then
// created), so derive it from a long-lived secret.
func Register(r *actions.Registry, c *Client, keys actions.KeyFunc, codeSecret []byte) error {
	switch {
	case c == nil || keys == nil:
		return errors.New("stripe: Register needs a client and a key function")
	case len(codeSecret) < minSecretLen:
		return fmt.Errorf("stripe: the code secret must be at least %d bytes", minSecretLen)
	}
	secret := bytes.Clone(codeSecret)
	return register(r, newApp(c, keys, func(context.Context) ([]byte, error) { return secret, nil }))
}

// app holds what the actions share.
type app struct {
	c      *Client
	keys   actions.KeyFunc
	secret func(ctx context.Context) ([]byte, error) // the code secret, read once
	now    func() time.Time

	mu   sync.Mutex
	mint minter // set once the secret is read
}

func newApp(c *Client, keys actions.KeyFunc, secret func(ctx context.Context) ([]byte, error)) *app {
	return &app{c: c, keys: keys, secret: secret, now: time.Now}
}

// minter returns the code minter, reading the code secret the first time.
func (a *app) minter(ctx context.Context) (minter, error) {
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

func register(r *actions.Registry, a *app) error {
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
