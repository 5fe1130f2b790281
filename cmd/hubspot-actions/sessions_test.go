package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// copyOf returns a second browser carrying a copy of wc's cookies, as an
// attacker who copied the session cookie would.
func (wc *webClient) copyOf() *webClient {
	wc.t.Helper()
	u, _ := url.Parse(wc.s.URL)
	c := newWebClient(wc.t, wc.s)
	c.hc.Jar.SetCookies(u, wc.hc.Jar.Cookies(u))
	return c
}

// wantSignedOut checks that a browser has no session: pages go through
// the install flow, forms get the session-ended page.
func wantSignedOut(t *testing.T, what string, wc *webClient, token string) {
	t.Helper()
	if r := wc.get("/settings"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/oauth/hubspot/install" {
		t.Errorf("%s: GET /settings = %d to %q, want 303 to /oauth/hubspot/install", what, r.Status, r.Header.Get("Location"))
	}
	wantSessionEnded(t, what+": POST /settings/keys/clearbit/delete", wc.post("/settings/keys/clearbit/delete", url.Values{"csrf_token": {token}}))
}

// TestCopiedSessionCookie: a copy of a session cookie stops working when
// its session is signed out, when the portal is reinstalled (the new
// session works, CSRF included) and when `portals remove` removes the
// portal from another process.
func TestCopiedSessionCookie(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)

	// Sign-out ends the session for every copy of the cookie.
	wc := signIn(t, s)
	token := wc.csrf()
	stolen := wc.copyOf()
	if r := stolen.get("/settings"); r.Status != http.StatusOK {
		t.Fatalf("the copied cookie before sign-out: GET /settings = %d, want 200", r.Status)
	}
	if r := wc.post("/settings/logout", url.Values{"csrf_token": {token}}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signed-out" {
		t.Fatalf("logout = %d to %q", r.Status, r.Header.Get("Location"))
	}
	wantSignedOut(t, "copied cookie after sign-out", stolen, token)

	// A reinstall ends every session of the portal; the new one works.
	old := signIn(t, s)
	oldToken := old.csrf()
	stolen = old.copyOf()
	fresh := signIn(t, s)
	wantSignedOut(t, "copied cookie after reinstall", stolen, oldToken)
	wantSignedOut(t, "old browser after reinstall", old, oldToken)
	if r := fresh.get("/settings"); r.Status != http.StatusOK {
		t.Errorf("the new session after reinstall: GET /settings = %d, want 200", r.Status)
	}
	freshToken := fresh.csrf()
	if freshToken == oldToken {
		t.Error("the new session has the old session's CSRF token")
	}
	if r := fresh.post("/settings/keys/clearbit/delete", url.Values{"csrf_token": {oldToken}}); r.Status != http.StatusForbidden {
		t.Errorf("the new session with the old CSRF token = %d, want 403", r.Status)
	}
	if r := fresh.post("/settings/keys/clearbit/delete", url.Values{"csrf_token": {freshToken}}); r.Status != http.StatusSeeOther {
		t.Errorf("the new session with its CSRF token = %d, want 303", r.Status)
	}

	// `portals remove`, in another process, ends them too.
	stolen = fresh.copyOf()
	var out bytes.Buffer
	env := map[string]string{"DATABASE_URL": s.DatabaseURL, "DATA_DIR": filepath.Join(s.Dir, "data")}
	id := strconv.FormatInt(sandboxPortalID, 10)
	if err := run(context.Background(), []string{"portals", "remove", id}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("portals remove: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Signed out 1 settings session(s) of portal "+id) {
		t.Errorf("portals remove said:\n%s\nwant it to report one session signed out", out.String())
	}
	wantSignedOut(t, "copied cookie after portals remove", stolen, freshToken)
	wantSignedOut(t, "the admin's browser after portals remove", fresh, freshToken)
}
