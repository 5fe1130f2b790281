package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// verifyTimeout bounds the provider call that checks a key.
const verifyTimeout = 10 * time.Second

// settingsPage is the data of the settings template.
type settingsPage struct {
	page
	Notice    string
	Problems  []problem // what the admin must fix in the form just sent
	Portal    portalView
	Cards     []cardView // every provider's, in the list's order
	Retention string
	TestMode  testModeView
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
	// Health is "active", "uninstalling", "uninstalled", "not_connected"
	// or, from older releases, "needs_reinstall" or "removed".
	Health        string
	HealthLabel   string
	HealthDetail  string
	TokenExpires  string
	ReinstallLink bool
	// CanUninstall offers the "Uninstall from HubSpot" button.
	CanUninstall bool
}

// cardView is a provider's card as the template shows it.
type cardView struct {
	actions.Card
	InputID    string // the key field's id
	VerifiedAt string
	Error      string // why the key just sent was not saved
}

// settingsNotices are the confirmations shown after a change; the query
// only names one, so nothing the request carries is echoed.
var settingsNotices = map[string]string{
	"key-saved":          "%s key verified and saved.",
	"key-removed":        "%s key removed.",
	"disconnected":       "%s disconnected.",
	"disconnected-local": "%s disconnected here. %s could not be reached to revoke the app's access; you can also remove the app in your %s account's settings.",
}

// HandleSettings serves GET /settings: the portal, its connection to
// HubSpot and every provider's connection.
func HandleSettings(w *Pages, flow *oauth.Flow, providers []actions.Provider, retention time.Duration) echo.HandlerFunc {
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
		p, err := buildSettings(c, w, flow, providers, retention)
		if errors.Is(err, store.ErrNotFound) {
			return reinstall(c, w, flow)
		}
		if err != nil {
			return err
		}
		if msg, ok := testModeNotices[req.Notice]; ok {
			p.Notice = msg
		}
		if msg, ok := settingsNotices[req.Notice]; ok {
			for _, cv := range p.Cards {
				if cv.Provider == req.Provider {
					p.Notice = strings.ReplaceAll(msg, "%s", cv.Short)
				}
			}
		}
		return w.render(c, http.StatusOK, "settings", p)
	}
}

// HandleSaveKey serves POST /settings/keys/:provider: the key is verified
// with the provider, then sealed and saved for the session's portal. A key
// that fails verification is not saved; the page says why next to the
// field. checks paces the verifications per portal (KeyCheckLimit), so the
// page cannot be used to try out keys found elsewhere: past the limit the
// page says when to try again, with status 429, and the provider is not
// called.
func HandleSaveKey(w *Pages, flow *oauth.Flow, providers []actions.Provider, retention time.Duration, checks actions.Limiter) echo.HandlerFunc {
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
		kp, ok := findProvider[actions.KeyProvider](providers, req.Provider)
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such provider.")
		}
		if info, err := flow.Portal(ctx, portalID); errors.Is(err, store.ErrNotFound) || err == nil && (info.Status == oauth.StatusUninstalled || info.Status == oauth.StatusUninstalling) {
			// A session outliving its portal's install stores no secret.
			return reinstall(c, w, flow)
		} else if err != nil {
			return err
		}
		req.APIKey = strings.TrimSpace(req.APIKey)
		label := kp.Keys().Label()
		var problemMsg string
		status := http.StatusUnprocessableEntity
		if err := c.Validate(&req); err != nil || strings.ContainsAny(req.APIKey, " \t") {
			var ve validator.ValidationErrors
			if err != nil && !errors.As(err, &ve) {
				return err
			}
			problemMsg = "Enter your " + label + " API key."
			if req.APIKey != "" {
				problemMsg = "This does not look like a " + label + " API key: paste the key exactly as " + label + " shows it, without spaces."
			}
		} else if wait, err := keyCheckTurn(ctx, checks, portalID); err != nil {
			return err
		} else if wait > 0 {
			w.log.Info("api key check refused: too many checks", "portal_id", portalID, "provider", kp.Name(), "retry_after", wait)
			problemMsg = "Too many API keys were checked for this HubSpot account in a short time, so this one was neither checked with " + label +
				" nor saved. Try again in " + fmtWait(wait) + "."
			status = http.StatusTooManyRequests
			c.Response().Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		} else {
			vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
			err := kp.VerifyKey(vctx, req.APIKey)
			cancel()
			if err != nil {
				w.log.Info("api key refused", "portal_id", portalID, "provider", kp.Name(), "err", err)
				problemMsg = verifyProblem(label, err)
			}
		}
		if problemMsg != "" {
			p, err := buildSettings(c, w, flow, providers, retention)
			if errors.Is(err, store.ErrNotFound) {
				return reinstall(c, w, flow)
			}
			if err != nil {
				return err
			}
			p.Title = "Error: " + p.Title
			for i := range p.Cards {
				if p.Cards[i].Provider == kp.Name() {
					p.Cards[i].Error = problemMsg
					p.Problems = append(p.Problems, problem{Field: p.Cards[i].InputID, Message: problemMsg})
				}
			}
			return w.render(c, status, "settings", p)
		}
		if err := kp.Keys().Save(ctx, portalID, req.APIKey); errors.Is(err, store.ErrPortalGone) {
			// Uninstalled while the key was being checked: nothing is kept.
			return reinstall(c, w, flow)
		} else if err != nil {
			return err
		}
		w.log.Info("api key saved", "portal_id", portalID, "provider", kp.Name())
		return c.Redirect(http.StatusSeeOther, settingsNoticeURL("key-saved", kp.Name()))
	}
}

