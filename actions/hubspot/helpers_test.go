package hubspot_test

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"hubspot-actions/actions/hubspot"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

const (
	testClientID     = "client-5f1c"
	testClientSecret = "secret-9d2e-7a41-b3c0"
	testPortal       = int64(7000001)
)

// clientEnv is a HubSpot client for testPortal against a fake HubSpot, with
// its grant in an oauth.Flow on a SQLite file.
type clientEnv struct {
	hs    *hubspottest.Server
	hsURL string
	db    *store.DB
	flow  *oauth.Flow
	h     *hubspot.Client
	lim   hubspot.RateLimiter
}

// newClientEnv paces the client with lim, or not at all when lim is nil.
// In sandbox mode no grant is saved: the flow makes up tokens.
func newClientEnv(t *testing.T, hcfg hubspottest.Config, sandbox bool, lim hubspot.RateLimiter) *clientEnv {
	t.Helper()
	hs, hsURL := fakeHubSpot(t, hcfg)
	k := sha256.Sum256([]byte("test key k"))
	db, err := store.Open(context.Background(), storetest.URL(t), store.WithKeys(k[:], nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if lim == nil {
		lim = unlimited{}
	}
	env := &clientEnv{hs: hs, hsURL: hsURL, db: db, lim: lim}
	env.reopen(sandbox)
	if !sandbox {
		ctx := context.Background()
		err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.UpsertPortal(ctx, store.Portal{PortalID: testPortal, HubDomain: "x.hubspot.com",
				Scopes: []string{"oauth", "automation", "crm.objects.contacts.read", "crm.objects.deals.read"}})
		})
		if err != nil {
			t.Fatalf("UpsertPortal: %v", err)
		}
		env.saveGrant(t, testPortal)
	}
	return env
}

// reopen gives the environment a new Flow and client on the same database,
// as after a restart: nothing is cached.
func (env *clientEnv) reopen(sandbox bool) {
	log := slog.New(slog.DiscardHandler)
	env.flow = oauth.New(oauth.Config{ClientID: testClientID, ClientSecret: testClientSecret, TokenBaseURL: env.hsURL, Sandbox: sandbox},
		env.db, &http.Client{Timeout: 10 * time.Second}, log)
	env.h = hubspot.New(env.hsURL, env.flow, env.lim, log)
}

// saveGrant stores the tokens the fake issued for a portal, valid for an hour.
func (env *clientEnv) saveGrant(t *testing.T, portalID int64) {
	t.Helper()
	tok := env.hs.Grant(portalID)
	err := env.flow.Grants().Save(context.Background(), portalID,
		&oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(time.Hour)}, "", "")
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// fakeHubSpot starts a fake HubSpot and fails the test on protocol
// violations.
func fakeHubSpot(t *testing.T, cfg hubspottest.Config) (*hubspottest.Server, string) {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID, cfg.ClientSecret = testClientID, testClientSecret
	}
	hs := hubspottest.NewServer(cfg)
	ts := httptest.NewServer(hs)
	t.Cleanup(func() {
		ts.Close()
		for _, v := range hs.Violations() {
			t.Errorf("hubspottest: %s", v)
		}
	})
	return hs, ts.URL
}

// unlimited is a RateLimiter that never waits.
type unlimited struct{}

func (unlimited) Acquire(context.Context, string) (func(), error) { return func() {}, nil }
func (unlimited) Pause(string, time.Time)                         {}

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
