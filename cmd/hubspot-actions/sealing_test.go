package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// sealUnbound seals plaintext under key as the store did before sealed
// values were bound to their rows.
func sealUnbound(t *testing.T, key []byte, plaintext string) string {
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
	rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plaintext), nil))
}

// openRaw opens the SQLite file directly (the driver the store
// registers), as someone with access to the file would.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// seedUnbound creates the database at path with a grant, an API key and an
// app secret sealed in the unbound format.
func seedUnbound(t *testing.T, path string, key []byte) {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.WithKeys(key, nil))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw := openRaw(t, path)
	id := keyIDOf(t, path, key)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO oauth_tokens (portal_id, provider, access_token, refresh_token, key_id, expires_at, version, updated_at)
			VALUES (4242, 'quickbooks', ?, ?, ?, ?, 1, 0)`, []any{sealUnbound(t, key, "qb-access-old"), sealUnbound(t, key, "qb-refresh-old"), id, time.Now().Add(time.Hour).UnixMilli()}},
		{`INSERT INTO api_keys (portal_id, provider, secret, key_id, hint, verified_at, updated_at) VALUES (4242, 'clearbit', ?, ?, 'sk…', 0, 0)`,
			[]any{sealUnbound(t, key, "sk_unbound_4242"), id}},
		{`INSERT INTO app_secrets (name, secret, key_id, created_at) VALUES ('unbound test', ?, ?, 0)`, []any{sealUnbound(t, key, "app value"), id}},
	} {
		if _, err := raw.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}

// keyIDOf learns the id the store gives key, from a row it seals.
func keyIDOf(t *testing.T, path string, key []byte) string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.WithKeys(key, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.AddAppSecret(ctx, "key id probe", "x"); return err }); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := openRaw(t, path).QueryRow(`SELECT key_id FROM app_secrets WHERE name = 'key id probe'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func countUnbound(t *testing.T, path string) int {
	t.Helper()
	var n int
	err := openRaw(t, path).QueryRow(`SELECT (SELECT COUNT(*) FROM oauth_tokens WHERE access_token NOT LIKE 's2:%' OR refresh_token NOT LIKE 's2:%')
		+ (SELECT COUNT(*) FROM api_keys WHERE secret NOT LIKE 's2:%') + (SELECT COUNT(*) FROM app_secrets WHERE secret NOT LIKE 's2:%')`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestServeBindsUnboundSecretsAtStartUp: secrets sealed before values were
// bound to their rows are sealed again, bound, when serve starts (without
// any key rotation), and still open.
func TestServeBindsUnboundSecretsAtStartUp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sec, err := loadSandboxSecrets(filepath.Join(dir, "data"), true)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(sec.EncryptionKey)
	path := filepath.Join(dir, "data", "hubspot-actions.db")
	seedUnbound(t, path, key)
	if n := countUnbound(t, path); n != 3 {
		t.Fatalf("seeded %d unbound rows, want 3", n)
	}

	s := startServerIn(t, dir, map[string]string{"DATABASE_URL": path}) // the test reads the SQLite file
	if n := countUnbound(t, path); n != 0 {
		t.Errorf("%d rows still unbound after serve started, want 0", n)
	}
	if !strings.Contains(s.logs.String(), "re-sealed secrets under the current ENCRYPTION_KEY, bound to their rows") {
		t.Errorf("serve did not report the re-seal:\n%s", s.logs)
	}
	db := serverDB(t, s)
	ctx := context.Background()
	if k, err := db.GetAPIKey(ctx, 4242, "clearbit"); err != nil || k.Secret != "sk_unbound_4242" {
		t.Errorf("GetAPIKey() after start-up = %q, %v", k.Secret, err)
	}
	if tok, err := db.GetToken(ctx, 4242, "quickbooks"); err != nil || tok.RefreshToken != "qb-refresh-old" {
		t.Errorf("GetToken() after start-up = %q, %v", tok.RefreshToken, err)
	}
}

// TestMigrateBindsUnboundSecrets: migrate, given ENCRYPTION_KEY, re-seals
// as serve does; run again, it has nothing to do.
func TestMigrateBindsUnboundSecrets(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{9}, 32)
	path := filepath.Join(t.TempDir(), "db.sqlite")
	seedUnbound(t, path, key)
	env := map[string]string{"DATABASE_URL": path, "ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(key)}
	for i := range 2 {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
			t.Fatalf("migrate: %v\n%s", err, out.String())
		}
		if got := strings.Contains(out.String(), `"count":3`); got != (i == 0) {
			t.Errorf("migrate run %d reported re-sealing 3 rows: %v, want %v:\n%s", i+1, got, i == 0, out.String())
		}
	}
	if n := countUnbound(t, path); n != 0 {
		t.Errorf("%d rows still unbound after migrate, want 0", n)
	}
}

