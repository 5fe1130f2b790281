package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"

	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// appSecret returns the app's own secret of that name, generating and
// storing (sealed) 32 random bytes the first time. Unlike ENCRYPTION_KEY it
// never changes, so what it derives (Stripe code suffixes) stays stable.
func appSecret(ctx context.Context, db *store.DB, keys *oauth.Keyring, name string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	sealed, keyID, err := keys.Seal(base64.StdEncoding.EncodeToString(b))
	if err != nil {
		return nil, err
	}
	var s store.AppSecret
	err = db.Write(ctx, func(tx *store.Tx) error {
		var err error
		s, err = tx.AddAppSecret(ctx, store.AppSecret{Name: name, Secret: sealed, KeyID: keyID})
		return err
	})
	if err != nil {
		return nil, err
	}
	plain, err := keys.Open(s.Secret, s.KeyID)
	if err != nil {
		return nil, fmt.Errorf("open app secret %s: %w", name, err)
	}
	return base64.StdEncoding.DecodeString(plain)
}

// reseal re-encrypts, under the current ENCRYPTION_KEY, every secret still
// sealed with the previous one: OAuth grants, portals' API keys and the
// app's own secrets. Run at start-up when ENCRYPTION_KEY_PREVIOUS is set,
// it lets the previous key be dropped at the next deploy.
func reseal(ctx context.Context, db *store.DB, keys *oauth.Keyring, grants []*oauth.Grants, log *slog.Logger) error {
	current := keys.CurrentID()
	n := 0
	for _, g := range grants {
		c, err := g.Reseal(ctx)
		if err != nil {
			return err
		}
		n += c
	}
	apiKeys, err := db.APIKeysNotUnder(ctx, current)
	if err != nil {
		return err
	}
	for _, k := range apiKeys {
		plain, err := keys.Open(k.Secret, k.KeyID)
		if err != nil {
			return fmt.Errorf("open %s key of portal %d: %w", k.Provider, k.PortalID, err)
		}
		old := k.KeyID
		if k.Secret, k.KeyID, err = keys.Seal(plain); err != nil {
			return err
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.ResealAPIKey(ctx, k, old) }); err != nil {
			return err
		}
		n++
	}
	secrets, err := db.AppSecretsNotUnder(ctx, current)
	if err != nil {
		return err
	}
	for _, s := range secrets {
		plain, err := keys.Open(s.Secret, s.KeyID)
		if err != nil {
			return fmt.Errorf("open app secret %s: %w", s.Name, err)
		}
		old := s.KeyID
		if s.Secret, s.KeyID, err = keys.Seal(plain); err != nil {
			return err
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.ResealAppSecret(ctx, s, old) }); err != nil {
			return err
		}
		n++
	}
	log.Info("re-sealed secrets under the current ENCRYPTION_KEY", "count", n)
	return nil
}
