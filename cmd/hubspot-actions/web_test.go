package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/cmd/internal/admin"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// webClient is an admin's browser without JavaScript: a cookie jar, and
// redirects shown rather than followed.
type webClient struct {
	t  *testing.T
	s  *testServer
	hc *http.Client
}

type webResponse struct {
	Status int
	Header http.Header
	Body   string
}

// newWebClient returns a browser with no session.
func newWebClient(t *testing.T, s *testServer) *webClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, s: s, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn installs the app through the sandbox's fake HubSpot, which signs
// the browser in to portal 1000001 as admin@sandbox.test.
func signIn(t *testing.T, s *testServer) *webClient {
	t.Helper()
	wc := newWebClient(t, s)
	follow := &http.Client{Jar: wc.hc.Jar, Timeout: 20 * time.Second}
	resp, err := follow.Get(s.URL + "/oauth/hubspot/install")
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/settings" {
		t.Fatalf("install ended at %s with %d, want /settings with 200", resp.Request.URL, resp.StatusCode)
	}
	return wc
}

// withSession returns a browser carrying a session for portalID, started
// in the server's database exactly as the install flow starts one.
func withSession(t *testing.T, s *testServer, portalID int64, email string) *webClient {
	t.Helper()
	sessions := admin.NewSessions(serverDB(t, s), false)
	rec := httptest.NewRecorder()
	if err := sessions.Set(echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), admin.Session{PortalID: portalID, UserEmail: email}); err != nil {
		t.Fatalf("set session: %v", err)
	}
	wc := newWebClient(t, s)
	u, _ := url.Parse(s.URL)
	wc.hc.Jar.SetCookies(u, rec.Result().Cookies())
	return wc
}

func (s *testServer) encryptionKey(t *testing.T) []byte {
	t.Helper()
	sec, err := loadSandboxSecrets(filepath.Join(s.Dir, "data"), false)
	if err != nil {
		t.Fatalf("sandbox secrets: %v", err)
	}
	key, err := base64.StdEncoding.DecodeString(sec.EncryptionKey)
	if err != nil {
		t.Fatalf("sandbox encryption key: %v", err)
	}
	return key
}

func (wc *webClient) do(req *http.Request) webResponse {
	wc.t.Helper()
	resp, err := wc.hc.Do(req)
	if err != nil {
		wc.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return webResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (wc *webClient) get(path string) webResponse {
	wc.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, wc.s.URL+path, nil)
	return wc.do(req)
}

// post sends a form, as a browser does from one of our pages.
func (wc *webClient) post(path string, form url.Values, header ...string) webResponse {
	wc.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, wc.s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", wc.s.URL)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return wc.do(req)
}

// csrf returns the CSRF token of the browser's session, read from a page.
func (wc *webClient) csrf() string {
	wc.t.Helper()
	r := wc.get("/settings/history")
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(r.Body)
	if m == nil {
		wc.t.Fatalf("no CSRF token on the history page (%d):\n%s", r.Status, r.Body)
	}
	return m[1]
}

// historyRows returns the text of each row of the history table.
func historyRows(t *testing.T, body string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	var rows []string
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody" && hasClass(n.Parent.Parent, "executions") {
			rows = append(rows, admintest.NodeText(n))
		}
	}
	return rows
}

func hasClass(n *html.Node, class string) bool {
	return n != nil && strings.Contains(" "+admintest.Attr(n, "class")+" ", " "+class+" ")
}

// executeOn sends a signed execution of action for an object, and returns
// its outputFields.
func (s *testServer) executeOn(t *testing.T, action, callbackID string, portalID int64, objectID string, inputs map[string]any) map[string]string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"callbackId":  callbackID,
		"origin":      map[string]any{"portalId": portalID, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
		"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 77, "actionId": 3},
		"object":      map[string]any{"objectId": objectID, "objectType": "CONTACT", "properties": map[string]any{"email": "pat@example.com", "hs_private_token": "pt-123456"}},
		"inputFields": inputs,
	})
	status, b := s.post(t, "/hubspot/actions/"+action, body)
	if status != http.StatusOK {
		t.Fatalf("execute %s: %d %s", action, status, b)
	}
	var res actions.Response
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return res.OutputFields
}

// refOf returns the reference a failure message ends with.
func refOf(t *testing.T, outputs map[string]string) string {
	t.Helper()
	m := regexp.MustCompile(`\(ref (EX-[0-9A-Z]{10})\)$`).FindStringSubmatch(outputs["error_message"])
	if m == nil {
		t.Fatalf("error_message %q carries no reference", outputs["error_message"])
	}
	return m[1]
}

