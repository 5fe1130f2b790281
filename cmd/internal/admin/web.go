// Package admin serves the portal admin's pages: settings (API keys,
// QuickBooks connection) and the execution history, server-rendered from
// embedded templates, with the admin's server-side session (its id in a
// cookie) and CSRF tokens bound to it.
package admin

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
)

// The admin pages (settings and execution history) are server-rendered
// from templates embedded in the binary, styled by one static stylesheet,
// and need no JavaScript.
//
//go:embed web/templates/*.html web/static/*
var webFS embed.FS

// ContentSecurityPolicy is the CSP of every admin page and static file. It
// allows nothing but our own stylesheet and forms posting back to us: no
// scripts at all, no framing, no <base>.
const ContentSecurityPolicy = actions.ContentSecurityPolicy

// Context keys the admin pages set.
const (
	ctxSession = "session" // Session of the signed-in admin
)

// csrfField is the name of the hidden form field carrying the CSRF token.
const csrfField = "csrf_token"

// hstsPolicy makes browsers use https for the public host for a year; it
// is sent only when the public URL is https.
const hstsPolicy = "max-age=31536000"

// Pages renders the admin pages (settings and execution history) and
// guards them: security headers, the admin's session, CSRF tokens. It is
// safe for concurrent use.
type Pages struct {
	pages    map[string]*template.Template
	static   map[string]staticFile
	cssURL   string
	csrfKey  []byte
	sessions *Sessions
	hsts     bool // the public URL is https
	log      *slog.Logger
	// testModes, when set (WithTestMode), is each portal's test mode.
	testModes *testModes
}

type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

// New parses the embedded templates. flow tells whether the public URL is
// https; sessions says who is signed in; csrfKey signs the CSRF tokens
// bound to each session. It panics if the embedded files are broken, which
// the tests catch.
func New(flow *oauth.Flow, sessions *Sessions, csrfKey []byte, log *slog.Logger, opts ...Option) *Pages {
	w := &Pages{pages: map[string]*template.Template{}, static: map[string]staticFile{}, csrfKey: csrfKey, sessions: sessions, log: log.With("component", "web")}
	for _, o := range opts {
		o(w)
	}
	layout := template.Must(template.ParseFS(webFS, "web/templates/layout.html"))
	names, err := fs.Glob(webFS, "web/templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" {
			continue
		}
		w.pages[strings.TrimSuffix(base, ".html")] = template.Must(template.Must(layout.Clone()).ParseFS(webFS, name))
	}
	statics, err := fs.Glob(webFS, "web/static/*")
	if err != nil {
		panic(err)
	}
	for _, name := range statics {
		b, err := webFS.ReadFile(name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.static[path.Base(name)] = staticFile{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	w.hsts = publicURLIsHTTPS(flow)
	css := w.static["app.css"]
	// The version in the URL changes with the file, so it can be cached long.
	w.cssURL = "/static/app.css?v=" + strings.Trim(css.etag, `"`)
	return w
}

// publicURLIsHTTPS reports whether the service's public URL is https. It
// reads it from the install flow's redirect URL, which is PUBLIC_BASE_URL
// plus the callback path: that is how the public URL reaches the admin
// pages without a parameter of its own.
func publicURLIsHTTPS(flow *oauth.Flow) bool {
	u, err := url.Parse(flow.AuthorizeURL(""))
	if err != nil {
		return false
	}
	r, err := url.Parse(u.Query().Get("redirect_uri"))
	return err == nil && r.Scheme == "https" && r.Host != ""
}

// Secure sets the security headers of every admin page and static file,
// and makes errors on these routes render as HTML pages.
func (w *Pages) Secure(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		if w.hsts {
			h.Set("Strict-Transport-Security", hstsPolicy)
		}
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		actions.SetErrorPage(c, w)
		return next(c)
	}
}

// RequireSession lets through only a browser signed in to a portal; for
// others see sessionEnded.
func (w *Pages) RequireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s, ok, err := w.sessions.Lookup(c)
		if err != nil {
			return err
		}
		if !ok {
			return w.sessionEnded(c)
		}
		c.Set(ctxSession, s)
		c.Set("portal_id", s.PortalID)
		// Pages show one portal's data: never store or share them.
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// installPath starts the HubSpot install flow, which identifies the admin
// and the portal, signs them in and comes back to /settings.
const installPath = "/oauth/hubspot/install"

// sessionEnded answers a request to the admin pages without a session. A
// GET or HEAD is sent through the install flow. Anything else came from one
// of our forms, and a redirect would take the browser from that form's POST
// on to HubSpot, another origin, which the CSP's form-action 'self' forbids
// (Chromium enforces it on redirects too), leaving the admin on a browser
// error. So it gets a page of ours, with status 401, that says nothing was
// done and links to sign in again.
func (w *Pages) sessionEnded(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead:
		return c.Redirect(http.StatusSeeOther, installPath)
	}
	// The page is of no session, whatever requireSession had found.
	c.Set(ctxSession, Session{})
	return w.render(c, http.StatusUnauthorized, "session-ended", w.newPage(c, "Your session has ended", ""))
}

// CheckCSRF refuses a state-changing request that does not carry the CSRF
// token of the browser's session (a synchronizer token, derived from the
// session, so a page of another site can neither read nor forge it), or
// that the browser says comes from another site.
func (w *Pages) CheckCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		s := sessionOf(c)
		if c.Request().Header.Get("Sec-Fetch-Site") == "cross-site" {
			return echo.NewHTTPError(http.StatusForbidden, "This form was sent from another website, so it was ignored.")
		}
		if err := readForm(c); err != nil {
			return err
		}
		// From the body only: a token in a URL would leak into logs.
		got := c.Request().PostFormValue(csrfField)
		if got == "" || s.id == "" || !hmac.Equal([]byte(got), []byte(w.csrfToken(s))) {
			return echo.NewHTTPError(http.StatusForbidden, "This form has expired. Go back, reload the page and try again.")
		}
		return next(c)
	}
}

