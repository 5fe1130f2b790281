package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"hubspot-actions/store"
)

// appSecret returns the app's own secret of that name, generating and
// storing (the store seals it) 32 random bytes the first time. Unlike
// ENCRYPTION_KEY it never changes, so what it derives (Stripe code
// suffixes) stays stable across key rotations.
func appSecret(ctx context.Context, db *store.DB, name string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	var s string
	err := db.Write(ctx, func(tx *store.Tx) error {
		var err error
		s, err = tx.AddAppSecret(ctx, name, base64.StdEncoding.EncodeToString(b))
		return err
	})
	if err != nil {
		return nil, err
	}
	secret, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode app secret %s: %w", name, err)
	}
	return secret, nil
}
