package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Keyring seals secrets (tokens, API keys) with AES-256-GCM before they are
// stored. The current key seals; the previous key, if any, still opens rows
// written before a rotation. It is safe for concurrent use.
type Keyring struct {
	current  keyEntry
	previous *keyEntry
}

type keyEntry struct {
	id   string
	aead cipher.AEAD
}

// NewKeyring builds a keyring from the current 32-byte key and, optionally,
// the previous one (nil when there is none).
func NewKeyring(current, previous []byte) (*Keyring, error) {
	cur, err := newKeyEntry(current)
	if err != nil {
		return nil, fmt.Errorf("oauth: current encryption key: %w", err)
	}
	k := &Keyring{current: cur}
	if len(previous) > 0 {
		prev, err := newKeyEntry(previous)
		if err != nil {
			return nil, fmt.Errorf("oauth: previous encryption key: %w", err)
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
	return keyEntry{id: KeyID(key), aead: aead}, nil
}

// KeyID names a key without revealing it: the first 8 bytes, in hex, of
// the SHA-256 of a label and the key.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("hubspot-actions key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

// DeriveKey derives a 32-byte key for one purpose (such as "session") from
// a master key, so one configured secret can serve several uses without
// one use's key revealing another's.
func DeriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("hubspot-actions derive\x00" + purpose))
	return m.Sum(nil)
}

// Seal encrypts plaintext under the current key. The ciphertext is base64
// text (a fresh random nonce followed by the sealed bytes); keyID names the
// key to open it with.
func (k *Keyring) Seal(plaintext string) (ciphertext, keyID string, err error) {
	if k == nil {
		return "", "", errors.New("oauth: no encryption key configured")
	}
	aead := k.current.aead
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", "", fmt.Errorf("oauth: nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return base64.RawStdEncoding.EncodeToString(out), k.current.id, nil
}

// Open decrypts a ciphertext sealed under the key named keyID, which must
// be the current or the previous key.
func (k *Keyring) Open(ciphertext, keyID string) (string, error) {
	if k == nil {
		return "", errors.New("oauth: no encryption key configured")
	}
	var e *keyEntry
	switch {
	case keyID == k.current.id:
		e = &k.current
	case k.previous != nil && keyID == k.previous.id:
		e = k.previous
	default:
		return "", fmt.Errorf("oauth: secret sealed under unknown key %q (is ENCRYPTION_KEY_PREVIOUS set after a rotation?)", keyID)
	}
	b, err := base64.RawStdEncoding.DecodeString(ciphertext)
	if err != nil {
		return "", fmt.Errorf("oauth: decode sealed secret: %w", err)
	}
	n := e.aead.NonceSize()
	if len(b) < n+e.aead.Overhead() {
		return "", errors.New("oauth: sealed secret too short")
	}
	plain, err := e.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", fmt.Errorf("oauth: open sealed secret under key %s: %w", keyID, err)
	}
	return string(plain), nil
}

// Current reports whether keyID names the current key. Rows sealed under
// another key should be sealed again when next written.
func (k *Keyring) Current(keyID string) bool {
	return k != nil && keyID == k.current.id
}

// CurrentID returns the id of the current key.
func (k *Keyring) CurrentID() string {
	if k == nil {
		return ""
	}
	return k.current.id
}
