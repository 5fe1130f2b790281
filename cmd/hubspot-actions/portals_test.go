package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/cmd/internal/admin"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

type portalsEnv struct {
	cfg     config
	hs      *hubspottest.Server
	qb      *quickbookstest.Fake
	db      *store.DB
	secrets []string // must never be printed
	revoke  string   // portal 7000001's refresh token
}

// newPortalsEnv seeds two portals: 7000001 (active, with a QuickBooks grant
// and a Stripe key too) and 7000002 (which must reinstall).
func newPortalsEnv(t *testing.T) *portalsEnv {
	t.Helper()
	ctx := context.Background()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{ClientID: "cli-client", ClientSecret: "cli-secret-3b9f"})
	qb := quickbookstest.Start(t, quickbookstest.Options{ClientID: "qb-client", ClientSecret: "qb-secret-5d1e", AdoptUnknownGrants: true})
	providerCfgs, errs := loadProviders(env(map[string]string{
		"QUICKBOOKS_CLIENT_ID": "qb-client", "QUICKBOOKS_CLIENT_SECRET": "qb-secret-5d1e", "QUICKBOOKS_ENVIRONMENT": "sandbox",
		"QUICKBOOKS_API_BASE_URL": qb.APIBaseURL(), "INTUIT_AUTHORIZE_URL": qb.AuthorizeURL(), "INTUIT_TOKEN_URL": qb.TokenURL(),
		"INTUIT_REVOKE_URL": qb.RevokeURL(),
	}))
	if len(errs) > 0 {
		t.Fatalf("provider configuration: %v", errs)
	}
	key := sha256.Sum256([]byte("portals test key"))
	cfg := config{
		DatabaseURL:         filepath.Join(t.TempDir(), "app.db"),
		PublicBaseURL:       "https://actions.example.com",
		HubSpotClientID:     "cli-client",
		HubSpotClientSecret: secret("cli-secret-3b9f"),
		HubSpotAPIBaseURL:   hs.URL(),
		HubSpotAppBaseURL:   "https://app.hubspot.com",
		HubSpotScopes:       defaultScopes,
		EncryptionKey:       key[:],
		HistoryRetention:    30 * 24 * time.Hour,
		UninstalledGrace:    30 * 24 * time.Hour,
		Providers:           providerCfgs,
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.WithKeys(cfg.EncryptionKey, nil))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	installed := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return installed })
	log := slog.New(slog.DiscardHandler)
	flow := oauth.New(hubspotOAuthConfig(cfg, db), db, &http.Client{}, log)
	qbGrants := oauth.NewGrants("quickbooks", &oauth2.Config{}, db, &http.Client{}, log)
	expiry := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

	env := &portalsEnv{cfg: cfg, hs: hs, qb: qb, db: db, secrets: []string{"cli-secret-3b9f", "qb-secret-5d1e", base64.StdEncoding.EncodeToString(key[:])}}
	for _, p := range []struct {
		id     int64
		email  string
		scopes []string
	}{
		{7000001, "admin@example.com", []string{"oauth", "automation", "crm.objects.deals.read"}},
		{7000002, "other@example.com", []string{"oauth", "automation"}},
	} {
		err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.UpsertPortal(ctx, store.Portal{PortalID: p.id, HubDomain: "test-" + itoa(p.id) + ".hubspot.com", InstalledByEmail: p.email, InstalledByID: 9000001, Scopes: p.scopes})
		})
		if err != nil {
			t.Fatal(err)
		}
		tok := hs.Grant(p.id)
		if err := flow.Grants().Save(ctx, p.id, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: expiry}, itoa(p.id), "test-"+itoa(p.id)+".hubspot.com"); err != nil {
			t.Fatal(err)
		}
		env.secrets = append(env.secrets, tok.AccessToken, tok.RefreshToken)
		if p.id == 7000001 {
			env.revoke = tok.RefreshToken
		}
	}
	if err := qbGrants.Save(ctx, 7000001, &oauth2.Token{AccessToken: "qb-access-77", RefreshToken: "qb-refresh-77", Expiry: expiry.Add(30 * time.Minute)}, "9130", "Acme Ltd"); err != nil {
		t.Fatal(err)
	}
	env.secrets = append(env.secrets, "qb-access-77", "qb-refresh-77")
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.MarkTokenStatus(ctx, 7000002, oauth.ProviderHubSpot, 1, store.StatusNeedsReinstall, "the refresh token was rejected (invalid_grant)"); err != nil {
			return err
		}
		if err := tx.SetPortalStatus(ctx, 7000002, store.StatusNeedsReinstall, "the refresh token was rejected (invalid_grant)"); err != nil {
			return err
		}
		return tx.SaveAPIKey(ctx, store.APIKey{PortalID: 7000001, Provider: "stripe", Secret: "sk_test_51PortalKey4242", Hint: "sk_test_…4242"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (env *portalsEnv) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := portalsCommand(context.Background(), args, env.cfg, &out)
	if leak, ok := leaked(out.String(), env.secrets); ok {
		t.Errorf("portals %v printed a secret %q:\n%s", args, leak, out.String())
	}
	return out.String(), err
}

func leaked(s string, secrets []string) (string, bool) {
	for _, v := range secrets {
		if v != "" && strings.Contains(s, v) {
			return v, true
		}
	}
	return "", false
}

func TestPortalsListAndShow(t *testing.T) {
	t.Parallel()
	env := newPortalsEnv(t)

	got, err := env.run(t, "list")
	if err != nil {
		t.Fatalf("portals list: %v", err)
	}
	want := `PORTAL   DOMAIN                    INSTALLED BY       STATUS           TOKEN EXPIRES         SCOPES
7000001  test-7000001.hubspot.com  admin@example.com  active           2026-03-01T09:30:00Z  oauth automation crm.objects.deals.read
7000002  test-7000002.hubspot.com  other@example.com  needs_reinstall  2026-03-01T09:30:00Z  oauth automation
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("portals list mismatch (-want +got):\n%s", diff)
	}

	got, err = env.run(t, "show", "7000001")
	if err != nil {
		t.Fatalf("portals show: %v", err)
	}
	want = `Portal:         7000001
Domain:         test-7000001.hubspot.com
Installed by:   admin@example.com (user 9000001)
Installed at:   2026-03-01T09:00:00Z
Updated at:     2026-03-01T09:00:00Z
Status:         active
Scopes:         oauth automation crm.objects.deals.read
Token expires:  2026-03-01T09:30:00Z
Connections:
  PROVIDER    ACCOUNT                             STATUS  TOKEN EXPIRES         UPDATED
  hubspot     7000001 (test-7000001.hubspot.com)  active  2026-03-01T09:30:00Z  2026-03-01T09:00:00Z
  quickbooks  9130 (Acme Ltd)                     active  2026-03-01T10:00:00Z  2026-03-01T09:00:00Z
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("portals show mismatch (-want +got):\n%s", diff)
	}

	got, err = env.run(t, "show", "7000002")
	if err != nil || !strings.Contains(got, "Status:         needs_reinstall (the refresh token was rejected (invalid_grant))") {
		t.Errorf("portals show 7000002 = %q, %v; want needs_reinstall with its reason", got, err)
	}
}

