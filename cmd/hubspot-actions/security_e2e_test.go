package main

// End-to-end checks of issue 10 ("Safe among strangers") through the real
// server, done as an attacker would, for the points the other tests do not
// already cover through serve.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hubspot-actions/cmd/internal/admin"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/store"
)

// TestSecuritySharedKeysTwoPortals: two portals the operator allows share
// the app's Stripe and Clearbit keys. B never finds the promotion code A
// made, and the same terms give B a coupon of its own; a portal not
// allowed gets NOT_CONNECTED from every action on those keys; each portal
// has its own daily quota.
func TestSecuritySharedKeysTwoPortals(t *testing.T) {
	t.Parallel()
	const a, b, stranger = 1000001, 1000002, 1000003
	s := startServer(t, map[string]string{
		"STRIPE_APP_KEY_PORTALS": fmt.Sprintf("%d,%d", a, b), "CLEARBIT_APP_KEY_PORTALS": fmt.Sprintf("%d %d", a, b),
		"STRIPE_APP_KEY_DAILY_QUOTA": "0", "CLEARBIT_APP_KEY_DAILY_QUOTA": "2",
	})
	terms := map[string]any{"discount_type": "percent", "percent_off": "100", "duration": "forever", "customer_email": "pat@example.com"}
	made := s.execute(t, "stripe-create-promotion-code", "sk-a-1", a, terms)
	if made["hs_execution_state"] != "SUCCESS" || made["code"] == "" {
		t.Fatalf("A's stripe-create-promotion-code = %v", made)
	}
	if got := s.execute(t, "stripe-check-promotion-code", "sk-a-2", a, map[string]any{"code": made["code"]}); got["found"] != "true" || got["percent_off"] != "100" {
		t.Errorf("A checks its own code = %v, want found with 100%% off", got)
	}
	for i, code := range []string{made["code"], strings.ToLower(made["code"]), " " + made["code"] + " "} {
		got := s.execute(t, "stripe-check-promotion-code", fmt.Sprint("sk-b-check-", i), b, map[string]any{"code": code})
		if got["hs_execution_state"] != "SUCCESS" || got["found"] != "false" || got["active"] == "true" || got["percent_off"] != "" {
			t.Errorf("B checks A's code %q = %v, want found=false and nothing about it", code, got)
		}
	}
	theirs := s.execute(t, "stripe-create-promotion-code", "sk-b-1", b, terms)
	if theirs["hs_execution_state"] != "SUCCESS" || theirs["coupon_id"] == "" || theirs["coupon_id"] == made["coupon_id"] {
		t.Errorf("B's code on the same terms = %v, want a coupon of its own (A's is %s)", theirs, made["coupon_id"])
	}

	for _, tc := range []struct {
		action string
		inputs map[string]any
	}{
		{"stripe-create-promotion-code", terms},
		{"stripe-check-promotion-code", map[string]any{"code": made["code"]}},
		{"clearbit-enrich-contact", map[string]any{"email": "alex@example.com"}},
		{"clearbit-enrich-company", map[string]any{"domain": "example.com"}},
	} {
		got := s.execute(t, tc.action, "sk-c-"+tc.action, stranger, tc.inputs)
		if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "NOT_CONNECTED" || !strings.Contains(got["error_message"], "settings page") {
			t.Errorf("%s for a portal not allowed = %v, want NOT_CONNECTED telling the admin to enter a key", tc.action, got)
		}
	}

	for i := range 2 {
		if got := s.execute(t, "clearbit-enrich-contact", fmt.Sprint("sk-a-cb-", i), a, map[string]any{"email": "alex@example.com"}); got["hs_execution_state"] != "SUCCESS" {
			t.Errorf("A's Clearbit execution #%d within its quota = %v", i+1, got)
		}
	}
	if got := s.execute(t, "clearbit-enrich-company", "sk-a-cb-3", a, map[string]any{"domain": "example.com"}); got["error_code"] != "RATE_LIMITED" {
		t.Errorf("A's third Clearbit execution (quota 2) = %v, want RATE_LIMITED", got)
	}
	if got := s.execute(t, "clearbit-enrich-company", "sk-b-cb-1", b, map[string]any{"domain": "example.com"}); got["hs_execution_state"] != "SUCCESS" {
		t.Errorf("B's first Clearbit execution once A's quota is spent = %v, want SUCCESS", got)
	}
	for _, secret := range []string{made["code"], "pat@example.com"} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("the logs carry %q", secret)
		}
	}
}

