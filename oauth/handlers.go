package oauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"
)

// HandleInstall serves GET /oauth/hubspot/install: it redirects the admin
// to HubSpot's authorize page with a fresh state bound to this browser.
func (f *Flow) HandleInstall() echo.HandlerFunc {
	return func(c echo.Context) error {
		state, err := f.NewState(c, ProviderHubSpot, 0)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.Redirect(http.StatusFound, f.AuthorizeURL(state))
	}
}

// HandleCallback serves GET /oauth/hubspot/callback, where HubSpot sends
// the admin back. A refusal at HubSpot or a bad state gets a friendly page
// and no token exchange. Otherwise the code is exchanged, the portal and its
// tokens are recorded, and Config.OnInstalled answers the browser (the
// admin pages sign the admin in to the portal and send them to /settings).
func (f *Flow) HandleCallback() echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		c.Response().Header().Set("Cache-Control", "no-store")
		q := c.QueryParams()
		if e := q.Get("error"); e != "" {
			// The state is spent either way. Only a valid one (this browser
			// started this install moments ago) earns HubSpot's words on our
			// page: without it the query is anyone's text, and a crafted
			// link would put it on our domain.
			if _, err := f.ConsumeState(c, ProviderHubSpot, q.Get("state")); err != nil {
				if !errors.Is(err, ErrBadState) {
					return err
				}
				f.log.Info("install refusal with a bad state", "err", err)
				return f.page(c, http.StatusBadRequest, "The app was not installed", badStateRefusal)
			}
			e = brief(e, 64)
			f.log.Info("install refused at HubSpot", "error", e)
			msg := "HubSpot reported a problem and did not install the app"
			if e == "access_denied" {
				msg = "The app was not installed because access was not granted"
			}
			// HubSpot's description says what went wrong (a scope the
			// account cannot grant, say), which helps the admin; the
			// template escapes it.
			if d := brief(q.Get("error_description"), maxDescription); d != "" {
				msg += " (" + d + ")"
			}
			return f.page(c, http.StatusBadRequest, "The app was not installed", msg+".")
		}
		if _, err := f.ConsumeState(c, ProviderHubSpot, q.Get("state")); err != nil {
			if !errors.Is(err, ErrBadState) {
				return err
			}
			f.log.Info("install callback refused", "err", err)
			return f.page(c, http.StatusBadRequest, "This install link has expired",
				"For your security, an install link works once, for ten minutes, in the browser that started it. Please start the install again.")
		}
		code := q.Get("code")
		if code == "" {
			return f.page(c, http.StatusBadRequest, "The app was not installed", "HubSpot sent no authorization code. Please start the install again.")
		}
		in, err := f.exchange(ctx, code)
		if err != nil {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 && re.Response.StatusCode != http.StatusTooManyRequests {
				f.log.Info("authorization code refused", "status", re.Response.StatusCode, "error_code", re.ErrorCode)
				return f.page(c, http.StatusBadRequest, "The app was not installed",
					"HubSpot did not accept the authorization, which may have expired. Please start the install again.")
			}
			f.log.Error("install: token exchange failed", "err", err)
			return f.page(c, http.StatusBadGateway, "The app was not installed",
				"We could not complete the install with HubSpot just now. Please try again in a few minutes.")
		}
		if err := f.install(ctx, in); err != nil {
			return err
		}
		if f.cfg.OnInstalled == nil {
			f.log.Info("app installed", "portal_id", in.PortalID, "user_id", in.UserID, "scopes", len(in.Scopes))
			return f.page(c, http.StatusOK, "The app is installed", "The app is installed in your HubSpot account.")
		}
		if err := f.cfg.OnInstalled(c, Installed{PortalID: in.PortalID, UserEmail: in.UserEmail, UserID: in.UserID}); err != nil {
			return err
		}
		f.log.Info("app installed", "portal_id", in.PortalID, "user_id", in.UserID, "scopes", len(in.Scopes))
		return nil
	}
}

// badStateRefusal is the whole message of a refusal whose state is not
// valid: fixed words, none of the request's.
const badStateRefusal = "The app was not installed. For your security, an install link works once, for ten minutes, in the browser that started it. Please start the install again."

// maxDescription bounds the HubSpot error description a page shows.
const maxDescription = 300

// brief returns s without control characters, cut to at most n runes.
func brief(s string, n int) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if n == 0 {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			continue
		}
		b.WriteRune(r)
		n--
	}
	return b.String()
}

// pageStyle is the page's one inline style; its policy (pageCSP) names it
// by hash, so the page keeps the server's strict policy otherwise.
const pageStyle = `body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#33475b}a{color:#0091ae}`

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>` + pageStyle + `</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p><p><a href="/oauth/hubspot/install">Install the app again</a></p></body></html>
`))

var pageCSP = StylePolicy(pageStyle)

// StylePolicy is the strict Content-Security-Policy of a page whose only
// style is the inline style element holding css: nothing else loads, no
// script runs, the page is never framed.
func StylePolicy(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// page answers with a small, friendly HTML page.
func (f *Flow) page(c echo.Context, status int, title, message string) error {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, struct{ Title, Message string }{title, message}); err != nil {
		return fmt.Errorf("oauth: render page: %w", err)
	}
	c.Response().Header().Set("Content-Security-Policy", pageCSP)
	return c.HTMLBlob(status, b.Bytes())
}
