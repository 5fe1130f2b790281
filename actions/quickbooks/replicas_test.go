package quickbooks

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// dbSessions keeps connect states as serve does, in the database through
// the HubSpot flow's state helpers; the signed-in portal is the test
// cookie's, as with memSessions.
type dbSessions struct {
	mem  *memSessions
	flow *oauth.Flow
}

func (s dbSessions) PortalID(c echo.Context) (int64, bool) { return s.mem.PortalID(c) }

func (s dbSessions) NewState(c echo.Context, provider string) (string, error) {
	portalID, _ := s.mem.PortalID(c)
	return s.flow.NewState(c, provider, portalID)
}

func (s dbSessions) ConsumeState(c echo.Context, provider, state string) (int64, error) {
	return s.flow.ConsumeState(c, provider, state)
}

// TestConnectAcrossReplicas: a QuickBooks connect started on replica A
// whose callback from Intuit comes back to replica B saves the grant on B,
// and replica A then runs the portal's actions with it.
func TestConnectAcrossReplicas(t *testing.T) {
	t.Parallel()
	fake := quickbookstest.Start(t, quickbookstest.Options{})
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	dbURL := storetest.URL(t)
	sessions := func(db *store.DB) actions.Sessions {
		return dbSessions{mem: newMemSessions(), flow: oauth.New(oauth.Config{}, db, &http.Client{}, slog.New(slog.DiscardHandler))}
	}
	a := newEnvWith(t, fake, ts.URL, dbURL, sessions)
	b := newEnvWith(t, fake, ts.URL, dbURL, sessions)
	ea, eb := echo.New(), echo.New()
	ea.GET(ConnectPath, a.svc.HandleConnect())
	eb.GET(CallbackPath, b.svc.HandleCallback())
	mux.Handle(ConnectPath, ea)
	mux.Handle(CallbackPath, eb)
	jar, _ := cookiejar.New(nil)
	c := &connectEnv{env: a, url: ts.URL, browser: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.signIn(t, "4242")

	back := c.authorize(t)
	resp, body := c.get(t, back)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != SettingsPath {
		t.Fatalf("callback on replica B = %d %s %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), body, SettingsPath)
	}
	ctx := context.Background()
	st, err := a.grants.Status(ctx, 4242)
	if err != nil || st.Status != oauth.StatusActive || st.AccountID != quickbookstest.DefaultRealm {
		t.Fatalf("replica A sees grant %+v, %v; want an active grant of realm %s", st, err, quickbookstest.DefaultRealm)
	}
	if name, err := a.svc.VerifyConnection(ctx, 4242); err != nil || name != quickbookstest.DefaultCompanyName {
		t.Errorf("replica A VerifyConnection() = %q, %v; want %q", name, err, quickbookstest.DefaultCompanyName)
	}
	// The state was used up on B: replaying the callback fails.
	resp, body = c.get(t, back)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
		t.Errorf("replayed callback = %d %q, want 400", resp.StatusCode, body)
	}
}