// KeyCheckLimit is the pace of the settings page's key checks, per portal
// and whatever the provider: five in a row, then one every ten minutes (at
// most six in any ten minutes). An admin mistyping a key a few times is
// not held up; trying out a list of keys is. A turn is never waited for.
func KeyCheckLimit() actions.Limit {
	return actions.Limit{
		Every:   10 * time.Minute,
		Burst:   5,
		MaxWait: time.Nanosecond,
		Refusal: "too many API key checks for this portal; nothing was sent",
	}
}

// keyCheckTurn takes the portal's turn to check a key with a provider. It
// returns how long to wait when there is none now (the limiter refused).
func keyCheckTurn(ctx context.Context, checks actions.Limiter, portalID int64) (time.Duration, error) {
	release, err := checks.Acquire(ctx, "portal:"+strconv.FormatInt(portalID, 10))
	var ae *upstream.APIError
	switch {
	case err == nil:
		release()
		return 0, nil
	case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
		return max(ae.RetryAfter, time.Second), nil
	}
	return 0, fmt.Errorf("admin: key check turn for portal %d: %w", portalID, err)
}

// fmtWait says how long to wait in whole minutes, rounded up.
func fmtWait(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return strconv.Itoa(m) + " minutes"
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
func HandleDeleteKey(w *Pages, providers []actions.Provider) echo.HandlerFunc {
	return func(c echo.Context) error {
		kp, err := pathProvider[actions.KeyProvider](c, providers)
		if err != nil {
			return err
		}
		portalID := sessionOf(c).PortalID
		if err := kp.Keys().Delete(c.Request().Context(), portalID); err != nil {
			return err
		}
		w.log.Info("api key removed", "portal_id", portalID, "provider", kp.Name())
		return c.Redirect(http.StatusSeeOther, settingsNoticeURL("key-removed", kp.Name()))
	}
}

// HandleDisconnect serves POST /settings/:provider/disconnect: the
// session's portal's grant is revoked upstream and forgotten.
func HandleDisconnect(w *Pages, flow *oauth.Flow, providers []actions.Provider) echo.HandlerFunc {
	return func(c echo.Context) error {
		d, err := pathProvider[actions.Disconnector](c, providers)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		portalID := sessionOf(c).PortalID
		if _, err := flow.Portal(ctx, portalID); errors.Is(err, store.ErrNotFound) {
			return reinstall(c, w, flow)
		} else if err != nil {
			return err
		}
		connected, err := d.Connected(ctx, portalID)
		if err != nil {
			return err
		}
		if !connected {
			// Nothing to disconnect (a second click, or another tab did it).
			return c.Redirect(http.StatusSeeOther, actions.SettingsPath)
		}
		err = d.Disconnect(ctx, portalID)
		switch {
		case err == nil:
			return c.Redirect(http.StatusSeeOther, settingsNoticeURL("disconnected", d.Name()))
		case errors.Is(err, actions.ErrNotRevoked):
			w.log.Warn("disconnected without revocation", "portal_id", portalID, "provider", d.Name(), "err", err)
			return c.Redirect(http.StatusSeeOther, settingsNoticeURL("disconnected-local", d.Name()))
		}
		return err
	}
}

func settingsNoticeURL(notice, provider string) string {
	q := url.Values{"notice": {notice}}
	if provider != "" {
		q.Set("provider", provider)
	}
	return "/settings?" + q.Encode()
}

// pathProvider returns the provider the path's :provider names, if it is a
// P; else the error is a 404.
func pathProvider[P actions.Provider](c echo.Context, providers []actions.Provider) (P, error) {
	type request struct {
		Provider string `param:"provider"`
	}
	var req request
	if err := (&echo.DefaultBinder{}).BindPathParams(c, &req); err != nil {
		var zero P
		return zero, err
	}
	p, ok := findProvider[P](providers, req.Provider)
	if !ok {
		return p, echo.NewHTTPError(http.StatusNotFound, "There is no such provider.")
	}
	return p, nil
}

// findProvider returns the provider named name if it is a P.
func findProvider[P actions.Provider](providers []actions.Provider, name string) (P, bool) {
	for _, p := range providers {
		if p.Name() == name {
			pp, ok := p.(P)
			return pp, ok
		}
	}
	var zero P
	return zero, false
}

// reinstall signs out a session whose portal is not installed (its data
// was deleted) and answers as for a browser without a session: a page is
// sent through the install flow, a form gets a page that says so.
func reinstall(c echo.Context, w *Pages, flow *oauth.Flow) error {
	if err := w.sessions.Clear(c); err != nil {
		return err
	}
	return w.sessionEnded(c)
}

// buildSettings gathers what the settings page shows for the session's
// portal. The error wraps store.ErrNotFound when the portal is not
// installed.
func buildSettings(c echo.Context, w *Pages, flow *oauth.Flow, providers []actions.Provider, retention time.Duration) (settingsPage, error) {
	ctx := c.Request().Context()
	portalID := sessionOf(c).PortalID
	info, err := flow.Portal(ctx, portalID)
	if err != nil {
		return settingsPage{}, err
	}
	p := settingsPage{page: w.newPage(c, "Settings", "settings"), Retention: fmtPeriod(retention)}
	p.Portal = newPortalView(info, time.Now())
	if p.TestMode, err = w.testModeOf(c, portalID); err != nil {
		return settingsPage{}, err
	}
	for _, pr := range providers {
		card, err := pr.Card(ctx, portalID)
		if err != nil {
			return settingsPage{}, fmt.Errorf("%s card: %w", pr.Name(), err)
		}
		cv := cardView{Card: card, InputID: "key-" + card.Provider}
		if card.Key != nil {
			cv.VerifiedAt = fmtTime(card.Key.VerifiedAt)
		}
		p.Cards = append(p.Cards, cv)
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
		v.CanUninstall = true
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
		v.CanUninstall = true
	case oauth.StatusUninstalled:
		v.HealthLabel = "Uninstalled"
		v.HealthDetail = "The app is no longer installed in this HubSpot account"
		if info.StatusReason != "" {
			v.HealthDetail += " (" + info.StatusReason + ")"
		}
		v.HealthDetail += ". Its workflow actions do not run; reinstall the app to use it again."
		if !info.UninstalledAt.IsZero() {
			v.HealthDetail += " Since " + fmtTime(info.UninstalledAt) + "."
		}
		v.ReinstallLink = true
	case oauth.StatusUninstalling:
		v.HealthLabel = "Uninstalling"
		v.HealthDetail = "The app is being uninstalled from this HubSpot account; its workflow actions do not run. The uninstall finishes by itself, or uninstall again below."
		v.CanUninstall = true
	case oauth.StatusRemoved:
		v.HealthLabel = "Removed"
		v.HealthDetail = "The app was removed from this account and its secrets deleted. Reinstall it to use it again."
		v.ReinstallLink = true
	default:
		v.HealthLabel = "Not connected"
		v.HealthDetail = "No HubSpot access token is stored for this account. Reinstall the app to connect it."
		v.ReinstallLink = true
		v.CanUninstall = true
	}
	return v
}
