package clearbit_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/clearbit"
	"hubspot-actions/actions/clearbit/clearbittest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

const appKey = "sk_app_shared_clearbit"

// Portals of the shared-key tests.
const (
	sharedA   = 8200001 // allowed to use the app's key
	sharedB   = 8200002 // allowed too
	notListed = 8200003 // not on CLEARBIT_APP_KEY_PORTALS
	ownKeyed  = 8200004 // allowed, but entered its own key
)

type sharedEnv struct {
	h    *actionstest.Harness
	fake *clearbittest.Server
	url  string
	p    *clearbit.Provider
}

// newSharedEnv builds the provider as cmd does, from a Config, with a
// store that seals keys: portals A, B and the own-key portal may use the
// app's key, quota executions a day each.
func newSharedEnv(t *testing.T, quota int64) sharedEnv {
	t.Helper()
	fake, url := clearbittest.Start(t, clearbittest.Options{})
	db, err := store.Open(context.Background(), storetest.URL(t), store.WithKeys(bytes.Repeat([]byte{3}, 32), nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := clearbit.Config{APIKey: appKey, BaseURL: url, AppKeyDailyQuota: quota,
		AppKeyPortals: fmt.Sprintf("%d, %d, %d", sharedA, sharedB, ownKeyed)}
	p, err := clearbit.New(cfg, actions.Deps{DB: db, PublicBaseURL: "https://app.example",
		HTTPClient: func(string, time.Duration) *http.Client { return &http.Client{Timeout: 5 * time.Second} }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Keys().Save(context.Background(), ownKeyed, "sk_portal_own_key"); err != nil {
		t.Fatal(err)
	}
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := p.Register(r); err != nil {
			t.Fatal(err)
		}
	}, actionstest.Options{Config: actions.Config{InlineBudget: 3 * time.Second, MaxAttempts: 2}})
	return sharedEnv{h: h, fake: fake, url: url, p: p}
}

// runs are one execution of each Clearbit action.
var runs = []struct {
	action string
	inputs func(i int) map[string]any
}{
	{clearbit.KeyEnrichContact, func(i int) map[string]any { return map[string]any{"email": fmt.Sprintf("alex%d@stripe.com", i)} }},
	{clearbit.KeyEnrichCompany, func(i int) map[string]any { return map[string]any{"domain": fmt.Sprintf("example%d.org", i)} }},
}

func objectType(action string) string {
	if action == clearbit.KeyEnrichCompany {
		return "COMPANY"
	}
	return "CONTACT"
}

// TestSharedKeyQuota runs every Clearbit action for two portals sharing
// the app's key: each may run its quota a day, the next execution is
// refused before Clearbit is asked, with a message saying the admin can
// enter the account's own key; a portal's quota is its own; a retried
// execution is not counted again.
func TestSharedKeyQuota(t *testing.T) {
	t.Parallel()
	for _, run := range runs {
		t.Run(run.action, func(t *testing.T) {
			t.Parallel()
			e := newSharedEnv(t, 2)
			for _, portal := range []int64{sharedA, sharedB} {
				for i := range 2 {
					req := actionstest.NewRequest(portal, objectType(run.action), run.inputs(i), nil)
					got := e.h.Run(t, run.action, req, 30*time.Second)
					if got[actions.OutputState] != actions.StateSuccess {
						t.Fatalf("portal %d execution %d: %v", portal, i, got)
					}
					if i == 0 {
						// A repeated delivery of a counted execution costs nothing.
						e.h.Run(t, run.action, req, 30*time.Second)
					}
				}
			}
			before := len(e.fake.Requests())
			got := e.h.Run(t, run.action, actionstest.NewRequest(sharedA, objectType(run.action), run.inputs(9), nil), 30*time.Second)
			msg := got["error_message"]
			if got[actions.OutputState] != actions.StateFailContinue || got["error_code"] != string(actions.CodeRateLimited) ||
				!strings.Contains(msg, "2 actions a day") || !strings.Contains(msg, "own Clearbit API key") || !strings.Contains(msg, "https://app.example/settings") {
				t.Errorf("over quota: %v, want RATE_LIMITED saying the admin can enter the account's own key", got)
			}
			if n := len(e.fake.Requests()); n != before {
				t.Errorf("over quota: %d requests reached Clearbit, want none", n-before)
			}
			e.fake.AssertKeyCalls(t, appKey, 4)
		})
	}
}

// TestSharedKeyNotAllowed: a portal the operator did not list answers
// NOT_CONNECTED through every action, and Clearbit is never asked.
func TestSharedKeyNotAllowed(t *testing.T) {
	t.Parallel()
	e := newSharedEnv(t, 0)
	for i, run := range runs {
		got := e.h.Run(t, run.action, actionstest.NewRequest(notListed, objectType(run.action), run.inputs(i), nil), 30*time.Second)
		msg := got["error_message"]
		if got["error_code"] != string(actions.CodeNotConnected) || !strings.Contains(msg, "shared Clearbit key is not available") ||
			!strings.Contains(msg, "own Clearbit API key") || !strings.Contains(msg, "https://app.example/settings") {
			t.Errorf("%s for a portal not allowed = %v, want NOT_CONNECTED telling the admin to enter a key", run.action, got)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests reached Clearbit for a portal not allowed, want none", n)
	}
	// runs covers every action the provider registers.
	for _, a := range e.h.Registry.All() {
		covered := false
		for _, run := range runs {
			covered = covered || run.action == a.Key
		}
		if !covered {
			t.Errorf("action %s is not run by the shared-key tests", a.Key)
		}
	}
	card, err := e.p.Card(context.Background(), notListed)
	if err != nil || card.Status != actions.CardNotConnected || card.Key.HasDefault {
		t.Errorf("Card(not allowed) = %+v, %v; want not connected, no default offered", card, err)
	}
	if card, _ := e.p.Card(context.Background(), sharedA); card.Status != actions.CardDefault {
		t.Errorf("Card(allowed) status = %s, want %s", card.Status, actions.CardDefault)
	}
}

// TestOwnKeyNoQuota: a portal's own key is never counted against the
// operator's quota.
func TestOwnKeyNoQuota(t *testing.T) {
	t.Parallel()
	e := newSharedEnv(t, 1)
	for _, run := range runs {
		for i := range 3 {
			got := e.h.Run(t, run.action, actionstest.NewRequest(ownKeyed, objectType(run.action), run.inputs(i), nil), 30*time.Second)
			if got[actions.OutputState] != actions.StateSuccess {
				t.Errorf("%s #%d with the portal's own key = %v, want SUCCESS", run.action, i, got)
			}
		}
	}
	e.fake.AssertKeyCalls(t, "sk_portal_own_key", 6)
	e.fake.AssertKeyCalls(t, appKey, 0)
}

func TestConfigAppKeySettings(t *testing.T) {
	t.Parallel()
	err := clearbit.Config{AppKeyPortals: "all,12", AppKeyDailyQuota: -5}.Validate()
	for _, want := range []string{"CLEARBIT_APP_KEY_PORTALS", "CLEARBIT_APP_KEY_DAILY_QUOTA"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want an error naming %s", err, want)
		}
	}
	if err := (clearbit.Config{AppKeyPortals: "12 34", AppKeyDailyQuota: 10}).Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}

// TestSharedKeyQueuedCountsOnce: an execution Clearbit queues (202) runs
// again later; it was counted on its first run, so a quota of one is
// enough for it to finish.
func TestSharedKeyQueuedCountsOnce(t *testing.T) {
	t.Parallel()
	e := newSharedEnv(t, 1)
	// The same key store, with Clearbit asked again every 20 ms.
	fast, err := clearbit.NewForTest(clearbit.NewClient(e.url, &http.Client{Timeout: 5 * time.Second}), e.p.Keys().Use, clearbit.Options{PendingEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.h = actionstest.New(t, func(r *actions.Registry) {
		if err := fast.Register(r); err != nil {
			t.Fatal(err)
		}
	}, actionstest.Options{Config: actions.Config{InlineBudget: time.Second, MaxAttempts: 2}})
	req := actionstest.NewRequest(sharedA, "CONTACT", map[string]any{"email": "queued@example.com"}, nil)
	got := e.h.Run(t, clearbit.KeyEnrichContact, req, 20*time.Second)
	if got[actions.OutputState] != actions.StateSuccess {
		t.Fatalf("queued lookup = %v, want SUCCESS after Clearbit's 202s", got)
	}
	if n := e.fake.Calls("queued@example.com"); n < 2 {
		t.Errorf("Clearbit was asked %d times, want the 202s and the answer", n)
	}
	got = e.h.Run(t, clearbit.KeyEnrichContact, actionstest.NewRequest(sharedA, "CONTACT", map[string]any{"email": "next@example.com"}, nil), 30*time.Second)
	if got["error_code"] != string(actions.CodeRateLimited) {
		t.Errorf("second execution with a quota of one = %v, want RATE_LIMITED", got)
	}
}

// TestNewWarnsWhenNoPortalAllowed: an operator who upgrades with
// CLEARBIT_API_KEY set and no allow-list is told at start-up, without
// the key.
func TestNewWarnsWhenNoPortalAllowed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		portals string
		warn    bool
	}{{"", true}, {"all", false}} {
		var logs bytes.Buffer
		_, err := clearbit.New(clearbit.Config{APIKey: appKey, AppKeyPortals: tt.portals, AppKeyDailyQuota: 100},
			actions.Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "CLEARBIT_APP_KEY_PORTALS allows no portal"); got != tt.warn {
			t.Errorf("portals %q: warned = %v, want %v; logs: %s", tt.portals, got, tt.warn, logs.String())
		}
		if strings.Contains(logs.String(), appKey) {
			t.Errorf("logs show the key: %s", logs.String())
		}
	}
}