// serverDB opens the running server's database beside it, with its
// encryption key, to seed another portal's data and to look at what pages
// changed.
func serverDB(t *testing.T, s *testServer) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), s.DatabaseURL, store.WithKeys(s.encryptionKey(t), nil))
	if err != nil {
		t.Fatalf("open the server's store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestAdminPagesNeedSession: without a session a page is sent through the
// install flow, but a form gets a page of ours: a redirect from its POST to
// HubSpot's origin would break on the CSP's form-action 'self'.
func TestAdminPagesNeedSession(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	anon := newWebClient(t, s)
	forged := newWebClient(t, s)
	u, _ := url.Parse(s.URL)
	forged.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "hsa_session", Value: "eyJwIjoxMDAwMDAxLCJ4Ijo5OTk5OTk5OTk5fQ.forged", Path: "/"}})
	for _, wc := range []*webClient{anon, forged} {
		for _, path := range []string{"/settings", "/settings/history", "/settings/history/EX-AAAAAAAAAA"} {
			if r := wc.get(path); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/oauth/hubspot/install" {
				t.Errorf("GET %s without a session: %d to %q, want 303 to /oauth/hubspot/install", path, r.Status, r.Header.Get("Location"))
			}
		}
		for _, path := range []string{"/settings/keys/clearbit", "/settings/keys/clearbit/delete", "/settings/quickbooks/disconnect", "/settings/logout"} {
			r := wc.post(path, url.Values{"api_key": {"sk_live_anonymous1"}})
			wantSessionEnded(t, "POST "+path, r)
		}
	}
}

// wantSessionEnded checks the answer to a form sent without a session: a
// same-origin page, not a redirect, that links to sign in again.
func wantSessionEnded(t *testing.T, what string, r webResponse) {
	t.Helper()
	if r.Status != http.StatusUnauthorized || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s = %d %q to %q, want a 401 page and no redirect", what, r.Status, r.Header.Get("Content-Type"), r.Header.Get("Location"))
		return
	}
	if text := admintest.PageText(t, r.Body); !strings.Contains(text, "Your session has ended — sign in again") {
		t.Errorf("%s: the page says %q", what, text)
	}
	if !strings.Contains(r.Body, `href="/oauth/hubspot/install"`) || strings.Contains(r.Body, `action="/settings/logout"`) {
		t.Errorf("%s: the page lacks a link to sign in, or offers to sign out:\n%s", what, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Content-Security-Policy") != admin.ContentSecurityPolicy {
		t.Errorf("%s: Cache-Control %q, CSP %q", what, r.Header.Get("Cache-Control"), r.Header.Get("Content-Security-Policy"))
	}
	admintest.CheckAccessible(t, what, r.Body)
}

func TestSettingsPage(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	r := wc.get("/settings")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /settings = %d", r.Status)
	}
	text := admintest.PageText(t, r.Body)
	want := []string{
		"Portal ID 1000001",
		"Hub domain sandbox.hubspot.test",
		"Installed by admin@sandbox.test",
		"Signed in as admin@sandbox.test for portal 1000001",
		"Connection to HubSpot Active",
		"The current access token expires at",
		"QuickBooks Online Not connected",
		"Clearbit App default Using the app's default key",
		"The history keeps every execution of this account's workflow actions for 30 days",
	}
	want = append(want, defaultScopes...)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("settings page lacks %q:\n%s", w, text)
		}
	}
	if !strings.Contains(r.Body, `href="/oauth/quickbooks/connect"`) {
		t.Errorf("settings page has no link to connect QuickBooks")
	}
	admintest.CheckAccessible(t, "/settings", r.Body)
}

func TestAdminSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	ref := refOf(t, s.executeOn(t, "sandbox-echo", "headers-1", sandboxPortalID, "1", map[string]any{"message": "x", "fail_with": "NOT_FOUND"}))
	pages := []struct {
		path    string
		status  int
		noStore bool
	}{
		{"/settings", 200, true},
		{"/settings/history", 200, true},
		{"/settings/history/" + ref, 200, true},
		{"/settings/history/EX-0000000000", 404, true},
		{"/settings/no-such-page", 404, true},
		{"/signed-out", 200, true},
		{"/guide", 200, false},
		{"/static/app.css", 200, false},
	}
	for _, p := range pages {
		r := wc.get(p.path)
		if r.Status != p.status {
			t.Errorf("GET %s = %d, want %d", p.path, r.Status, p.status)
		}
		h := r.Header
		checks := map[string]string{
			"Content-Security-Policy": admin.ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
		}
		for k, v := range checks {
			if got := h.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", p.path, k, got, v)
			}
		}
		if got := h.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("GET %s over a public http URL: Strict-Transport-Security = %q, want none", p.path, got)
		}
		if p.noStore && h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", p.path, h.Get("Cache-Control"))
		}
		if strings.HasPrefix(p.path, "/static/") {
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
				t.Errorf("GET %s: Content-Type = %q, want text/css", p.path, ct)
			}
			continue
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type = %q, want text/html", p.path, ct)
		}
		admintest.CheckAccessible(t, p.path, r.Body)
	}
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(admin.ContentSecurityPolicy, want) {
			t.Errorf("CSP lacks %s", want)
		}
	}
	if strings.Contains(admin.ContentSecurityPolicy, "unsafe") || strings.Contains(admin.ContentSecurityPolicy, "script-src") {
		t.Errorf("CSP allows scripts or unsafe sources: %s", admin.ContentSecurityPolicy)
	}
	// The stylesheet is cacheable and revalidates by ETag.
	css := wc.get("/static/app.css")
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/static/app.css", nil)
	req.Header.Set("If-None-Match", css.Header.Get("ETag"))
	if r := wc.do(req); r.Status != http.StatusNotModified {
		t.Errorf("GET /static/app.css with its ETag = %d, want 304", r.Status)
	}
}

