package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// TestResealAfterKeyRotation: after a start-up with ENCRYPTION_KEY_PREVIOUS
// set, every portal key and app secret opens with the new key alone, and
// the app's own secret keeps its value.
func TestResealAfterKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	before, _ := oauth.NewKeyring(oldKey, nil)
	if err := actions.NewAPIKeys(db, before, "clearbit", "Clearbit", "", "").Save(ctx, 42, "sk_portal_key_1234"); err != nil {
		t.Fatal(err)
	}
	secret, err := appSecret(ctx, db, before, "stripe promotion codes")
	if err != nil {
		t.Fatal(err)
	}

	rotating, _ := oauth.NewKeyring(newKey, oldKey)
	if err := reseal(ctx, db, rotating, nil, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("reseal: %v", err)
	}

	after, _ := oauth.NewKeyring(newKey, nil)
	if key, err := actions.NewAPIKeys(db, after, "clearbit", "Clearbit", "", "").Key(ctx, 42); err != nil || key != "sk_portal_key_1234" {
		t.Errorf("portal key after rotation = %q, %v", key, err)
	}
	again, err := appSecret(ctx, db, after, "stripe promotion codes")
	if err != nil || !bytes.Equal(again, secret) {
		t.Errorf("app secret after rotation changed or failed: %v", err)
	}
}
