package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// getGuide serves the public guide for reg, providers and facts behind
// the pages' security headers, as the binary does, and fetches it once.
// It checks nothing about the answer.
func getGuide(t *testing.T, reg *actions.Registry, providers []actions.Provider, facts GuideFacts) (*http.Response, string) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	w := New(oauth.New(oauth.Config{}, nil, &http.Client{}, log), NewSessions(nil, false), []byte("csrf key, csrf key, csrf key, 32"), log)
	e := actions.NewServer(log, actions.NewValidator())
	e.GET(actions.GuidePath, HandleGuide(w, reg, providers, facts), w.Secure)
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + actions.GuidePath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// guideBody fetches the guide, fails the test unless it is served, checks
// that it is accessible, and returns it.
func guideBody(t *testing.T, reg *actions.Registry, providers []actions.Provider, facts GuideFacts) string {
	t.Helper()
	resp, body := getGuide(t, reg, providers, facts)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /guide = %d:\n%s", resp.StatusCode, body)
	}
	admintest.CheckAccessible(t, "/guide", body)
	return body
}

// guideElements is guideBody with the guide's elements indexed by id.
func guideElements(t *testing.T, reg *actions.Registry, providers []actions.Provider, facts GuideFacts) map[string]*html.Node {
	t.Helper()
	return elementsByID(t, guideBody(t, reg, providers, facts))
}

// elementsByID parses a page and indexes its elements by id.
func elementsByID(t *testing.T, body string) map[string]*html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*html.Node{}
	for n := range doc.Descendants() {
		if id := admintest.Attr(n, "id"); n.Type == html.ElementNode && id != "" {
			out[id] = n
		}
	}
	return out
}

// wantIn reports an error unless the page has an element #id whose text
// contains each of want.
func wantIn(t *testing.T, byID map[string]*html.Node, id string, want ...string) {
	t.Helper()
	n, ok := byID[id]
	if !ok {
		t.Errorf("the page has no #%s", id)
		return
	}
	got := admintest.NodeText(n)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("#%s says %q, want it to contain %q", id, got, w)
		}
	}
}

// wantNotIn reports an error if the text of element #id contains any of
// unwanted. A missing element passes: wantIn is what asks for it.
func wantNotIn(t *testing.T, byID map[string]*html.Node, id string, unwanted ...string) {
	t.Helper()
	n, ok := byID[id]
	if !ok {
		return
	}
	got := admintest.NodeText(n)
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			t.Errorf("#%s says %q, want it not to contain %q", id, got, u)
		}
	}
}

// portalDB opens a test store (sealed with an all-zero key) holding
// portal p.
func portalDB(t *testing.T, p store.Portal) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.URL(t), store.WithKeys(make([]byte, 32), nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.UpsertPortal(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	return db
}

// signIn stores session s through the pages' own session manager and
// returns the cookie a browser gets for it, after checking that the cookie
// signs in, and the CSRF token that session's forms carry.
func signIn(t *testing.T, e *echo.Echo, w *Pages, sessions *Sessions, s Session) (*http.Cookie, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := sessions.Set(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), s); err != nil {
		t.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(cookie)
	got, ok := sessions.Get(e.NewContext(req, httptest.NewRecorder()))
	if !ok {
		t.Fatal("the session cookie does not sign in")
	}
	return cookie, w.csrfToken(got)
}

// browser is a client that sends cookie to base only and does not follow
// redirects.
func browser(base string, cookie *http.Cookie) *http.Client {
	u, _ := url.Parse(base)
	return &http.Client{Jar: &cookieJar{cookie: cookie, url: u}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
