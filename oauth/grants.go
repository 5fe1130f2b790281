package oauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
)

// Grant statuses, as reported by GrantStatus and PortalInfo.
const (
	StatusActive         = store.StatusActive
	StatusNeedsReinstall = store.StatusNeedsReinstall
	StatusRemoved        = store.StatusRemoved
	StatusUninstalling   = store.StatusUninstalling
	StatusUninstalled    = store.StatusUninstalled
	// StatusNotConnected: the portal is known but no grant is stored.
	StatusNotConnected = "not_connected"
)

// Timing of refreshes. HubSpot's access tokens live 30 minutes, Intuit's 60.
const (
	// refreshAhead: a token with less than this left is refreshed.
	refreshAhead = 5 * time.Minute
	// minUsable: while another refresher holds the claim, a token with at
	// least this left is handed out rather than waited on.
	minUsable = 30 * time.Second
	// refreshTimeout bounds one call to the token endpoint; lockTTL, the
	// claim on a refresh, must outlast it so a claim never lapses while its
	// refresher may still save.
	refreshTimeout = 30 * time.Second
	lockTTL        = refreshTimeout + 15*time.Second
	// maxWait bounds how long a caller waits for another process's refresh.
	maxWait   = 20 * time.Second
	pollEvery = 25 * time.Millisecond
	// After a 429 from the token endpoint without Retry-After; and at most.
	defaultBackoff = 5 * time.Second
	maxBackoff     = 5 * time.Minute
	// cacheTTL is how long a process hands out an access token from memory
	// before reading the grant again. Another replica may replace the grant
	// (a reconnect, to another QuickBooks company say) or delete it (a
	// disconnect or uninstall), and nothing tells this process: so a
	// replica uses a replaced or deleted grant's access token for at most
	// cacheTTL after the change commits. One read of the grant per portal
	// and provider every cacheTTL is what that costs.
	cacheTTL = 5 * time.Second
)

// GrantStatus describes a grant without its secrets.
type GrantStatus struct {
	Provider     string
	PortalID     int64
	AccountID    string    // the provider's account id (HubSpot: the hub id)
	AccountName  string    // a name to show (HubSpot: the hub domain)
	ExpiresAt    time.Time // when the current access token expires; it is refreshed before that
	Status       string    // StatusActive, StatusNeedsReinstall or (HubSpot's) StatusUninstalled
	StatusReason string
	UpdatedAt    time.Time
}

// Grants stores and refreshes one provider's OAuth grants, one per portal,
// sealed in table oauth_tokens. Token refreshes ahead of expiry, exactly
// once per expiry however many callers and processes ask: callers in one
// process share one refresh (singleflight), and processes agree through a
// conditional update on the grant's version. An access token is kept in
// memory for at most cacheTTL (5 s), so a grant another replica replaced
// or deleted is taken up within that. It is safe for concurrent use.
type Grants struct {
	provider string
	conf     *oauth2.Config
	db       *store.DB
	hc       *http.Client
	log      *slog.Logger
	now      func() time.Time

	flights singleflight.Group
	// refused, when set, is told of a portal whose refresh token was just
	// marked refused (the Flow forgets its CheckPortal answer).
	refused func(portalID int64)

	mu      sync.Mutex
	cache   map[int64]cachedToken // fresh access tokens (no refresh token), in memory only
	epoch   map[int64]uint64      // per portal, moved on by every forget and refresh
	backoff map[int64]time.Time   // no refresh before, after a 429 from the token endpoint
}

// NewGrants returns the grants of provider ("hubspot", "quickbooks"). conf
// names the token endpoint and how the client authenticates to it (HubSpot:
// AuthStyleInParams; Intuit: AuthStyleInHeader); hc makes every call to the
// provider, and its transport carries the bearer-authorised clients. db seals
// the tokens (store.WithKeys).
func NewGrants(provider string, conf *oauth2.Config, db *store.DB, hc *http.Client, log *slog.Logger) *Grants {
	return &Grants{
		provider: provider,
		conf:     conf,
		db:       db,
		hc:       hc,
		log:      log.With("provider", provider),
		now:      time.Now,
		cache:    make(map[int64]cachedToken),
		epoch:    make(map[int64]uint64),
		backoff:  make(map[int64]time.Time),
	}
}

