package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// KeyProvider is a provider whose API key each portal enters on the
// settings page. Adding one to the settings page is one entry in
// providers.keyed.
type KeyProvider struct {
	// Keys stores the portal's key sealed and knows the app-wide default.
	Keys *actions.APIKeys
	// Verify checks a key with one cheap call to the provider before it is
	// saved. Errors are *actions.Error with a message in plain words, or
	// transient.
	Verify func(ctx context.Context, key string) error
	// Help says where to find the key; it is shown under the field.
	Help string
}

// verifyTimeout bounds the provider call that checks a key.
const verifyTimeout = 10 * time.Second

// qbCheckTimeout bounds the QuickBooks call made to show the company's
// name: the page renders without it rather than wait.
const qbCheckTimeout = 4 * time.Second

// settingsPage is the data of the settings template.
type settingsPage struct {
	page
	Notice    string
	Problems  []problem // what the admin must fix in the form just sent
	Portal    portalView
	QB        qbView
	Keys      []keyView
	Retention string
}

type problem struct {
	Field   string // the id of the field at fault
	Message string
}

type portalView struct {
	ID          int64
	HubDomain   string
	InstalledBy string
	InstalledAt string
	UpdatedAt   string
	Scopes      []string
	// Health is "active", "needs_reinstall", "removed" or "not_connected".
	Health        string
	HealthLabel   string
	HealthDetail  string
	TokenExpires  string
	ReinstallLink bool
}

type qbView struct {
	Configured bool
	Connected  bool // a grant is stored (it may need reconnecting)
	Healthy    bool
	Company    string
	Detail     string
	ConnectURL string
}

type keyView struct {
	Provider   string
	Label      string
	Help       string
	InputID    string
	Own        bool
	Hint       string
	VerifiedAt string
	HasDefault bool
	Error      string
}

// settingsNotices are the confirmations shown after a change; the query
// only names one, so nothing the request carries is echoed.
var settingsNotices = map[string]string{
	"key-saved":             "%s key verified and saved.",
	"key-removed":           "%s key removed.",
	"qb-disconnected":       "QuickBooks disconnected.",
	"qb-disconnected-local": "QuickBooks disconnected here. QuickBooks could not be reached to revoke the app's access; you can also remove the app in QuickBooks under Settings → Apps.",
}

// HandleSettings serves GET /settings: the portal, its connection to
// HubSpot and every provider's connection.
func HandleSettings(w *Pages, flow *oauth.Flow, qb *quickbooks.Service, keyed []KeyProvider, retention time.Duration) echo.HandlerFunc {
	type request struct {
		Notice   string `query:"notice" validate:"omitempty,max=40"`
		Provider string `query:"provider" validate:"omitempty,max=40"`
	}
	return func(c echo.Context) error {
		var req request
		if err := (&echo.DefaultBinder{}).BindQueryParams(c, &req); err != nil {
			return err
		}
		if err := c.Validate(&req); err != nil {
			return err
		}
		p, err := buildSettings(c, w, flow, qb, keyed, retention)
		if errors.Is(err, store.ErrNotFound) {
			return reinstall(c, w, flow)
		}
		if err != nil {
			return err
		}
		if msg, ok := settingsNotices[req.Notice]; ok {
			if strings.Contains(msg, "%s") {
				if kp, ok := findKeyProvider(keyed, req.Provider); ok {
					p.Notice = strings.Replace(msg, "%s", kp.Keys.Label(), 1)
				}
			} else {
				p.Notice = msg
			}
		}
		return w.render(c, http.StatusOK, "settings", p)
	}
}

// HandleSaveKey serves POST /settings/keys/:provider: the key is verified
// with the provider, then sealed and saved for the session's portal. A key
// that fails verification is not saved; the page says why next to the
// field.
func HandleSaveKey(w *Pages, flow *oauth.Flow, qb *quickbooks.Service, keyed []KeyProvider, retention time.Duration) echo.HandlerFunc {
	type request struct {
		Provider string `param:"provider"`
		APIKey   string `form:"api_key" validate:"required,max=500,printascii"`
	}
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		portalID := sessionOf(c).PortalID
		var req request
		if err := c.Bind(&req); err != nil {
			return err
		}
		kp, ok := findKeyProvider(keyed, req.Provider)
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such provider.")
		}
		req.APIKey = strings.TrimSpace(req.APIKey)
		label := kp.Keys.Label()
		var problemMsg string
		if err := c.Validate(&req); err != nil || strings.ContainsAny(req.APIKey, " \t") {
			var ve validator.ValidationErrors
			if err != nil && !errors.As(err, &ve) {
				return err
			}
			problemMsg = "Enter your " + label + " API key."
			if req.APIKey != "" {
				problemMsg = "This does not look like a " + label + " API key: paste the key exactly as " + label + " shows it, without spaces."
			}
		} else {
			vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
			err := kp.Verify(vctx, req.APIKey)
			cancel()
			if err != nil {
				w.log.Info("api key refused", "portal_id", portalID, "provider", kp.Keys.Provider(), "err", err)
				problemMsg = verifyProblem(label, err)
			}
		}
		if problemMsg != "" {
			p, err := buildSettings(c, w, flow, qb, keyed, retention)
			if errors.Is(err, store.ErrNotFound) {
				return reinstall(c, w, flow)
			}
			if err != nil {
				return err
			}
			p.Title = "Error: " + p.Title
			for i := range p.Keys {
				if p.Keys[i].Provider == kp.Keys.Provider() {
					p.Keys[i].Error = problemMsg
					p.Problems = append(p.Problems, problem{Field: p.Keys[i].InputID, Message: problemMsg})
				}
			}
			return w.render(c, http.StatusUnprocessableEntity, "settings", p)
		}
		if err := kp.Keys.Save(ctx, portalID, req.APIKey); err != nil {
			return err
		}
		w.log.Info("api key saved", "portal_id", portalID, "provider", kp.Keys.Provider())
		return c.Redirect(http.StatusSeeOther, settingsNoticeURL("key-saved", kp.Keys.Provider()))
	}
}

