package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testKey(label string) []byte {
	k := sha256.Sum256([]byte("test key " + label))
	return k[:]
}

func newTestKeyring(t *testing.T, current, previous []byte) *keyring {
	t.Helper()
	k, err := newKeyring(options{current: current, previous: previous})
	if err != nil {
		t.Fatalf("newKeyring: %v", err)
	}
	return k
}

func TestKeyring(t *testing.T) {
	t.Parallel()
	old := newTestKeyring(t, testKey("old"), nil)
	k := newTestKeyring(t, testKey("new"), testKey("old"))

	ct, id, err := k.seal("na1-secret-refresh-token")
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	if strings.Contains(ct, "secret") || id != keyID(testKey("new")) {
		t.Errorf("seal() = %q under %q, want ciphertext under the current key", ct, id)
	}
	if got, err := k.open(ct, id); err != nil || got != "na1-secret-refresh-token" {
		t.Errorf("open() = %q, %v; want the plaintext", got, err)
	}
	ct2, _, _ := k.seal("na1-secret-refresh-token")
	if ct2 == ct {
		t.Error("seal() twice gave the same ciphertext, want a fresh nonce each time")
	}

	oldCT, oldID, _ := old.seal("old secret")
	if oldID == id {
		t.Error("the previous key has the current key's id")
	}
	if got, err := k.open(oldCT, oldID); err != nil || got != "old secret" {
		t.Errorf("open(under previous key) = %q, %v; want the plaintext", got, err)
	}
	if _, err := old.open(ct, id); err == nil {
		t.Error("open(under a key the keyring lacks) succeeded, want an error")
	}
	tampered := []byte(ct)
	tampered[len(tampered)-2] ^= 1
	if _, err := k.open(string(tampered), id); err == nil {
		t.Error("open(tampered) succeeded, want an error")
	}
	if strings.Contains(id, string(testKey("new"))) || len(id) != 16 {
		t.Errorf("key id %q, want 16 hex characters derived from the key", id)
	}
	for _, bad := range [][]byte{make([]byte, 16), make([]byte, 33)} {
		if _, err := newKeyring(options{current: bad}); err == nil {
			t.Errorf("newKeyring(%d bytes) succeeded, want an error", len(bad))
		}
	}
	if _, err := newKeyring(options{current: testKey("a"), previous: make([]byte, 5)}); err == nil {
		t.Error("newKeyring(bad previous key) succeeded, want an error")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "bad.db"), WithKeys(make([]byte, 16), nil)); err == nil {
		t.Error("Open(WithKeys(16 bytes)) succeeded, want an error")
	}
}

// TestNoSecretInClear: what the store is handed in clear (tokens, API keys,
// app secrets) is nowhere in its files, and comes back in clear.
func TestNoSecretInClear(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, filepath.Join(dir, "test.db"), WithKeys(testKey("k"), nil))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	secrets := []string{"na1-access-7c2f9e1d", "na1-refresh-3b8a6d40", "sk_live_51HsecretKey9876", "app-secret-5e7d1c0a"}
	var stored string
	err = db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.SaveToken(ctx, Token{PortalID: 1, Provider: "hubspot", AccessToken: secrets[0], RefreshToken: secrets[1], ExpiresAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.SaveAPIKey(ctx, APIKey{PortalID: 1, Provider: "stripe", Secret: secrets[2], Hint: "sk_live_…9876"}); err != nil {
			return err
		}
		stored, err = tx.AddAppSecret(ctx, "codes", secrets[3])
		return err
	})
	if err != nil || stored != secrets[3] {
		t.Fatalf("write secrets: %q, %v; want %q", stored, err, secrets[3])
	}
	tok, err := db.GetToken(ctx, 1, "hubspot")
	if err != nil || tok.AccessToken != secrets[0] || tok.RefreshToken != secrets[1] {
		t.Errorf("GetToken() = %q %q, %v; want the tokens in clear", tok.AccessToken, tok.RefreshToken, err)
	}
	if k, err := db.GetAPIKey(ctx, 1, "stripe"); err != nil || k.Secret != secrets[2] {
		t.Errorf("GetAPIKey() = %q, %v; want the key in clear", k.Secret, err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "test.db*"))
	if len(files) == 0 {
		t.Fatal("no database files written")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q in clear", filepath.Base(f), s)
			}
		}
	}
}

