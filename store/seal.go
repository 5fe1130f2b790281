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
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
)

// Secrets (OAuth tokens, portals' API keys, the app's own secrets) are
// sealed here, at the store's boundary: its methods take and return them in
// clear, and only this file turns them into ciphertexts and back. Each row
// records the id of the key that sealed it, so keys can rotate: the current
// key seals, the previous one, if set, still opens rows written before the
// rotation, and Reseal moves those rows to the current key.
//
// A sealed value is bound to its place: the table, the row's identity
// (portal and provider, or the app secret's name) and the column are the
// AES-GCM associated data. A value copied into another row (another
// portal's, say) or another column does not open there: reading it fails
// with ErrMisplaced, naming the place, and the portal must save that
// secret again. Values sealed before this binding existed (no
// sealedPrefix) still open until Reseal, run at every start-up, has sealed
// them again bound to their row; after that the store refuses them too.

// sealedPrefix starts every value sealed bound to its place. Base64 text
// never holds a colon, so values sealed before it are told apart.
const sealedPrefix = "s2:"

// ErrMisplaced means a sealed value does not belong to the row (or column)
// it was read from: it was sealed for another one, was altered, or is in
// the unbound format after every row was bound. The secret is unusable
// there; whoever owns the row must save it again (reconnect, re-enter the
// key).
var ErrMisplaced = errors.New("store: sealed value does not belong to this row")

// place is where a sealed value lives.
type place struct {
	table, field string
	portalID     int64  // 0 for app secrets
	name         string // the provider, or the app secret's name
}

func tokenPlace(portalID int64, provider, field string) place {
	return place{table: "oauth_tokens", field: field, portalID: portalID, name: provider}
}

func apiKeyPlace(portalID int64, provider string) place {
	return place{table: "api_keys", field: "secret", portalID: portalID, name: provider}
}

func appSecretPlace(name string) place {
	return place{table: "app_secrets", field: "secret", name: name}
}

// sessionPlace binds an admin session's sealed email to its row (the hash
// of the session id), so a value copied to another session does not open.
func sessionPlace(portalID int64, idHash string) place {
	return place{table: "admin_sessions", field: "user_email", portalID: portalID, name: idHash}
}

// aad is the associated data the value at p is sealed with.
func (p place) aad() []byte {
	return []byte("hubspot-actions sealed v2\x00" + p.table + "\x00" + p.field + "\x00" +
		strconv.FormatInt(p.portalID, 10) + "\x00" + p.name)
}

// String names the place for errors, never the value.
func (p place) String() string {
	if p.table == "app_secrets" {
		return fmt.Sprintf("%s.%s of app secret %s", p.table, p.field, p.name)
	}
	return fmt.Sprintf("%s.%s of portal %d (%s)", p.table, p.field, p.portalID, p.name)
}

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
	// bound is set once Reseal has bound every row: from then on a value
	// in the unbound format can only have been put there by hand (copied
	// from a backup, say), and is refused.
	bound atomic.Bool
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

// seal encrypts plaintext under the current key, bound to p. The
// ciphertext is sealedPrefix and base64 text (a fresh random nonce followed
// by the sealed bytes); id names the key to open it with.
func (k *keyring) seal(plaintext string, p place) (ciphertext, id string, err error) {
	if k == nil {
		return "", "", errNoKeys
	}
	aead := k.current.aead
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", "", fmt.Errorf("store: nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plaintext), p.aad())
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out), k.current.id, nil
}

// open decrypts a ciphertext read at p, sealed under the key named id,
// which must be the current or the previous key. A value sealed for
// another place fails with ErrMisplaced.
func (k *keyring) open(ciphertext, id string, p place) (string, error) {
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
		return "", fmt.Errorf("store: %s sealed under unknown key %q (is ENCRYPTION_KEY_PREVIOUS set after a rotation?)", p, id)
	}
	text, bound := strings.CutPrefix(ciphertext, sealedPrefix)
	if !bound && k.bound.Load() {
		return "", fmt.Errorf("store: %s is sealed unbound to its row, although every row was bound at start-up: %w", p, ErrMisplaced)
	}
	b, err := base64.RawStdEncoding.DecodeString(text)
	if err != nil {
		return "", fmt.Errorf("store: decode sealed %s: %w", p, err)
	}
	n := e.aead.NonceSize()
	if len(b) < n+e.aead.Overhead() {
		return "", fmt.Errorf("store: sealed %s too short", p)
	}
	if !bound {
		plain, err := e.aead.Open(nil, b[:n], b[n:], nil)
		if err != nil {
			return "", fmt.Errorf("store: open sealed %s under key %s: %w", p, id, err)
		}
		return string(plain), nil
	}
	plain, err := e.aead.Open(nil, b[:n], b[n:], p.aad())
	if err != nil {
		// The key is right (its id matches), so the value was sealed for
		// another place, or altered.
		return "", fmt.Errorf("store: %s was sealed for another row or altered: %w", p, ErrMisplaced)
	}
	return string(plain), nil
}

// sealToken turns a grant into its row, the tokens sealed under the
// current key, bound to the row.
func (k *keyring) sealToken(t Token) (tokenRow, error) {
	access, id, err := k.seal(t.AccessToken, tokenPlace(t.PortalID, t.Provider, "access_token"))
	if err != nil {
		return tokenRow{}, err
	}
	refresh, _, err := k.seal(t.RefreshToken, tokenPlace(t.PortalID, t.Provider, "refresh_token"))
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
	if t.AccessToken, err = k.open(r.AccessToken, r.KeyID, tokenPlace(r.PortalID, r.Provider, "access_token")); err != nil {
		return Token{}, err
	}
	if t.RefreshToken, err = k.open(r.RefreshToken, r.KeyID, tokenPlace(r.PortalID, r.Provider, "refresh_token")); err != nil {
		return Token{}, err
	}
	return t, nil
}