// dialWith opens a connection to the server and sends a POST's headers
// (with extra header lines), declaring a body of length bytes, and the
// first part bytes of it.
func dialWith(t *testing.T, s *testServer, path string, extra []string, length, part int) *rawClient {
	t.Helper()
	u, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", u.Port()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", path, u.Host, length)
	for _, h := range extra {
		fmt.Fprintf(conn, "%s\r\n", h)
	}
	fmt.Fprint(conn, "\r\n")
	if _, err := conn.Write([]byte(strings.Repeat("x", part))); err != nil {
		t.Fatalf("write body: %v", err)
	}
	return &rawClient{conn: conn, r: bufio.NewReader(conn)}
}

// TestSecuritySlowBodies: a client trickling its body is answered 408 and
// disconnected once BODY_READ_TIMEOUT passes on the webhooks route and on
// a signed-in admin's settings form (any account can install the app and
// sign in); a signed-in admin's form larger than admin.MaxFormBytes is
// refused 413 without being read, so no connection holds more than that.
func TestSecuritySlowBodies(t *testing.T) {
	t.Parallel()
	const timeout = 3 * time.Second
	s := startServer(t, map[string]string{"BODY_READ_TIMEOUT": timeout.String()})
	wc := signIn(t, s)
	u, _ := url.Parse(s.URL)
	var cookie string
	for _, c := range wc.hc.Jar.Cookies(u) {
		cookie += c.Name + "=" + c.Value + "; "
	}
	session := []string{"Cookie: " + cookie, "Origin: " + s.URL}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	// Bodies a form may have (under admin.MaxFormBytes), arriving slowly.
	trickling := func(path string, extra []string) *rawClient {
		c := dialWith(t, s, path, extra, 48<<10, 16<<10)
		wg.Add(1)
		go func() { defer wg.Done(); c.trickle(timeout/10, stop) }()
		return c
	}
	webhook := trickling("/hubspot/webhooks", []string{"X-HubSpot-Signature-Version: v1", "X-HubSpot-Signature: 00"})
	form := trickling("/settings/keys/clearbit", session)
	// Liveness, not speed: the margin is generous.
	for name, c := range map[string]*rawClient{"webhooks": webhook, "signed-in settings form": form} {
		if resp := c.answer(t, timeout+15*time.Second); resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Errorf("trickling %s = %d (close %v), want 408 and a closed connection", name, resp.StatusCode, resp.Close)
		}
	}

	// A whole large form, sent at once: refused for its size.
	body := "csrf_token=" + wc.csrf() + "&api_key=" + strings.Repeat("k", 16*admin.MaxFormBytes)
	big := dialWith(t, s, "/settings/keys/clearbit", session, len(body), 0)
	go big.conn.Write([]byte(body))
	if resp := big.answer(t, 20*time.Second); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a signed-in 1 MiB settings form = %d, want 413", resp.StatusCode)
	}
	if r := wc.get("/settings"); r.Status != http.StatusOK || strings.Contains(r.Body, "kkkkkkkk") {
		t.Errorf("after the large form GET /settings = %d (the key must not have been saved)", r.Status)
	}
	if strings.Contains(s.logs.String(), `"status":500`) {
		t.Errorf("a slow or large body was logged as a 500")
	}
}

// TestSecurityQuickBooksForgedRealm: an admin who edits the realmId of
// QuickBooks' link back (to record another company) gets a page saying
// nothing was connected, and the portal stays not connected; the same
// flow with the link unchanged connects.
func TestSecurityQuickBooksForgedRealm(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	intuit := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	linkBack := func() *url.URL {
		t.Helper()
		r := wc.get("/oauth/quickbooks/connect")
		if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
			t.Fatalf("GET /oauth/quickbooks/connect = %d", r.Status)
		}
		resp, err := intuit.Get(r.Header.Get("Location"))
		if err != nil {
			t.Fatalf("Intuit's authorize page: %v", err)
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || back.Query().Get("realmId") == "" {
			t.Fatalf("Intuit's link back = %q, want one with a realmId", resp.Header.Get("Location"))
		}
		return back
	}
	connected := func() bool {
		return strings.Contains(admintest.PageText(t, wc.get("/settings").Body), "Disconnect QuickBooks")
	}

	back := linkBack()
	q := back.Query()
	q.Set("realmId", "4620816365000000001")
	r := wc.get(back.Path + "?" + q.Encode())
	if text := admintest.PageText(t, r.Body); r.Status < 400 || r.Status >= 500 || !strings.Contains(text, "nothing was connected") {
		t.Errorf("the link back with another realmId = %d:\n%s\nwant a 4xx page saying nothing was connected", r.Status, text)
	}
	if connected() {
		t.Error("the portal is connected to QuickBooks after a forged realmId")
	}

	back = linkBack()
	if r := wc.get(back.RequestURI()); r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
		t.Errorf("the link back unchanged = %d, want a redirect to settings:\n%s", r.Status, admintest.PageText(t, r.Body))
	}
	if !connected() {
		t.Error("the portal is not connected after the genuine link back")
	}
}