// verifyProblem says in plain words why a key was not saved.
func verifyProblem(label string, err error) string {
	var ae *actions.Error
	switch {
	case errors.As(err, &ae) && ae.Code != actions.CodeInternal:
		return ae.Message // plain words by contract, and never a secret
	case actions.Transient(err):
		return label + " could not be reached to check the key, so it was not saved. Try again in a minute."
	}
	return "The key could not be checked, so it was not saved. Try again in a minute."
}

// HandleDeleteKey serves POST /settings/keys/:provider/delete: the
// session's portal forgets its key (the app-wide default, if any, applies
// again).
func HandleDeleteKey(w *Pages, keyed []KeyProvider) echo.HandlerFunc {
	type request struct {
		Provider string `param:"provider"`
	}
	return func(c echo.Context) error {
		var req request
		if err := (&echo.DefaultBinder{}).BindPathParams(c, &req); err != nil {
			return err
		}
		kp, ok := findKeyProvider(keyed, req.Provider)
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such provider.")
		}
		portalID := sessionOf(c).PortalID
		if err := kp.Keys.Delete(c.Request().Context(), portalID); err != nil {
			return err
		}
		w.log.Info("api key removed", "portal_id", portalID, "provider", kp.Keys.Provider())
		return c.Redirect(http.StatusSeeOther, settingsNoticeURL("key-removed", kp.Keys.Provider()))
	}
}

// HandleDisconnectQuickBooks serves POST /settings/quickbooks/disconnect:
// the session's portal's grant is revoked at Intuit and forgotten.
func HandleDisconnectQuickBooks(w *Pages, flow *oauth.Flow, qb *quickbooks.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		portalID := sessionOf(c).PortalID
		before, err := flow.Portal(ctx, portalID)
		if errors.Is(err, store.ErrNotFound) {
			return reinstall(c, w, flow)
		}
		if err != nil {
			return err
		}
		if findGrant(before.Grants, quickbooks.Provider) == nil {
			// Nothing to disconnect (a second click, or another tab did it).
			return c.Redirect(http.StatusSeeOther, quickbooks.SettingsPath)
		}
		err = qb.Disconnect(ctx, portalID)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, settingsNoticeURL("qb-disconnected", ""))
		}
		// Disconnect forgets the grant even when Intuit cannot be reached;
		// only a grant still stored is a failure.
		after, perr := flow.Portal(ctx, portalID)
		if perr != nil || findGrant(after.Grants, quickbooks.Provider) != nil {
			return err
		}
		w.log.Warn("quickbooks disconnected without revocation", "portal_id", portalID, "err", err)
		return c.Redirect(http.StatusSeeOther, settingsNoticeURL("qb-disconnected-local", ""))
	}
}

func settingsNoticeURL(notice, provider string) string {
	q := url.Values{"notice": {notice}}
	if provider != "" {
		q.Set("provider", provider)
	}
	return "/settings?" + q.Encode()
}

func findKeyProvider(keyed []KeyProvider, provider string) (KeyProvider, bool) {
	for _, kp := range keyed {
		if kp.Keys.Provider() == provider {
			return kp, true
		}
	}
	return KeyProvider{}, false
}

func findGrant(grants []oauth.GrantStatus, provider string) *oauth.GrantStatus {
	for i := range grants {
		if grants[i].Provider == provider {
			return &grants[i]
		}
	}
	return nil
}

// reinstall signs out a session whose portal is not installed (its data
// was deleted) and answers as for a browser without a session: a page is
// sent through the install flow, a form gets a page that says so.
func reinstall(c echo.Context, w *Pages, flow *oauth.Flow) error {
	w.sessions.Clear(c)
	return w.sessionEnded(c)
}

