package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Secrets (OAuth tokens, portals' API keys, the app's own secrets) are
// sealed here, at the store's boundary: its methods take and return them in
// clear, and only this file turns them into ciphertexts and back. Each row
// records the id of the key that sealed it, so keys can rotate: the current
// key seals, the previous one, if set, still opens rows written before the
// rotation, and Reseal moves those rows to the current key.

// Option configures Open.
type Option func(*options)

type options struct {
	current, previous []byte
}

// WithKeys gives Open the 32-byte AES-256 key secrets are sealed with and,
// optionally (nil when there is none), the previous key, which still opens
// secrets sealed before a rotation. Without it the store keeps no secrets:
// saving or reading one fails.
func WithKeys(current, previous []byte) Option {
	return func(o *options) { o.current, o.previous = current, previous }
}

// keyring seals with AES-256-GCM. It is safe for concurrent use.
type keyring struct {
	current  keyEntry
	previous *keyEntry
}

type keyEntry struct {
	id   string
	aead cipher.AEAD
}

// newKeyring builds the keyring of o's keys, or nil when o has none.
func newKeyring(o options) (*keyring, error) {
	if o.current == nil && o.previous == nil {
		return nil, nil
	}
	cur, err := newKeyEntry(o.current)
	if err != nil {
		return nil, fmt.Errorf("store: current encryption key: %w", err)
	}
	k := &keyring{current: cur}
	if len(o.previous) > 0 {
		prev, err := newKeyEntry(o.previous)
		if err != nil {
			return nil, fmt.Errorf("store: previous encryption key: %w", err)
		}
		if prev.id != cur.id {
			k.previous = &prev
		}
	}
	return k, nil
}