// TestSecurityCopiedCookieAfterSettingsUninstall: a copy of the session
// cookie stops working once the admin uninstalls from the settings page.
func TestSecurityCopiedCookieAfterSettingsUninstall(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	wc := signIn(t, s)
	token := wc.csrf()
	stolen := wc.copyOf()
	if r := stolen.get("/settings"); r.Status != http.StatusOK {
		t.Fatalf("the copied cookie before the uninstall: GET /settings = %d, want 200", r.Status)
	}
	if r := wc.post("/settings/uninstall", url.Values{"csrf_token": {token}, "confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("POST /settings/uninstall = %d", r.Status)
	}
	wantSignedOut(t, "copied cookie after the settings uninstall", stolen, token)
	if r := stolen.post("/settings/uninstall", url.Values{"csrf_token": {token}, "confirm": {"yes"}}); r.Status != http.StatusUnauthorized {
		t.Errorf("the copied cookie uninstalling again = %d, want 401", r.Status)
	}
}

// TestSecurityHeadersEveryHTMLPage: every HTML page the server answers,
// signed in or not, errors and refusals included, forbids sniffing and
// framing under a strict policy that allows its inline style (if any) by
// its hash and nothing else; HubSpot's callback without a valid state
// shows fixed words, never the error_description it was sent.
func TestSecurityHeadersEveryHTMLPage(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"UNAUTH_RATE_BURST": "12", "UNAUTH_RATE_LIMIT": "1/h"})
	signedIn := signIn(t, s)
	anon := newWebClient(t, s)
	token := signedIn.csrf()
	const planted = "PLANTED-TEXT-visit-evil.example"
	pages := []struct {
		name string
		wc   *webClient
		req  func() webResponse
	}{
		{"guide", anon, func() webResponse { return anon.get("/guide") }},
		{"signed-out", anon, func() webResponse { return anon.get("/signed-out") }},
		{"signed-out after uninstall", anon, func() webResponse { return anon.get("/signed-out?notice=uninstalled") }},
		{"static 404", anon, func() webResponse { return anon.get("/static/nope.css") }},
		{"session ended", anon, func() webResponse { return anon.post("/settings/logout", url.Values{"csrf_token": {"x"}}) }},
		{"HubSpot callback with planted text", anon, func() webResponse {
			return anon.get("/oauth/hubspot/callback?error=access_denied&error_description=" + url.QueryEscape("<b>"+planted+"</b>"))
		}},
		{"HubSpot callback, forged state", anon, func() webResponse { return anon.get("/oauth/hubspot/callback?code=x&state=forged") }},
		{"QuickBooks callback, Intuit's error", signedIn, func() webResponse {
			return signedIn.get("/oauth/quickbooks/callback?error=access_denied&error_description=" + url.QueryEscape(planted))
		}},
		{"settings", signedIn, func() webResponse { return signedIn.get("/settings") }},
		{"history", signedIn, func() webResponse { return signedIn.get("/settings/history") }},
		{"history, bad query", signedIn, func() webResponse { return signedIn.get("/settings/history?page=abc") }},
		{"execution not found", signedIn, func() webResponse { return signedIn.get("/settings/history/EX-NOPE000000") }},
		{"unknown provider", signedIn, func() webResponse {
			return signedIn.post("/settings/keys/nope", url.Values{"csrf_token": {token}, "api_key": {"x"}})
		}},
		{"expired form", signedIn, func() webResponse {
			return signedIn.post("/settings/keys/clearbit", url.Values{"csrf_token": {"forged"}, "api_key": {"x"}})
		}},
		{"uninstall confirmation", signedIn, func() webResponse { return signedIn.get("/settings/uninstall") }},
		{"uninstall without confirm", signedIn, func() webResponse {
			return signedIn.post("/settings/uninstall", url.Values{"csrf_token": {token}, "confirm": {"maybe"}})
		}},
	}
	styleRe := regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	check := func(name string, r webResponse) {
		t.Helper()
		if r.Status >= 500 {
			t.Errorf("%s: status %d", name, r.Status)
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type %q, want an HTML page (%d)", name, r.Header.Get("Content-Type"), r.Status)
			return
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", name, k, got, want)
			}
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %s", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(r.Body, "<script") {
			t.Errorf("%s: inline code allowed or present (policy %q)", name, csp)
		}
		for _, m := range styleRe.FindAllStringSubmatch(r.Body, -1) {
			sum := sha256.Sum256([]byte(m[1]))
			if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
				t.Errorf("%s: the page's inline style is not allowed by its policy %q, so it is blocked", name, csp)
			}
		}
		if strings.Contains(r.Body, planted) {
			t.Errorf("%s: the page shows text from the request", name)
		}
	}
	for _, p := range pages {
		check(p.name, p.req())
	}

	// The install route's refusal, once the client's budget is spent.
	var r webResponse
	for range 30 {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth/hubspot/install", nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		if r = anon.do(req); r.Status == http.StatusTooManyRequests {
			break
		}
	}
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the install route after 30 requests (burst 12) = %d, Retry-After %q; want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	check("429 page", r)
}

