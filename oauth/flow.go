package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
)

// ProviderHubSpot names HubSpot's grants in table oauth_tokens.
const ProviderHubSpot = "hubspot"

// HubSpot's dated OAuth endpoints, under Config.TokenBaseURL.
const (
	tokenPath      = "/oauth/2026-03/token"
	introspectPath = "/oauth/2026-03/token/introspect"
	revokePath     = "/oauth/2026-03/token/revoke"
)

// checkTTL is how long CheckPortal trusts its last answer for a portal;
// at most maxChecks answers are kept. The replica where a portal is
// uninstalled, removed or reinstalled forgets its answer at once; every
// other replica learns of the change only from the database, so it may
// still run (or refuse) that portal's executions for up to checkTTL after
// the change commits.
const (
	checkTTL  = 5 * time.Second
	maxChecks = 10000
)

// Config configures the HubSpot install flow.
type Config struct {
	ClientID     string
	ClientSecret string
	// RedirectURL is PUBLIC_BASE_URL + "/oauth/hubspot/callback".
	RedirectURL string
	// AuthorizeURL is HUBSPOT_APP_BASE_URL + "/oauth/authorize".
	AuthorizeURL string
	// TokenBaseURL is the base of /oauth/2026-03/token, /token/introspect
	// and /token/revoke: normally HUBSPOT_API_BASE_URL.
	TokenBaseURL   string
	Scopes         []string
	OptionalScopes []string
	// SecureCookies marks the state cookies Secure; set it when
	// PUBLIC_BASE_URL is https.
	SecureCookies bool
	// OnInstalled answers the browser once an install is recorded: the
	// admin pages sign the installing admin in and redirect to /settings.
	// Without it the browser gets a page saying the app is installed.
	OnInstalled func(c echo.Context, in Installed) error
	// Sandbox runs without a real HubSpot app: every portal's requests carry
	// the static bearer token "sandbox-<portalID>" and CheckPortal passes
	// unless the portal was uninstalled.
	Sandbox bool
}

// Installed is who installed the app in which portal, as HubSpot reported
// it at the end of an install.
type Installed struct {
	PortalID  int64
	UserEmail string
	UserID    int64
}

// Flow is the HubSpot install flow and the source of every portal's
// authorised HTTP client. It is safe for concurrent use.
type Flow struct {
	cfg    Config
	db     *store.DB
	hc     *http.Client
	log    *slog.Logger
	conf   *oauth2.Config
	grants *Grants
	now    func() time.Time

	mu     sync.Mutex
	checks map[int64]portalCheck
	// checkEpoch counts forgetCheck calls: an answer read across one is
	// not kept.
	checkEpoch uint64
}

type portalCheck struct {
	err error
	at  time.Time
}

// New returns the install flow. hc makes every call to HubSpot (token,
// introspection, revocation and API calls) and carries its timeout. db seals
// the tokens it stores (store.WithKeys).
func New(cfg Config, db *store.DB, hc *http.Client, log *slog.Logger) *Flow {
	log = log.With("component", "oauth")
	conf := &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:  cfg.AuthorizeURL,
			TokenURL: strings.TrimRight(cfg.TokenBaseURL, "/") + tokenPath,
			// HubSpot wants the client id and secret in the form body.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: cfg.RedirectURL,
		Scopes:      cfg.Scopes,
	}
	f := &Flow{
		cfg:    cfg,
		db:     db,
		hc:     hc,
		log:    log,
		conf:   conf,
		grants: NewGrants(ProviderHubSpot, conf, db, hc, log),
		now:    time.Now,
		checks: make(map[int64]portalCheck),
	}
	// A portal whose refresh HubSpot refused is uninstalled from that
	// moment: CheckPortal must not pass it on an answer kept from before.
	f.grants.refused = f.forgetCheck
	return f
}

// Grants returns HubSpot's grants.
func (f *Flow) Grants() *Grants { return f.grants }

// Sandbox reports whether the flow runs without a real HubSpot app
// (Config.Sandbox): its calls carry static tokens, never the grants'.
func (f *Flow) Sandbox() bool { return f.cfg.Sandbox }

