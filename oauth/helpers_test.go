package oauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

const (
	testClientID     = "client-5f1c"
	testClientSecret = "secret-9d2e-7a41-b3c0"
	testPortal       = int64(7000001)
)

var testScopes = []string{"oauth", "automation", "crm.objects.contacts.read", "crm.objects.deals.read"}

func testKey(label string) []byte {
	k := sha256.Sum256([]byte("test key " + label))
	return k[:]
}

func newTestDB(t *testing.T) *store.DB {
	t.Helper()
	return openTestDB(t, storetest.URL(t))
}

// openTestDB opens the database at path with the sealing keys given (the
// current, then the previous), testKey("k") when none is.
func openTestDB(t *testing.T, path string, keys ...[]byte) *store.DB {
	t.Helper()
	keys = append(keys, nil, nil)
	if keys[0] == nil {
		keys[0] = testKey("k")
	}
	db, err := store.Open(context.Background(), path, store.WithKeys(keys[0], keys[1]))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// logBuffer collects log output, safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	t.Helper()
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func newDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fakeHubSpot starts a fake HubSpot whose token endpoint answers after
// tokenDelay (so concurrent refreshers really overlap), and fails the test
// on protocol violations.
func fakeHubSpot(t *testing.T, cfg hubspottest.Config, tokenDelay time.Duration) (*hubspottest.Server, string) {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID, cfg.ClientSecret = testClientID, testClientSecret
	}
	hs := hubspottest.NewServer(cfg)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tokenDelay > 0 && r.URL.Path == "/oauth/2026-03/token" {
			time.Sleep(tokenDelay)
		}
		hs.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ts.Close()
		for _, v := range hs.Violations() {
			t.Errorf("hubspottest: %s", v)
		}
	})
	return hs, ts.URL
}

func hubspotConf(baseURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: baseURL + "/oauth/2026-03/token", AuthStyle: oauth2.AuthStyleInParams},
	}
}

func newTestGrants(t *testing.T, baseURL string, db *store.DB) *Grants {
	t.Helper()
	log, _ := newTestLogger(t)
	return NewGrants(ProviderHubSpot, hubspotConf(baseURL), db, &http.Client{Timeout: 10 * time.Second}, log)
}

// saveGrant stores tokens the fake issued for portal, expiring at expiry.
func saveGrant(t *testing.T, g *Grants, tok hubspottest.Tokens, portalID int64, expiry time.Time) {
	t.Helper()
	err := g.Save(context.Background(), portalID, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: expiry}, "", "")
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func upsertPortal(t *testing.T, db *store.DB, portalID int64) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.UpsertPortal(ctx, store.Portal{PortalID: portalID, HubDomain: "x.hubspot.com", Scopes: testScopes})
	})
	if err != nil {
		t.Fatalf("UpsertPortal: %v", err)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Millisecond)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func containsAny(s string, subs ...string) (string, bool) {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return sub, true
		}
	}
	return "", false
}
