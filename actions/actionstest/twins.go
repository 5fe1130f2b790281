package actionstest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// The helpers below share the set-up of the providers' test-mode twin
// tests: a store holding a portal's real credentials, a live configuration
// pointed at Unreachable, the twin built with TestTwin and served by a
// harness, and the checks that nothing real reached the fake or changed.

// SealedDB opens a new test database (storetest.URL's) whose secrets are
// sealed with a key of 32 seed bytes, and closes it when the test ends.
func SealedDB(t testing.TB, seed byte) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), storetest.URL(t), store.WithKeys(bytes.Repeat([]byte{seed}, 32), nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TwinDeps returns the Deps the twin tests build providers with: db, the
// public base URL https://app.example and HTTP clients that give up after
// timeout.
func TwinDeps(db *store.DB, timeout time.Duration) actions.Deps {
	return actions.Deps{DB: db, PublicBaseURL: "https://app.example",
		HTTPClient: func(string, time.Duration) *http.Client { return &http.Client{Timeout: timeout} }}
}

// ForbidAppSecret is a Deps.AppSecret that fails the test when called: a
// twin never asks for the app's own secrets.
func ForbidAppSecret(t testing.TB) func(context.Context, string) ([]byte, error) {
	return func(context.Context, string) ([]byte, error) {
		t.Errorf("the twin asked for the app's secret")
		return bytes.Repeat([]byte{1}, 32), nil
	}
}

// SaveExpiredGrant stores through oauth.Grants, as a completed connect
// would, portal's grant of provider (oauth2 configuration conf) whose
// access token expired an hour ago, for the account accountID named
// accountName.
func SaveExpiredGrant(t testing.TB, db *store.DB, provider string, conf *oauth2.Config, portal int64, access, refresh, accountID, accountName string) {
	t.Helper()
	grants := oauth.NewGrants(provider, conf, db, &http.Client{Timeout: 5 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	expired := &oauth2.Token{AccessToken: access, RefreshToken: refresh, Expiry: time.Now().Add(-time.Hour)}
	if err := grants.Save(context.Background(), portal, expired, accountID, accountName); err != nil {
		t.Fatalf("save %s grant for portal %d: %v", provider, portal, err)
	}
}

// Twin builds m's twin with TestTwin, fails the test if that changed the
// live configuration (a pointer to the provider's Config), and starts a
// harness serving the twin's actions. It returns the twin, the fake's
// handler and the harness.
func Twin(t testing.TB, m actions.Module, live actions.ProviderConfig, deps actions.Deps) (actions.Provider, http.Handler, *Harness) {
	t.Helper()
	lv := reflect.ValueOf(live)
	if lv.Kind() != reflect.Pointer {
		t.Fatalf("Twin(%s): live configuration is a %T, want a pointer", m.Name(), live)
	}
	before := lv.Elem().Interface()
	twin, handler := TestTwin(t, m, live, deps)
	if diff := cmp.Diff(before, lv.Elem().Interface()); diff != "" {
		t.Errorf("TestFake changed the live configuration (-before +after):\n%s", diff)
	}
	h := New(t, func(r *actions.Registry) {
		if err := twin.Register(r); err != nil {
			t.Fatal(err)
		}
	}, Options{})
	return twin, handler, h
}

// PortalFake returns the fake fakes serves for portal, as a T; it fails the
// test if portal has none of that type.
func PortalFake[T any](t testing.TB, fakes *actions.PortalFakes, portal int64) T {
	t.Helper()
	fake, ok := fakes.Portal(portal).(T)
	if !ok {
		t.Fatalf("portal %d has no test fake", portal)
	}
	return fake
}

// NoSecrets fails the test for each of secrets that a value of header or
// body contains: a request the fake received (named by what) carries no
// real credential.
func NoSecrets(t testing.TB, what string, header http.Header, body string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(body, secret) {
			t.Errorf("%s carries a real credential in its body", what)
		}
		for name, vs := range header {
			for _, v := range vs {
				if strings.Contains(v, secret) {
					t.Errorf("%s carries a real credential in header %s", what, name)
				}
			}
		}
	}
}

// Unchanged reads rows now and returns a check that fails the test if read
// then returns something else: for store rows (named by what) a twin must
// leave as they are. The check may be called more than once.
func Unchanged[T any](t testing.TB, what string, read func() (T, error)) func() {
	t.Helper()
	before, err := read()
	if err != nil {
		t.Fatalf("read %s: %v", what, err)
	}
	return func() {
		t.Helper()
		after, err := read()
		if err != nil {
			t.Fatalf("read %s: %v", what, err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("%s changed (-before +after):\n%s", what, diff)
		}
	}
}

// WantTestCard fails the test unless twin's settings card for portal is the
// test-mode card, which shows it connected.
func WantTestCard(t testing.TB, twin actions.Provider, portal int64) {
	t.Helper()
	if card, err := twin.Card(context.Background(), portal); err != nil || card.Status != actions.CardConnected {
		t.Errorf("twin Card = %+v, %v; want the test-mode card", card, err)
	}
}

// DisconnectNoop disconnects portal from twin, if the twin is a
// Disconnector, and fails the test if that returns an error: a twin has
// nothing to disconnect. Callers check afterwards that no row went.
func DisconnectNoop(t testing.TB, twin actions.Provider, portal int64) {
	t.Helper()
	if d, ok := twin.(actions.Disconnector); ok {
		if err := d.Disconnect(context.Background(), portal); err != nil {
			t.Errorf("twin Disconnect = %v, want nil (nothing to do)", err)
		}
	}
}
