package admin

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
)

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	f := NewSessions(DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "session"), true)
	e := echo.New()
	rec := httptest.NewRecorder()
	if err := f.Set(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), Session{PortalID: 42, UserEmail: "a@b.c", UserID: 7}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	ck := cookieNamed(rec.Result().Cookies(), "hsa_session")
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 12*3600 || ck.Path != "/" {
		t.Fatalf("session cookie = %+v, want Secure, HttpOnly, Lax, 12 h, path /", ck)
	}
	read := func(value string, now time.Time) (Session, bool) {
		f.now = func() time.Time { return now }
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: "hsa_session", Value: value})
		return f.Get(e.NewContext(req, httptest.NewRecorder()))
	}
	s, ok := read(ck.Value, time.Now())
	if !ok || s.PortalID != 42 || s.UserEmail != "a@b.c" || s.UserID != 7 {
		t.Errorf("Get() = %+v, %v; want portal 42 a@b.c 7", s, ok)
	}
	payload, mac, _ := strings.Cut(ck.Value, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"p":43,"x":9999999999}`))
	for name, v := range map[string]string{
		"tampered payload": forged + "." + mac,
		"no signature":     payload,
		"garbage":          "x.y",
	} {
		if _, ok := read(v, time.Now()); ok {
			t.Errorf("Get(%s) = ok, want refused", name)
		}
	}
	if _, ok := read(ck.Value, time.Now().Add(13*time.Hour)); ok {
		t.Error("Get(after 13 h) = ok, want expired")
	}
	other := NewSessions(DeriveKey([]byte("another key, another key, 32 by"), "session"), true)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(ck)
	if _, ok := other.Get(e.NewContext(req, httptest.NewRecorder())); ok {
		t.Error("Get() under another key = ok, want refused")
	}
}

// TestSignIn: the install flow's hook signs the installer in and sends the
// browser to /settings; without a session key it fails and sets nothing.
func TestSignIn(t *testing.T) {
	t.Parallel()
	m := NewSessions(DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "session"), false)
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
	req := httptest.NewRequest(http.MethodGet, "/settings", nil)
	req.AddCookie(ck)
	if s, ok := m.Get(e.NewContext(req, httptest.NewRecorder())); !ok || s.PortalID != 42 || s.UserEmail != "a@b.c" || s.UserID != 7 {
		t.Errorf("Get() after SignIn = %+v, %v; want portal 42 a@b.c 7", s, ok)
	}

	rec = httptest.NewRecorder()
	if err := NewSessions(nil, false).SignIn(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), oauth.Installed{PortalID: 42}); err == nil {
		t.Error("SignIn without a session key = nil, want an error")
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("SignIn without a session key set %v", rec.Result().Cookies())
	}

	rec = httptest.NewRecorder()
	m.Clear(e.NewContext(httptest.NewRequest(http.MethodPost, "/settings/logout", nil), rec))
	if ck := cookieNamed(rec.Result().Cookies(), sessionCookie); ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
		t.Errorf("Clear set %+v, want the session cookie expired", ck)
	}
}