// TestPortalsRemove: remove uninstalls the app in HubSpot with the
// portal's own token (the fake checks it), revokes the refresh token and
// the QuickBooks connection at Intuit, and deletes every secret; run again,
// it has nothing left to do.
func TestPortalsRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newPortalsEnv(t)
	// An admin of the portal is signed in to the settings pages.
	rec := httptest.NewRecorder()
	sessions := admin.NewSessions(env.db, true)
	if err := sessions.Set(echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), admin.Session{PortalID: 7000001}); err != nil {
		t.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]

	got, err := env.run(t, "remove", "7000001")
	if err != nil {
		t.Fatalf("portals remove: %v", err)
	}
	want := `Uninstalled the app from portal 7000001 in HubSpot (its super admins get an email with a reinstall link).
Revoked portal 7000001's refresh token at HubSpot.
Disconnected quickbooks (its access revoked there).
Deleted 2 OAuth grant(s) and 1 API key(s) of portal 7000001.
Signed out 1 settings session(s) of portal 7000001.
Portal 7000001 is uninstalled; its execution history is kept for 30 days. A super admin can reinstall the app from HubSpot.
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("portals remove mismatch (-want +got):\n%s", diff)
	}
	if u := env.hs.Uninstalls(); len(u) != 1 || u[0] != 7000001 {
		t.Errorf("HubSpot uninstalled the app from %v, want [7000001]", u)
	}
	if n := env.hs.Calls(hubspottest.EndpointRevoke); n != 1 || env.hs.RefreshTokenLive(env.revoke) {
		t.Errorf("revoke calls = %d, refresh token live = %v; want 1 call and a dead token", n, env.hs.RefreshTokenLive(env.revoke))
	}
	revoked := false
	for _, r := range env.qb.Requests() {
		if r.Method == http.MethodPost && r.Path == quickbookstest.RevokePath && strings.Contains(r.Body, "qb-refresh-77") {
			revoked = true
		}
	}
	if !revoked {
		t.Errorf("Intuit never got a revocation of the QuickBooks refresh token; requests: %+v", env.qb.Requests())
	}
	if toks, _ := env.db.ListPortalTokens(ctx, 7000001); len(toks) != 0 {
		t.Errorf("portal 7000001 still has %d grants, want none", len(toks))
	}
	if keys, _ := env.db.ListAPIKeys(ctx, 7000001); len(keys) != 0 {
		t.Errorf("portal 7000001 still has %d API keys, want none", len(keys))
	}
	req := httptest.NewRequest(http.MethodGet, "/settings", nil)
	req.AddCookie(cookie)
	if s, ok := sessions.Get(echo.New().NewContext(req, httptest.NewRecorder())); ok {
		t.Errorf("a copy of the session cookie still signs in after remove: %+v", s)
	}
	if toks, _ := env.db.ListPortalTokens(ctx, 7000002); len(toks) != 1 {
		t.Errorf("portal 7000002 has %d grants, want its 1 untouched", len(toks))
	}
	got, _ = env.run(t, "list")
	if !strings.Contains(got, "7000001  test-7000001.hubspot.com  admin@example.com  uninstalled      -") {
		t.Errorf("portals list after remove:\n%s\nwant portal 7000001 uninstalled with no token", got)
	}
	got, err = env.run(t, "show", "7000001")
	if err != nil || !strings.Contains(got, "uninstalled (uninstalled by an operator (portals remove))") || !strings.Contains(got, "Uninstalled at:") {
		t.Errorf("portals show after remove = %q, %v; want uninstalled by an operator", got, err)
	}
	got, err = env.run(t, "remove", "7000001")
	if err != nil || !strings.Contains(got, "HubSpot was not asked to uninstall the app: no HubSpot token was stored") ||
		!strings.Contains(got, "Deleted 0 OAuth grant(s) and 0 API key(s)") {
		t.Errorf("portals remove again = %q, %v; want nothing left to do", got, err)
	}
	if n := len(env.hs.Uninstalls()); n != 1 {
		t.Errorf("HubSpot uninstalled the app %d times, want 1", n)
	}
}

func TestPortalsErrors(t *testing.T) {
	t.Parallel()
	env := newPortalsEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "say list"},
		{[]string{"frobnicate"}, "unknown subcommand"},
		{[]string{"list", "extra"}, "takes no arguments"},
		{[]string{"show"}, "needs one PORTAL_ID"},
		{[]string{"show", "abc"}, "not a portal id"},
		{[]string{"show", "42"}, "portal 42 has not installed the app"},
		{[]string{"remove", "42"}, "portal 42 has not installed the app"},
	}
	for _, tt := range tests {
		_, err := env.run(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("portals %v = %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
	// HubSpot unreachable: nothing is deleted, the portal stays active.
	env.hs.Fail(hubspottest.EndpointUninstall, 1, http.StatusServiceUnavailable, 0)
	_, err := env.run(t, "remove", "7000001")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Errorf("portals remove with HubSpot down = %v, want an error saying nothing was deleted", err)
	}
	if toks, _ := env.db.ListPortalTokens(context.Background(), 7000001); len(toks) != 2 {
		t.Errorf("after a failed remove, portal 7000001 has %d grants, want 2", len(toks))
	}
	if p, _ := env.db.GetPortal(context.Background(), 7000001); p.Status != store.StatusActive {
		t.Errorf("after a failed remove, portal 7000001 is %s, want active", p.Status)
	}
}
