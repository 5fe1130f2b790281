package salesforce

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// pkceSecretName names the app secret that derives PKCE verifiers.
const pkceSecretName = "salesforce-pkce"

// HandleConnect serves GET /oauth/salesforce/connect: it sends the
// signed-in admin to Salesforce to authorize the app for an org, with a
// single-use state bound to this browser and a PKCE challenge. A browser
// without a settings session is sent to the HubSpot install flow first.
func (s *Provider) HandleConnect() echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if _, ok := s.sessions.PortalID(c); !ok {
			return c.Redirect(http.StatusSeeOther, actions.InstallPath)
		}
		if !s.Configured() {
			return s.page(c, http.StatusServiceUnavailable, "Salesforce is not available in this installation of the app: its operator has not set up Salesforce credentials.", nil)
		}
		state, err := s.sessions.NewState(c, ID)
		if err != nil {
			return fmt.Errorf("salesforce: new oauth state: %w", err)
		}
		verifier, err := s.verifier(ctx, state)
		if err != nil {
			return err
		}
		// prompt=login consent: the admin picks the org to connect, rather
		// than whichever org the browser happens to be signed in to.
		return c.Redirect(http.StatusFound, s.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier),
			oauth2.SetAuthURLParam("prompt", "login consent")))
	}
}