// Provider returns the provider these grants are for.
func (g *Grants) Provider() string { return g.provider }

// Save records a new grant for a portal (an install or a reconnect),
// replacing any earlier one and making it active again. tok needs an access
// and a refresh token; its Expiry, when zero, is computed from ExpiresIn.
func (g *Grants) Save(ctx context.Context, portalID int64, tok *oauth2.Token, accountID, accountName string) error {
	row, err := g.row(portalID, tok, accountID, accountName)
	if err != nil {
		return err
	}
	var version int64
	err = g.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		version, err = tx.SaveToken(ctx, row)
		return err
	})
	if err != nil {
		return fmt.Errorf("oauth: save %s grant of portal %d: %w", g.provider, portalID, err)
	}
	g.forget(portalID)
	g.log.Info("grant saved", "portal_id", portalID, "version", version, "expires_at", row.ExpiresAt)
	return nil
}

// row turns a token into a grant to store (which seals it).
func (g *Grants) row(portalID int64, tok *oauth2.Token, accountID, accountName string) (store.Token, error) {
	if tok == nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		return store.Token{}, fmt.Errorf("oauth: %s grant of portal %d needs an access and a refresh token", g.provider, portalID)
	}
	expiry := tok.Expiry
	if expiry.IsZero() && tok.ExpiresIn > 0 {
		expiry = g.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return store.Token{
		PortalID:     portalID,
		Provider:     g.provider,
		AccountID:    accountID,
		AccountName:  accountName,
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		ExpiresAt:    expiry,
	}, nil
}

// Token returns a valid access token for the portal, refreshing it first
// when less than five minutes are left. The returned token carries no
// refresh token. Errors wrap ErrNotConnected when the portal has no grant
// or must reconnect; a token endpoint that rate limits us gives an
// *upstream.APIError with RetryAfter (unless the current token is still usable).
func (g *Grants) Token(ctx context.Context, portalID int64) (*oauth2.Token, error) {
	if t, ok := g.cached(portalID); ok {
		return t, nil
	}
	ch := g.flights.DoChan(strconv.FormatInt(portalID, 10), func() (any, error) {
		// The flight serves every caller waiting on it, so it must not end
		// with the first caller's context; it has its own bound instead.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxWait+refreshTimeout)
		defer cancel()
		return g.load(fctx, portalID, nil)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return public(r.Val.(*oauth2.Token)), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("oauth: wait for %s token of portal %d: %w", g.provider, portalID, ctx.Err())
	}
}

// ForceRefresh refreshes the portal's access token even though it has not
// expired by our clock — the provider rejected it (a 401) — unless the
// stored token is no longer the rejected one, which means someone already
// replaced it: then that token is returned. rejected is the rejected
// token's Fingerprint (see SentFingerprint); "" forces a refresh whatever
// is stored. It has Token's exactly-once guarantee.
func (g *Grants) ForceRefresh(ctx context.Context, portalID int64, rejected string) (*oauth2.Token, error) {
	g.forget(portalID)
	key := "force-" + strconv.FormatInt(portalID, 10) + "-" + rejected
	ch := g.flights.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxWait+refreshTimeout)
		defer cancel()
		return g.load(fctx, portalID, func(access string) bool { return rejected == "" || Fingerprint(access) == rejected })
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return public(r.Val.(*oauth2.Token)), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("oauth: wait for %s token of portal %d: %w", g.provider, portalID, ctx.Err())
	}
}

// Fingerprint names an access token without holding it, so that an error
// can say which token a provider rejected without carrying a secret.
func Fingerprint(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return hex.EncodeToString(sum[:12])
}

// SentFingerprint is the Fingerprint of the bearer token a request made
// through Client carried ("" when it carried none): for a 401's response,
// resp.Request is that request.
func SentFingerprint(req *http.Request) string {
	if req == nil {
		return ""
	}
	tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return ""
	}
	return Fingerprint(tok)
}

