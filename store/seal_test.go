package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"hubspot-actions/store/storetest"
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

	here := tokenPlace(1, "hubspot", "refresh_token")
	ct, id, err := k.seal("na1-secret-refresh-token", here)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	if strings.Contains(ct, "secret") || id != keyID(testKey("new")) || !strings.HasPrefix(ct, sealedPrefix) {
		t.Errorf("seal() = %q under %q, want ciphertext bound to its row under the current key", ct, id)
	}
	if got, err := k.open(ct, id, here); err != nil || got != "na1-secret-refresh-token" {
		t.Errorf("open() = %q, %v; want the plaintext", got, err)
	}
	ct2, _, _ := k.seal("na1-secret-refresh-token", here)
	if ct2 == ct {
		t.Error("seal() twice gave the same ciphertext, want a fresh nonce each time")
	}
	for _, elsewhere := range []place{tokenPlace(2, "hubspot", "refresh_token"), tokenPlace(1, "quickbooks", "refresh_token"),
		tokenPlace(1, "hubspot", "access_token"), apiKeyPlace(1, "hubspot"), appSecretPlace("hubspot")} {
		if _, err := k.open(ct, id, elsewhere); !errors.Is(err, ErrMisplaced) || !strings.Contains(err.Error(), elsewhere.String()) {
			t.Errorf("open(at %s) = %v, want ErrMisplaced naming the place", elsewhere, err)
		}
	}

	oldCT, oldID, _ := old.seal("old secret", here)
	if oldID == id {
		t.Error("the previous key has the current key's id")
	}
	if got, err := k.open(oldCT, oldID, here); err != nil || got != "old secret" {
		t.Errorf("open(under previous key) = %q, %v; want the plaintext", got, err)
	}
	if _, err := old.open(ct, id, here); err == nil || errors.Is(err, ErrMisplaced) {
		t.Errorf("open(under a key the keyring lacks) = %v, want an unknown-key error", err)
	}
	tampered := []byte(ct)
	tampered[len(tampered)-2] ^= 1
	if _, err := k.open(string(tampered), id, here); err == nil {
		t.Error("open(tampered) succeeded, want an error")
	}
	legacy := legacySeal(t, testKey("new"), "unbound secret")
	if got, err := k.open(legacy, id, here); err != nil || got != "unbound secret" {
		t.Errorf("open(unbound, before Reseal) = %q, %v; want the plaintext", got, err)
	}
	if _, err := k.open(strings.TrimPrefix(ct, sealedPrefix), id, here); err == nil {
		t.Error("open(a bound value with its prefix cut off) succeeded, want an error")
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
	db := openTestDB(t, storetest.URL(t))
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
	path := storetest.URL(t)
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
	rep, err := rotating.Reseal(ctx)
	if err != nil || rep.Resealed != 3 || len(rep.Misplaced) != 0 {
		t.Fatalf("Reseal() = %+v, %v; want 3 re-sealed (a grant, an API key, an app secret)", rep, err)
	}
	if got := keyIDs(t, rotating); got["oauth_tokens"] != 2 || got["api_keys"] != 1 || got["app_secrets"] != 1 {
		t.Errorf("rows under the current key after Reseal = %v, want all of them", got)
	}
	if rep, err := rotating.Reseal(ctx); err != nil || rep.Resealed != 0 {
		t.Errorf("second Reseal() = %+v, %v; want 0 re-sealed", rep, err)
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
		if err := db.r.QueryRowxContext(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE key_id = ?`, db.keys.current.id).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// legacySeal seals plaintext under key as the store did before values were
// bound to their rows: no associated data, no prefix.
func legacySeal(t *testing.T, key []byte, plaintext string) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	return base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plaintext), nil))
}

// rawDB opens the database directly (the SQLite file, or the PostgreSQL
// schema), as someone with access to it would.
func rawDB(t *testing.T, path string) *rawSQL {
	t.Helper()
	driver, dsn := "sqlite3", "file:"+path+"?_busy_timeout=5000"
	if isPostgres(path) {
		driver, dsn = "pgx", path
	}
	raw, err := sqlx.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &rawSQL{raw}
}

// rawSQL runs statements written with ? placeholders on either database.
type rawSQL struct{ db *sqlx.DB }

func (r *rawSQL) Exec(q string, args ...any) (sql.Result, error) {
	return r.db.Exec(r.db.Rebind(q), args...)
}

func (r *rawSQL) QueryRow(q string, args ...any) *sql.Row {
	return r.db.QueryRow(r.db.Rebind(q), args...)
}

func rawExec(t *testing.T, raw *rawSQL, q string, args ...any) {
	t.Helper()
	res, err := raw.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", q, n)
	}
}

// TestMovedSecretDoesNotOpen: a sealed token or key copied, in the SQLite
// file, from portal A's row to portal B's (or between columns, or between
// app secrets) does not open there: reading it fails with ErrMisplaced and
// an error naming the table, column and row, while A's own row still
// opens. Reseal leaves such rows as they are and reports them.
func TestMovedSecretDoesNotOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := storetest.URL(t)
	oldKey, key := testKey("old"), testKey("k")
	db := openTestDB(t, path, WithKeys(key, nil))
	write(t, db, func(tx *Tx) error {
		for _, p := range []int64{1, 2, 3} {
			if _, err := tx.SaveToken(ctx, Token{PortalID: p, Provider: "hubspot", AccessToken: fmt.Sprint("access-", p), RefreshToken: fmt.Sprint("refresh-", p), ExpiresAt: time.Now()}); err != nil {
				return err
			}
			if err := tx.SaveAPIKey(ctx, APIKey{PortalID: p, Provider: "stripe", Secret: fmt.Sprint("sk_live_", p), Hint: "sk_live_…"}); err != nil {
				return err
			}
		}
		for _, name := range []string{"codes", "other"} {
			if _, err := tx.AddAppSecret(ctx, name, "value of "+name); err != nil {
				return err
			}
		}
		return nil
	})
	raw := rawDB(t, path)
	rawExec(t, raw, `UPDATE oauth_tokens SET access_token = (SELECT access_token FROM oauth_tokens WHERE portal_id = 1),
		refresh_token = (SELECT refresh_token FROM oauth_tokens WHERE portal_id = 1) WHERE portal_id = 2`)
	rawExec(t, raw, `UPDATE api_keys SET secret = (SELECT secret FROM api_keys WHERE portal_id = 1) WHERE portal_id = 2`)
	rawExec(t, raw, `UPDATE oauth_tokens SET access_token = refresh_token WHERE portal_id = 3`)
	rawExec(t, raw, `UPDATE app_secrets SET secret = (SELECT secret FROM app_secrets WHERE name = 'codes') WHERE name = 'other'`)

	_, err := db.GetToken(ctx, 2, "hubspot")
	if !errors.Is(err, ErrMisplaced) || !strings.Contains(err.Error(), "oauth_tokens.access_token of portal 2 (hubspot)") || !strings.Contains(err.Error(), "does not belong to this row") {
		t.Errorf("GetToken(portal 2, holding portal 1's tokens) = %v, want ErrMisplaced naming oauth_tokens.access_token of portal 2", err)
	}
	if _, err := db.GetToken(ctx, 3, "hubspot"); !errors.Is(err, ErrMisplaced) || !strings.Contains(err.Error(), "oauth_tokens.access_token of portal 3") {
		t.Errorf("GetToken(portal 3, refresh token in the access token's column) = %v, want ErrMisplaced", err)
	}
	_, err = db.GetAPIKey(ctx, 2, "stripe")
	if !errors.Is(err, ErrMisplaced) || !strings.Contains(err.Error(), "api_keys.secret of portal 2 (stripe)") {
		t.Errorf("GetAPIKey(portal 2, holding portal 1's key) = %v, want ErrMisplaced naming api_keys.secret of portal 2", err)
	}
	if err := db.Write(ctx, func(tx *Tx) error { _, err := tx.AddAppSecret(ctx, "other", "x"); return err }); !errors.Is(err, ErrMisplaced) ||
		!strings.Contains(err.Error(), "app_secrets.secret of app secret other") {
		t.Errorf("AddAppSecret(other, holding codes' value) = %v, want ErrMisplaced naming app_secrets.secret of other", err)
	}
	if tok, err := db.GetToken(ctx, 1, "hubspot"); err != nil || tok.AccessToken != "access-1" {
		t.Errorf("GetToken(portal 1) = %q, %v; want its own token", tok.AccessToken, err)
	}
	if k, err := db.GetAPIKey(ctx, 1, "stripe"); err != nil || k.Secret != "sk_live_1" {
		t.Errorf("GetAPIKey(portal 1) = %q, %v; want its own key", k.Secret, err)
	}
	// Saving the secret again (a reconnect) mends the row.
	write(t, db, func(tx *Tx) error {
		return tx.SaveAPIKey(ctx, APIKey{PortalID: 2, Provider: "stripe", Secret: "sk_live_2", Hint: "sk_live_…"})
	})
	if k, err := db.GetAPIKey(ctx, 2, "stripe"); err != nil || k.Secret != "sk_live_2" {
		t.Errorf("GetAPIKey(portal 2) after saving it again = %q, %v", k.Secret, err)
	}

	// A value moved between rows sealed under the previous key: Reseal
	// re-seals the rest and reports it, rather than failing start-up.
	path2 := storetest.URL(t)
	before := openTestDB(t, path2, WithKeys(oldKey, nil))
	write(t, before, func(tx *Tx) error {
		for _, p := range []int64{1, 2} {
			if err := tx.SaveAPIKey(ctx, APIKey{PortalID: p, Provider: "clearbit", Secret: fmt.Sprint("cb_", p), Hint: "cb…"}); err != nil {
				return err
			}
		}
		return nil
	})
	rawExec(t, rawDB(t, path2), `UPDATE api_keys SET secret = (SELECT secret FROM api_keys WHERE portal_id = 1) WHERE portal_id = 2`)
	rotating := openTestDB(t, path2, WithKeys(key, oldKey))
	rep, err := rotating.Reseal(ctx)
	if err != nil || rep.Resealed != 1 || len(rep.Misplaced) != 1 || rep.Misplaced[0] != "api_keys.secret of portal 2 (clearbit)" {
		t.Errorf("Reseal() = %+v, %v; want portal 1's key re-sealed and portal 2's reported", rep, err)
	}
	if _, err := rotating.GetAPIKey(ctx, 2, "clearbit"); !errors.Is(err, ErrMisplaced) {
		t.Errorf("GetAPIKey(portal 2) after Reseal = %v, want ErrMisplaced still", err)
	}
}

// TestUnboundRowsResealedAndStillOpen: rows sealed before values were bound
// to their rows (no prefix, no associated data) still open; Reseal binds
// them all, one row per write, so a crash between two rows leaves every row
// openable and the next Reseal finishes; it is idempotent; after it, an
// unbound value put into a row (from an old backup, say) is refused.
func TestUnboundRowsResealedAndStillOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := storetest.URL(t)
	key := testKey("k")
	db := openTestDB(t, path, WithKeys(key, nil))
	id := keyID(key)
	raw := rawDB(t, path)
	for _, p := range []int64{1, 2} {
		if _, err := raw.Exec(`INSERT INTO oauth_tokens (portal_id, provider, access_token, refresh_token, key_id, expires_at, version, updated_at)
			VALUES (?, 'hubspot', ?, ?, ?, 0, 1, 0)`, p, legacySeal(t, key, fmt.Sprint("access-", p)), legacySeal(t, key, fmt.Sprint("refresh-", p)), id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`INSERT INTO api_keys (portal_id, provider, secret, key_id, hint, verified_at, updated_at) VALUES (1, 'stripe', ?, ?, 'sk…', 0, 0)`,
		legacySeal(t, key, "sk_live_1"), id); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO app_secrets (name, secret, key_id, created_at) VALUES ('codes', ?, ?, 0)`, legacySeal(t, key, "first value"), id); err != nil {
		t.Fatal(err)
	}
	// A crash part-way through a Reseal: portal 1's grant is bound, the
	// rest is not. Every row opens.
	write(t, db, func(tx *Tx) error {
		_, err := tx.UpdateRefreshedToken(ctx, Token{PortalID: 1, Provider: "hubspot", AccessToken: "access-1", RefreshToken: "refresh-1"}, 1)
		return err
	})
	opensAll := func(db *DB) {
		t.Helper()
		for _, p := range []int64{1, 2} {
			if tok, err := db.GetToken(ctx, p, "hubspot"); err != nil || tok.AccessToken != fmt.Sprint("access-", p) || tok.RefreshToken != fmt.Sprint("refresh-", p) {
				t.Errorf("GetToken(portal %d) = %q %q, %v", p, tok.AccessToken, tok.RefreshToken, err)
			}
		}
		if k, err := db.GetAPIKey(ctx, 1, "stripe"); err != nil || k.Secret != "sk_live_1" {
			t.Errorf("GetAPIKey() = %q, %v", k.Secret, err)
		}
		var v string
		write(t, db, func(tx *Tx) error { var err error; v, err = tx.AddAppSecret(ctx, "codes", "second value"); return err })
		if v != "first value" {
			t.Errorf("app secret = %q, want the first value", v)
		}
	}
	opensAll(db)

	restarted := openTestDB(t, path, WithKeys(key, nil))
	rep, err := restarted.Reseal(ctx)
	if err != nil || rep.Resealed != 3 || len(rep.Misplaced) != 0 {
		t.Fatalf("Reseal() = %+v, %v; want 3 re-sealed (portal 2's grant, the API key, the app secret)", rep, err)
	}
	var unbound int
	if err := raw.QueryRow(`SELECT (SELECT COUNT(*) FROM oauth_tokens WHERE access_token NOT LIKE 's2:%' OR refresh_token NOT LIKE 's2:%')
		+ (SELECT COUNT(*) FROM api_keys WHERE secret NOT LIKE 's2:%') + (SELECT COUNT(*) FROM app_secrets WHERE secret NOT LIKE 's2:%')`).Scan(&unbound); err != nil {
		t.Fatal(err)
	}
	if unbound != 0 {
		t.Errorf("%d rows still unbound after Reseal, want 0", unbound)
	}
	opensAll(restarted)
	if rep, err := restarted.Reseal(ctx); err != nil || rep.Resealed != 0 {
		t.Errorf("second Reseal() = %+v, %v; want nothing to do", rep, err)
	}
	rawExec(t, raw, `UPDATE api_keys SET secret = ? WHERE portal_id = 1`, legacySeal(t, key, "sk_from_a_backup"))
	if _, err := restarted.GetAPIKey(ctx, 1, "stripe"); !errors.Is(err, ErrMisplaced) || !strings.Contains(err.Error(), "api_keys.secret of portal 1 (stripe)") {
		t.Errorf("GetAPIKey(an unbound value put in after Reseal) = %v, want ErrMisplaced", err)
	}
}

// TestUnboundRowUnderPreviousKey: an upgrade and a rotation at once: a row
// sealed unbound under the previous key opens, and Reseal seals it bound
// under the current key, after which the previous key can go.
func TestUnboundRowUnderPreviousKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := storetest.URL(t)
	oldKey, newKey := testKey("old"), testKey("new")
	db := openTestDB(t, path, WithKeys(newKey, oldKey))
	if _, err := rawDB(t, path).Exec(`INSERT INTO api_keys (portal_id, provider, secret, key_id, hint, verified_at, updated_at) VALUES (5, 'stripe', ?, ?, 'sk…', 0, 0)`,
		legacySeal(t, oldKey, "sk_live_5"), keyID(oldKey)); err != nil {
		t.Fatal(err)
	}
	if k, err := db.GetAPIKey(ctx, 5, "stripe"); err != nil || k.Secret != "sk_live_5" {
		t.Errorf("GetAPIKey(unbound, previous key) = %q, %v", k.Secret, err)
	}
	if rep, err := db.Reseal(ctx); err != nil || rep.Resealed != 1 {
		t.Fatalf("Reseal() = %+v, %v; want 1 re-sealed", rep, err)
	}
	after := openTestDB(t, path, WithKeys(newKey, nil))
	if k, err := after.GetAPIKey(ctx, 5, "stripe"); err != nil || k.Secret != "sk_live_5" {
		t.Errorf("GetAPIKey() with only the new key after Reseal = %q, %v", k.Secret, err)
	}
}
