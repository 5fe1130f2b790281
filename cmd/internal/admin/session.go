package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
)

const (
	sessionCookie = "hsa_session"
	sessionTTL    = 12 * time.Hour
)

// Session is who is signed in to the settings pages: an admin of one
// portal, as established by an install.
type Session struct {
	PortalID  int64
	UserEmail string
	UserID    int64
	ExpiresAt time.Time
}

type sessionPayload struct {
	PortalID  int64  `json:"p"`
	UserEmail string `json:"e,omitempty"`
	UserID    int64  `json:"u,omitempty"`
	Expires   int64  `json:"x"` // unix seconds
}

// Sessions signs admins in to the settings pages with a cookie. It holds
// no state of its own, so any two built with the same key and flag accept
// each other's cookies. It is safe for concurrent use.
type Sessions struct {
	key    []byte
	secure bool
	now    func() time.Time
}

// NewSessions returns the session manager. key (at least 32 bytes) signs
// the cookies; without one no session is ever set or accepted. secure marks
// the cookies Secure: set it when PUBLIC_BASE_URL is https.
func NewSessions(key []byte, secure bool) *Sessions {
	return &Sessions{key: key, secure: secure, now: time.Now}
}

// Set signs s into an HttpOnly, SameSite=Lax cookie (Secure when the
// manager is) that lasts 12 hours; s.ExpiresAt is ignored.
func (m *Sessions) Set(c echo.Context, s Session) error {
	if len(m.key) < 32 {
		return errors.New("admin: no session key configured")
	}
	exp := m.now().Add(sessionTTL)
	b, err := json.Marshal(sessionPayload{PortalID: s.PortalID, UserEmail: s.UserEmail, UserID: s.UserID, Expires: exp.Unix()})
	if err != nil {
		return fmt.Errorf("admin: encode session: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    payload + "." + m.sign("session", payload),
		Path:     "/",
		Expires:  exp,
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   m.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// Get returns the session carried by the request's cookie, if it is
// present, correctly signed and not expired.
func (m *Sessions) Get(c echo.Context) (Session, bool) {
	if len(m.key) < 32 {
		return Session{}, false
	}
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return Session{}, false
	}
	payload, mac, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(m.sign("session", payload))) {
		return Session{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Session{}, false
	}
	var p sessionPayload
	if err := json.Unmarshal(b, &p); err != nil || p.PortalID == 0 {
		return Session{}, false
	}
	exp := time.Unix(p.Expires, 0).UTC()
	if !m.now().Before(exp) {
		return Session{}, false
	}
	return Session{PortalID: p.PortalID, UserEmail: p.UserEmail, UserID: p.UserID, ExpiresAt: exp}, true
}

// Clear signs the browser out.
func (m *Sessions) Clear(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: m.secure, SameSite: http.SameSiteLaxMode})
}

// SignIn is the install flow's oauth.Config.OnInstalled: it signs the
// installing admin in to the portal and sends the browser to /settings.
func (m *Sessions) SignIn(c echo.Context, in oauth.Installed) error {
	if err := m.Set(c, Session{PortalID: in.PortalID, UserEmail: in.UserEmail, UserID: in.UserID}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/settings")
}

func (m *Sessions) sign(purpose, payload string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(purpose + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