// load reads the grant and returns its access token, refreshing it when
// due, or when stale (nil: never) says the stored access token is one the
// provider rejected. Exactly one
// caller across processes wins the claim to refresh; the others hand out
// the old token while it is still usable, or wait for the winner's new
// version.
func (g *Grants) load(ctx context.Context, portalID int64, stale func(accessToken string) bool) (*oauth2.Token, error) {
	waitUntil := time.Now().Add(maxWait)
	for {
		epoch := g.epochOf(portalID)
		row, err := g.db.GetToken(ctx, portalID, g.provider)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("oauth: portal %d has no %s grant: %w", portalID, g.provider, ErrNotConnected)
		}
		if errors.Is(err, store.ErrMisplaced) {
			// Another row's tokens: unusable here, so the portal must
			// connect again, which replaces them.
			return nil, fmt.Errorf("oauth: portal %d must reconnect %s: %w: %w", portalID, g.provider, ErrNotConnected, err)
		}
		if err != nil {
			return nil, fmt.Errorf("oauth: read %s grant of portal %d: %w", g.provider, portalID, err)
		}
		if row.Status != store.StatusActive {
			return nil, g.notConnected(row)
		}
		tok := oauthToken(row)
		now := g.now()
		left := tok.Expiry.Sub(now)
		force := stale != nil && stale(row.AccessToken)
		if left > refreshAhead && !force {
			if stale != nil {
				// A forced refresh found a token newer than the rejected
				// one: the newest known, so reads begun before this one
				// must not cache theirs over it.
				g.remember(portalID, tok)
			} else {
				g.rememberRead(portalID, tok, epoch)
			}
			return tok, nil
		}
		if row.RefreshLockUntil.After(now) {
			// Another process is refreshing, or the token endpoint told us
			// to back off.
			if left > minUsable && !force {
				return tok, nil
			}
			if until, ok := g.backingOff(portalID, now); ok {
				return nil, g.rateLimited(portalID, until.Sub(now))
			}
			if time.Now().After(waitUntil) {
				return nil, fmt.Errorf("oauth: %s token of portal %d: %w", g.provider, portalID,
					&upstream.APIError{Status: http.StatusServiceUnavailable, Body: "another process is refreshing the token", RetryAfter: row.RefreshLockUntil.Sub(now)})
			}
			if err := sleep(ctx, pollEvery); err != nil {
				return nil, fmt.Errorf("oauth: wait for %s token refresh of portal %d: %w", g.provider, portalID, err)
			}
			continue
		}
		var claimed bool
		err = g.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			claimed, err = tx.LockTokenRefresh(ctx, portalID, g.provider, row.Version, now, now.Add(lockTTL))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("oauth: claim %s token refresh of portal %d: %w", g.provider, portalID, err)
		}
		if !claimed {
			continue // someone else claimed it, or the grant changed: look again
		}
		return g.refresh(ctx, row, tok)
	}
}

// refresh calls the token endpoint under a claim on row's version and
// stores the new tokens (the refresh token may have rotated) before the new
// access token is handed out.
func (g *Grants) refresh(ctx context.Context, row store.Token, old *oauth2.Token) (*oauth2.Token, error) {
	rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	rctx = context.WithValue(rctx, oauth2.HTTPClient, g.hc)
	fresh, err := g.conf.TokenSource(rctx, &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	now := g.now()
	if err != nil {
		return g.refreshFailed(ctx, row, old, err, now)
	}
	nt := &oauth2.Token{AccessToken: fresh.AccessToken, TokenType: "Bearer", RefreshToken: fresh.RefreshToken, Expiry: fresh.Expiry}
	if fresh.ExpiresIn > 0 {
		nt.Expiry = now.Add(time.Duration(fresh.ExpiresIn) * time.Second)
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = old.RefreshToken
	}
	next, err := g.row(row.PortalID, nt, row.AccountID, row.AccountName)
	if err != nil {
		return nil, err
	}
	var saved bool
	err = g.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		saved, err = tx.UpdateRefreshedToken(ctx, next, row.Version)
		return err
	})
	if err != nil {
		// The new refresh token may have replaced the stored one at the
		// provider; an access token we cannot back with a saved refresh
		// token is not handed out.
		return nil, fmt.Errorf("oauth: save refreshed %s token of portal %d: %w", g.provider, row.PortalID, err)
	}
	if !saved {
		// A reinstall replaced the grant while we refreshed; it wins.
		g.log.Warn("refreshed token discarded: the grant changed meanwhile", "portal_id", row.PortalID, "version", row.Version)
		return g.load(ctx, row.PortalID, nil)
	}
	rotated := nt.RefreshToken != old.RefreshToken
	g.log.Info("token refreshed", "portal_id", row.PortalID, "version", row.Version+1, "expires_at", nt.Expiry, "refresh_token_rotated", rotated)
	g.remember(row.PortalID, nt)
	return nt, nil
}

