package oauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/store"
)

const (
	sessionCookie = "hsa_session"
	sessionTTL    = 12 * time.Hour
	stateTTL      = 10 * time.Minute
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

// SetSession signs s into an HttpOnly, SameSite=Lax cookie (Secure when
// Config.SecureCookies) that lasts 12 hours; s.ExpiresAt is ignored.
func (f *Flow) SetSession(c echo.Context, s Session) error {
	if len(f.cfg.SessionKey) < 32 {
		return errors.New("oauth: no session key configured")
	}
	exp := f.now().Add(sessionTTL)
	b, err := json.Marshal(sessionPayload{PortalID: s.PortalID, UserEmail: s.UserEmail, UserID: s.UserID, Expires: exp.Unix()})
	if err != nil {
		return fmt.Errorf("oauth: encode session: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    payload + "." + f.sign("session", payload),
		Path:     "/",
		Expires:  exp,
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   f.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// Session returns the session carried by the request's cookie, if it is
// present, correctly signed and not expired.
func (f *Flow) Session(c echo.Context) (Session, bool) {
	if len(f.cfg.SessionKey) < 32 {
		return Session{}, false
	}
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return Session{}, false
	}
	payload, mac, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(f.sign("session", payload))) {
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
	if !f.now().Before(exp) {
		return Session{}, false
	}
	return Session{PortalID: p.PortalID, UserEmail: p.UserEmail, UserID: p.UserID, ExpiresAt: exp}, true
}

// ClearSession signs the browser out.
func (f *Flow) ClearSession(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: f.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (f *Flow) sign(purpose, payload string) string {
	m := hmac.New(sha256.New, f.cfg.SessionKey)
	m.Write([]byte(purpose + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ErrBadState means an OAuth callback's state is missing, forged, expired,
// used already or not this browser's.
var ErrBadState = errors.New("oauth: bad state")

func stateCookieName(provider string) string { return "hsa_oauth_state_" + provider }

// NewState starts an OAuth flow with provider for a portal (0 for a
// HubSpot install, where the portal is learnt at the callback). The state is
// 32 random bytes; its hash is stored for 10 minutes and it is bound to the
// browser by an HttpOnly, SameSite=Lax cookie. It works once, through
// ConsumeState.
func (f *Flow) NewState(c echo.Context, provider string, portalID int64) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("oauth: new state: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(b)
	ctx := c.Request().Context()
	now := f.now()
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.DeleteExpiredStates(ctx, now); err != nil {
			return err
		}
		return tx.InsertState(ctx, store.State{Hash: hashState(state), Provider: provider, PortalID: portalID, ExpiresAt: now.Add(stateTTL)})
	})
	if err != nil {
		return "", fmt.Errorf("oauth: new %s state: %w", provider, err)
	}
	c.SetCookie(&http.Cookie{
		Name:     stateCookieName(provider),
		Value:    state,
		Path:     "/",
		MaxAge:   int(stateTTL / time.Second),
		HttpOnly: true,
		Secure:   f.cfg.SecureCookies,
		// Lax: the cookie must ride on the top-level redirect back from
		// the provider.
		SameSite: http.SameSiteLaxMode,
	})
	return state, nil
}

// ConsumeState checks a callback's state against the browser's cookie and
// the stored states, uses it up, and returns the portal it was issued for.
// Errors wrap ErrBadState.
func (f *Flow) ConsumeState(c echo.Context, provider, state string) (int64, error) {
	ck, cerr := c.Cookie(stateCookieName(provider))
	c.SetCookie(&http.Cookie{Name: stateCookieName(provider), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: f.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	switch {
	case state == "":
		return 0, fmt.Errorf("%w: the callback carries no state", ErrBadState)
	case cerr != nil || ck.Value == "":
		return 0, fmt.Errorf("%w: no state cookie (another browser, or cookies blocked)", ErrBadState)
	case subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1:
		return 0, fmt.Errorf("%w: the state is not the one this browser was given", ErrBadState)
	}
	ctx := c.Request().Context()
	var s store.State
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		s, err = tx.ConsumeState(ctx, hashState(state), provider)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("%w: unknown or already used", ErrBadState)
	}
	if err != nil {
		return 0, fmt.Errorf("oauth: consume %s state: %w", provider, err)
	}
	if !f.now().Before(s.ExpiresAt) {
		return 0, fmt.Errorf("%w: expired", ErrBadState)
	}
	return s.PortalID, nil
}

func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}