// AuthorizeURL returns HubSpot's authorize URL for an install carrying
// state. HubSpot documents scope and optional_scope as space-separated
// lists encoded with %20.
func (f *Flow) AuthorizeURL(state string) string {
	v := url.Values{}
	v.Set("client_id", f.cfg.ClientID)
	v.Set("redirect_uri", f.cfg.RedirectURL)
	v.Set("scope", strings.Join(f.cfg.Scopes, " "))
	if len(f.cfg.OptionalScopes) > 0 {
		v.Set("optional_scope", strings.Join(f.cfg.OptionalScopes, " "))
	}
	v.Set("state", state)
	// Encode escapes a literal '+' as %2B, so every '+' left is a space.
	return f.cfg.AuthorizeURL + "?" + strings.ReplaceAll(v.Encode(), "+", "%20")
}

// installation is what an install tells us about the portal.
type installation struct {
	PortalID  int64
	HubDomain string
	UserEmail string
	UserID    int64
	Scopes    []string
	Token     *oauth2.Token
}

// exchange trades an authorization code for tokens and learns the portal:
// hub_id from the token response, or else from token introspection, which
// is also where the installer's email and the hub domain come from.
func (f *Flow) exchange(ctx context.Context, code string) (installation, error) {
	tok, err := f.conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, f.hc), code)
	if err != nil {
		return installation{}, fmt.Errorf("oauth: exchange authorization code: %w", err)
	}
	now := f.now()
	in := installation{
		PortalID: extraInt(tok, "hub_id"),
		UserID:   extraInt(tok, "user_id"),
		Scopes:   extraStrings(tok, "scopes"),
		Token:    &oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer", RefreshToken: tok.RefreshToken, Expiry: tok.Expiry},
	}
	if tok.ExpiresIn > 0 {
		in.Token.Expiry = now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	info, err := f.introspect(ctx, tok.AccessToken)
	switch {
	case err != nil && in.PortalID == 0:
		return installation{}, fmt.Errorf("oauth: token response has no hub_id, and introspection failed: %w", err)
	case err != nil:
		f.log.Warn("token introspection failed; recording the install without the installer's email", "portal_id", in.PortalID, "err", err)
	case !info.Active:
		return installation{}, errors.New("oauth: introspection says the new access token is not active")
	case in.PortalID != 0 && info.HubID != 0 && info.HubID != in.PortalID:
		return installation{}, fmt.Errorf("oauth: token response names hub %d but introspection hub %d", in.PortalID, info.HubID)
	default:
		if in.PortalID == 0 {
			in.PortalID = info.HubID
		}
		if in.UserID == 0 {
			in.UserID = info.UserID
		}
		if len(in.Scopes) == 0 {
			in.Scopes = info.Scopes
		}
		in.UserEmail = info.User
		in.HubDomain = info.HubDomain
	}
	if in.PortalID == 0 {
		return installation{}, errors.New("oauth: HubSpot did not say which portal installed the app")
	}
	return in, nil
}

// introspection is HubSpot's answer about an access token.
type introspection struct {
	Active    bool     `json:"active"`
	HubID     int64    `json:"hub_id"`
	UserID    int64    `json:"user_id"`
	User      string   `json:"user"`
	HubDomain string   `json:"hub_domain"`
	Scopes    []string `json:"scopes"`
}

func (f *Flow) introspect(ctx context.Context, accessToken string) (introspection, error) {
	var out introspection
	err := f.postForm(ctx, introspectPath, url.Values{
		"client_id":       {f.cfg.ClientID},
		"client_secret":   {f.cfg.ClientSecret},
		"token":           {accessToken},
		"token_type_hint": {"access_token"},
	}, &out)
	if err != nil {
		return introspection{}, fmt.Errorf("oauth: introspect token: %w", err)
	}
	return out, nil
}

// revoke revokes a refresh token at HubSpot.
func (f *Flow) revoke(ctx context.Context, refreshToken string) error {
	err := f.postForm(ctx, revokePath, url.Values{
		"client_id":       {f.cfg.ClientID},
		"client_secret":   {f.cfg.ClientSecret},
		"token":           {refreshToken},
		"token_type_hint": {"refresh_token"},
	}, nil)
	if err != nil {
		return fmt.Errorf("oauth: revoke refresh token: %w", err)
	}
	return nil
}

// postForm posts a form to one of HubSpot's OAuth endpoints and decodes
// the JSON answer into out, when out is not nil.
func (f *Flow) postForm(ctx context.Context, path string, form url.Values, out any) error {
	u := strings.TrimRight(f.cfg.TokenBaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := f.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
		return upstream.NewAPIError(resp, b, f.now())
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("decode %s answer: %w", path, err)
	}
	return nil
}