// TestSecurityKeyRemovalAndChecks: a portal's own API key removed on the
// settings page is not used by the next execution (the app's key does not
// serve the portal, so it answers NOT_CONNECTED); key checks are paced per
// portal: after five in a row the next is refused 429 with Retry-After.
func TestSecurityKeyRemovalAndChecks(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"CLEARBIT_APP_KEY_PORTALS": "999"})
	wc := signIn(t, s)
	token := wc.csrf()
	if r := wc.post("/settings/keys/clearbit", url.Values{"csrf_token": {token}, "api_key": {"sk_own_clearbit_key_1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save the portal's Clearbit key = %d:\n%s", r.Status, admintest.PageText(t, r.Body))
	}
	if got := s.execute(t, "clearbit-enrich-contact", "kr-1", sandboxPortalID, map[string]any{"email": "alex@example.com"}); got["hs_execution_state"] != "SUCCESS" {
		t.Fatalf("with the portal's own key = %v, want SUCCESS", got)
	}
	if r := wc.post("/settings/keys/clearbit/delete", url.Values{"csrf_token": {token}}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove the key = %d", r.Status)
	}
	if got := s.execute(t, "clearbit-enrich-contact", "kr-2", sandboxPortalID, map[string]any{"email": "alex@example.com"}); got["error_code"] != "NOT_CONNECTED" {
		t.Errorf("at once after the key's removal = %v, want NOT_CONNECTED", got)
	}

	var r webResponse
	for i := 2; i <= 6; i++ {
		r = wc.post("/settings/keys/clearbit", url.Values{"csrf_token": {token}, "api_key": {fmt.Sprint("sk_tried_key_", i)}})
		if i <= 5 && r.Status == http.StatusTooManyRequests {
			t.Fatalf("key check #%d refused, want five allowed in a row", i)
		}
	}
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(admintest.PageText(t, r.Body), "Clearbit") {
		t.Errorf("the sixth key check in a row = %d (Retry-After %q), want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	if strings.Contains(s.logs.String(), "sk_own_clearbit_key_1") || strings.Contains(s.logs.String(), "sk_tried_key_") {
		t.Error("the logs carry an API key")
	}
}

// TestSecurityBadInputNever5xx sends malformed input to every route anyone
// can reach, signed or not: never a 5xx, always a clear refusal or page.
func TestSecurityBadInputNever5xx(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"UNAUTH_RATE_LIMIT": "off"})
	wc := signIn(t, s)
	token := wc.csrf()
	envelope := func(mod map[string]any) []byte {
		m := map[string]any{"callbackId": "bad-1", "origin": map[string]any{"portalId": sandboxPortalID, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
			"object": map[string]any{"objectId": 1, "objectType": "CONTACT"}, "inputFields": map[string]any{"message": "x"}}
		for k, v := range mod {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	signed := map[string][]byte{
		"/hubspot/actions/sandbox-echo#empty":                         nil,
		"/hubspot/actions/sandbox-echo#array":                         []byte(`[]`),
		"/hubspot/actions/sandbox-echo#utf8":                          []byte("\xff\xfe"),
		"/hubspot/actions/sandbox-echo#origin":                        envelope(map[string]any{"origin": "x"}),
		"/hubspot/actions/sandbox-echo#portal":                        envelope(map[string]any{"origin": map[string]any{"portalId": 1e30}}),
		"/hubspot/actions/sandbox-echo#inputs":                        envelope(map[string]any{"inputFields": map[string]any{"message": map[string]any{"a": 1}, "delay_ms": "-1e99"}}),
		"/hubspot/actions/sandbox-echo#callback":                      envelope(map[string]any{"callbackId": strings.Repeat("c", 300)}),
		"/hubspot/actions/nope":                                       envelope(nil),
		"/hubspot/actions/quickbooks-create-invoice/options/item_id":  []byte(`{"origin":{"portalId":1000001},"fetchOptions":{"after":"zz","q":"\u0000"}}`),
		"/hubspot/actions/quickbooks-create-invoice/options/nope":     []byte(`{"origin":{"portalId":1000001}}`),
		"/hubspot/actions/quickbooks-create-invoice/options/item_id#": []byte(`{"origin":{"portalId":-1}}`),
	}
	for key, body := range signed {
		path, _, _ := strings.Cut(key, "#")
		if status, b := s.post(t, path, body); status >= 500 {
			t.Errorf("signed POST %s %q = %d %s", path, body, status, b)
		}
	}
	for _, body := range []string{"", "null", "[1]", `[{"eventId":"x"}]`, `[{"portalId":1,"objectId":1e99}]`, "[" + strings.Repeat(`{},`, 150) + "{}]"} {
		if status, b := s.postWebhooks(t, []byte(body)); status >= 500 {
			t.Errorf("signed webhooks %q = %d %s", body, status, b)
		}
	}
	for _, path := range []string{
		"/oauth/hubspot/callback?code=&state=", "/oauth/hubspot/callback?state=%ff&code=%00", "/oauth/hubspot/install?x=%zz",
		"/oauth/quickbooks/callback?realmId=abc&code=x&state=y", "/oauth/quickbooks/connect?return=//evil.example",
		"/settings/history?page=99999999999999999999&status=%ff&q=%00", "/settings/history/%ff", "/settings?notice=%3Cscript%3E",
		"/guide?x=%zz", "/signed-out?notice=%00", "/static/..%2f..%2fgo.mod",
	} {
		if r := wc.get(path); r.Status >= 500 {
			t.Errorf("GET %s = %d", path, r.Status)
		}
	}
	for _, f := range []struct {
		path string
		body string
		ct   string
	}{
		{"/settings/keys/clearbit", "csrf_token=" + token + "&api_key=%ff%fe", "application/x-www-form-urlencoded"},
		{"/settings/keys/clearbit", "%%%", "application/x-www-form-urlencoded"},
		{"/settings/keys/clearbit", "garbage", "multipart/form-data; boundary=zz"},
		{"/settings/keys/clearbit", `{"csrf_token":"` + token + `"}`, "application/json"},
		{"/settings/quickbooks/disconnect", "csrf_token=" + token, "application/x-www-form-urlencoded"},
		{"/settings/nope/disconnect", "csrf_token=" + token, "application/x-www-form-urlencoded"},
		{"/settings/uninstall", "csrf_token=" + token + "&confirm=%00", "application/x-www-form-urlencoded"},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.URL+f.path, strings.NewReader(f.body))
		req.Header.Set("Content-Type", f.ct)
		if r := wc.do(req); r.Status >= 500 {
			t.Errorf("POST %s %q = %d", f.path, f.body, r.Status)
		}
	}
	if strings.Contains(s.logs.String(), `"status":5`) {
		t.Errorf("a 5xx was logged")
	}
}

// TestSecurityShortRetentionRefused: serve refuses HISTORY_RETENTION under
// 72h before it listens, naming the variable and the minimum.
func TestSecurityShortRetentionRefused(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"1m", "71h59m", "2d"} {
		env := map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "METRICS_ADDR": "off", "HISTORY_RETENTION": v,
			"DATABASE_URL": filepath.Join(t.TempDir(), "db.sqlite")}
		var out strings.Builder
		err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "HISTORY_RETENTION") || !strings.Contains(err.Error(), "at least 72h") {
			t.Errorf("serve with HISTORY_RETENTION=%s = %v, want a refusal naming the variable and 72h", v, err)
		}
		if strings.Contains(out.String(), `"msg":"listening"`) {
			t.Errorf("serve with HISTORY_RETENTION=%s listened", v)
		}
	}
}

