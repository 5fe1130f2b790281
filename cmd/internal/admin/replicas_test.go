package admin

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// replicaPages is one replica's admin pages: its own *store.DB opened on
// path, its Sessions and Pages, with the CSRF key derived from the one
// ENCRYPTION_KEY every replica shares, on an echo serving a guarded form
// route and sign-out.
type replicaPages struct {
	w *Pages
	e *echo.Echo
}

func newReplicaPages(t *testing.T, path string, encryptionKey []byte) replicaPages {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.WithKeys(encryptionKey, nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	w := New(oauth.New(oauth.Config{}, db, &http.Client{}, log), NewSessions(db, false), DeriveKey(encryptionKey, "csrf"), log)
	e := echo.New()
	g := e.Group("/settings", w.RequireSession, w.CheckCSRF)
	g.POST("/ping", func(c echo.Context) error { return c.String(http.StatusOK, "done") })
	g.POST("/logout", w.HandleLogout())
	return replicaPages{w: w, e: e}
}

// post sends a form to the replica as the browser holding session, with
// csrf as its token.
func (r replicaPages) post(path, session, csrf string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(url.Values{csrfField: {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	rec := httptest.NewRecorder()
	r.e.ServeHTTP(rec, req)
	return rec
}

// TestSessionAcrossReplicas: a session and its CSRF token issued by
// replica A are accepted by replica B, and signing out on A ends the
// session on B at once.
func TestSessionAcrossReplicas(t *testing.T) {
	t.Parallel()
	key := sha256.Sum256([]byte("replicas test encryption key"))
	path := storetest.URL(t)
	a := newReplicaPages(t, path, key[:])
	b := newReplicaPages(t, path, key[:])

	rec := httptest.NewRecorder()
	if err := a.w.sessions.Set(echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), Session{PortalID: 42, UserEmail: "a@b.c", UserID: 7}); err != nil {
		t.Fatalf("Set on replica A: %v", err)
	}
	ck := cookieNamed(rec.Result().Cookies(), sessionCookie)
	if ck == nil {
		t.Fatal("replica A set no session cookie")
	}
	s, ok := readSession(a.w.sessions, ck.Value)
	if !ok {
		t.Fatal("replica A does not know the session it started")
	}
	csrf := a.w.csrfToken(s) // what A's pages put in their forms

	if got := b.post("/settings/ping", ck.Value, csrf); got.Code != http.StatusOK || got.Body.String() != "done" {
		t.Errorf("replica B answered A's session and CSRF token with %d %q, want 200", got.Code, got.Body.String())
	}
	if got := b.post("/settings/ping", ck.Value, csrf+"x"); got.Code != http.StatusForbidden {
		t.Errorf("replica B answered a wrong CSRF token with %d, want 403", got.Code)
	}

	if got := a.post("/settings/logout", ck.Value, csrf); got.Code >= 400 {
		t.Fatalf("sign-out on replica A = %d %q", got.Code, got.Body.String())
	}
	if got := b.post("/settings/ping", ck.Value, csrf); got.Code != http.StatusUnauthorized {
		t.Errorf("replica B after sign-out on A answered the session with %d %q, want 401", got.Code, got.Body.String())
	}
	if _, ok := readSession(b.w.sessions, ck.Value); ok {
		t.Error("replica B still knows the session signed out on A")
	}
}
