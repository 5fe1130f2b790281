package quickbooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// HandleConnect serves GET /oauth/quickbooks/connect: it sends the signed-in
// admin to Intuit to authorize the app for a QuickBooks company. A browser
// without a settings session is sent to the HubSpot install flow first.
func (s *Provider) HandleConnect() echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := s.sessions.PortalID(c); !ok {
			return c.Redirect(http.StatusSeeOther, InstallPath)
		}
		if !s.Configured() {
			return s.page(c, http.StatusServiceUnavailable, "QuickBooks is not available in this installation of the app: its operator has not set up QuickBooks credentials.", nil)
		}
		state, err := s.sessions.NewState(c, ID)
		if err != nil {
			return fmt.Errorf("quickbooks: new oauth state: %w", err)
		}
		return c.Redirect(http.StatusFound, s.conf.AuthCodeURL(state))
	}
}

// HandleCallback serves GET /oauth/quickbooks/callback: it checks the state,
// exchanges the code, has Intuit confirm with the new token that it is for
// the company the callback's realmId names (reading the company's name),
// and only then saves the grant and sends the admin back to the settings
// page (303). Failures, a company that is not confirmed among them, show a
// short page that says what to do; nothing is saved.
func (s *Provider) HandleCallback() echo.HandlerFunc {
	type query struct {
		Code    string `query:"code"`
		State   string `query:"state"`
		RealmID string `query:"realmId"`
		Error   string `query:"error"`
	}
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		var q query
		if err := (&echo.DefaultBinder{}).BindQueryParams(c, &q); err != nil {
			return s.page(c, http.StatusBadRequest, "The link back from QuickBooks was malformed.", err)
		}
		portalID, err := s.sessions.ConsumeState(c, ID, q.State)
		if err != nil {
			return s.page(c, http.StatusBadRequest, "This QuickBooks connection link has expired or was already used. Go back to the settings page and click Connect QuickBooks again.", err)
		}
		log := s.log.With("portal_id", portalID)
		switch {
		case q.Error == "access_denied":
			return s.page(c, http.StatusOK, "QuickBooks was not connected because the authorization was cancelled. You can connect it any time from the settings page.", nil)
		case q.Error != "":
			return s.page(c, http.StatusBadGateway, "QuickBooks did not authorize the app ("+q.Error+"). Try again from the settings page.", errors.New(q.Error))
		case q.Code == "" || q.RealmID == "":
			return s.page(c, http.StatusBadRequest, "QuickBooks did not say which company was connected. Try again from the settings page.", errors.New("code or realmId missing"))
		}
		if !validRealmID(q.RealmID) {
			return s.page(c, http.StatusBadRequest, "QuickBooks sent back a company id that is not one. Try connecting again from the settings page.", fmt.Errorf("realmId %.40q is not a QuickBooks company id", q.RealmID))
		}
		xctx := context.WithValue(ctx, oauth2.HTTPClient, s.hc)
		tok, err := s.conf.Exchange(xctx, q.Code)
		if err != nil {
			return s.page(c, http.StatusBadGateway, "QuickBooks did not accept the authorization. Try connecting again from the settings page.", fmt.Errorf("exchange code for portal %d: %w", portalID, err))
		}
		name, err := s.confirmRealm(ctx, s.conf.Client(xctx, tok), q.RealmID)
		if err != nil {
			log.Warn("quickbooks: company not confirmed with the new token; nothing saved", "realm_id", q.RealmID, "err", err)
			if errors.Is(err, errRealmMismatch) {
				return s.page(c, http.StatusForbidden, "QuickBooks did not confirm that this authorization is for the company named in the link back from QuickBooks, so nothing was connected or saved. Go back to the settings page and click Connect QuickBooks again.", nil)
			}
			return s.page(c, http.StatusBadGateway, "QuickBooks could not be reached to confirm the company, so nothing was connected or saved. Try again from the settings page in a minute.", nil)
		}
		if err := s.grants.Save(ctx, portalID, tok, q.RealmID, name); errors.Is(err, store.ErrPortalGone) {
			log.Info("quickbooks: the portal was uninstalled during the connect flow; nothing saved")
			return s.page(c, http.StatusConflict, "The app was uninstalled from this HubSpot account while QuickBooks was being connected, so nothing was connected or saved.", nil)
		} else if err != nil {
			return s.page(c, http.StatusInternalServerError, "The QuickBooks connection could not be saved. Try again in a minute.", fmt.Errorf("save grant for portal %d: %w", portalID, err))
		}
		log.Info("quickbooks connected", "realm_id", q.RealmID)
		return c.Redirect(http.StatusSeeOther, SettingsPath)
	}
}