func newKeyEntry(key []byte) (keyEntry, error) {
	if len(key) != 32 {
		return keyEntry{}, fmt.Errorf("want 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return keyEntry{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keyEntry{}, err
	}
	return keyEntry{id: keyID(key), aead: aead}, nil
}

// keyID names a key without revealing it: the first 8 bytes, in hex, of
// the SHA-256 of a label and the key.
func keyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("hubspot-actions key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

var errNoKeys = errors.New("store: no encryption key configured")

// seal encrypts plaintext under the current key. The ciphertext is base64
// text (a fresh random nonce followed by the sealed bytes); id names the
// key to open it with.
func (k *keyring) seal(plaintext string) (ciphertext, id string, err error) {
	if k == nil {
		return "", "", errNoKeys
	}
	aead := k.current.aead
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", "", fmt.Errorf("store: nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return base64.RawStdEncoding.EncodeToString(out), k.current.id, nil
}

// open decrypts a ciphertext sealed under the key named id, which must be
// the current or the previous key.
func (k *keyring) open(ciphertext, id string) (string, error) {
	if k == nil {
		return "", errNoKeys
	}
	var e *keyEntry
	switch {
	case id == k.current.id:
		e = &k.current
	case k.previous != nil && id == k.previous.id:
		e = k.previous
	default:
		return "", fmt.Errorf("store: secret sealed under unknown key %q (is ENCRYPTION_KEY_PREVIOUS set after a rotation?)", id)
	}
	b, err := base64.RawStdEncoding.DecodeString(ciphertext)
	if err != nil {
		return "", fmt.Errorf("store: decode sealed secret: %w", err)
	}
	n := e.aead.NonceSize()
	if len(b) < n+e.aead.Overhead() {
		return "", errors.New("store: sealed secret too short")
	}
	plain, err := e.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", fmt.Errorf("store: open sealed secret under key %s: %w", id, err)
	}
	return string(plain), nil
}

// sealToken turns a grant into its row, the tokens sealed under the
// current key.
func (k *keyring) sealToken(t Token) (tokenRow, error) {
	access, refresh, id, err := k.sealPair(t.AccessToken, t.RefreshToken)
	if err != nil {
		return tokenRow{}, err
	}
	return tokenRow{PortalID: t.PortalID, Provider: t.Provider, AccountID: t.AccountID, AccountName: t.AccountName,
		AccessToken: access, RefreshToken: refresh, KeyID: id, ExpiresAt: ms(t.ExpiresAt)}, nil
}

// openToken turns a row into the grant, its tokens opened.
func (k *keyring) openToken(r tokenRow) (Token, error) {
	t := r.token()
	var err error
	if t.AccessToken, err = k.open(r.AccessToken, r.KeyID); err != nil {
		return Token{}, fmt.Errorf("store: open %s access token of portal %d: %w", r.Provider, r.PortalID, err)
	}
	if t.RefreshToken, err = k.open(r.RefreshToken, r.KeyID); err != nil {
		return Token{}, fmt.Errorf("store: open %s refresh token of portal %d: %w", r.Provider, r.PortalID, err)
	}
	return t, nil
}

// sealPair seals two secrets of one row under the current key.
func (k *keyring) sealPair(a, b string) (sa, sb, id string, err error) {
	if sa, id, err = k.seal(a); err != nil {
		return "", "", "", err
	}
	if sb, _, err = k.seal(b); err != nil {
		return "", "", "", err
	}
	return sa, sb, id, nil
}

// Reseal seals again, under the current key, every secret still sealed
// under another (the previous) one: OAuth grants of every provider,
// portals' API keys and the app's own secrets. It returns how many rows it
// changed. Run it at start-up after a rotation, with the previous key still
// given to Open; once it has run, the previous key can be dropped.
// Refreshes re-seal grants as they go; Reseal finishes a rotation at once.
// A grant refreshed or replaced meanwhile is left to its new writer.
func (db *DB) Reseal(ctx context.Context) (int, error) {
	if db.keys == nil {
		return 0, errNoKeys
	}
	cur := db.keys.current.id
	n := 0

	var toks []tokenRow
	const qt = `SELECT ` + tokenColumns + ` FROM oauth_tokens WHERE key_id <> ? ORDER BY portal_id, provider`
	if err := sqlx.SelectContext(ctx, db.r, &toks, qt, cur); err != nil {
		return n, fmt.Errorf("store: list grants to reseal: %w", err)
	}
	for _, r := range toks {
		t, err := db.keys.openToken(r)
		if err != nil {
			return n, fmt.Errorf("store: reseal: %w", err)
		}
		var ok bool
		err = db.Write(ctx, func(tx *Tx) error {
			next, err := tx.keys.sealToken(t)
			if err != nil {
				return err
			}
			// The version does not change: a refresh in flight still wins.
			const q = `UPDATE oauth_tokens SET access_token = ?, refresh_token = ?, key_id = ?
				WHERE portal_id = ? AND provider = ? AND version = ? AND key_id = ?`
			ok, err = tx.execOne(ctx, fmt.Sprintf("reseal %s token of portal %d", r.Provider, r.PortalID), q,
				next.AccessToken, next.RefreshToken, next.KeyID, r.PortalID, r.Provider, r.Version, r.KeyID)
			return err
		})
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}

	var keys []apiKeyRow
	const qk = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE key_id <> ? ORDER BY portal_id, provider`
	if err := sqlx.SelectContext(ctx, db.r, &keys, qk, cur); err != nil {
		return n, fmt.Errorf("store: list api keys to reseal: %w", err)
	}
	for _, r := range keys {
		plain, err := db.keys.open(r.Secret, r.KeyID)
		if err != nil {
			return n, fmt.Errorf("store: reseal %s key of portal %d: %w", r.Provider, r.PortalID, err)
		}
		var ok bool
		err = db.Write(ctx, func(tx *Tx) error {
			s, id, err := tx.keys.seal(plain)
			if err != nil {
				return err
			}
			const q = `UPDATE api_keys SET secret = ?, key_id = ? WHERE portal_id = ? AND provider = ? AND key_id = ?`
			ok, err = tx.execOne(ctx, "reseal api key", q, s, id, r.PortalID, r.Provider, r.KeyID)
			return err
		})
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}

	var secrets []appSecretRow
	const qs = `SELECT name, secret, key_id FROM app_secrets WHERE key_id <> ? ORDER BY name`
	if err := sqlx.SelectContext(ctx, db.r, &secrets, qs, cur); err != nil {
		return n, fmt.Errorf("store: list app secrets to reseal: %w", err)
	}
	for _, r := range secrets {
		plain, err := db.keys.open(r.Secret, r.KeyID)
		if err != nil {
			return n, fmt.Errorf("store: reseal app secret %s: %w", r.Name, err)
		}
		var ok bool
		err = db.Write(ctx, func(tx *Tx) error {
			s, id, err := tx.keys.seal(plain)
			if err != nil {
				return err
			}
			const q = `UPDATE app_secrets SET secret = ?, key_id = ? WHERE name = ? AND key_id = ?`
			ok, err = tx.execOne(ctx, "reseal app secret", q, s, id, r.Name, r.KeyID)
			return err
		})
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}