// heldCallbacks is HubSpot's callbacks API holding each completion call
// until released, counting the completions it was sent per callbackId.
type heldCallbacks struct {
	mu      sync.Mutex
	got     map[string]int
	arrived chan time.Time
	release chan struct{}
}

func (h *heldCallbacks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/automation/actions/callbacks/2026-03/") ||
		r.Header.Get("Authorization") != fmt.Sprint("Bearer sandbox-", sandboxPortalID) {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
		return
	}
	var batch struct {
		Inputs []struct {
			CallbackID string `json:"callbackId"`
		} `json:"inputs"`
	}
	ids := []string{}
	if strings.HasSuffix(r.URL.Path, "/callbacks/2026-03/complete") {
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, in := range batch.Inputs {
			ids = append(ids, in.CallbackID)
		}
	} else {
		ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/automation/actions/callbacks/2026-03/"), "/complete"))
	}
	h.mu.Lock()
	for _, id := range ids {
		h.got[id]++
	}
	h.mu.Unlock()
	h.arrived <- time.Now()
	<-h.release
	w.WriteHeader(http.StatusNoContent)
}

// TestSecurityLongActionTimeoutClaim: with ACTION_TIMEOUT=3m (over 90 s),
// the delivery claim on a BLOCKed execution's outcome lasts past the
// delivery's own timeout (ACTION_TIMEOUT + 30 s from when it claimed); a
// retry of the request while the callback is on its way, and after it was
// accepted, gets BLOCK; HubSpot is sent the outcome once.
func TestSecurityLongActionTimeoutClaim(t *testing.T) {
	t.Parallel()
	hs := &heldCallbacks{got: map[string]int{}, arrived: make(chan time.Time, 4), release: make(chan struct{})}
	api := httptest.NewServer(hs)
	t.Cleanup(api.Close)
	released := false
	release := func() {
		if !released {
			released = true
			close(hs.release)
		}
	}
	t.Cleanup(release)
	const actionTimeout = 3 * time.Minute
	s := startServer(t, map[string]string{"HUBSPOT_API_BASE_URL": api.URL, "ACTION_TIMEOUT": actionTimeout.String(), "INLINE_BUDGET": "1s"})
	const cb = "claim-long-1"
	inputs := map[string]any{"message": "slow", "delay_ms": "1500"}
	before := time.Now()
	if got := s.execute(t, "sandbox-echo", cb, sandboxPortalID, inputs); got["hs_execution_state"] != "BLOCK" {
		t.Fatalf("the slow execution = %v, want BLOCK", got)
	}
	select {
	case <-hs.arrived:
	case <-time.After(60 * time.Second):
		t.Fatal("no completion call reached HubSpot")
	}
	e, err := serverDB(t, s).GetExecution(context.Background(), cb)
	if err != nil {
		t.Fatal(err)
	}
	if jobEnd := before.Add(actionTimeout + 30*time.Second); !e.DeliveryClaimEnd.After(jobEnd) {
		t.Errorf("the delivery claim ends at %v, before the delivery's timeout at the latest (%v)", e.DeliveryClaimEnd, jobEnd)
	}
	if got := s.execute(t, "sandbox-echo", cb, sandboxPortalID, inputs); got["hs_execution_state"] != "BLOCK" {
		t.Errorf("a retry while the callback is on its way = %v, want BLOCK", got)
	}
	release()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, err = serverDB(t, s).GetExecution(context.Background(), cb)
		if err == nil && e.Exec == store.ExecDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outcome was not marked delivered: %+v, %v", e.Exec, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := s.execute(t, "sandbox-echo", cb, sandboxPortalID, inputs); got["hs_execution_state"] != "BLOCK" {
		t.Errorf("a retry after the callback was accepted = %v, want BLOCK", got)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.got[cb] != 1 {
		t.Errorf("HubSpot was sent %d completions of %s, want 1", hs.got[cb], cb)
	}
}
