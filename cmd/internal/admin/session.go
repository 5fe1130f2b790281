package admin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

const (
	sessionCookie = "hsa_session"
	sessionTTL    = 12 * time.Hour
	// sessionIDBytes is the session id's size: 256 random bits.
	sessionIDBytes = 32
)

// Session is who is signed in to the settings pages: an admin of one
// portal, as established by an install.
type Session struct {
	PortalID  int64
	UserEmail string
	UserID    int64
	ExpiresAt time.Time
	// id is the cookie's value; the CSRF token is bound to it.
	id string
}

// Sessions signs admins in to the settings pages. The cookie carries only
// a random session id; the session itself lives in the database
// (store.AdminSession), so signing out, or ending a portal's sessions
// (store.EndPortalSessions on removal, uninstall and reinstall), ends it on
// every replica at once. It is safe for concurrent use.
type Sessions struct {
	db     *store.DB
	secure bool
	now    func() time.Time
}

// NewSessions returns the session manager keeping sessions in db; without
// one no session is ever set or accepted. secure marks the cookies Secure:
// set it when PUBLIC_BASE_URL is https.
func NewSessions(db *store.DB, secure bool) *Sessions {
	return &Sessions{db: db, secure: secure, now: time.Now}
}

// Set starts a session for s (s.ExpiresAt is ignored: it lasts 12 hours)
// and puts its id in an HttpOnly, SameSite=Lax cookie (Secure when the
// manager is).
func (m *Sessions) Set(c echo.Context, s Session) error {
	if m.db == nil {
		return errors.New("admin: no session store configured")
	}
	b := make([]byte, sessionIDBytes)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("admin: session id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	ctx := c.Request().Context()
	exp := m.now().Add(sessionTTL)
	err := m.db.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertSession(ctx, id, store.AdminSession{PortalID: s.PortalID, UserID: s.UserID, UserEmail: s.UserEmail, ExpiresAt: exp})
	})
	if err != nil {
		return fmt.Errorf("admin: start session for portal %d: %w", s.PortalID, err)
	}
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		Expires:  exp,
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   m.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// Get returns the session whose id the request's cookie carries, if it is
// still valid (not signed out, not ended, not expired). A database failure
// counts as no session; Lookup reports it.
func (m *Sessions) Get(c echo.Context) (Session, bool) {
	s, ok, _ := m.Lookup(c)
	return s, ok
}

// Lookup is Get, telling a database failure apart from no session.
func (m *Sessions) Lookup(c echo.Context) (Session, bool, error) {
	id, ok := m.cookieID(c)
	if !ok {
		return Session{}, false, nil
	}
	as, err := m.db.GetSession(c.Request().Context(), id, m.now())
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("admin: read session: %w", err)
	}
	return Session{PortalID: as.PortalID, UserEmail: as.UserEmail, UserID: as.UserID, ExpiresAt: as.ExpiresAt, id: id}, true, nil
}

// cookieID returns the session id the request carries, if it has the
// shape of one.
func (m *Sessions) cookieID(c echo.Context) (string, bool) {
	if m.db == nil {
		return "", false
	}
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(b) != sessionIDBytes {
		return "", false
	}
	return ck.Value, true
}

// Clear signs the browser out: the session its cookie names ends (for
// every copy of the cookie, on every replica) and the cookie is expired.
// The cookie is expired even when the database fails, which is then
// returned.
func (m *Sessions) Clear(c echo.Context) error {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: m.secure, SameSite: http.SameSiteLaxMode})
	id, ok := m.cookieID(c)
	if !ok {
		return nil
	}
	ctx := c.Request().Context()
	err := m.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.DeleteSession(ctx, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("admin: end session: %w", err)
	}
	return nil
}

// SignIn is the install flow's oauth.Config.OnInstalled: it signs the
// installing admin in to the portal and sends the browser to /settings.
// The install already ended the portal's earlier sessions.
func (m *Sessions) SignIn(c echo.Context, in oauth.Installed) error {
	if err := m.Set(c, Session{PortalID: in.PortalID, UserEmail: in.UserEmail, UserID: in.UserID}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/settings")
}