// install records an installation: the portal (a reinstall updates the
// same row and makes it active) and its tokens, in one transaction. It
// also ends admin sessions, so a session cookie copied before it stops
// working: a reinstall of a portal that was not active (uninstalled,
// removed, refused) ends every session of the portal; an install flow run
// again while the portal is active (which is how an admin signs in) ends
// the sessions of that HubSpot user only, so the portal's other admins
// stay signed in.
func (f *Flow) install(ctx context.Context, in installation) error {
	row, err := f.grants.row(in.PortalID, in.Token, strconv.FormatInt(in.PortalID, 10), in.HubDomain)
	if err != nil {
		return err
	}
	err = f.db.Write(ctx, func(tx *store.Tx) error {
		p, err := tx.GetPortal(ctx, in.PortalID)
		switch {
		case err == nil && p.Status == StatusActive:
			if _, err := tx.EndUserSessions(ctx, in.PortalID, in.UserID); err != nil {
				return err
			}
		case err == nil:
			if _, err := tx.EndPortalSessions(ctx, in.PortalID); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		err = tx.UpsertPortal(ctx, store.Portal{
			PortalID:         in.PortalID,
			HubDomain:        in.HubDomain,
			InstalledByEmail: in.UserEmail,
			InstalledByID:    in.UserID,
			Scopes:           in.Scopes,
		})
		if err != nil {
			return err
		}
		_, err = tx.SaveToken(ctx, row)
		return err
	})
	if err != nil {
		return fmt.Errorf("oauth: record install of portal %d: %w", in.PortalID, err)
	}
	f.grants.forget(in.PortalID)
	f.forgetCheck(in.PortalID)
	return nil
}

// Client returns an HTTP client whose requests carry the portal's access
// token. Errors wrap ErrNotConnected when the portal must (re)install.
func (f *Flow) Client(ctx context.Context, portalID int64) (*http.Client, error) {
	if f.cfg.Sandbox {
		tok := "sandbox-" + strconv.FormatInt(portalID, 10)
		return bearerClient(f.hc, func(context.Context) (string, error) { return tok, nil }), nil
	}
	return f.grants.Client(ctx, portalID)
}

// CheckPortal returns an error wrapping ErrNotConnected when the portal
// has no grant or must reinstall the app. It is called on every execution,
// so answers are kept a few seconds. A failure to read the database is
// logged and passes: the call that follows will report it.
func (f *Flow) CheckPortal(ctx context.Context, portalID int64) error {
	now := f.now()
	f.mu.Lock()
	c, ok := f.checks[portalID]
	epoch := f.checkEpoch
	f.mu.Unlock()
	if ok && now.Sub(c.at) < checkTTL && !now.Before(c.at) {
		return c.err
	}
	err := f.checkPortal(ctx, portalID)
	if err != nil && !errors.Is(err, ErrNotConnected) {
		f.log.Warn("check portal", "portal_id", portalID, "err", err)
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.checkEpoch != epoch {
		// A portal's answer was forgotten while this one was read: it may
		// be from before the change, so it is not kept.
		return err
	}
	if len(f.checks) >= maxChecks {
		// Every portal is checked again within checkTTL anyway: starting
		// over bounds the memory any number of portal ids can take.
		clear(f.checks)
	}
	f.checks[portalID] = portalCheck{err: err, at: now}
	return err
}

func (f *Flow) checkPortal(ctx context.Context, portalID int64) error {
	p, err := f.db.GetPortal(ctx, portalID)
	switch {
	case err == nil && uninstalled(p.Status):
		return fmt.Errorf("oauth: portal %d (%s): %w", portalID, p.Status, ErrUninstalled)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	case f.cfg.Sandbox:
		return nil // any portal may run actions, installed or not
	}
	st, err := f.grants.Status(ctx, portalID)
	if err != nil {
		return err
	}
	if st.Status != StatusActive {
		return fmt.Errorf("oauth: portal %d must reinstall the app (%s): %w", portalID, st.StatusReason, ErrNotConnected)
	}
	return nil
}

func (f *Flow) forgetCheck(portalID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.checks, portalID)
	f.checkEpoch++
}

// invalidTokenAnswer reports whether an OAuth error body says the token is
// unknown or no longer valid (rather than, say, a bad client secret).
func invalidTokenAnswer(body string) bool {
	return strings.Contains(body, "invalid_grant") || strings.Contains(body, "invalid_token") ||
		strings.Contains(body, "BAD_REFRESH_TOKEN")
}

// PortalInfo describes an installed portal, for the CLI and the settings
// page. It holds no secret.
type PortalInfo struct {
	PortalID         int64
	HubDomain        string
	InstalledByEmail string
	InstalledByID    int64
	Scopes           []string
	InstalledAt      time.Time
	UpdatedAt        time.Time
	// Status is StatusActive, StatusUninstalling, StatusUninstalled,
	// StatusNotConnected, or from older releases StatusNeedsReinstall or
	// StatusRemoved; StatusReason says why when not active.
	Status       string
	StatusReason string
	// TokenExpiresAt is when the current HubSpot access token expires (it
	// is refreshed before then); zero when there is none.
	TokenExpiresAt time.Time
	// UninstalledAt is when the uninstall was asked for or noticed; zero
	// while installed.
	UninstalledAt time.Time
	// Grants lists the portal's OAuth grants with every provider.
	Grants []GrantStatus
}

// Portals lists every portal that installed the app, by id.
func (f *Flow) Portals(ctx context.Context) ([]PortalInfo, error) {
	ps, err := f.db.ListPortals(ctx)
	if err != nil {
		return nil, fmt.Errorf("oauth: list portals: %w", err)
	}
	toks, err := f.db.ListTokens(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("oauth: list portals: %w", err)
	}
	byPortal := make(map[int64][]store.Token)
	for _, t := range toks {
		byPortal[t.PortalID] = append(byPortal[t.PortalID], t)
	}
	out := make([]PortalInfo, len(ps))
	for i, p := range ps {
		out[i] = f.portalInfo(p, byPortal[p.PortalID])
	}
	return out, nil
}

// Portal describes one portal. It returns an error wrapping
// store.ErrNotFound when the portal never installed the app.
func (f *Flow) Portal(ctx context.Context, portalID int64) (PortalInfo, error) {
	p, err := f.db.GetPortal(ctx, portalID)
	if err != nil {
		return PortalInfo{}, fmt.Errorf("oauth: portal %d: %w", portalID, err)
	}
	toks, err := f.db.ListPortalTokens(ctx, portalID)
	if err != nil {
		return PortalInfo{}, fmt.Errorf("oauth: portal %d: %w", portalID, err)
	}
	return f.portalInfo(p, toks), nil
}

func (f *Flow) portalInfo(p store.Portal, toks []store.Token) PortalInfo {
	pi := PortalInfo{
		PortalID:         p.PortalID,
		HubDomain:        p.HubDomain,
		InstalledByEmail: p.InstalledByEmail,
		InstalledByID:    p.InstalledByID,
		Scopes:           p.Scopes,
		InstalledAt:      p.InstalledAt,
		UpdatedAt:        p.UpdatedAt,
		Status:           p.Status,
		StatusReason:     p.StatusReason,
		UninstalledAt:    p.UninstalledAt,
		Grants:           []GrantStatus{},
	}
	var hubspot *store.Token
	for i, t := range toks {
		pi.Grants = append(pi.Grants, grantStatus(t))
		if t.Provider == ProviderHubSpot {
			hubspot = &toks[i]
		}
	}
	switch {
	case hubspot != nil:
		pi.TokenExpiresAt = hubspot.ExpiresAt
		if hubspot.Status != StatusActive && pi.Status == StatusActive {
			pi.Status, pi.StatusReason = hubspot.Status, hubspot.StatusReason
		}
	case pi.Status == StatusActive && !f.cfg.Sandbox:
		pi.Status, pi.StatusReason = StatusNotConnected, "no HubSpot token is stored"
	}
	return pi
}

// extraInt reads a numeric field of the token response.
func extraInt(tok *oauth2.Token, key string) int64 {
	switch v := tok.Extra(key).(type) {
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

// extraStrings reads a list of strings from the token response, given as a
// JSON array or a space-separated string.
func extraStrings(tok *oauth2.Token, key string) []string {
	switch v := tok.Extra(key).(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string:
		return strings.Fields(v)
	}
	return nil
}