// errRealmMismatch: the new token is not valid for the realm the callback
// named.
var errRealmMismatch = errors.New("quickbooks: the new token is not authorized for that company")

// confirmRealm reads the company's profile with the new token: the realmId
// of the callback is only a query parameter the browser carries, so before
// it is recorded Intuit must confirm the token is for that company. Intuit
// answers a token used for another company with 401 (AuthenticationFault
// 100) or 403 (AuthorizationFailed 3100): that is errRealmMismatch. Any
// other failure leaves the company unconfirmed too. The call is not paced
// by the per-realm limiter, so an unconfirmed realm id spends nothing of
// that company's budget. It returns the company's name.
func (s *Provider) confirmRealm(ctx context.Context, hc *http.Client, realmID string) (string, error) {
	info, err := NewClient(s.cfg.APIBaseURL, hc, nil).CompanyInfo(ctx, realmID)
	var ae *upstream.APIError
	switch {
	case err == nil:
		return info.CompanyName, nil
	case errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden):
		return "", fmt.Errorf("%w: %w", errRealmMismatch, err)
	}
	return "", fmt.Errorf("quickbooks: confirm company: %w", err)
}

// validRealmID reports whether id looks like a QuickBooks company id: a
// string of digits, which every realm id is.
func validRealmID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// pageStyle is the page's one inline style, allowed by its hash (pageCSP).
const pageStyle = `body{font-family:sans-serif;max-width:36rem;margin:4rem auto;line-height:1.5}`

var pageCSP = oauth.StylePolicy(pageStyle)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>QuickBooks connection</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>` + pageStyle + `</style></head>
<body>
<h1>QuickBooks connection</h1>
<p>{{.Message}}</p>
<p><a href="{{.Settings}}">Back to settings</a></p>
</body></html>
`))

// page answers the browser with a short explanation and logs the cause.
func (s *Provider) page(c echo.Context, status int, msg string, cause error) error {
	if cause != nil {
		s.log.Info("quickbooks: connect failed", "status", status, "err", cause)
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, struct{ Message, Settings string }{msg, SettingsPath}); err != nil {
		return fmt.Errorf("quickbooks: render page: %w", err)
	}
	c.Response().Header().Set("Content-Security-Policy", pageCSP)
	return c.HTMLBlob(status, b.Bytes())
}

// Disconnect revokes the portal's grant at Intuit (with its refresh token,
// whatever the grant's status) and forgets it. The grant is deleted even
// when Intuit cannot be reached; the error then says so.
func (s *Provider) Disconnect(ctx context.Context, portalID int64) error {
	if s.test != nil {
		return nil // the twin holds no grant
	}
	err := s.grants.Revoke(ctx, portalID, s.revoke)
	switch {
	case errors.Is(err, oauth.ErrNotConnected):
		// No grant: nothing left to revoke or delete.
	case err != nil:
		if err := s.grants.Delete(ctx, portalID); err != nil {
			return fmt.Errorf("quickbooks: delete grant for portal %d: %w", portalID, err)
		}
		return fmt.Errorf("quickbooks: grant for portal %d deleted, but not revoked at Intuit: %w: %w", portalID, actions.ErrNotRevoked, err)
	}
	s.log.Info("quickbooks disconnected", "portal_id", portalID)
	return nil
}

// revoke asks Intuit to revoke a token (and so the whole grant). A 400
// means the token is already invalid, which is what we want.
func (s *Provider) revoke(ctx context.Context, token string) error {
	body, err := json.Marshal(map[string]string{"token": token})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.RevokeURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.cfg.ClientID, s.cfg.ClientSecret.Reveal())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusBadRequest {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
	return upstream.NewAPIError(resp, b, time.Now())
}