// ResealReport says what Reseal did.
type ResealReport struct {
	// Resealed counts the rows sealed again.
	Resealed int
	// Misplaced names (table, column, row; never the value) the sealed
	// values that do not belong to their row. They are left as they are:
	// reading them keeps failing with ErrMisplaced until their portal saves
	// them again.
	Misplaced []string
}

// Reseal seals again, under the current key and bound to its row, every
// secret still sealed under another (the previous) key or in the unbound
// format: OAuth grants of every provider, portals' API keys and the app's
// own secrets. Run it at every start-up, before serving: after a rotation
// (with the previous key still given to Open; once it has run, that key
// can be dropped), and after an upgrade that binds values to their rows.
// Each row is sealed again in its own write, guarded on the ciphertext it
// read, so a crash at any point leaves every row openable (old or new
// form) and the next run finishes the work; a row changed meanwhile (a
// refresh, a new key) is left to its new writer. Once it has run through,
// the store refuses values in the unbound format.
func (db *DB) Reseal(ctx context.Context) (ResealReport, error) {
	var rep ResealReport
	if db.keys == nil {
		return rep, errNoKeys
	}
	cur := db.keys.current.id
	// reseal opens one row's values (skipping a row whose values belong
	// elsewhere) and writes them sealed again with update.
	reseal := func(what string, open func() error, update func(tx *Tx) (bool, error)) error {
		if err := open(); err != nil {
			if errors.Is(err, ErrMisplaced) {
				rep.Misplaced = append(rep.Misplaced, what)
				return nil
			}
			return fmt.Errorf("store: reseal: %w", err)
		}
		var ok bool
		err := db.Write(ctx, func(tx *Tx) error {
			var err error
			ok, err = update(tx)
			return err
		})
		if ok {
			rep.Resealed++
		}
		return err
	}

	var toks []tokenRow
	const qt = `SELECT ` + tokenColumns + ` FROM oauth_tokens
		WHERE key_id <> ? OR access_token NOT LIKE '` + sealedPrefix + `%' OR refresh_token NOT LIKE '` + sealedPrefix + `%'
		ORDER BY portal_id, provider`
	if err := sqlx.SelectContext(ctx, db.r, &toks, qt, cur); err != nil {
		return rep, fmt.Errorf("store: list grants to reseal: %w", err)
	}
	for _, r := range toks {
		var t Token
		err := reseal(fmt.Sprintf("oauth_tokens of portal %d (%s)", r.PortalID, r.Provider),
			func() (err error) { t, err = db.keys.openToken(r); return err },
			func(tx *Tx) (bool, error) {
				next, err := tx.keys.sealToken(t)
				if err != nil {
					return false, err
				}
				// The version does not change: a refresh in flight still wins.
				const q = `UPDATE oauth_tokens SET access_token = ?, refresh_token = ?, key_id = ?
					WHERE portal_id = ? AND provider = ? AND access_token = ? AND refresh_token = ? AND key_id = ?`
				return tx.execOne(ctx, fmt.Sprintf("reseal %s token of portal %d", r.Provider, r.PortalID), q,
					next.AccessToken, next.RefreshToken, next.KeyID, r.PortalID, r.Provider, r.AccessToken, r.RefreshToken, r.KeyID)
			})
		if err != nil {
			return rep, err
		}
	}

	var keys []apiKeyRow
	const qk = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE key_id <> ? OR secret NOT LIKE '` + sealedPrefix + `%'
		ORDER BY portal_id, provider`
	if err := sqlx.SelectContext(ctx, db.r, &keys, qk, cur); err != nil {
		return rep, fmt.Errorf("store: list api keys to reseal: %w", err)
	}
	for _, r := range keys {
		p := apiKeyPlace(r.PortalID, r.Provider)
		var plain string
		err := reseal(p.String(),
			func() (err error) { plain, err = db.keys.open(r.Secret, r.KeyID, p); return err },
			func(tx *Tx) (bool, error) {
				sealed, id, err := tx.keys.seal(plain, p)
				if err != nil {
					return false, err
				}
				const q = `UPDATE api_keys SET secret = ?, key_id = ? WHERE portal_id = ? AND provider = ? AND secret = ? AND key_id = ?`
				return tx.execOne(ctx, "reseal api key", q, sealed, id, r.PortalID, r.Provider, r.Secret, r.KeyID)
			})
		if err != nil {
			return rep, err
		}
	}

	var secrets []appSecretRow
	const qs = `SELECT name, secret, key_id FROM app_secrets WHERE key_id <> ? OR secret NOT LIKE '` + sealedPrefix + `%' ORDER BY name`
	if err := sqlx.SelectContext(ctx, db.r, &secrets, qs, cur); err != nil {
		return rep, fmt.Errorf("store: list app secrets to reseal: %w", err)
	}
	for _, r := range secrets {
		p := appSecretPlace(r.Name)
		var plain string
		err := reseal(p.String(),
			func() (err error) { plain, err = db.keys.open(r.Secret, r.KeyID, p); return err },
			func(tx *Tx) (bool, error) {
				sealed, id, err := tx.keys.seal(plain, p)
				if err != nil {
					return false, err
				}
				const q = `UPDATE app_secrets SET secret = ?, key_id = ? WHERE name = ? AND secret = ? AND key_id = ?`
				return tx.execOne(ctx, "reseal app secret", q, sealed, id, r.Name, r.Secret, r.KeyID)
			})
		if err != nil {
			return rep, err
		}
	}
	db.keys.bound.Store(true)
	return rep, nil
}