// refreshFailed handles a refresh the token endpoint did not grant. A
// rejected refresh token needs an admin; a rate limit or outage does not,
// and the old token is handed out while it is still usable.
func (g *Grants) refreshFailed(ctx context.Context, row store.Token, old *oauth2.Token, err error, now time.Time) (*oauth2.Token, error) {
	portalID := row.PortalID
	usable := old.Expiry.Sub(now) > minUsable
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		// Network trouble: let the next caller try again shortly, not at once.
		g.release(ctx, row, now.Add(time.Second))
		if usable {
			g.log.Warn("token refresh failed; using the current token meanwhile", "portal_id", portalID, "err", err)
			return old, nil
		}
		return nil, fmt.Errorf("oauth: refresh %s token of portal %d: %w", g.provider, portalID, err)
	}
	ae := upstream.NewAPIError(re.Response, re.Body, now)
	switch {
	case re.ErrorCode == "invalid_grant" || bytes.Contains(re.Body, []byte("BAD_REFRESH_TOKEN")):
		reason := "the refresh token was rejected (invalid_grant): it was revoked or the app was uninstalled"
		status := store.StatusNeedsReinstall
		if g.provider == ProviderHubSpot {
			// HubSpot rejects the refresh token of an account that
			// uninstalled the app: the portal is uninstalled, runs no
			// actions, and its secrets go after the grace period unless it
			// reinstalls. Never retried: only a reinstall brings a grant.
			reason = "HubSpot rejected the refresh token (invalid_grant): the app was uninstalled in HubSpot, or its access revoked"
			status = store.StatusUninstalled
		}
		var marked bool
		werr := g.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			if marked, err = tx.MarkTokenStatus(ctx, portalID, g.provider, row.Version, status, reason); err != nil || !marked {
				return err
			}
			if g.provider != ProviderHubSpot {
				return nil
			}
			if err := tx.MarkPortalUninstalled(ctx, portalID, reason); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			// An uninstall in HubSpot ends the portal's admin sessions
			// too (a copied cookie included), as every other uninstall
			// does: signing in again goes through a reinstall.
			_, err = tx.EndPortalSessions(ctx, portalID)
			return err
		})
		if werr != nil {
			return nil, fmt.Errorf("oauth: mark %s grant of portal %d for reinstall: %w", g.provider, portalID, werr)
		}
		g.forget(portalID)
		if !marked {
			return g.load(ctx, portalID, nil) // a reinstall replaced the grant meanwhile
		}
		if g.refused != nil {
			g.refused(portalID)
		}
		g.log.Warn("refresh token rejected; the portal must reconnect", "portal_id", portalID, "status", re.Response.StatusCode, "error_code", re.ErrorCode)
		if g.provider == ProviderHubSpot {
			return nil, fmt.Errorf("oauth: refresh %s token of portal %d: %s: %w", g.provider, portalID, reason, ErrUninstalled)
		}
		return nil, fmt.Errorf("oauth: refresh %s token of portal %d: %s: %w", g.provider, portalID, reason, ErrNotConnected)
	case ae.Status == http.StatusTooManyRequests:
		wait := ae.RetryAfter
		if wait <= 0 {
			wait = defaultBackoff
		}
		wait = min(wait, maxBackoff)
		ae.RetryAfter = wait
		g.release(ctx, row, now.Add(wait))
		g.mu.Lock()
		g.backoff[portalID] = now.Add(wait)
		g.mu.Unlock()
		if usable {
			g.log.Warn("token endpoint rate limited the refresh; using the current token meanwhile", "portal_id", portalID, "retry_after", wait.String())
			return old, nil
		}
		return nil, fmt.Errorf("oauth: refresh %s token of portal %d: %w", g.provider, portalID, ae)
	default:
		// An outage, or a refusal that is not about the grant (for example
		// invalid_client): never hammer the token endpoint meanwhile.
		retryAt := now.Add(max(ae.RetryAfter, time.Second))
		if ae.Status < 500 {
			retryAt = now.Add(max(ae.RetryAfter, 30*time.Second))
			g.mu.Lock()
			g.backoff[portalID] = retryAt
			g.mu.Unlock()
		}
		g.release(ctx, row, retryAt)
		if usable {
			g.log.Warn("token refresh failed; using the current token meanwhile", "portal_id", portalID, "err", ae)
			return old, nil
		}
		return nil, fmt.Errorf("oauth: refresh %s token of portal %d: %w", g.provider, portalID, ae)
	}
}