// TestSecretsNotPrinted: a Token or APIKey printed or logged shows no
// secret, now that they hold secrets in clear.
func TestSecretsNotPrinted(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	tok := Token{PortalID: 1, Provider: "hubspot", AccessToken: "na1-access-91ab", RefreshToken: "na1-refresh-77cd"}
	key := APIKey{PortalID: 1, Provider: "stripe", Secret: "sk_live_51Hsecret4242", Hint: "sk_live_…4242"}
	log.Info("grant", "token", tok, "key", key)
	out := fmt.Sprintf("%v %+v %s %v %+v %s", tok, tok, tok, key, key, key) + logs.String()
	for _, s := range []string{tok.AccessToken, tok.RefreshToken, key.Secret} {
		if strings.Contains(out, s) {
			t.Errorf("printing or logging shows %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "sk_live_…4242") || !strings.Contains(logs.String(), `"portal_id":1`) {
		t.Errorf("printing or logging lost what identifies the grant and key:\n%s", out)
	}
}

func TestNoKeysNoSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t, filepath.Join(t.TempDir(), "test.db"))
	err := db.Write(ctx, func(tx *Tx) error {
		return tx.SaveAPIKey(ctx, APIKey{PortalID: 1, Provider: "stripe", Secret: "sk_test_x"})
	})
	if !errors.Is(err, errNoKeys) {
		t.Errorf("SaveAPIKey without keys = %v, want %v", err, errNoKeys)
	}
	if _, err := db.Reseal(ctx); !errors.Is(err, errNoKeys) {
		t.Errorf("Reseal without keys = %v, want %v", err, errNoKeys)
	}
}

// TestResealAfterRotation: after a rotation the previous key still opens
// old rows; Reseal moves every secret to the current key, after which the
// previous key can go, and values (the app secret's too) stay the same.
func TestResealAfterRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	oldKey, newKey := testKey("old"), testKey("new")

	before := openTestDB(t, path, WithKeys(oldKey, nil))
	var first string
	write(t, before, func(tx *Tx) error {
		for _, p := range []int64{1, 2} {
			if _, err := tx.SaveToken(ctx, Token{PortalID: p, Provider: "hubspot", AccessToken: "a", RefreshToken: "r", ExpiresAt: time.Now()}); err != nil {
				return err
			}
		}
		if err := tx.SaveAPIKey(ctx, APIKey{PortalID: 1, Provider: "clearbit", Secret: "sk_portal_key_1234"}); err != nil {
			return err
		}
		var err error
		first, err = tx.AddAppSecret(ctx, "codes", "first value")
		return err
	})

	rotating := openTestDB(t, path, WithKeys(newKey, oldKey))
	if tok, err := rotating.GetToken(ctx, 1, "hubspot"); err != nil || tok.RefreshToken != "r" {
		t.Errorf("GetToken(under the previous key) = %q, %v; want r", tok.RefreshToken, err)
	}
	// A refresh re-seals its grant under the current key as it goes.
	write(t, rotating, func(tx *Tx) error {
		_, err := tx.UpdateRefreshedToken(ctx, Token{PortalID: 2, Provider: "hubspot", AccessToken: "a2", RefreshToken: "r2", ExpiresAt: time.Now()}, 1)
		return err
	})
	if got := keyIDs(t, rotating); got["oauth_tokens"] != 1 || got["api_keys"] != 0 || got["app_secrets"] != 0 {
		t.Errorf("rows under the current key before Reseal = %v, want only portal 2's grant", got)
	}
	n, err := rotating.Reseal(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Reseal() = %d, %v; want 3 (a grant, an API key, an app secret)", n, err)
	}
	if got := keyIDs(t, rotating); got["oauth_tokens"] != 2 || got["api_keys"] != 1 || got["app_secrets"] != 1 {
		t.Errorf("rows under the current key after Reseal = %v, want all of them", got)
	}
	if n, err := rotating.Reseal(ctx); err != nil || n != 0 {
		t.Errorf("second Reseal() = %d, %v; want 0", n, err)
	}

	after := openTestDB(t, path, WithKeys(newKey, nil))
	for p, want := range map[int64]string{1: "r", 2: "r2"} {
		if tok, err := after.GetToken(ctx, p, "hubspot"); err != nil || tok.RefreshToken != want {
			t.Errorf("GetToken(portal %d) with only the new key = %q, %v; want %q", p, tok.RefreshToken, err, want)
		}
	}
	if k, err := after.GetAPIKey(ctx, 1, "clearbit"); err != nil || k.Secret != "sk_portal_key_1234" {
		t.Errorf("GetAPIKey() with only the new key = %q, %v", k.Secret, err)
	}
	var again string
	write(t, after, func(tx *Tx) error {
		var err error
		again, err = tx.AddAppSecret(ctx, "codes", "second value")
		return err
	})
	if again != first {
		t.Errorf("app secret after rotation = %q, want the first value %q", again, first)
	}
	if _, err := before.GetToken(ctx, 1, "hubspot"); err == nil {
		t.Error("GetToken() with only the old key after Reseal succeeded, want an unknown-key error")
	}
}

// keyIDs counts, per table, the rows sealed under db's current key.
func keyIDs(t *testing.T, db *DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"oauth_tokens", "api_keys", "app_secrets"} {
		var n int
		if err := db.r.QueryRowx(`SELECT COUNT(*) FROM `+table+` WHERE key_id = ?`, db.keys.current.id).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}
