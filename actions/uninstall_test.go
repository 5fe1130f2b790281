package actions_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// TestRetryRefusedOnceUninstalled: an execution received while the portal
// was installed, and retried after it was uninstalled, never runs again.
func TestRetryRefusedOnceUninstalled(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{InlineBudget: 20 * time.Millisecond})
	req := actionstest.NewRequest(7000011, "CONTACT", map[string]any{"message": "m", "flaky": 1}, nil)
	release := p.hold(req.CallbackID)
	if got := h.Execute(t, "probe", req); got["hs_execution_state"] != "BLOCK" {
		t.Fatalf("Execute() = %v, want BLOCK while the run is held", got)
	}
	h.HubSpot.SetNotConnected(7000011) // uninstalled meanwhile
	release()                          // the first run fails transiently: a retry is due
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		e, err := h.DB.GetExecution(ctx, req.CallbackID)
		if err != nil {
			t.Fatal(err)
		}
		if !e.Exec.Live() {
			if e.FinalState != "FAIL_CONTINUE" || e.ErrorCode != "NOT_CONNECTED" {
				t.Errorf("execution ended %s %s, want FAIL_CONTINUE NOT_CONNECTED", e.FinalState, e.ErrorCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the execution is still %s", e.Exec)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := p.count(req.CallbackID); n != 1 {
		t.Errorf("the action ran %d times, want 1 (never after the uninstall)", n)
	}
}

// TestChoreRuns: a chore runs as a durable periodic job, at start-up too.
func TestChoreRuns(t *testing.T) {
	t.Parallel()
	ran := make(chan struct{}, 1)
	newHarnessWith(t, actions.Config{Chores: []actions.Chore{{Name: "probe", Every: time.Hour, Run: func(context.Context) error {
		select {
		case ran <- struct{}{}:
		default:
		}
		return nil
	}}}})
	select {
	case <-ran:
	case <-time.After(20 * time.Second):
		t.Fatal("the chore never ran")
	}
}

func newHarnessWith(t *testing.T, cfg actions.Config) *actionstest.Harness {
	t.Helper()
	h, _ := newHarness(t, cfg)
	return h
}

// crm is a provider connected through OAuth (as QuickBooks is), whose
// revocation upstream can fail.
type crm struct {
	mu        sync.Mutex
	connected map[int64]bool
	revoked   []int64
	down      bool           // Disconnect forgets the grant but cannot revoke it
	broken    bool           // Disconnect fails outright
	brokenFor map[int64]bool // … for these portals only
}

func (c *crm) Name() string                     { return "crm" }
func (c *crm) Register(*actions.Registry) error { return nil }
func (c *crm) Routes(*echo.Echo)                {}
func (c *crm) Guide() actions.ProviderGuide     { return actions.ProviderGuide{Label: "CRM"} }
func (c *crm) Card(context.Context, int64) (actions.Card, error) {
	return actions.Card{Provider: "crm"}, nil
}
func (c *crm) Connected(_ context.Context, portalID int64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected[portalID], nil
}

func (c *crm) Disconnect(_ context.Context, portalID int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken || c.brokenFor[portalID] {
		return errors.New("crm: database is locked")
	}
	delete(c.connected, portalID)
	if c.down {
		return actions.ErrNotRevoked
	}
	c.revoked = append(c.revoked, portalID)
	return nil
}

type keyed struct{ actions.KeyedProvider }

func (keyed) Name() string                     { return "keyco" }
func (keyed) Register(*actions.Registry) error { return nil }
func (keyed) Guide() actions.ProviderGuide     { return actions.ProviderGuide{Label: "KeyCo"} }

type uninstallEnv struct {
	sessions int
	db       *store.DB
	hs       *hubspottest.Server
	flow     *oauth.Flow
	crm      *crm
	keys     *actions.APIKeys
	u        *actions.Uninstaller
	now      time.Time
}

// newUninstallEnv installs portals 7000001 and 7000002 with a HubSpot
// grant from the fake HubSpot, a crm connection and a keyco key each.
func newUninstallEnv(t *testing.T) *uninstallEnv {
	t.Helper()
	ctx := context.Background()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{ClientID: "cid", ClientSecret: "csecret"})
	db, err := store.Open(ctx, storetest.URL(t), store.WithKeys(make([]byte, 32), nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	flow := oauth.New(oauth.Config{ClientID: "cid", ClientSecret: "csecret", TokenBaseURL: hs.URL()}, db, &http.Client{Timeout: 10 * time.Second}, log)
	env := &uninstallEnv{db: db, hs: hs, flow: flow, crm: &crm{connected: map[int64]bool{}}, now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	env.keys = actions.NewAPIKeys(db, "keyco", "KeyCo", "", "https://x.test/settings")
	providers := []actions.Provider{env.crm, keyed{actions.NewKeyedProvider(env.keys, "", nil)}}
	env.u = actions.NewUninstaller(flow, db, providers, 30*24*time.Hour, log)
	for _, id := range []int64{7000001, 7000002} {
		env.install(t, id)
	}
	return env
}

func (env *uninstallEnv) install(t *testing.T, portalID int64) {
	t.Helper()
	ctx := context.Background()
	err := env.db.Write(ctx, func(tx *store.Tx) error {
		return tx.UpsertPortal(ctx, store.Portal{PortalID: portalID, Scopes: []string{"oauth", "automation"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := env.hs.Grant(portalID)
	if err := env.flow.Grants().Save(ctx, portalID, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(time.Hour)}, "", ""); err != nil {
		t.Fatal(err)
	}
	// A second grant (another provider's), so deleting all of them shows.
	qb := oauth.NewGrants("quickbooks", &oauth2.Config{}, env.db, &http.Client{}, slog.New(slog.DiscardHandler))
	if err := qb.Save(ctx, portalID, &oauth2.Token{AccessToken: "qa", RefreshToken: "qr", Expiry: time.Now().Add(time.Hour)}, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := env.keys.Save(ctx, portalID, "key-of-portal"); err != nil {
		t.Fatal(err)
	}
	env.crm.mu.Lock()
	env.crm.connected[portalID] = true
	env.crm.mu.Unlock()
	// An admin signed in to the settings page (session-ID, then
	// session-ID-2 for a reinstall…).
	env.sessions++
	id := fmt.Sprintf("session-%d", portalID)
	if _, err := env.db.GetSession(ctx, id, env.now); err == nil {
		id = fmt.Sprintf("%s-%d", id, env.sessions)
	}
	err = env.db.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertSession(ctx, id, store.AdminSession{PortalID: portalID, UserEmail: "admin@example.com", ExpiresAt: env.now.Add(12 * time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// secrets counts a portal's grants and keys in the database.
func (env *uninstallEnv) secrets(t *testing.T, portalID int64) (grants, keys int) {
	t.Helper()
	toks, err := env.db.ListPortalTokens(context.Background(), portalID)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := env.db.ListAPIKeys(context.Background(), portalID)
	if err != nil {
		t.Fatal(err)
	}
	return len(toks), len(ks)
}

func (env *uninstallEnv) portal(t *testing.T, portalID int64) store.Portal {
	t.Helper()
	p, err := env.db.GetPortal(context.Background(), portalID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUninstall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	r, err := env.u.Uninstall(ctx, 7000001, "admin@example.com on the settings page")
	if err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
	if !r.HubSpot.Uninstalled || !r.RefreshRevoked || r.Grants != 2 || r.APIKeys != 1 || len(r.Disconnected) != 1 {
		t.Errorf("Uninstall = %+v, want HubSpot uninstalled, the refresh token revoked, 2 grants and 1 key deleted, crm disconnected", r)
	}
	if u := env.hs.Uninstalls(); len(u) != 1 || u[0] != 7000001 {
		t.Errorf("HubSpot uninstalled %v, want [7000001]", u)
	}
	if g, k := env.secrets(t, 7000001); g != 0 || k != 0 {
		t.Errorf("portal 7000001 keeps %d grants and %d keys, want none", g, k)
	}
	if key, err := env.keys.Key(ctx, 7000001); err == nil {
		t.Errorf("the key store still hands out %q", key)
	}
	if g, k := env.secrets(t, 7000002); g != 2 || k != 1 || !env.crm.connected[7000002] {
		t.Errorf("portal 7000002 lost secrets (%d grants, %d keys): uninstalling one portal must not touch another", g, k)
	}
	p := env.portal(t, 7000001)
	if p.Status != store.StatusUninstalled || !strings.Contains(p.StatusReason, "admin@example.com") || p.UninstalledAt.IsZero() {
		t.Errorf("portal = %s (%s) at %v, want uninstalled by the admin", p.Status, p.StatusReason, p.UninstalledAt)
	}
	if r.Sessions != 1 {
		t.Errorf("uninstall ended %d sessions, want the admin's 1", r.Sessions)
	}
	if _, err := env.db.GetSession(ctx, "session-7000001", env.now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("portal 7000001's admin session after uninstall: %v, want it ended", err)
	}
	if _, err := env.db.GetSession(ctx, "session-7000002", env.now); err != nil {
		t.Errorf("portal 7000002's admin session after 7000001's uninstall: %v, want it kept", err)
	}
	if err := env.flow.CheckPortal(ctx, 7000001); !errors.Is(err, oauth.ErrUninstalled) {
		t.Errorf("CheckPortal after uninstall = %v, want ErrUninstalled", err)
	}
	// Again: nothing left to do, and no error.
	r, err = env.u.Uninstall(ctx, 7000001, "an operator")
	if err != nil || r.HubSpot.Uninstalled || r.Grants != 0 {
		t.Errorf("Uninstall again = %+v, %v; want nothing done, no error", r, err)
	}
	if n := len(env.hs.Uninstalls()); n != 1 {
		t.Errorf("HubSpot uninstalled %d times, want 1", n)
	}
	if _, err := env.u.Uninstall(ctx, 42, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Uninstall(unknown) = %v, want ErrNotFound", err)
	}
}

// TestUninstallHubSpotDown: when HubSpot cannot uninstall the app, nothing
// is deleted and the portal stays active.
func TestUninstallHubSpotDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	env.hs.Fail(hubspottest.EndpointUninstall, 1, http.StatusServiceUnavailable, 0)
	_, err := env.u.Uninstall(ctx, 7000001, "an operator")
	if err == nil || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Errorf("Uninstall with HubSpot down = %v, want an error saying nothing was deleted", err)
	}
	if g, k := env.secrets(t, 7000001); g != 2 || k != 1 || !env.crm.connected[7000001] {
		t.Errorf("after a failed uninstall: %d grants, %d keys; want everything kept", g, k)
	}
	if p := env.portal(t, 7000001); p.Status != store.StatusActive || !p.UninstalledAt.IsZero() {
		t.Errorf("portal after a failed uninstall: %s, want active", p.Status)
	}
	if err := env.flow.CheckPortal(ctx, 7000001); err != nil {
		t.Errorf("CheckPortal after a failed uninstall = %v, want nil", err)
	}
}

// TestUninstallCrashMidway: a crash after HubSpot uninstalled the app (here:
// deleting a connection fails) leaves the portal uninstalling and running
// nothing; running it again, or the sweep, finishes.
func TestUninstallCrashMidway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	env.crm.broken = true
	_, err := env.u.Uninstall(ctx, 7000001, "an operator")
	if !errors.Is(err, actions.ErrUninstallIncomplete) {
		t.Fatalf("Uninstall with a broken provider = %v, want ErrUninstallIncomplete", err)
	}
	if p := env.portal(t, 7000001); p.Status != store.StatusUninstalling || !strings.Contains(p.StatusReason, "an operator") {
		t.Errorf("portal = %s (%s), want uninstalling, asked by an operator", p.Status, p.StatusReason)
	}
	if err := env.flow.CheckPortal(ctx, 7000001); !errors.Is(err, oauth.ErrUninstalled) {
		t.Errorf("CheckPortal while uninstalling = %v, want ErrUninstalled", err)
	}
	// HubSpot uninstalled the app: the admins' sessions ended already,
	// though the uninstall is not finished.
	if _, err := env.db.GetSession(ctx, "session-7000001", env.now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an admin session of the portal left uninstalling: %v, want it ended", err)
	}
	env.crm.broken = false
	env.crm.down = true // and the provider cannot be reached to revoke
	r, err := env.u.Uninstall(ctx, 7000001, "someone else")
	if err != nil || len(r.NotRevoked) != 1 || r.Grants != 2 {
		t.Fatalf("Uninstall again = %+v, %v; want it finished, crm not revoked", r, err)
	}
	if p := env.portal(t, 7000001); p.Status != store.StatusUninstalled || !strings.Contains(p.StatusReason, "an operator") {
		t.Errorf("portal = %s (%s), want uninstalled, still by whoever asked first", p.Status, p.StatusReason)
	}
	if n := len(env.hs.Uninstalls()); n != 1 {
		t.Errorf("HubSpot uninstalled %d times, want 1", n)
	}
}

// TestSweepAfterGrace: a portal uninstalled in HubSpot (invalid_grant on
// refresh) keeps its secrets during the grace period, loses them after it,
// and one reinstalled within it keeps them and is active.
func TestSweepAfterGrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	env.install(t, 7000003)
	t0 := time.Now()
	clock := t0
	env.db.SetClock(func() time.Time { return clock })
	env.u.SetClock(func() time.Time { return clock })
	// Uninstalled in HubSpot: the next refresh is refused.
	for _, id := range []int64{7000001, 7000003} {
		env.hs.RevokePortal(id)
		if _, err := env.flow.Grants().ForceRefresh(ctx, id, ""); !errors.Is(err, oauth.ErrUninstalled) {
			t.Fatalf("refresh of portal %d after an uninstall in HubSpot = %v, want ErrUninstalled", id, err)
		}
		if p := env.portal(t, id); p.Status != store.StatusUninstalled || p.UninstalledAt.IsZero() {
			t.Fatalf("portal %d after invalid_grant: %s, want uninstalled", id, p.Status)
		}
	}
	clock = t0.Add(29 * 24 * time.Hour)
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if g, k := env.secrets(t, 7000001); g != 2 || k != 1 {
		t.Errorf("within the grace period: %d grants, %d keys; want them kept", g, k)
	}
	// Portal 7000003 reinstalls within the grace period.
	env.install(t, 7000003)
	if p := env.portal(t, 7000003); p.Status != store.StatusActive || !p.UninstalledAt.IsZero() {
		t.Errorf("portal 7000003 after a reinstall: %s, want active", p.Status)
	}
	clock = t0.Add(30*24*time.Hour + time.Minute)
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if g, k := env.secrets(t, 7000001); g != 0 || k != 0 || env.crm.connected[7000001] {
		t.Errorf("after the grace period: %d grants, %d keys, crm connected %v; want all gone", g, k, env.crm.connected[7000001])
	}
	if p := env.portal(t, 7000001); p.Status != store.StatusUninstalled || !strings.Contains(p.StatusReason, "invalid_grant") {
		t.Errorf("portal 7000001 after the purge: %s (%s), want still uninstalled for invalid_grant", p.Status, p.StatusReason)
	}
	if g, k := env.secrets(t, 7000003); g != 2 || k != 1 {
		t.Errorf("reinstalled portal 7000003: %d grants, %d keys; want them kept", g, k)
	}
	if g, k := env.secrets(t, 7000002); g != 2 || k != 1 {
		t.Errorf("active portal 7000002: %d grants, %d keys; want them kept", g, k)
	}
	if n := len(env.hs.Uninstalls()); n != 0 {
		t.Errorf("the sweep called HubSpot's uninstall %d times, want none", n)
	}
}

// TestSweepFinishesStalledUninstall: an uninstall a crash left unfinished is
// finished by the sweep once it has been still for a while.
func TestSweepFinishesStalledUninstall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	t0 := time.Now()
	clock := t0
	env.db.SetClock(func() time.Time { return clock })
	env.u.SetClock(func() time.Time { return clock })
	// The crash: recorded, then nothing.
	if err := env.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkPortalUninstalling(ctx, 7000001, "uninstalled by an operator") }); err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(time.Minute)
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(env.hs.Uninstalls()); n != 0 {
		t.Errorf("a fresh uninstall was taken over (%d calls to HubSpot), want it left to its owner", n)
	}
	clock = t0.Add(time.Hour)
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if u := env.hs.Uninstalls(); len(u) != 1 || u[0] != 7000001 {
		t.Errorf("HubSpot uninstalled %v, want [7000001]", u)
	}
	if p := env.portal(t, 7000001); p.Status != store.StatusUninstalled {
		t.Errorf("portal after the sweep: %s, want uninstalled", p.Status)
	}
	if g, k := env.secrets(t, 7000001); g != 0 || k != 0 {
		t.Errorf("after the sweep: %d grants, %d keys; want none", g, k)
	}
}

// TestUninstallDoubleClick: two uninstalls of one portal at once (a double
// click) uninstall it once, and both report success.
func TestUninstallDoubleClick(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = env.u.Uninstall(ctx, 7000001, "a portal admin")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("uninstall %d: %v", i, err)
		}
	}
	if n := len(env.hs.Uninstalls()); n != 1 {
		t.Errorf("HubSpot uninstalled the app %d times, want 1", n)
	}
	if p := env.portal(t, 7000001); p.Status != store.StatusUninstalled {
		t.Errorf("portal = %s, want uninstalled", p.Status)
	}
}

// TestSweepPastFailingPortals: portals whose secrets cannot be deleted
// (they come first, by id, every sweep) do not hold up the portals after
// them: the sweep's batch counts deletions done.
func TestSweepPastFailingPortals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newUninstallEnv(t)
	t0 := time.Now()
	clock := t0
	env.db.SetClock(func() time.Time { return clock })
	env.u.SetClock(func() time.Time { return clock })
	env.crm.brokenFor = map[int64]bool{}
	var ids []int64
	for i := range 21 {
		ids = append(ids, 7100001+int64(i))
	}
	for _, id := range append(ids, 7200001) {
		env.install(t, id)
		if err := env.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkPortalUninstalled(ctx, id, "invalid_grant") }); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		env.crm.brokenFor[id] = true
	}
	clock = t0.Add(31 * 24 * time.Hour)
	if err := env.u.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if g, k := env.secrets(t, 7200001); g != 0 || k != 0 {
		t.Errorf("portal 7200001 after the sweep: %d grants, %d keys; want them deleted despite the %d failing portals before it", g, k, len(ids))
	}
	if g, _ := env.secrets(t, ids[0]); g == 0 {
		t.Errorf("a failing portal's grants were deleted")
	}
}