func TestAdminCSRF(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	token := wc.csrf()
	otherToken := withSession(t, s, 2000002, "other@example.com").csrf()
	if otherToken == token {
		t.Fatalf("two sessions share a CSRF token")
	}
	db := serverDB(t, s)
	clearbitKeys := actions.NewAPIKeys(db, "clearbit", "Clearbit", "", "")

	tests := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", url.Values{"api_key": {"sk_live_csrf00001"}}, nil},
		{"empty token", url.Values{"api_key": {"sk_live_csrf00002"}, "csrf_token": {""}}, nil},
		{"wrong token", url.Values{"api_key": {"sk_live_csrf00003"}, "csrf_token": {"AAAA" + token[4:]}}, nil},
		{"another session's token", url.Values{"api_key": {"sk_live_csrf00004"}, "csrf_token": {otherToken}}, nil},
		{"token in the query", url.Values{"api_key": {"sk_live_csrf00005"}}, []string{"X-Query", token}},
		{"sent by another site", url.Values{"api_key": {"sk_live_csrf00006"}, "csrf_token": {token}}, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
	}
	for _, tt := range tests {
		path := "/settings/keys/clearbit"
		if tt.name == "token in the query" {
			path += "?csrf_token=" + url.QueryEscape(token)
		}
		r := wc.post(path, tt.form, tt.header...)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: POST = %d %s, want a 403 page", tt.name, r.Status, r.Header.Get("Content-Type"))
		}
	}
	for _, path := range []string{"/settings/keys/clearbit/delete", "/settings/quickbooks/disconnect", "/settings/logout"} {
		if r := wc.post(path, url.Values{"csrf_token": {otherToken}}); r.Status != http.StatusForbidden {
			t.Errorf("POST %s with another session's token = %d, want 403", path, r.Status)
		}
	}
	if info, err := clearbitKeys.Info(context.Background(), sandboxPortalID); err != nil || info.Own {
		t.Errorf("after refused forms the portal has a key of its own (%+v, %v)", info, err)
	}
	// Still signed in (logout was refused), and the right token works.
	r := wc.post("/settings/keys/clearbit", url.Values{"api_key": {"sk_live_csrf00007"}, "csrf_token": {token}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST with the session's token = %d, want 303:\n%s", r.Status, r.Body)
	}
	if info, _ := clearbitKeys.Info(context.Background(), sandboxPortalID); !info.Own {
		t.Errorf("the key sent with a valid token was not saved")
	}
}

