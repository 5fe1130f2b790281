package admin

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// TestKeyChecksRateLimited: the settings page checks at most five keys in
// a row per portal with the provider; the next one is refused with a page
// that says when to try again, and the provider is not called. Another
// portal keeps its own budget, and the budget comes back with time.
func TestKeyChecksRateLimited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newSessionDB(t)
	for _, id := range []int64{5, 6} {
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.UpsertPortal(ctx, store.Portal{PortalID: id, HubDomain: "acme.hubspot.test"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	calls := map[int64]int{}
	kc := &keyco{}
	kc.KeyedProvider = actions.NewKeyedProvider(actions.NewAPIKeys(db, "keyco", "KeyCo", "", "http://localhost/settings"),
		"Your KeyCo key.", func(ctx context.Context, key string) error {
			mu.Lock()
			defer mu.Unlock()
			calls[int64(key[len(key)-1]-'0')]++
			return actions.Fail(actions.CodeRejected, "KeyCo does not accept this API key.")
		})
	providers := []actions.Provider{kc}
	log := slog.New(slog.DiscardHandler)
	sessions := NewSessions(db, false)
	flow := oauth.New(oauth.Config{}, db, &http.Client{}, log)
	w := New(flow, sessions, []byte("csrf key, csrf key, csrf key, 32"), log)
	lim := actions.NewLimiter(KeyCheckLimit())
	now := time.Now()
	lim.SetClock(func() time.Time { return now }, nil)
	e := actions.NewServer(log, actions.NewValidator())
	settings := e.Group("/settings", w.Secure, w.RequireSession, w.CheckCSRF)
	settings.POST("/keys/:provider", HandleSaveKey(w, flow, providers, 30*24*time.Hour, lim))

	type admin struct {
		cookie *http.Cookie
		csrf   string
	}
	signIn := func(portalID int64) admin {
		rec := httptest.NewRecorder()
		if err := sessions.Set(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), Session{PortalID: portalID}); err != nil {
			t.Fatal(err)
		}
		ck := rec.Result().Cookies()[0]
		s, ok := readSession(sessions, ck.Value)
		if !ok {
			t.Fatal("no session")
		}
		return admin{ck, w.csrfToken(s)}
	}
	check := func(a admin, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/settings/keys/keyco", strings.NewReader(url.Values{"api_key": {key}, csrfField: {a.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(a.cookie)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	five, six := signIn(5), signIn(6)

	// A key refused before any provider call costs nothing.
	for range 3 {
		if rec := check(five, "kc key with spaces 5"); rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("malformed key = %d, want 422", rec.Code)
		}
	}
	for i := range 5 {
		if rec := check(five, "kc_live_guess000"+string(rune('a'+i))+"5"); rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("check %d = %d, want 422 (refused by KeyCo)", i+1, rec.Code)
		}
	}
	rec := check(five, "kc_live_guess000f5")
	text := admintest.PageText(t, rec.Body.String())
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(text, "Too many API keys were checked for this HubSpot account in a short time, so this one was neither checked with KeyCo nor saved. Try again in 10 minutes.") {
		t.Errorf("sixth check = %d, want 429 saying when to try again:\n%s", rec.Code, text)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "600" {
		t.Errorf("Retry-After = %q, want 600", ra)
	}
	if strings.Contains(rec.Body.String(), "kc_live_guess000f5") {
		t.Error("the page echoes the key")
	}
	admintest.CheckAccessible(t, "key checks limited", rec.Body.String())
	mu.Lock()
	if calls[5] != 5 {
		t.Errorf("KeyCo was called %d times for portal 5, want 5", calls[5])
	}
	mu.Unlock()

	// Portal 6 has its own budget.
	if rec := check(six, "kc_live_other00006"); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("portal 6's first check = %d, want 422 (checked, refused by KeyCo)", rec.Code)
	}
	// Ten minutes on, portal 5 may check one more.
	now = now.Add(10 * time.Minute)
	if rec := check(five, "kc_live_later00005"); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("check after ten minutes = %d, want 422 (checked)", rec.Code)
	}
	if rec := check(five, "kc_live_again00005"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the next one = %d, want 429", rec.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls[5] != 6 || calls[6] != 1 {
		t.Errorf("KeyCo calls = %v, want 6 for portal 5 and 1 for portal 6", calls)
	}
}
