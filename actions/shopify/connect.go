package shopify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// shopPattern is the only shape of shop the app calls: a myshopify.com
// subdomain of one label. Anything else (another host, a port, a path, a
// user part, a longer name ending in myshopify.com) is refused.
var shopPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,59}\.myshopify\.com$`)

// NormalizeShop returns the shop host the admin typed, lower-cased, or
// false when it is not <name>.myshopify.com. A leading https:// and a
// trailing slash are forgiven, nothing else.
func NormalizeShop(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "https://")
	s = strings.TrimSuffix(s, "/")
	if !shopPattern.MatchString(s) {
		return "", false
	}
	return s, true
}

// origin is where calls for shop go: https://<shop>, or the configured
// base URL (tests and sandbox mode).
func (p *Provider) origin(shop string) string {
	if p.cfg.APIBaseURL != "" {
		return p.cfg.APIBaseURL
	}
	return "https://" + shop
}

// shopCookie binds the shop the admin chose to the OAuth state, so the
// callback must name the same shop.
const shopCookie = "hsa_shopify_shop"

// stateTTL is how long a connect flow may take (the states' own lifetime).
const stateTTL = 10 * time.Minute

// HandleConnectForm serves GET /oauth/shopify/connect: the page where the
// signed-in admin types the shop to connect. The form carries a single-use
// token bound to this browser and the session's portal (the CSRF check of
// the POST). A browser without a settings session is sent to the HubSpot
// install flow first.
func (p *Provider) HandleConnectForm() echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := p.sessions.PortalID(c); !ok {
			return c.Redirect(http.StatusSeeOther, actions.InstallPath)
		}
		if !p.Configured() {
			return p.page(c, http.StatusServiceUnavailable, "Shopify is not available in this installation of the app: its operator has not set up Shopify credentials.", nil)
		}
		return p.form(c, http.StatusOK, "", "")
	}
}

// HandleConnect serves POST /oauth/shopify/connect: it checks the form's
// token, accepts the shop only as <name>.myshopify.com, and sends the admin
// to that shop's authorize page with a fresh OAuth state.
func (p *Provider) HandleConnect() echo.HandlerFunc {
	return func(c echo.Context) error {
		portalID, ok := p.sessions.PortalID(c)
		if !ok {
			return c.Redirect(http.StatusSeeOther, actions.InstallPath)
		}
		if !p.Configured() {
			return p.page(c, http.StatusServiceUnavailable, "Shopify is not available in this installation of the app: its operator has not set up Shopify credentials.", nil)
		}
		issued, err := p.sessions.ConsumeState(c, formState, c.FormValue("csrf_token"))
		if err != nil || issued != portalID {
			if err == nil {
				err = fmt.Errorf("form token issued for portal %d, session is portal %d", issued, portalID)
			}
			return p.page(c, http.StatusForbidden, "This form has expired or was already used. Go back to the settings page and click Connect Shopify again.", err)
		}
		typed := c.FormValue("shop")
		shop, ok := NormalizeShop(typed)
		if !ok {
			return p.form(c, http.StatusBadRequest, clip(typed), "Enter your shop's address as it appears in Shopify's admin: your-shop-name.myshopify.com (only myshopify.com addresses are accepted).")
		}
		state, err := p.sessions.NewState(c, ID)
		if err != nil {
			return fmt.Errorf("shopify: new oauth state: %w", err)
		}
		c.SetCookie(&http.Cookie{Name: shopCookie, Value: shop + "|" + p.bindShop(state, shop), Path: "/", MaxAge: int(stateTTL / time.Second),
			HttpOnly: true, Secure: strings.HasPrefix(p.settings, "https://"), SameSite: http.SameSiteLaxMode})
		return c.Redirect(http.StatusFound, p.authorizeURL(shop, state))
	}
}

// bindShop is the MAC tying shop to state under the client secret.
func (p *Provider) bindShop(state, shop string) string {
	h := hmac.New(sha256.New, []byte("shopify connect\x00"+p.cfg.ClientSecret.Reveal()))
	h.Write([]byte(state + "\x00" + shop))
	return hex.EncodeToString(h.Sum(nil))
}

// authorizeURL is the shop's OAuth authorize page for an offline token.
func (p *Provider) authorizeURL(shop, state string) string {
	v := url.Values{}
	v.Set("client_id", p.cfg.ClientID)
	v.Set("scope", Scopes)
	v.Set("redirect_uri", p.redirectURI())
	v.Set("state", state)
	if p.cfg.APIBaseURL != "" {
		v.Set("shop", shop) // the fake serves every shop at one address
	}
	return p.origin(shop) + "/admin/oauth/authorize?" + v.Encode()
}

func (p *Provider) redirectURI() string {
	return strings.TrimSuffix(p.settings, actions.SettingsPath) + CallbackPath
}

// maxCallbackAge bounds how old a signed callback may be.
const maxCallbackAge = time.Hour

// HandleCallback serves GET /oauth/shopify/callback: it checks Shopify's
// HMAC of the query, the shop's shape, the state (single use, this
// browser's, for the shop the admin chose), exchanges the code for an
// offline token and saves it sealed. Failures show a short page; nothing is
// saved.
func (p *Provider) HandleCallback() echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		q := c.QueryParams()
		if q.Get("error") != "" && q.Get("hmac") == "" {
			return p.page(c, http.StatusOK, "Shopify was not connected because the authorization was cancelled. You can connect it any time from the settings page.", errors.New(clip(q.Get("error"))))
		}
		if !VerifyHMAC(q, p.cfg.ClientSecret.Reveal()) {
			return p.page(c, http.StatusBadRequest, "The link back from Shopify was not signed by Shopify. Go back to the settings page and click Connect Shopify again.", errors.New("callback hmac does not verify"))
		}
		if ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64); err != nil || p.now().Sub(time.Unix(ts, 0)).Abs() > maxCallbackAge {
			return p.page(c, http.StatusBadRequest, "The link back from Shopify is too old. Go back to the settings page and click Connect Shopify again.", fmt.Errorf("callback timestamp %.20q", q.Get("timestamp")))
		}
		shop, ok := NormalizeShop(q.Get("shop"))
		if !ok || shop != q.Get("shop") {
			return p.page(c, http.StatusBadRequest, "Shopify sent back a shop address that is not a myshopify.com shop, so nothing was connected.", fmt.Errorf("callback shop %.80q", q.Get("shop")))
		}
		state := q.Get("state")
		ck, _ := c.Cookie(shopCookie)
		c.SetCookie(&http.Cookie{Name: shopCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		portalID, err := p.sessions.ConsumeState(c, ID, state)
		if err != nil {
			return p.page(c, http.StatusBadRequest, "This Shopify connection link has expired or was already used. Go back to the settings page and click Connect Shopify again.", err)
		}
		if ck == nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(shop+"|"+p.bindShop(state, shop))) != 1 {
			return p.page(c, http.StatusBadRequest, "Shopify sent back another shop than the one you entered, so nothing was connected. Go back to the settings page and try again.", errors.New("callback shop is not the one the flow started for"))
		}
		code := q.Get("code")
		if code == "" {
			return p.page(c, http.StatusBadRequest, "Shopify did not send an authorization. Try again from the settings page.", errors.New("no code"))
		}
		tok, err := p.exchange(ctx, shop, code)
		if err != nil {
			return p.page(c, http.StatusBadGateway, "Shopify did not accept the authorization. Try connecting again from the settings page.", fmt.Errorf("exchange code for portal %d: %w", portalID, err))
		}
		err = p.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.SaveToken(ctx, store.Token{PortalID: portalID, Provider: ID, AccountID: shop, AccountName: shop, AccessToken: tok})
			return err
		})
		if errors.Is(err, store.ErrPortalGone) {
			return p.page(c, http.StatusConflict, "The app was uninstalled from this HubSpot account while Shopify was being connected, so nothing was connected or saved.", nil)
		} else if err != nil {
			return p.page(c, http.StatusInternalServerError, "The Shopify connection could not be saved. Try again in a minute.", fmt.Errorf("save token for portal %d: %w", portalID, err))
		}
		p.log.Info("shopify connected", "portal_id", portalID, "shop", shop)
		return c.Redirect(http.StatusSeeOther, actions.SettingsPath)
	}
}

// VerifyHMAC reports whether q carries Shopify's signature of itself: the
// hex HMAC-SHA256, under the client secret, of every other parameter as
// key=value, sorted by key and joined by &.
func VerifyHMAC(q url.Values, secret string) bool {
	got, err := hex.DecodeString(q.Get("hmac"))
	if err != nil || len(got) != sha256.Size || len(q["hmac"]) != 1 || secret == "" {
		return false
	}
	return hmac.Equal(got, SignQuery(q, secret))
}

// SignQuery returns the HMAC Shopify puts in a query's hmac parameter.
func SignQuery(q url.Values, secret string) []byte {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "hmac" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + strings.Join(q[k], ","))
	}
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(b.String()))
	return h.Sum(nil)
}

// exchange trades an authorization code for the shop's offline token.
func (p *Provider) exchange(ctx context.Context, shop, code string) (string, error) {
	body, err := json.Marshal(map[string]string{"client_id": p.cfg.ClientID, "client_secret": p.cfg.ClientSecret.Reveal(), "code": code})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.origin(shop)+"/admin/oauth/access_token", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(shopHeader, shop)
	resp, err := p.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
		return "", upstream.NewAPIError(resp, b, p.now())
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return "", fmt.Errorf("decode token answer: %w", err)
	}
	if out.AccessToken == "" {
		return "", errors.New("token answer without access_token")
	}
	return out.AccessToken, nil
}

// Disconnect uninstalls the app from the portal's shop (DELETE
// /admin/api_permissions/current.json, which revokes the token) and
// deletes the token. The token is deleted even when Shopify cannot be
// reached; the error then wraps actions.ErrNotRevoked.
func (p *Provider) Disconnect(ctx context.Context, portalID int64) error {
	if p.test {
		return nil // the twin holds no token
	}
	row, err := p.db.GetToken(ctx, portalID, ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	var revokeErr error
	if err != nil {
		revokeErr = err // unreadable (another key, misplaced): nothing to revoke with
	} else {
		revokeErr = p.revoke(ctx, row.AccountID, row.AccessToken)
	}
	derr := p.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.DeleteToken(ctx, portalID, ID)
		return err
	})
	if derr != nil {
		return fmt.Errorf("shopify: delete token of portal %d: %w", portalID, derr)
	}
	if revokeErr != nil {
		return fmt.Errorf("shopify: token of portal %d deleted, but not revoked at Shopify: %w: %w", portalID, actions.ErrNotRevoked, revokeErr)
	}
	p.log.Info("shopify disconnected", "portal_id", portalID)
	return nil
}

// revoke uninstalls the app from shop. A 401 means the token is already
// invalid, which is what we want.
func (p *Provider) revoke(ctx context.Context, shop, token string) error {
	if _, ok := NormalizeShop(shop); !ok {
		return fmt.Errorf("stored shop %.80q is not a myshopify.com shop", shop)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, p.origin(shop)+"/admin/api_permissions/current.json", nil)
	if err != nil {
		return err
	}
	req.Header.Set(tokenHeader, token)
	req.Header.Set(shopHeader, shop)
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusUnauthorized {
		return nil
	}
	return upstream.NewAPIError(resp, b, p.now())
}

// pageStyle is the pages' one inline style, allowed by its hash.
const pageStyle = `body{font-family:sans-serif;max-width:36rem;margin:4rem auto;line-height:1.5}label,input{display:block;margin:.5rem 0}.error{color:#b00020}`

var pageCSP = oauth.StylePolicy(pageStyle)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shopify connection</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>` + pageStyle + `</style></head>
<body>
<h1>Shopify connection</h1>
{{- if .Form}}
<form method="post" action="{{.Action}}" novalidate>
<input type="hidden" name="csrf_token" value="{{.Token}}">
<label for="shop">Your shop's address</label>
<p id="shop-help">As in Shopify's admin, such as your-shop-name.myshopify.com. Shopify then asks you to allow the app to read customers and create discounts.</p>
{{- if .Message}}<p class="error" id="shop-error">{{.Message}}</p>{{end}}
<input type="text" id="shop" name="shop" value="{{.Shop}}" required autocomplete="off" spellcheck="false" autocapitalize="off" placeholder="your-shop-name.myshopify.com" aria-describedby="shop-help{{if .Message}} shop-error{{end}}">
<button type="submit">Connect Shopify</button>
</form>
{{- else}}
<p>{{.Message}}</p>
{{- end}}
<p><a href="{{.Settings}}">Back to settings</a></p>
</body></html>
`))

type pageData struct {
	Form                                   bool
	Message, Settings, Action, Token, Shop string
}

// form answers with the connect form and a fresh single-use token.
func (p *Provider) form(c echo.Context, status int, shop, msg string) error {
	token, err := p.sessions.NewState(c, formState)
	if err != nil {
		return fmt.Errorf("shopify: new form token: %w", err)
	}
	return p.render(c, status, pageData{Form: true, Message: msg, Settings: actions.SettingsPath, Action: ConnectPath, Token: token, Shop: shop})
}

// page answers the browser with a short explanation and logs the cause.
func (p *Provider) page(c echo.Context, status int, msg string, cause error) error {
	if cause != nil {
		p.log.Info("shopify: connect failed", "status", status, "err", cause)
	}
	return p.render(c, status, pageData{Message: msg, Settings: actions.SettingsPath})
}

func (p *Provider) render(c echo.Context, status int, d pageData) error {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, d); err != nil {
		return fmt.Errorf("shopify: render page: %w", err)
	}
	c.Response().Header().Set("Content-Security-Policy", pageCSP)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, b.Bytes())
}

// clip shortens a value quoted back to a user.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