// TestMovedSecretsAnswerNotConnected: a portal's sealed API key or
// QuickBooks grant copied, in the SQLite file, into another portal's row
// does not serve that portal: its executions answer 200 with
// FAIL_CONTINUE and NOT_CONNECTED (never a 500, never the other portal's
// key), its settings page still shows, and saving its own key mends it.
func TestMovedSecretsAnswerNotConnected(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // on SQLite whatever TEST_DATABASE_URL says: the test edits the file
	s := startServerIn(t, dir, map[string]string{"DATABASE_URL": filepath.Join(dir, "data", "hubspot-actions.db")})
	db := serverDB(t, s)
	ctx := context.Background()
	const other = 4343
	keys := actions.NewAPIKeys(db, "clearbit", "Clearbit", "", "")
	for _, p := range []int64{other, sandboxPortalID} {
		if err := keys.Save(ctx, p, fmt.Sprint("sk_live_portal_key_of_", p)); err != nil {
			t.Fatal(err)
		}
	}
	raw := openRaw(t, filepath.Join(s.Dir, "data", "hubspot-actions.db"))
	if _, err := raw.Exec(`UPDATE api_keys SET secret = (SELECT secret FROM api_keys WHERE portal_id = ? AND provider = 'clearbit')
		WHERE portal_id = ? AND provider = 'clearbit'`, other, sandboxPortalID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetAPIKey(ctx, sandboxPortalID, "clearbit"); !errors.Is(err, store.ErrMisplaced) ||
		!strings.Contains(err.Error(), "api_keys.secret of portal") || !strings.Contains(err.Error(), "does not belong to this row") {
		t.Errorf("GetAPIKey(the moved key) = %v, want ErrMisplaced naming api_keys.secret", err)
	}
	// The sandbox has an app-wide Clearbit key: NOT_CONNECTED also shows the
	// portal's unusable key is not silently replaced by it.
	got := s.execute(t, "clearbit-enrich-contact", "ap-moved-1", sandboxPortalID, map[string]any{"email": "alex@stripe.com"})
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "NOT_CONNECTED" || !strings.Contains(got["error_message"], "settings page") {
		t.Errorf("clearbit-enrich-contact with another portal's key = %v, want FAIL_CONTINUE NOT_CONNECTED", got)
	}

	// A QuickBooks grant of the other portal, copied over the sandbox
	// portal's.
	for _, p := range []int64{other, sandboxPortalID} {
		err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.SaveToken(ctx, store.Token{PortalID: p, Provider: "quickbooks", AccountID: "9130", AccessToken: "qb-access", RefreshToken: "qb-refresh", ExpiresAt: time.Now().Add(time.Hour)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`UPDATE oauth_tokens SET access_token = (SELECT access_token FROM oauth_tokens WHERE portal_id = ? AND provider = 'quickbooks'),
		refresh_token = (SELECT refresh_token FROM oauth_tokens WHERE portal_id = ? AND provider = 'quickbooks')
		WHERE portal_id = ? AND provider = 'quickbooks'`, other, other, sandboxPortalID); err != nil {
		t.Fatal(err)
	}
	got = s.execute(t, "quickbooks-find-or-create-customer", "ap-moved-2", sandboxPortalID, map[string]any{"email": "pat@example.com", "display_name": "Pat"})
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "NOT_CONNECTED" {
		t.Errorf("quickbooks with another portal's grant = %v, want FAIL_CONTINUE NOT_CONNECTED", got)
	}

	wc := signIn(t, s)
	if r := wc.get("/settings"); r.Status != http.StatusOK {
		t.Errorf("GET /settings with moved secrets = %d, want 200", r.Status)
	}
	if r := wc.post("/settings/keys/clearbit", map[string][]string{"api_key": {"sk_live_fresh00001"}, "csrf_token": {wc.csrf()}}); r.Status != http.StatusSeeOther {
		t.Fatalf("saving the portal's own key = %d, want 303:\n%s", r.Status, r.Body)
	}
	got = s.execute(t, "clearbit-enrich-contact", "ap-moved-3", sandboxPortalID, map[string]any{"email": "alex@stripe.com"})
	if got["hs_execution_state"] != "SUCCESS" {
		t.Errorf("clearbit-enrich-contact after saving the key again = %v, want SUCCESS", got)
	}
}

// TestPortalsRemoveWithMovedToken: a portal whose stored HubSpot token is
// another portal's (copied in the SQLite file) is removed without revoking
// that token at HubSpot, which would disconnect the other portal; its own
// secrets are deleted all the same.
func TestPortalsRemoveWithMovedToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newPortalsEnv(t)
	raw := openRaw(t, env.cfg.DatabaseURL)
	if _, err := raw.Exec(`UPDATE oauth_tokens SET access_token = (SELECT access_token FROM oauth_tokens WHERE portal_id = 7000001 AND provider = 'hubspot'),
		refresh_token = (SELECT refresh_token FROM oauth_tokens WHERE portal_id = 7000001 AND provider = 'hubspot')
		WHERE portal_id = 7000002 AND provider = 'hubspot'`); err != nil {
		t.Fatal(err)
	}
	got, err := env.run(t, "remove", "7000002")
	if err != nil || !strings.Contains(got, "Nothing revoked at HubSpot: the stored HubSpot token does not belong to this portal.") {
		t.Errorf("portals remove (moved token) = %q, %v; want it removed with nothing revoked", got, err)
	}
	if n := env.hs.Calls(hubspottest.EndpointRevoke); n != 0 || !env.hs.RefreshTokenLive(env.revoke) {
		t.Errorf("revoke calls = %d, portal 7000001's token live = %v; want no call and the token alive", n, env.hs.RefreshTokenLive(env.revoke))
	}
	if toks, _ := env.db.ListPortalTokens(ctx, 7000002); len(toks) != 0 {
		t.Errorf("portal 7000002 still has %d grants, want none", len(toks))
	}
}
