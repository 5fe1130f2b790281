package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// TestResealAfterKeyRotation: after a start-up with ENCRYPTION_KEY_PREVIOUS
// set (which runs the store's Reseal), every grant, portal key and app
// secret opens with the new key alone, and the app's own secret keeps its
// value.
func TestResealAfterKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	log := slog.New(slog.DiscardHandler)
	open := func(current, previous []byte) *store.DB {
		t.Helper()
		db, err := store.Open(ctx, path, store.WithKeys(current, previous))
		if err != nil {
			t.Fatal(err)
		}
		return db
	}

	before := open(oldKey, nil)
	if err := actions.NewAPIKeys(before, "clearbit", "Clearbit", "", "").Save(ctx, 42, "sk_portal_key_1234"); err != nil {
		t.Fatal(err)
	}
	tok := &oauth2.Token{AccessToken: "qb-access-1", RefreshToken: "qb-refresh-1", Expiry: time.Now().Add(time.Hour)}
	if err := oauth.NewGrants("quickbooks", &oauth2.Config{}, before, &http.Client{}, log).Save(ctx, 42, tok, "9130", "Portal Ltd"); err != nil {
		t.Fatal(err)
	}
	secret, err := appSecret(ctx, before, "stripe promotion codes")
	if err != nil {
		t.Fatal(err)
	}
	before.Close()

	rotating := open(newKey, oldKey)
	if rep, err := rotating.Reseal(ctx); err != nil || rep.Resealed != 3 {
		t.Fatalf("Reseal() = %+v, %v; want 3 re-sealed", rep, err)
	}
	rotating.Close()

	after := open(newKey, nil)
	defer after.Close()
	if key, err := actions.NewAPIKeys(after, "clearbit", "Clearbit", "", "").Key(ctx, 42); err != nil || key != "sk_portal_key_1234" {
		t.Errorf("portal key after rotation = %q, %v", key, err)
	}
	if got, err := oauth.NewGrants("quickbooks", &oauth2.Config{}, after, &http.Client{}, log).Token(ctx, 42); err != nil || got.AccessToken != tok.AccessToken {
		t.Errorf("QuickBooks token after rotation = %v, %v; want %q", got, err, tok.AccessToken)
	}
	again, err := appSecret(ctx, after, "stripe promotion codes")
	if err != nil || !bytes.Equal(again, secret) {
		t.Errorf("app secret after rotation changed or failed: %v", err)
	}
}