func TestAdminAPIKeys(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	token := wc.csrf()
	db := serverDB(t, s)
	ctx := context.Background()

	refused := []struct {
		name, key, message string
	}{
		{"empty", "", "Enter your Clearbit API key."},
		{"blank", "   ", "Enter your Clearbit API key."},
		{"spaces inside", "sk_live abc", "This does not look like a Clearbit API key"},
		{"refused by clearbit", "pk_not_a_secret_key_77", "Clearbit does not accept this API key."},
	}
	for _, tt := range refused {
		r := wc.post("/settings/keys/clearbit", url.Values{"api_key": {tt.key}, "csrf_token": {token}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: POST = %d, want 422", tt.name, r.Status)
		}
		text := admintest.PageText(t, r.Body)
		if !strings.Contains(text, "Nothing was saved") || !strings.Contains(text, "Error: "+tt.message) {
			t.Errorf("%s: page does not say %q next to the field:\n%s", tt.name, tt.message, text)
		}
		if !strings.Contains(r.Body, `aria-invalid="true"`) || !strings.Contains(r.Body, `aria-describedby="key-clearbit-help key-clearbit-error"`) {
			t.Errorf("%s: the field is not marked invalid and described by its error", tt.name)
		}
		if strings.TrimSpace(tt.key) != "" && strings.Contains(r.Body, tt.key) {
			t.Errorf("%s: the page echoes the refused key", tt.name)
		}
		admintest.CheckAccessible(t, "refused key", r.Body)
	}
	if _, err := db.GetAPIKey(ctx, sandboxPortalID, "clearbit"); err == nil {
		t.Fatalf("a refused key was saved")
	}

	const key = "sk_live_4f9a8b7c6d5e"
	r := wc.post("/settings/keys/clearbit", url.Values{"api_key": {" " + key + " "}, "csrf_token": {token}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/settings?notice=key-saved&provider=clearbit" {
		t.Fatalf("save = %d to %q", r.Status, r.Header.Get("Location"))
	}
	page := wc.get(r.Header.Get("Location"))
	text := admintest.PageText(t, page.Body)
	for _, want := range []string{"Clearbit key verified and saved.", "Your key Using your key sk_live_…6d5e, verified", "Remove your Clearbit key", "The app's default key is used again after that."} {
		if !strings.Contains(text, want) {
			t.Errorf("after saving, the page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(page.Body, key) {
		t.Errorf("the settings page shows the whole key")
	}
	row, err := db.GetAPIKey(ctx, sandboxPortalID, "clearbit")
	if err != nil {
		t.Fatalf("saved key: %v", err)
	}
	if row.Secret != key || row.Hint != "sk_live_…6d5e" {
		t.Errorf("stored key = %q with hint %q, want it to open to %q with hint sk_live_…6d5e", row.Secret, row.Hint, key)
	}
	files, _ := filepath.Glob(db.Path() + "*") // the database, its WAL and shared memory
	for _, f := range files {
		if raw, err := os.ReadFile(f); err != nil || bytes.Contains(raw, []byte(key)) {
			t.Errorf("%s holds the key in clear (read: %v)", filepath.Base(f), err)
		}
	}
	for _, k := range []string{key, "pk_not_a_secret_key_77"} {
		if strings.Contains(s.logs.String(), k) {
			t.Errorf("the key %q was logged", k)
		}
	}

	r = wc.post("/settings/keys/clearbit/delete", url.Values{"csrf_token": {token}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/settings?notice=key-removed&provider=clearbit" {
		t.Fatalf("delete = %d to %q", r.Status, r.Header.Get("Location"))
	}
	text = admintest.PageText(t, wc.get(r.Header.Get("Location")).Body)
	if !strings.Contains(text, "Clearbit key removed.") || !strings.Contains(text, "Using the app's default key") {
		t.Errorf("after removing, the page says:\n%s", text)
	}
	if r := wc.post("/settings/keys/no-such-provider", url.Values{"api_key": {key}, "csrf_token": {token}}); r.Status != http.StatusNotFound {
		t.Errorf("POST to an unknown provider = %d, want 404", r.Status)
	}
	// A notice names known providers only: nothing from the query is echoed.
	if text := admintest.PageText(t, wc.get("/settings?notice=key-saved&provider=%3Cb%3Eevil").Body); strings.Contains(text, "evil") || strings.Contains(text, "key verified and saved") {
		t.Errorf("an unknown provider in the notice was shown: %s", text)
	}
}

func TestAdminIsolation(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ctx := context.Background()
	const other = int64(2000002)
	db := serverDB(t, s)
	log := slog.New(slog.DiscardHandler)

	// Another portal, installed, with a Clearbit key, a QuickBooks grant
	// and executions.
	err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.UpsertPortal(ctx, store.Portal{PortalID: other, HubDomain: "other.hubspot.test", InstalledByEmail: "other@example.com", Scopes: []string{"oauth", "automation"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	otherKeys := actions.NewAPIKeys(db, "clearbit", "Clearbit", "", "")
	if err := otherKeys.Save(ctx, other, "sk_live_othersecret9876"); err != nil {
		t.Fatal(err)
	}
	qbGrant := oauth.NewGrants(quickbooks.ID, &oauth2.Config{}, db, &http.Client{}, log)
	if err := qbGrant.Save(ctx, other, &oauth2.Token{AccessToken: "qb-a", RefreshToken: "qb-r", Expiry: time.Now().Add(time.Hour)}, "9130", "Other Portal Ltd"); err != nil {
		t.Fatal(err)
	}
	otherRef := refOf(t, s.executeOn(t, "sandbox-echo", "other-cb-1", other, "777001", map[string]any{"message": "theirs", "fail_with": "NOT_FOUND"}))
	mineRef := refOf(t, s.executeOn(t, "sandbox-echo", "mine-cb-1", sandboxPortalID, "555001", map[string]any{"message": "mine", "fail_with": "NOT_FOUND"}))

	wc := signIn(t, s)
	token := wc.csrf()

	// Reading: the other portal's executions are invisible however they
	// are asked for.
	for _, path := range []string{
		"/settings/history",
		"/settings/history?portal_id=2000002&portalId=2000002",
		"/settings/history?q=other-cb-1",
		"/settings/history?q=" + otherRef,
		"/settings/history?q=777001",
	} {
		r := wc.get(path)
		if r.Status != http.StatusOK {
			t.Errorf("GET %s = %d", path, r.Status)
		}
		// The search box shows what was searched for; the table must not.
		for _, row := range historyRows(t, r.Body) {
			if strings.Contains(row, otherRef) || strings.Contains(row, "777001") {
				t.Errorf("GET %s lists the other portal's execution: %q", path, row)
			}
		}
		if strings.Contains(r.Body, "theirs") || (!strings.Contains(path, "q=") && strings.Contains(r.Body, otherRef)) {
			t.Errorf("GET %s shows the other portal's execution", path)
		}
	}
	if rows := historyRows(t, wc.get("/settings/history?portal_id=2000002").Body); len(rows) != 1 || !strings.Contains(rows[0], mineRef) {
		t.Errorf("history with a forged portal_id = %q, want only the session's execution", rows)
	}
	for _, path := range []string{"/settings/history/" + otherRef, "/settings/history/other-cb-1", "/settings/history/" + strings.ToLower(otherRef)} {
		r := wc.get(path)
		if r.Status != http.StatusNotFound || strings.Contains(r.Body, "theirs") {
			t.Errorf("GET %s = %d, want 404 without the execution", path, r.Status)
		}
	}
	settings := wc.get("/settings?portal_id=2000002").Body
	for _, leak := range []string{"Other Portal Ltd", "other.hubspot.test", "othersecret", "…9876"} {
		if strings.Contains(settings, leak) {
			t.Errorf("the settings page shows the other portal's %q", leak)
		}
	}

	// Writing: forged portal ids in the form or the query change nothing
	// of the other portal's.
	forged := url.Values{"csrf_token": {token}, "portal_id": {"2000002"}, "portalId": {"2000002"}}
	if r := wc.post("/settings/keys/clearbit/delete?portal_id=2000002", forged); r.Status != http.StatusSeeOther {
		t.Errorf("delete with a forged portal id = %d", r.Status)
	}
	if r := wc.post("/settings/quickbooks/disconnect?portal_id=2000002", forged); r.Status != http.StatusSeeOther {
		t.Errorf("disconnect with a forged portal id = %d", r.Status)
	}
	save := url.Values{"csrf_token": {token}, "portal_id": {"2000002"}, "api_key": {"sk_live_mine00001234"}}
	if r := wc.post("/settings/keys/clearbit?portal_id=2000002", save); r.Status != http.StatusSeeOther {
		t.Errorf("save with a forged portal id = %d", r.Status)
	}
	if info, err := otherKeys.Info(ctx, other); err != nil || !info.Own || info.Hint != "sk_live_…9876" {
		t.Errorf("the other portal's key = %+v, %v; want it untouched", info, err)
	}
	if info, err := otherKeys.Info(ctx, sandboxPortalID); err != nil || info.Hint != "sk_live_…1234" {
		t.Errorf("the session portal's key = %+v, %v; want the one saved", info, err)
	}
	if st, err := qbGrant.Status(ctx, other); err != nil || st.AccountName != "Other Portal Ltd" {
		t.Errorf("the other portal's QuickBooks grant = %+v, %v; want it untouched", st, err)
	}

	// And the other way round: the other portal's admin sees only its own.
	theirs := withSession(t, s, other, "other@example.com")
	r := theirs.get("/settings/history")
	if rows := historyRows(t, r.Body); len(rows) != 1 || !strings.Contains(rows[0], otherRef) {
		t.Errorf("the other portal's history = %q, want only its execution", rows)
	}
	if r := theirs.get("/settings/history/" + mineRef); r.Status != http.StatusNotFound {
		t.Errorf("the other portal reads this portal's execution: %d", r.Status)
	}
	if r := theirs.get("/settings/history/mine-cb-1"); r.Status != http.StatusNotFound {
		t.Errorf("the other portal reads this portal's execution by callbackId: %d", r.Status)
	}
	text := admintest.PageText(t, theirs.get("/settings").Body)
	if !strings.Contains(text, "Portal ID 2000002") || !strings.Contains(text, "Company: Other Portal Ltd") || strings.Contains(text, "…1234") {
		t.Errorf("the other portal's settings page:\n%s", text)
	}
}

func TestHistoryFiltersSearchAndPages(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	var lastFailure map[string]string
	for i := range 27 {
		in := map[string]any{"message": fmt.Sprintf("hello %d", i)}
		if i%3 == 0 {
			in["fail_with"] = "NOT_FOUND"
		}
		out := s.executeOn(t, "sandbox-echo", fmt.Sprintf("hist-%02d", i), sandboxPortalID, fmt.Sprint(5000+i), in)
		if i%3 == 0 {
			lastFailure = out
		}
	}
	s.executeOn(t, "sandbox-echo", "elsewhere-1", 3000003, "5004", map[string]any{"message": "not yours"})
	wc := signIn(t, s)
	ref := refOf(t, lastFailure)

	tests := []struct {
		name      string
		query     string
		rows      int
		first     string // text the first row contains
		next      string // the next page's link, if any
		prev      string
		everyRows string // text every row contains
	}{
		{name: "first page", query: "", rows: 25, first: "CONTACT 5026", next: "/settings/history?page=2"},
		{name: "second page", query: "page=2", rows: 2, first: "CONTACT 5001", prev: "/settings/history"},
		{name: "failures", query: "state=FAIL_CONTINUE", rows: 9, everyRows: "Failed FAIL_CONTINUE NOT_FOUND The sandbox was asked to fail with NOT_FOUND. (ref EX-"},
		{name: "successes", query: "state=SUCCESS", rows: 18, everyRows: "Succeeded"},
		{name: "waiting", query: "state=BLOCKED", rows: 0},
		{name: "action", query: "action=sandbox-echo", rows: 25, next: "/settings/history?action=sandbox-echo&page=2"},
		{name: "action, page 2", query: "action=sandbox-echo&page=2", rows: 2, prev: "/settings/history?action=sandbox-echo"},
		{name: "other action", query: "action=clearbit-enrich-company", rows: 0},
		{name: "object id", query: "q=5004", rows: 1, first: "CONTACT 5004"},
		{name: "callbackId", query: "q=hist-07", rows: 1, first: "CONTACT 5007"},
		{name: "reference", query: "q=" + ref, rows: 1, first: ref},
		{name: "reference in lower case", query: "q=" + strings.ToLower(ref), rows: 1, first: ref},
		{name: "whole failure message", query: "q=" + url.QueryEscape(lastFailure["error_message"]), rows: 1, first: ref},
		{name: "reference and failures", query: "state=FAIL_CONTINUE&q=" + ref, rows: 1, first: ref},
		{name: "reference and successes", query: "state=SUCCESS&q=" + ref, rows: 0},
		{name: "unknown", query: "q=nothing-like-this", rows: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wc.get("/settings/history?" + tt.query)
			if r.Status != http.StatusOK {
				t.Fatalf("GET ?%s = %d", tt.query, r.Status)
			}
			rows := historyRows(t, r.Body)
			if len(rows) != tt.rows {
				t.Fatalf("GET ?%s lists %d rows, want %d:\n%s", tt.query, len(rows), tt.rows, strings.Join(rows, "\n"))
			}
			if tt.first != "" && !strings.Contains(rows[0], tt.first) {
				t.Errorf("first row = %q, want it to contain %q", rows[0], tt.first)
			}
			for _, row := range rows {
				if tt.everyRows != "" && !strings.Contains(row, tt.everyRows) {
					t.Errorf("row %q lacks %q", row, tt.everyRows)
				}
				if strings.Contains(row, "not yours") {
					t.Errorf("another portal's execution is listed: %q", row)
				}
			}
			links := map[string]string{"next": tt.next, "prev": tt.prev}
			for rel, want := range links {
				m := regexp.MustCompile(`href="([^"]*)" rel="` + rel + `"`).FindStringSubmatch(r.Body)
				got := ""
				if m != nil {
					got = html.UnescapeString(m[1])
				}
				if got != want {
					t.Errorf("%s link = %q, want %q", rel, got, want)
				}
			}
			if tt.rows == 0 && !strings.Contains(admintest.PageText(t, r.Body), "No execution matches these filters.") {
				t.Errorf("an empty result does not say so")
			}
		})
	}
	first := wc.get("/settings/history").Body
	if rows := historyRows(t, first); !regexp.MustCompile(`^EX-[0-9A-Z]{10} — details of this execution 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC Sandbox: echo a message 77 CONTACT 5026 Succeeded SUCCESS — \d+ ms 1$`).MatchString(rows[0]) {
		t.Errorf("a row = %q, want reference, time, action, workflow, object, result, error, duration and attempts", rows[0])
	}
	admintest.CheckAccessible(t, "/settings/history", first)
	// A hand-edited address gets a page naming the value to fix.
	for q, names := range map[string]string{"state=DONE": "state", "page=abc": "page", "page=-1": "page", "q=" + strings.Repeat("x", 301): "q"} {
		r := wc.get("/settings/history?" + q)
		if r.Status != http.StatusBadRequest || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET ?%s = %d %s, want a 400 page", q, r.Status, r.Header.Get("Content-Type"))
		}
		if text := admintest.PageText(t, r.Body); !strings.Contains(text, names) {
			t.Errorf("GET ?%s: the page does not name %s:\n%s", q, names, text)
		}
	}
}

func TestExecutionDetail(t *testing.T) {
	t.Parallel()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{SandboxTokens: true})
	s := startServer(t, map[string]string{"HUBSPOT_API_BASE_URL": hs.URL(), "INLINE_BUDGET": "300ms"})
	wc := signIn(t, s)
	secrets := map[string]any{
		"message":      "hello detail",
		"api_key":      "plain-looking-value-1",
		"password":     "hunter2-value",
		"note":         "Bearer abc.def.ghi",
		"stripe":       "sk_live_detailsecret55",
		"access_token": "tok-value-3",
		"fail_with":    "UPSTREAM_REJECTED",
	}
	out := s.executeOn(t, "sandbox-echo", "detail-cb-1", sandboxPortalID, "4242", secrets)
	ref := refOf(t, out)
	for _, path := range []string{"/settings/history/" + ref, "/settings/history/" + strings.ToLower(ref), "/settings/history/detail-cb-1"} {
		r := wc.get(path)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s = %d", path, r.Status)
		}
		text := admintest.PageText(t, r.Body)
		for _, want := range []string{
			"Execution " + ref,
			"Result Failed FAIL_CONTINUE",
			"Error code UPSTREAM_REJECTED",
			"Error message The sandbox was asked to fail with UPSTREAM_REJECTED. (ref " + ref + ")",
			"Action Sandbox: echo a message sandbox-echo",
			"Workflow 77 (action 3 in the workflow)",
			"Object CONTACT 4242",
			"Source WORKFLOWS",
			"Attempts 1",
			"callbackId detail-cb-1",
			"Answer Inline: the outcome was the answer to HubSpot's request.",
			"Message message hello detail",
			"api_key [redacted]", "password [redacted]", "note [redacted]", "stripe [redacted]", "access_token [redacted]",
			"email pat@example.com", "hs_private_token [redacted]",
			"error_code UPSTREAM_REJECTED",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("GET %s lacks %q:\n%s", path, want, text)
			}
		}
		for _, leak := range []string{"plain-looking-value-1", "hunter2-value", "abc.def.ghi", "sk_live_detailsecret55", "tok-value-3", "pt-123456"} {
			if strings.Contains(r.Body, leak) {
				t.Errorf("GET %s shows the secret %q", path, leak)
			}
		}
		admintest.CheckAccessible(t, path, r.Body)
	}

	// A slow execution: answered BLOCK, then delivered by callback.
	if out := s.executeOn(t, "sandbox-echo", "detail-cb-2", sandboxPortalID, "4243", map[string]any{"message": "slow", "delay_ms": "800"}); out["hs_execution_state"] != "BLOCK" {
		t.Fatalf("slow execution = %v, want BLOCK", out)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := hs.WaitCompletion(wctx, "detail-cb-2"); err != nil {
		t.Fatalf("wait for the callback: %v", err)
	}
	var text string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		text = admintest.PageText(t, wc.get("/settings/history/detail-cb-2").Body)
		if strings.Contains(text, "Delivered to HubSpot") {
			break
		}
	}
	for _, want := range []string{"Result Succeeded", "Answer BLOCK, then the outcome through HubSpot's callbacks API.", "Delivered to HubSpot 20", "Delivery attempts 1", "echo slow"} {
		if !strings.Contains(text, want) {
			t.Errorf("the delivered execution lacks %q:\n%s", want, text)
		}
	}
}

// TestHistoryRedactsEmbeddedSecrets: credentials inside values, in JSON
// and in error messages are removed from the history and the execution's
// page, in its inputs, outputs and error message alike.
func TestHistoryRedactsEmbeddedSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, testDatabaseURL(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	const ref = "EX-SECRET0001"
	request := `{"callbackId":"redact-1","origin":{"portalId":1000001},"object":{"objectType":"CONTACT","objectId":"1"},` +
		`"inputFields":{"message":"use sk_live_abcdefghijkl please","payload":"{\"password\":\"hunter2\",\"stripe\":\"sk_live_mnopqrstuvwx\"}"}}`
	outputs := `{"hs_execution_state":"FAIL_CONTINUE","echo":"Basic dXNlcjpwYXNz","error_message":"upstream said {\"api_key\":\"plainvalue42\"}"}`
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.InsertExecution(ctx, store.NewExecution{CallbackID: "redact-1", Ref: ref, PortalID: sandboxPortalID,
			Action: "sandbox-echo", WorkflowID: 77, ObjectType: "CONTACT", ObjectID: "1", Request: request, ReceivedAt: time.Now()}); err != nil {
			return err
		}
		_, _, err := tx.Finish(ctx, "redact-1", 1, store.Outcome{FinalState: actions.StateFailContinue, Outputs: outputs, ErrorCode: "UPSTREAM_REJECTED",
			ErrorMessage: `Clearbit refused Authorization: Bearer sk_live_errorsecret99 with {"token":"tok-in-error"} (ref ` + ref + `)`})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := startServerIn(t, dir, nil)
	wc := signIn(t, s)
	leaks := []string{"sk_live_abcdefghijkl", "hunter2", "sk_live_mnopqrstuvwx", "dXNlcjpwYXNz", "plainvalue42", "sk_live_errorsecret99", "tok-in-error"}
	detail := wc.get("/settings/history/" + ref)
	list := wc.get("/settings/history")
	for _, r := range []webResponse{detail, list} {
		if r.Status != http.StatusOK {
			t.Fatalf("status %d:\n%s", r.Status, r.Body)
		}
		for _, leak := range leaks {
			if strings.Contains(r.Body, leak) {
				t.Errorf("the page shows the secret %q", leak)
			}
		}
	}
	text := admintest.PageText(t, detail.Body)
	for _, want := range []string{
		"Error message Clearbit refused Authorization: [redacted] with {\"token\":\"[redacted]\"} (ref " + ref + ")",
		"message use [redacted] please",
		`payload {"password":"[redacted]","stripe":"[redacted]"}`,
		"echo [redacted]",
		`error_message upstream said {"api_key":"[redacted]"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the execution's page lacks %q:\n%s", want, text)
		}
	}
	if text := admintest.PageText(t, list.Body); !strings.Contains(text, "UPSTREAM_REJECTED Clearbit refused Authorization: [redacted] with") {
		t.Errorf("the history lacks the redacted error message:\n%s", text)
	}
}

// TestHistoryRetention checks that the retention the pages show is the one
// the runtime prunes by: with HISTORY_RETENTION=96h, an execution 97 hours
// old disappears from the history and one 95 hours old stays.
func TestHistoryRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, testDatabaseURL(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []struct {
		callbackID, ref string
		age             time.Duration
	}{
		{"retention-old", "EX-0LD0000001", 97 * time.Hour},
		{"retention-young", "EX-Y0VNG00001", 95 * time.Hour},
	} {
		err := db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.InsertExecution(ctx, store.NewExecution{CallbackID: e.callbackID, Ref: e.ref, PortalID: sandboxPortalID,
				Action: "sandbox-echo", WorkflowID: 77, ObjectType: "CONTACT", ObjectID: "1", Request: "{}", ReceivedAt: now.Add(-e.age)}); err != nil {
				return err
			}
			_, _, err := tx.Finish(ctx, e.callbackID, 1, store.Outcome{FinalState: actions.StateSuccess, Outputs: `{"hs_execution_state":"SUCCESS"}`})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := startServerIn(t, dir, map[string]string{"HISTORY_RETENTION": "96h"})
	wc := signIn(t, s)
	for _, path := range []string{"/settings", "/settings/history"} {
		if text := admintest.PageText(t, wc.get(path).Body); !strings.Contains(text, "4 days") {
			t.Errorf("GET %s does not say history is kept 4 days:\n%s", path, text)
		}
	}
	var rows []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		rows = historyRows(t, wc.get("/settings/history").Body)
		if len(rows) == 1 {
			break
		}
	}
	if len(rows) != 1 || !strings.Contains(rows[0], "EX-Y0VNG00001") {
		t.Errorf("history after pruning = %q, want only the execution younger than 96h", rows)
	}
	if r := wc.get("/settings/history/EX-0LD0000001"); r.Status != http.StatusNotFound {
		t.Errorf("the pruned execution still has a page: %d", r.Status)
	}
}

// TestSettingsPortalNotInstalled: a session whose portal has no
// installation (its data was deleted) is signed out and sent to install.
func TestSettingsPortalNotInstalled(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := withSession(t, s, 4000004, "gone@example.com")
	if r := wc.get("/settings"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/oauth/hubspot/install" {
		t.Errorf("GET /settings for a portal not installed: %d to %q, want 303 to /oauth/hubspot/install", r.Status, r.Header.Get("Location"))
	}
	if r := wc.get("/settings/history"); r.Status != http.StatusSeeOther {
		t.Errorf("after that the session is over, yet GET /settings/history = %d", r.Status)
	}
	// A form is answered with a page of ours (see TestAdminPagesNeedSession).
	forms := []struct {
		path string
		form url.Values
	}{
		{"/settings/keys/clearbit", url.Values{"api_key": {""}}},
		{"/settings/quickbooks/disconnect", url.Values{}},
	}
	for _, f := range forms {
		wc := withSession(t, s, 4000004, "gone@example.com")
		f.form.Set("csrf_token", wc.csrf())
		wantSessionEnded(t, "POST "+f.path+" for a portal not installed", wc.post(f.path, f.form))
		if r := wc.get("/settings/history"); r.Status != http.StatusSeeOther {
			t.Errorf("after POST %s the session is over, yet GET /settings/history = %d", f.path, r.Status)
		}
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	r := wc.post("/settings/logout", url.Values{"csrf_token": {wc.csrf()}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signed-out" {
		t.Fatalf("logout = %d to %q", r.Status, r.Header.Get("Location"))
	}
	if text := admintest.PageText(t, wc.get("/signed-out").Body); !strings.Contains(text, "You are signed out") {
		t.Errorf("signed-out page: %s", text)
	}
	if r := wc.get("/settings"); r.Status != http.StatusSeeOther {
		t.Errorf("after logout GET /settings = %d, want a redirect to sign in", r.Status)
	}
}