// release gives up a refresh claim; nobody refreshes again before retryAt.
func (g *Grants) release(ctx context.Context, row store.Token, retryAt time.Time) {
	err := g.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ReleaseTokenRefresh(ctx, row.PortalID, g.provider, row.Version, retryAt)
		return err
	})
	if err != nil {
		// The claim lapses by itself after lockTTL.
		g.log.Warn("release token refresh claim", "portal_id", row.PortalID, "err", err)
	}
}

func (g *Grants) rateLimited(portalID int64, wait time.Duration) error {
	return fmt.Errorf("oauth: refresh %s token of portal %d: backing off after a rate limit: %w", g.provider, portalID,
		&upstream.APIError{Status: http.StatusTooManyRequests, Body: "token endpoint rate limited; backing off", RetryAfter: wait})
}

func (g *Grants) backingOff(portalID int64, now time.Time) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.backoff[portalID]
	if ok && !now.Before(until) {
		delete(g.backoff, portalID)
		return time.Time{}, false
	}
	return until, ok
}

func (g *Grants) notConnected(row store.Token) error {
	reason := row.StatusReason
	if reason == "" {
		reason = row.Status
	}
	return fmt.Errorf("oauth: portal %d must reconnect %s (%s): %w", row.PortalID, g.provider, reason, ErrNotConnected)
}

// oauthToken is a stored grant's tokens.
func oauthToken(row store.Token) *oauth2.Token {
	return &oauth2.Token{AccessToken: row.AccessToken, TokenType: "Bearer", RefreshToken: row.RefreshToken, Expiry: row.ExpiresAt}
}

// cachedToken is an access token kept in memory, and when it was read
// from the grant.
type cachedToken struct {
	tok *oauth2.Token
	at  time.Time
}

// cached returns the portal's access token from memory while it is fresh
// and was read from the grant less than cacheTTL ago.
func (g *Grants) cached(portalID int64) (*oauth2.Token, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.cache[portalID]
	if !ok {
		return nil, false
	}
	now := g.now()
	if c.tok.Expiry.Sub(now) <= refreshAhead || now.Sub(c.at) >= cacheTTL || now.Before(c.at) {
		delete(g.cache, portalID)
		return nil, false
	}
	return public(c.tok), true
}

// remember keeps a token just refreshed: the newest there is.
func (g *Grants) remember(portalID int64, t *oauth2.Token) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch[portalID]++
	g.cache[portalID] = cachedToken{tok: public(t), at: g.now()}
}

// epochOf is the portal's cache epoch, taken before reading its grant.
func (g *Grants) epochOf(portalID int64) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.epoch[portalID]
}

// rememberRead keeps a token read from the grant, unless the cache moved
// on since the read began (epoch): a refresh or a forced refresh after a
// 401 meanwhile means the read may hold a token already replaced, which
// would be handed out again.
func (g *Grants) rememberRead(portalID int64, t *oauth2.Token, epoch uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.epoch[portalID] != epoch {
		return
	}
	g.cache[portalID] = cachedToken{tok: public(t), at: g.now()}
}

// forget drops what is cached about a portal, after its grant changed.
func (g *Grants) forget(portalID int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch[portalID]++
	delete(g.cache, portalID)
	delete(g.backoff, portalID)
}

// public copies a token without its refresh token, which only Grants uses.
func public(t *oauth2.Token) *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}
}