// buildSettings gathers what the settings page shows for the session's
// portal. The error wraps store.ErrNotFound when the portal is not
// installed.
func buildSettings(c echo.Context, w *Pages, flow *oauth.Flow, qb *quickbooks.Service, keyed []KeyProvider, retention time.Duration) (settingsPage, error) {
	ctx := c.Request().Context()
	portalID := sessionOf(c).PortalID
	info, err := flow.Portal(ctx, portalID)
	if err != nil {
		return settingsPage{}, err
	}
	p := settingsPage{page: w.newPage(c, "Settings", "settings"), Retention: fmtPeriod(retention)}
	p.Portal = newPortalView(info, time.Now())
	p.QB = newQBView(ctx, qb, info, portalID)
	for _, kp := range keyed {
		ki, err := kp.Keys.Info(ctx, portalID)
		if err != nil {
			return settingsPage{}, err
		}
		p.Keys = append(p.Keys, keyView{
			Provider:   ki.Provider,
			Label:      ki.Label,
			Help:       kp.Help,
			InputID:    "key-" + ki.Provider,
			Own:        ki.Own,
			Hint:       ki.Hint,
			VerifiedAt: fmtTime(ki.VerifiedAt),
			HasDefault: ki.HasDefault,
		})
	}
	return p, nil
}

func newPortalView(info oauth.PortalInfo, now time.Time) portalView {
	v := portalView{
		ID:          info.PortalID,
		HubDomain:   info.HubDomain,
		InstalledBy: info.InstalledByEmail,
		InstalledAt: fmtTime(info.InstalledAt),
		UpdatedAt:   fmtTime(info.UpdatedAt),
		Scopes:      info.Scopes,
		Health:      info.Status,
	}
	if v.InstalledBy == "" && info.InstalledByID != 0 {
		v.InstalledBy = "HubSpot user " + strconv.FormatInt(info.InstalledByID, 10)
	}
	if !info.TokenExpiresAt.IsZero() {
		v.TokenExpires = fmtTime(info.TokenExpiresAt)
	}
	switch info.Status {
	case oauth.StatusActive:
		v.HealthLabel = "Active"
		switch {
		case info.TokenExpiresAt.IsZero():
			v.HealthDetail = "The app can call HubSpot for this account."
		case info.TokenExpiresAt.After(now):
			v.HealthDetail = "The app can call HubSpot for this account. Its access token renews automatically before it expires."
		default:
			v.HealthDetail = "The app can call HubSpot for this account. Its access token has expired and is renewed on the next call."
		}
	case oauth.StatusNeedsReinstall:
		v.HealthLabel = "Needs reinstall"
		v.HealthDetail = "HubSpot no longer accepts the app's access to this account"
		if info.StatusReason != "" {
			v.HealthDetail += " (" + info.StatusReason + ")"
		}
		v.HealthDetail += ". Actions fail with NOT_CONNECTED until a super admin reinstalls the app."
		v.ReinstallLink = true
	case oauth.StatusRemoved:
		v.HealthLabel = "Removed"
		v.HealthDetail = "The app was removed from this account and its secrets deleted. Reinstall it to use it again."
		v.ReinstallLink = true
	default:
		v.HealthLabel = "Not connected"
		v.HealthDetail = "No HubSpot access token is stored for this account. Reinstall the app to connect it."
		v.ReinstallLink = true
	}
	return v
}

// newQBView describes the portal's QuickBooks connection. When a grant is
// stored, one cheap call to QuickBooks confirms it and reads the company's
// current name.
func newQBView(ctx context.Context, qb *quickbooks.Service, info oauth.PortalInfo, portalID int64) qbView {
	v := qbView{Configured: qb.Configured(), ConnectURL: quickbooks.ConnectPath}
	if !v.Configured {
		return v
	}
	g := findGrant(info.Grants, quickbooks.Provider)
	if g == nil {
		return v
	}
	v.Connected, v.Company = true, g.AccountName
	if g.Status != oauth.StatusActive {
		v.Detail = "QuickBooks no longer accepts the app's access to this company. Reconnect QuickBooks; until then, QuickBooks actions fail with NOT_CONNECTED."
		return v
	}
	cctx, cancel := context.WithTimeout(ctx, qbCheckTimeout)
	defer cancel()
	name, err := qb.VerifyConnection(cctx, portalID)
	var ae *actions.Error
	switch {
	case err == nil:
		v.Healthy = true
		if name != "" {
			v.Company = name
		}
	case errors.As(err, &ae) && ae.Code == actions.CodeNotConnected:
		v.Detail = "QuickBooks no longer accepts the app's access to this company. Reconnect QuickBooks; until then, QuickBooks actions fail with NOT_CONNECTED."
	default:
		v.Healthy = true // as far as we know: the grant is active
		v.Detail = "QuickBooks could not be reached just now to confirm the connection."
	}
	return v
}