// verifier is the PKCE code_verifier of a state: an HMAC of the state under
// an app secret, so it is never sent to the browser nor stored, and any
// replica can rebuild it at the callback. The state is single use, so each
// verifier is too.
func (s *Provider) verifier(ctx context.Context, state string) (string, error) {
	key, err := s.secret(ctx, pkceSecretName)
	if err != nil {
		return "", fmt.Errorf("salesforce: pkce secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("salesforce pkce verifier\x00" + state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil // 43 characters, as PKCE asks
}

// HandleCallback serves GET /oauth/salesforce/callback: it checks the state
// (single use, this browser's, issued for a portal), exchanges the code
// with the state's PKCE verifier, checks that the instance URL Salesforce
// answered is Salesforce's, saves the grant and sends the admin back to
// the settings page (303). Failures show a short page that says what to
// do; nothing is saved.
func (s *Provider) HandleCallback() echo.HandlerFunc {
	type query struct {
		Code        string `query:"code"`
		State       string `query:"state"`
		Error       string `query:"error"`
		Description string `query:"error_description"`
	}
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		var q query
		if err := (&echo.DefaultBinder{}).BindQueryParams(c, &q); err != nil {
			return s.page(c, http.StatusBadRequest, "The link back from Salesforce was malformed.", err)
		}
		portalID, err := s.sessions.ConsumeState(c, ID, q.State)
		if err != nil {
			return s.page(c, http.StatusBadRequest, "This Salesforce connection link has expired or was already used. Go back to the settings page and click Connect Salesforce again.", err)
		}
		log := s.log.With("portal_id", portalID)
		switch {
		case q.Error == "access_denied":
			return s.page(c, http.StatusOK, "Salesforce was not connected because the authorization was cancelled. You can connect it any time from the settings page.", nil)
		case q.Error != "":
			return s.page(c, http.StatusBadGateway, "Salesforce did not authorize the app ("+clip(q.Error)+"). Try again from the settings page.", errors.New(q.Error))
		case q.Code == "":
			return s.page(c, http.StatusBadRequest, "Salesforce did not send an authorization back. Try again from the settings page.", errors.New("code missing"))
		}
		verifier, err := s.verifier(ctx, q.State)
		if err != nil {
			return err
		}
		xctx := context.WithValue(ctx, oauth2.HTTPClient, s.hc)
		tok, err := s.conf.Exchange(xctx, q.Code, oauth2.VerifierOption(verifier))
		if err != nil {
			return s.page(c, http.StatusBadGateway, "Salesforce did not accept the authorization. Try connecting again from the settings page.", fmt.Errorf("exchange code for portal %d: %w", portalID, err))
		}
		instance, _ := tok.Extra("instance_url").(string)
		instance = strings.TrimRight(instance, "/")
		orgID := orgFromIdentity(tok.Extra("id"))
		if err := s.checkInstanceURL(instance); err != nil || orgID == "" || tok.RefreshToken == "" {
			// Nothing is kept of a grant the app will not use.
			if tok.RefreshToken != "" {
				if rerr := s.revoke(ctx, tok.RefreshToken); rerr != nil {
					log.Warn("salesforce: refused grant not revoked", "err", rerr)
				}
			}
			if err == nil {
				err = fmt.Errorf("salesforce: token answer without an org id or a refresh token (scopes %v)", tok.Extra("scope"))
			}
			log.Warn("salesforce: grant refused; nothing saved", "err", err)
			return s.page(c, http.StatusBadGateway, "Salesforce's answer did not name a Salesforce org the app can use (or gave no refresh token: the connected app must allow the refresh_token scope), so nothing was connected or saved.", nil)
		}
		if err := s.grants.Save(ctx, portalID, tok, orgID, instance); errors.Is(err, store.ErrPortalGone) {
			log.Info("salesforce: the portal was uninstalled during the connect flow; nothing saved")
			return s.page(c, http.StatusConflict, "The app was uninstalled from this HubSpot account while Salesforce was being connected, so nothing was connected or saved.", nil)
		} else if err != nil {
			return s.page(c, http.StatusInternalServerError, "The Salesforce connection could not be saved. Try again in a minute.", fmt.Errorf("save grant for portal %d: %w", portalID, err))
		}
		log.Info("salesforce connected", "org_id", orgID)
		return c.Redirect(http.StatusSeeOther, actions.SettingsPath)
	}
}

// orgFromIdentity reads the org id from a token answer's identity URL,
// https://login.salesforce.com/id/{orgId}/{userId}.
func orgFromIdentity(v any) string {
	s, _ := v.(string)
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "id" || !validRecordID(parts[1]) || !strings.HasPrefix(parts[1], "00D") {
		return ""
	}
	return parts[1]
}

// validRecordID reports whether s looks like a Salesforce record id: 15 or
// 18 letters and digits.
func validRecordID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// pageStyle is the page's one inline style, allowed by its hash (pageCSP).
const pageStyle = `body{font-family:sans-serif;max-width:36rem;margin:4rem auto;line-height:1.5}`

var pageCSP = oauth.StylePolicy(pageStyle)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Salesforce connection</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>` + pageStyle + `</style></head>
<body>
<h1>Salesforce connection</h1>
<p>{{.Message}}</p>
<p><a href="{{.Settings}}">Back to settings</a></p>
</body></html>
`))

// page answers the browser with a short explanation and logs the cause.
func (s *Provider) page(c echo.Context, status int, msg string, cause error) error {
	if cause != nil {
		s.log.Info("salesforce: connect failed", "status", status, "err", cause)
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, struct{ Message, Settings string }{msg, actions.SettingsPath}); err != nil {
		return fmt.Errorf("salesforce: render page: %w", err)
	}
	c.Response().Header().Set("Content-Security-Policy", pageCSP)
	return c.HTMLBlob(status, b.Bytes())
}

// Disconnect revokes the portal's grant at Salesforce (its refresh token,
// and with it every access token, whatever the grant's status) and
// forgets it. The grant is deleted even when Salesforce cannot be reached;
// the error then says so.
func (s *Provider) Disconnect(ctx context.Context, portalID int64) error {
	if s.grants == nil {
		return nil
	}
	err := s.grants.Revoke(ctx, portalID, s.revoke)
	switch {
	case errors.Is(err, oauth.ErrNotConnected):
		// No grant: nothing left to revoke or delete.
	case err != nil:
		if err := s.grants.Delete(ctx, portalID); err != nil {
			return fmt.Errorf("salesforce: delete grant for portal %d: %w", portalID, err)
		}
		return fmt.Errorf("salesforce: grant for portal %d deleted, but not revoked at Salesforce: %w: %w", portalID, actions.ErrNotRevoked, err)
	}
	s.log.Info("salesforce disconnected", "portal_id", portalID)
	return nil
}

// revoke asks Salesforce to revoke a token. A 400 (invalid_token) means it
// is no longer valid, which is what we want.
func (s *Provider) revoke(ctx context.Context, token string) error {
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.LoginURL+"/services/oauth2/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = s.cfg.LoginURL + "/services/oauth2/revoke"
		}
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