// Client returns an HTTP client that sends the portal's access token as a
// bearer token on every request, refreshed as needed, over hc's transport
// and with hc's timeout. Errors wrap ErrNotConnected when the portal has no
// usable grant.
func (g *Grants) Client(ctx context.Context, portalID int64) (*http.Client, error) {
	if _, err := g.Token(ctx, portalID); err != nil {
		return nil, err
	}
	return bearerClient(g.hc, func(ctx context.Context) (string, error) {
		t, err := g.Token(ctx, portalID)
		if err != nil {
			return "", err
		}
		return t.AccessToken, nil
	}), nil
}

// Status describes the portal's grant, never its tokens. Errors wrap
// ErrNotConnected when there is no grant; a grant that must be reconnected
// is reported with Status StatusNeedsReinstall and no error.
func (g *Grants) Status(ctx context.Context, portalID int64) (GrantStatus, error) {
	// Listing does not open the tokens, so a grant sealed under a key that
	// is gone is still described.
	rows, err := g.db.ListPortalTokens(ctx, portalID)
	if err != nil {
		return GrantStatus{}, fmt.Errorf("oauth: read %s grant of portal %d: %w", g.provider, portalID, err)
	}
	for _, row := range rows {
		if row.Provider == g.provider {
			return grantStatus(row), nil
		}
	}
	return GrantStatus{}, fmt.Errorf("oauth: portal %d has no %s grant: %w", portalID, g.provider, ErrNotConnected)
}

func grantStatus(row store.Token) GrantStatus {
	return GrantStatus{
		Provider:     row.Provider,
		PortalID:     row.PortalID,
		AccountID:    row.AccountID,
		AccountName:  row.AccountName,
		ExpiresAt:    row.ExpiresAt,
		Status:       row.Status,
		StatusReason: row.StatusReason,
		UpdatedAt:    row.UpdatedAt,
	}
}

// Delete deletes the portal's grant, if any. It does not revoke anything at
// the provider; see Revoke.
func (g *Grants) Delete(ctx context.Context, portalID int64) error {
	err := g.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.DeleteToken(ctx, portalID, g.provider)
		return err
	})
	g.forget(portalID)
	if err != nil {
		return fmt.Errorf("oauth: delete %s grant of portal %d: %w", g.provider, portalID, err)
	}
	return nil
}

// Revoke hands the portal's refresh token to revoke (which calls the
// provider's revocation endpoint) and, when that succeeds, deletes the
// grant. Errors wrap ErrNotConnected when there is no grant.
func (g *Grants) Revoke(ctx context.Context, portalID int64, revoke func(ctx context.Context, refreshToken string) error) error {
	rt, err := g.refreshToken(ctx, portalID)
	if err != nil {
		return err
	}
	if err := revoke(ctx, rt); err != nil {
		return fmt.Errorf("oauth: revoke %s grant of portal %d: %w", g.provider, portalID, err)
	}
	return g.Delete(ctx, portalID)
}

// refreshToken opens the portal's stored refresh token, whatever the
// grant's status, for revocation. A token sealed for another row fails
// with store.ErrMisplaced (and is never handed out to be revoked: it is
// another portal's).
func (g *Grants) refreshToken(ctx context.Context, portalID int64) (string, error) {
	row, err := g.db.GetToken(ctx, portalID, g.provider)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("oauth: portal %d has no %s grant: %w", portalID, g.provider, ErrNotConnected)
	}
	if err != nil {
		return "", fmt.Errorf("oauth: read %s grant of portal %d: %w", g.provider, portalID, err)
	}
	return row.RefreshToken, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// bearerClient returns a client over hc's transport that authorises each
// request with the token token returns. It takes the token from the
// request's own context rather than wrapping an oauth2.ReuseTokenSource,
// whose Token method has no context and would pin the one the client was
// built with.
func bearerClient(hc *http.Client, token func(ctx context.Context) (string, error)) *http.Client {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{
		Transport:     &bearerTransport{base: base, token: token},
		Timeout:       hc.Timeout,
		CheckRedirect: hc.CheckRedirect,
		Jar:           hc.Jar,
	}
}

type bearerTransport struct {
	base  http.RoundTripper
	token func(ctx context.Context) (string, error)
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return t.base.RoundTrip(r)
}
