package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/store"
)

// stateTTL is how long an OAuth state works.
const stateTTL = 10 * time.Minute

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
	// Expired states are deleted by the prune job, not here: this route is
	// open to anyone, and each request must cost the single writer no more
	// than its one insert.
	err := f.db.Write(ctx, func(tx *store.Tx) error {
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
