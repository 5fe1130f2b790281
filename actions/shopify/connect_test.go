package shopify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/shopify/shopifytest"
)

func TestNormalizeShop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"acme.myshopify.com", "acme.myshopify.com", true},
		{" ACME-Shop.myshopify.com ", "acme-shop.myshopify.com", true},
		{"https://acme.myshopify.com/", "acme.myshopify.com", true},
		{"evil.com", "", false},
		{"x.myshopify.com.evil.com", "", false},
		{"x.myshopify.com@evil.com", "", false},
		{"evil.com/x.myshopify.com", "", false},
		{"x.myshopify.com:8443", "", false},
		{"x.myshopify.com/admin", "", false},
		{"a.b.myshopify.com", "", false},
		{"myshopify.com", "", false},
		{".myshopify.com", "", false},
		{"-x.myshopify.com", "", false},
		{"http://x.myshopify.com", "", false},
		{"x.myshopify.com#", "", false},
		{"x.myshopify.com\n", "x.myshopify.com", true},
		{"x%2emyshopify.com", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeShop(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeShop(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzNormalizeShop(f *testing.F) {
	for _, s := range []string{"acme.myshopify.com", "x.myshopify.com@evil.com", "x.myshopify.com.evil.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		shop, ok := NormalizeShop(s)
		if !ok {
			return
		}
		u, err := url.Parse("https://" + shop)
		if err != nil || u.Host != shop || u.Hostname() != shop || u.User != nil || u.Path != "" {
			t.Fatalf("NormalizeShop(%q) = %q, which is not a bare host", s, shop)
		}
	})
}

func TestConnectEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shopifytest.Options{})
	e.connect(t, portal, "Acme-Test.myshopify.com")
	row, ok := e.stored(t, portal)
	if !ok || row.AccountID != testShop || !e.fake.TokenValid(row.AccessToken) {
		t.Fatalf("stored token = %v (found %v), want a live token for %s", row, ok, testShop)
	}
	card, err := e.p.Card(context.Background(), portal)
	if err != nil || card.Status != actions.CardConnected || card.Connect.Account != testShop {
		t.Fatalf("Card() = %+v, %v, want connected to %s", card, err, testShop)
	}
}

func TestConnectRefusesHostileShops(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shopifytest.Options{})
	for _, shop := range []string{"evil.com", "x.myshopify.com.evil.com", "x.myshopify.com@evil.com", "x.myshopify.com:443", "x.myshopify.com/..", ""} {
		c := e.browser(t, portal)
		resp, body := submit(t, c, e.srv.URL, formToken(t, c, e.srv.URL), shop)
		if resp.StatusCode != http.StatusBadRequest || !contains(body, "myshopify.com") {
			t.Errorf("connect %q = %d, want 400 naming myshopify.com", shop, resp.StatusCode)
		}
	}
	for _, r := range e.fake.Requests() {
		t.Errorf("the fake was called (%s %s) for a refused shop", r.Method, r.Path)
	}
}

func TestConnectNeedsFormToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shopifytest.Options{})
	c := e.browser(t, portal)
	if resp, _ := submit(t, c, e.srv.URL, "forged", testShop); resp.StatusCode != http.StatusForbidden {
		t.Errorf("connect with a forged token = %d, want 403", resp.StatusCode)
	}
	tok := formToken(t, c, e.srv.URL)
	// Another admin's browser cannot use it.
	if resp, _ := submit(t, e.browser(t, portal+1), e.srv.URL, tok, testShop); resp.StatusCode != http.StatusForbidden {
		t.Errorf("connect with another browser's token = %d, want 403", resp.StatusCode)
	}
	if _, ok := e.stored(t, portal); ok {
		t.Fatal("a token was saved")
	}
	// No session: sent to install.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(e.srv.URL + ConnectPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != actions.InstallPath {
		t.Errorf("GET connect without session = %d %q, want 303 to install", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// startFlow runs the flow up to Shopify's redirect back and returns the
// browser and the callback URL, not yet followed.
func startFlow(t *testing.T, e *env) (*http.Client, *url.URL) {
	t.Helper()
	c := e.browser(t, portal)
	tok := formToken(t, c, e.srv.URL)
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == CallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, _ := submit(t, c, e.srv.URL, tok, testShop)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Path != CallbackPath {
		t.Fatalf("flow = %d %q, want a redirect to the callback", resp.StatusCode, resp.Header.Get("Location"))
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, loc
}

func get(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestCallbackChecks(t *testing.T) {
	t.Parallel()
	tamper := map[string]func(q url.Values){
		"tampered shop": func(q url.Values) { q.Set("shop", "other.myshopify.com") },
		"tampered code": func(q url.Values) { q.Set("code", q.Get("code")+"x") },
		"no hmac":       func(q url.Values) { q.Del("hmac") },
		"hmac of another": func(q url.Values) {
			q.Set("hmac", shopifytest.Sign(url.Values{"x": {"1"}}, shopifytest.DefaultClientSecret))
		},
		"signed evil shop": func(q url.Values) {
			q.Set("shop", "x.myshopify.com.evil.com")
			q.Set("hmac", shopifytest.Sign(q, shopifytest.DefaultClientSecret))
		},
		"signed other shop": func(q url.Values) {
			q.Set("shop", "other.myshopify.com")
			q.Set("hmac", shopifytest.Sign(q, shopifytest.DefaultClientSecret))
		},
		"old timestamp": func(q url.Values) {
			q.Set("timestamp", strconv.FormatInt(time.Now().Add(-2*time.Hour).Unix(), 10))
			q.Set("hmac", shopifytest.Sign(q, shopifytest.DefaultClientSecret))
		},
	}
	for name, fn := range tamper {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, shopifytest.Options{})
			c, loc := startFlow(t, e)
			q := loc.Query()
			fn(q)
			loc.RawQuery = q.Encode()
			if got := get(t, c, loc.String()); got != http.StatusBadRequest {
				t.Errorf("callback = %d, want 400", got)
			}
			if _, ok := e.stored(t, portal); ok {
				t.Error("a token was saved")
			}
		})
	}
}

func TestCallbackStateSingleUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shopifytest.Options{})
	c, loc := startFlow(t, e)
	if got := get(t, c, loc.String()); got != http.StatusSeeOther {
		t.Fatalf("callback = %d, want 303", got)
	}
	if got := get(t, c, loc.String()); got != http.StatusBadRequest {
		t.Errorf("callback replayed = %d, want 400", got)
	}
	// A callback from another browser (no state cookie) is refused.
	_, loc2 := startFlow(t, e)
	other := e.browser(t, portal)
	other.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if got := get(t, other, loc2.String()); got != http.StatusBadRequest {
		t.Errorf("callback in another browser = %d, want 400", got)
	}
}

func TestDisconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shopifytest.Options{})
	e.connect(t, portal, testShop)
	row, _ := e.stored(t, portal)
	if err := e.p.Disconnect(context.Background(), portal); err != nil {
		t.Fatalf("Disconnect() = %v", err)
	}
	if _, ok := e.stored(t, portal); ok {
		t.Error("token still stored")
	}
	if e.fake.TokenValid(row.AccessToken) {
		t.Error("token still valid at Shopify")
	}
	if ok, err := e.p.Connected(context.Background(), portal); ok || err != nil {
		t.Errorf("Connected() = %v, %v, want false", ok, err)
	}
	// Disconnecting again is a no-op.
	if err := e.p.Disconnect(context.Background(), portal); err != nil {
		t.Errorf("Disconnect() again = %v", err)
	}
}

func TestDisconnectUnreachable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shopifytest.Options{})
	e.connect(t, portal, testShop)
	e.p.cfg.APIBaseURL = "http://127.0.0.1:1" // nothing listens
	err := e.p.Disconnect(context.Background(), portal)
	if !errors.Is(err, actions.ErrNotRevoked) {
		t.Errorf("Disconnect() = %v, want ErrNotRevoked", err)
	}
	if _, ok := e.stored(t, portal); ok {
		t.Error("token still stored")
	}
}

// TestShopifyCallsFollowNoRedirect: a redirect from the shop's host is not
// followed, so neither the access token (X-Shopify-Access-Token, which Go
// keeps on a cross-host redirect) nor the client secret of a code exchange
// ever reaches another host.
func TestShopifyCallsFollowNoRedirect(t *testing.T) {
	t.Parallel()
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
	}))
	t.Cleanup(elsewhere.Close)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(shop.Close)
	e := newEnv(t, shopifytest.Options{})
	req, _ := http.NewRequest(http.MethodPost, shop.URL+"/admin/oauth/access_token", strings.NewReader("client_secret=s"))
	req.Header.Set("X-Shopify-Access-Token", "shpat_secret")
	resp, err := e.p.hc.Do(req)
	if err != nil {
		t.Fatalf("Do() = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || leaked.Load() != 0 {
		t.Errorf("answer %d with %d requests elsewhere; want the 307 itself and none", resp.StatusCode, leaked.Load())
	}
}
