package actions_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

func newKeyDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), storetest.URL(t), store.WithKeys(bytes.Repeat([]byte{7}, 32), nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestParseAppKeyAccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		portals string
		quota   int64
		allowed []int64
		denied  []int64
		str     string
		err     string
	}{
		{name: "unset allows none", denied: []int64{1, 2}, str: "no portal"},
		{name: "all", portals: "ALL", quota: 50, allowed: []int64{1, 99}, str: "all portals, 50 executions a day each"},
		{name: "list", portals: "12345, 678 ,9", allowed: []int64{12345, 678, 9}, denied: []int64{1}, str: "portals 12345, 678, 9, no daily limit"},
		{name: "not an id", portals: "123,abc", err: `P: "abc" is not a HubSpot portal ID`},
		{name: "negative id", portals: "-4", err: `P: "-4" is not a HubSpot portal ID`},
		{name: "all and a list", portals: "all,5", err: `P: "all" and a list of portal IDs exclude each other`},
		{name: "negative quota", portals: "all", quota: -1, err: "Q: -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := actions.ParseAppKeyAccess("P", tt.portals, "Q", tt.quota)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseAppKeyAccess(%q, %d) = %v, want an error containing %q", tt.portals, tt.quota, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAppKeyAccess(%q, %d) = %v", tt.portals, tt.quota, err)
			}
			for _, id := range tt.allowed {
				if !a.Allows(id) {
					t.Errorf("Allows(%d) = false, want true", id)
				}
			}
			for _, id := range tt.denied {
				if a.Allows(id) {
					t.Errorf("Allows(%d) = true, want false", id)
				}
			}
			if a.String() != tt.str {
				t.Errorf("String() = %q, want %q", a.String(), tt.str)
			}
		})
	}
}

// TestAPIKeysUse covers who gets which key: a portal's own key always, the
// app key only for allowed portals and within their daily quota, counted
// once per execution.
func TestAPIKeysUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newKeyDB(t)
	const allowed, other, owner = 101, 102, 103
	access, err := actions.ParseAppKeyAccess("X_PORTALS", fmt.Sprintf("%d,%d", allowed, owner), "X_QUOTA", 2)
	if err != nil {
		t.Fatal(err)
	}
	keys := actions.NewAPIKeys(db, "prov", "Prov", "sk_app", "https://app.example/settings").WithAppKeyAccess(access)
	if err := keys.Save(ctx, owner, "sk_own_portal_key"); err != nil {
		t.Fatal(err)
	}
	ex := func(portal int64, cb string) *actions.Execution {
		return &actions.Execution{PortalID: portal, CallbackID: cb}
	}
	use := func(portal int64, cb string) (actions.Key, *actions.Error) {
		k, err := keys.Use(ctx, ex(portal, cb))
		var ae *actions.Error
		if err != nil && !errors.As(err, &ae) {
			t.Fatalf("Use(%d, %s) = %v, want an *actions.Error", portal, cb, err)
		}
		return k, ae
	}

	// The allowed portal gets the shared key twice; a retry is free.
	for _, cb := range []string{"a-1", "a-1", "a-2"} {
		if k, err := use(allowed, cb); err != nil || k != actions.SharedKey("sk_app") {
			t.Fatalf("Use(allowed, %s) = %v, %v; want the shared key", cb, k, err)
		}
	}
	// The third execution of the day is refused, naming the settings page.
	_, qerr := use(allowed, "a-3")
	if qerr == nil || qerr.Code != actions.CodeRateLimited || !strings.Contains(qerr.Message, "2 actions a day") ||
		!strings.Contains(qerr.Message, "https://app.example/settings") || !strings.Contains(qerr.Message, "own Prov API key") {
		t.Errorf("Use(allowed, third execution) = %v, want RATE_LIMITED about the quota and the settings page", qerr)
	}
	// Counted executions still run.
	if k, err := use(allowed, "a-2"); err != nil || !k.Shared {
		t.Errorf("Use(allowed, counted execution again) = %v, %v; want the shared key", k, err)
	}
	// The settings card shows what is used of the quota.
	if card, err := keys.Card(ctx, allowed, "help"); err != nil || card.Status != actions.CardDefault ||
		!strings.Contains(card.Detail, "up to 2 actions a day: 2 used today") {
		t.Errorf("Card(allowed) = %+v, %v; want the app default with the quota used", card, err)
	}
	// A portal not on the list is not connected.
	_, nerr := use(other, "o-1")
	if nerr == nil || nerr.Code != actions.CodeNotConnected || !strings.Contains(nerr.Message, "shared Prov key is not available") ||
		!strings.Contains(nerr.Message, "https://app.example/settings") {
		t.Errorf("Use(not allowed) = %v, want NOT_CONNECTED telling the admin to enter a key", nerr)
	}
	if info, _ := keys.Info(ctx, other); info.HasDefault {
		t.Errorf("Info(not allowed).HasDefault = true, want false: the settings page must not offer the app key")
	}
	// A portal's own key is never counted.
	for i := range 5 {
		if k, err := use(owner, fmt.Sprintf("w-%d", i)); err != nil || k != actions.OwnKey("sk_own_portal_key") {
			t.Fatalf("Use(own key #%d) = %v, %v; want the portal's key", i, k, err)
		}
	}
	if n, err := db.AppKeyUsed(ctx, "prov", owner); n != 0 || err != nil {
		t.Errorf("AppKeyUsed(own key portal) = %d, %v; want 0", n, err)
	}
	// The key never shows in print.
	if s := fmt.Sprintf("%v %+v", actions.SharedKey("sk_app"), actions.OwnKey("sk_own_portal_key")); strings.Contains(s, "sk_") {
		t.Errorf("printed keys = %q, want no secret", s)
	}
}
