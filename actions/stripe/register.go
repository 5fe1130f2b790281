package stripe

import (
	"bytes"
	"errors"
	"fmt"
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
	return register(r, &app{c: c, keys: keys, mint: minter{secret: bytes.Clone(codeSecret)}, now: time.Now})
}

// app holds what the actions share.
type app struct {
	c    *Client
	keys actions.KeyFunc
	mint minter
	now  func() time.Time
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