// MaxFormBytes caps the body of a form sent to the admin pages. Their forms
// hold a CSRF token, an API key and a confirmation: a few hundred bytes. Any
// account can install the app and sign in, so without a cap (net/http reads
// up to 10 MB of a form, and spools multipart files to disk) a signed-in
// stranger could make the server hold megabytes per connection.
const MaxFormBytes = 64 << 10

// readForm reads the request's form, from a body of at most MaxFormBytes,
// answering what went wrong: 413 for a larger body, 408 for one that did
// not arrive within the body deadline, 400 for one that is not a form.
func readForm(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, MaxFormBytes)
	// ParseMultipartForm would hide ParseForm's error behind
	// ErrNotMultipart.
	err := r.ParseForm()
	if err == nil {
		if err = r.ParseMultipartForm(MaxFormBytes); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("This form is larger than %d KiB, so it was ignored. Go back, reload the page and try again.", MaxFormBytes>>10))
	case actions.IsBodyTimeout(err):
		return echo.NewHTTPError(http.StatusRequestTimeout, "This form did not arrive in time, so it was ignored. Try again.").SetInternal(err)
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "This form could not be read, so it was ignored. Go back, reload the page and try again.").SetInternal(err)
	}
}

// csrfToken is the token a session's forms carry: an HMAC of the session's
// id and portal, so it changes with every sign-in and dies with the
// session.
func (w *Pages) csrfToken(s Session) string {
	m := hmac.New(sha256.New, w.csrfKey)
	fmt.Fprintf(m, "csrf\x00%d\x00%s", s.PortalID, s.id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionOf returns the session requireSession found.
func sessionOf(c echo.Context) Session {
	s, _ := c.Get(ctxSession).(Session)
	return s
}

// page is what every admin page shows around its content.
type page struct {
	Title   string
	Nav     string // "settings" or "history": the current section
	CSS     string
	CSRF    string
	Session Session
}

// newPage returns the frame of a page for the signed-in admin.
func (w *Pages) newPage(c echo.Context, title, nav string) page {
	s := sessionOf(c)
	p := page{Title: title, Nav: nav, CSS: w.cssURL, Session: s}
	if s.PortalID != 0 {
		p.CSRF = w.csrfToken(s)
	}
	return p
}

// render writes a page with the given status.
func (w *Pages) render(c echo.Context, status int, name string, data any) error {
	t, ok := w.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	return c.HTMLBlob(status, b.Bytes())
}

// ErrorPage renders an error for the admin pages (actions.ErrorPage). The server's error handler calls it
// for requests that went through Secure, so an admin's browser gets a page
// rather than JSON.
func (w *Pages) ErrorPage(c echo.Context, status int, message string) error {
	data := struct {
		page
		Status  int
		Message string
		SignIn  bool
	}{page: w.newPage(c, http.StatusText(status), ""), Status: status, Message: message}
	switch {
	case status >= 500:
		data.Message = "Something went wrong on our side. Please try again in a minute."
	case status == http.StatusNotFound && strings.EqualFold(message, "not found"):
		data.Message = "There is nothing at this address."
	case message == "" || message == http.StatusText(status):
		data.Message = "This request could not be handled."
	}
	data.SignIn = data.Session.PortalID == 0
	return w.render(c, status, "error", data)
}

// HandleStatic serves the embedded stylesheet (and any other static file).
func (w *Pages) HandleStatic() echo.HandlerFunc {
	return func(c echo.Context) error {
		f, ok := w.static[c.Param("file")]
		if !ok {
			return echo.ErrNotFound
		}
		h := c.Response().Header()
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "public, max-age=86400")
		if c.Request().Header.Get("If-None-Match") == f.etag {
			return c.NoContent(http.StatusNotModified)
		}
		return c.Blob(http.StatusOK, f.contentType, f.body)
	}
}

// HandleLogout serves POST /settings/logout: it ends the session, for
// every copy of its cookie.
func (w *Pages) HandleLogout() echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := w.sessions.Clear(c); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/signed-out")
	}
}

// HandleSignedOut serves GET /signed-out; ?notice=uninstalled (or
// uninstall-finishing) says the app was uninstalled too. The notice only
// picks one of the page's fixed texts.
func (w *Pages) HandleSignedOut() echo.HandlerFunc {
	type request struct {
		Notice string `query:"notice"`
	}
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		var req request
		if err := (&echo.DefaultBinder{}).BindQueryParams(c, &req); err != nil {
			return err
		}
		data := struct {
			page
			Notice string
		}{page: w.newPage(c, "Signed out", "")}
		switch req.Notice {
		case "uninstalled", "uninstall-finishing":
			data.Notice, data.Title = req.Notice, "Uninstalled"
		}
		return w.render(c, http.StatusOK, "signed-out", data)
	}
}

// Formatting shared by the pages. Times are shown in UTC, which is also
// what operators and logs use.

const timeLayout = "2006-01-02 15:04:05 UTC"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// fmtDuration says how long something took, to a useful precision.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// fmtPeriod says how long a period is in words: "30 days", "2 days 12
// hours", "90 minutes".
func fmtPeriod(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	const day = 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return plural(int64(d/day), "day")
	case d >= day && d%time.Hour == 0:
		return plural(int64(d/day), "day") + " " + plural(int64(d%day/time.Hour), "hour")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return d.String()
}
