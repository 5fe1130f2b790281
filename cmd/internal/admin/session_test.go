package admin

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func newSessionDB(t *testing.T) *store.DB {
	t.Helper()
	key := sha256.Sum256([]byte("admin session test key"))
	db, err := store.Open(context.Background(), storetest.URL(t), store.WithKeys(key[:], nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// readSession asks m for the session a browser sending value has.
func readSession(m *Sessions, value string) (Session, bool) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
	return m.Get(echo.New().NewContext(req, httptest.NewRecorder()))
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	db := newSessionDB(t)
	f := NewSessions(db, true)
	e := echo.New()
	rec := httptest.NewRecorder()
	if err := f.Set(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), Session{PortalID: 42, UserEmail: "a@b.c", UserID: 7}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	ck := cookieNamed(rec.Result().Cookies(), "hsa_session")
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 12*3600 || ck.Path != "/" {
		t.Fatalf("session cookie = %+v, want Secure, HttpOnly, Lax, 12 h, path /", ck)
	}
	// The cookie is the session's id alone: 256 random bits, naming no
	// portal or user.
	if len(ck.Value) != 43 {
		t.Errorf("session cookie value %q, want 43 base64url characters (32 bytes)", ck.Value)
	}
	s, ok := readSession(f, ck.Value)
	if !ok || s.PortalID != 42 || s.UserEmail != "a@b.c" || s.UserID != 7 || s.id != ck.Value {
		t.Errorf("Get() = %+v, %v; want portal 42 a@b.c 7", s, ok)
	}
	rec2 := httptest.NewRecorder()
	if err := f.Set(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec2), Session{PortalID: 42}); err != nil {
		t.Fatal(err)
	}
	if other := cookieNamed(rec2.Result().Cookies(), sessionCookie); other.Value == ck.Value {
		t.Error("two sessions got the same id")
	}
	for name, v := range map[string]string{
		"unknown id": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"short":      ck.Value[:20],
		"garbage":    "x.y",
		"empty":      "",
	} {
		if _, ok := readSession(f, v); ok {
			t.Errorf("Get(%s) = ok, want refused", name)
		}
	}
	f.now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if _, ok := readSession(f, ck.Value); ok {
		t.Error("Get(after 13 h) = ok, want expired")
	}
	if _, ok := readSession(NewSessions(nil, true), ck.Value); ok {
		t.Error("Get() without a session store = ok, want refused")
	}
}

// TestSignIn: the install flow's hook signs the installer in and sends the
// browser to /settings; without a session store it fails and sets nothing.
// Signing out ends the session for a copy of the cookie too.
func TestSignIn(t *testing.T) {
	t.Parallel()
	m := NewSessions(newSessionDB(t), false)
	e := echo.New()
	rec := httptest.NewRecorder()
	if err := m.SignIn(e.NewContext(httptest.NewRequest(http.MethodGet, "/oauth/hubspot/callback", nil), rec), oauth.Installed{PortalID: 42, UserEmail: "a@b.c", UserID: 7}); err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/settings" {
		t.Errorf("SignIn answered %d to %q, want 303 to /settings", rec.Code, rec.Header().Get("Location"))
	}
	ck := cookieNamed(rec.Result().Cookies(), sessionCookie)
	if ck == nil || ck.Secure {
		t.Fatalf("session cookie = %+v, want one, not Secure", ck)
	}
	if s, ok := readSession(m, ck.Value); !ok || s.PortalID != 42 || s.UserEmail != "a@b.c" || s.UserID != 7 {
		t.Errorf("Get() after SignIn = %+v, %v; want portal 42 a@b.c 7", s, ok)
	}

	rec = httptest.NewRecorder()
	if err := NewSessions(nil, false).SignIn(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), oauth.Installed{PortalID: 42}); err == nil {
		t.Error("SignIn without a session store = nil, want an error")
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("SignIn without a session store set %v", rec.Result().Cookies())
	}

	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/settings/logout", nil)
	req.AddCookie(ck)
	if err := m.Clear(e.NewContext(req, rec)); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if ck := cookieNamed(rec.Result().Cookies(), sessionCookie); ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
		t.Errorf("Clear set %+v, want the session cookie expired", ck)
	}
	if _, ok := readSession(m, ck.Value); ok {
		t.Error("a copy of the cookie still signs in after Clear")
	}
}

// TestEndPortalSessions: ending a portal's sessions (removal, uninstall,
// reinstall) refuses every copied cookie of that portal, and only that
// portal's.
func TestEndPortalSessions(t *testing.T) {
	t.Parallel()
	db := newSessionDB(t)
	m := NewSessions(db, false)
	set := func(portalID int64) string {
		rec := httptest.NewRecorder()
		if err := m.Set(echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), Session{PortalID: portalID}); err != nil {
			t.Fatal(err)
		}
		return cookieNamed(rec.Result().Cookies(), sessionCookie).Value
	}
	a1, a2, b := set(1), set(1), set(2)
	if _, err := db.EndPortalSessions(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"first": a1, "second": a2} {
		if _, ok := readSession(m, v); ok {
			t.Errorf("portal 1's %s session still signs in", name)
		}
	}
	if _, ok := readSession(m, b); !ok {
		t.Error("portal 2's session was ended with portal 1's")
	}
	if _, ok := readSession(m, set(1)); !ok {
		t.Error("a session started after the end is refused")
	}
}
