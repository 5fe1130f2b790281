package salesforce

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/salesforce/salesforcetest"
	"hubspot-actions/oauth"
)

func TestConnectFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.signIn(t, 4242)
	auth, back := e.authorize(t)
	q := auth.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != salesforcetest.DefaultClientID ||
		q.Get("redirect_uri") != e.url+CallbackPath || q.Get("scope") != "api refresh_token" || q.Get("state") == "" {
		t.Fatalf("authorize URL = %s", auth)
	}
	challenge := q.Get("code_challenge")
	if q.Get("code_challenge_method") != "S256" || len(challenge) != 43 || q.Has("code_verifier") {
		t.Fatalf("authorize URL = %s, want an S256 challenge and no verifier", auth)
	}
	// The verifier is neither in the browser's cookies nor in the URL.
	u, _ := url.Parse(e.url)
	for _, ck := range e.browser.Jar.Cookies(u) {
		if strings.Contains(ck.Value, challenge) || len(ck.Value) == 43 {
			t.Errorf("cookie %s = %q looks like PKCE material", ck.Name, ck.Value)
		}
	}
	before := time.Now()
	resp, body := e.get(t, back)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != actions.SettingsPath {
		t.Fatalf("callback = %d %s %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), body, actions.SettingsPath)
	}
	// The code exchange sent the verifier whose S256 is the challenge.
	ex := e.fake.RequestsTo(http.MethodPost, salesforcetest.TokenPath)
	if len(ex) != 1 {
		t.Fatalf("token requests = %d, want 1", len(ex))
	}
	form, _ := url.ParseQuery(ex[0].Body)
	sum := sha256.Sum256([]byte(form.Get("code_verifier")))
	if form.Get("grant_type") != "authorization_code" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge || form.Get("redirect_uri") != e.url+CallbackPath {
		t.Errorf("token request form = %v, want the code, the redirect URI and the challenge's verifier", form)
	}
	ctx := context.Background()
	st, err := e.grants.Status(ctx, 4242)
	if err != nil || st.Status != oauth.StatusActive || st.AccountID != salesforcetest.DefaultOrgID || st.AccountName != e.fake.URL {
		t.Fatalf("saved grant = %+v, %v, want an active grant of org %s at %s", st, err, salesforcetest.DefaultOrgID, e.fake.URL)
	}
	// Salesforce gives no expires_in: the token is assumed to last a session.
	if want := before.Add(SessionLifetime); st.ExpiresAt.Before(want.Add(-time.Minute)) || st.ExpiresAt.After(want.Add(time.Minute)) {
		t.Errorf("grant expires at %v, want about %v", st.ExpiresAt, want)
	}
	if rt := e.refreshToken(t, 4242); rt == "" || e.fake.Revoked(rt) {
		t.Errorf("saved refresh token = %q, want the live one Salesforce issued", rt)
	}
	if _, err := e.svc.VerifyConnection(ctx, 4242); err != nil {
		t.Errorf("VerifyConnection() = %v", err)
	}
	card, err := e.svc.Card(ctx, 4242)
	if err != nil || card.Status != actions.CardConnected || !card.Connect.Connected || card.Connect.Account != strings.TrimPrefix(e.fake.URL, "http://") {
		t.Errorf("Card() = %+v, %v, want connected to the fake's org", card, err)
	}

	// Replaying the callback (the state is single use) shows a friendly page.
	resp, body = e.get(t, back)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
		t.Errorf("replayed callback = %d %q", resp.StatusCode, body)
	}
}

func TestConnectFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		run    func(t *testing.T, e *env) (*http.Response, string)
		status int
		text   string
	}{
		{"no settings session", func(t *testing.T, e *env) (*http.Response, string) {
			return e.get(t, e.url+ConnectPath)
		}, http.StatusSeeOther, ""},
		{"forged state", func(t *testing.T, e *env) (*http.Response, string) {
			e.signIn(t, 1)
			_, back := e.authorize(t)
			b, _ := url.Parse(back)
			q := b.Query()
			q.Set("state", "forged")
			b.RawQuery = q.Encode()
			return e.get(t, b.String())
		}, http.StatusBadRequest, "expired or was already used"},
		{"missing state", func(t *testing.T, e *env) (*http.Response, string) {
			e.signIn(t, 1)
			_, back := e.authorize(t)
			b, _ := url.Parse(back)
			q := b.Query()
			q.Del("state")
			b.RawQuery = q.Encode()
			return e.get(t, b.String())
		}, http.StatusBadRequest, "expired or was already used"},
		{"state from another browser", func(t *testing.T, e *env) (*http.Response, string) {
			e.signIn(t, 1)
			_, back := e.authorize(t)
			jar, _ := cookiejar.New(nil)
			e.browser.Jar = jar
			e.signIn(t, 1)
			return e.get(t, back)
		}, http.StatusBadRequest, "expired or was already used"},
		{"cancelled", func(t *testing.T, e *env) (*http.Response, string) {
			e.signIn(t, 1)
			_, back := e.authorize(t)
			b, _ := url.Parse(back)
			q := b.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			b.RawQuery = q.Encode()
			return e.get(t, b.String())
		}, http.StatusOK, "cancelled"},
		{"forged code", func(t *testing.T, e *env) (*http.Response, string) {
			e.signIn(t, 1)
			_, back := e.authorize(t)
			b, _ := url.Parse(back)
			q := b.Query()
			q.Set("code", "forged")
			b.RawQuery = q.Encode()
			return e.get(t, b.String())
		}, http.StatusBadGateway, "did not accept"},
		{"verifier of another key", func(t *testing.T, e *env) (*http.Response, string) {
			// A replica with another app secret (or a tampered verifier)
			// cannot complete the exchange: Salesforce checks PKCE.
			e.signIn(t, 1)
			_, back := e.authorize(t)
			e.svc.secret = func(context.Context, string) ([]byte, error) { return []byte("another key, another verifier!!!"), nil }
			return e.get(t, back)
		}, http.StatusBadGateway, "did not accept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, salesforcetest.Options{})
			resp, body := tt.run(t, e)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.text) {
				t.Fatalf("answer = %d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.text)
			}
			if _, err := e.grants.Status(context.Background(), 1); !errors.Is(err, oauth.ErrNotConnected) {
				t.Errorf("grant after a failed connect: %v, want none saved", err)
			}
		})
	}
}

// TestConnectRefusesForeignInstanceURL: a token answer whose instance_url
// is not Salesforce's is never saved (so no call, and no token, goes
// there), and its grant is revoked.
func TestConnectRefusesForeignInstanceURL(t *testing.T) {
	t.Parallel()
	for _, instance := range []string{"https://evil.example", "https://salesforce.com.evil.example", "http://acme.my.salesforce.com", "https://acme.my.salesforce.com:8443"} {
		t.Run(instance, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, salesforcetest.Options{InstanceURL: instance})
			e.signIn(t, 7)
			_, back := e.authorize(t)
			resp, body := e.get(t, back)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "nothing was connected") {
				t.Fatalf("callback = %d %q, want 502 and nothing connected", resp.StatusCode, body)
			}
			if _, err := e.grants.Status(context.Background(), 7); !errors.Is(err, oauth.ErrNotConnected) {
				t.Errorf("grant = %v, want none saved", err)
			}
			rv := e.fake.RequestsTo(http.MethodPost, salesforcetest.RevokePath)
			if len(rv) != 1 {
				t.Fatalf("revoke requests = %d, want the refused grant revoked", len(rv))
			}
			form, _ := url.ParseQuery(rv[0].Body)
			if !e.fake.Revoked(form.Get("token")) {
				t.Errorf("revoked token %q is still live", form.Get("token"))
			}
		})
	}
}

func TestCheckInstanceURL(t *testing.T) {
	t.Parallel()
	p := &Provider{cfg: Config{LoginURL: "https://login.salesforce.com"}}
	mine := &Provider{cfg: Config{LoginURL: "https://acme.my.salesforce.com"}}
	local := &Provider{cfg: Config{LoginURL: "http://127.0.0.1:4321"}}
	tests := []struct {
		p    *Provider
		url  string
		want bool
	}{
		{p, "https://acme.my.salesforce.com", true},
		{p, "https://ACME.my.salesforce.com/", true},
		{p, "https://na1.salesforce.com", true},
		{p, "https://acme--dev.sandbox.my.salesforce.com", true},
		{p, "https://acme.lightning.force.com", true},
		{p, "https://acme.cloudforce.com", true},
		{mine, "https://acme.my.salesforce.com", true},
		{local, "http://127.0.0.1:4321", true},
		{p, "http://acme.my.salesforce.com", false},
		{p, "https://salesforce.com", false},
		{p, "https://evilsalesforce.com", false},
		{p, "https://salesforce.com.evil.example", false},
		{p, "https://acme.my.salesforce.com.evil.example", false},
		{p, "https://acme.my.salesforce.com:8443", false},
		{p, "https://user:pw@acme.my.salesforce.com", false},
		{p, "https://acme.my.salesforce.com/services", false},
		{p, "https://acme.my.salesforce.com?x=1", false},
		{p, "https://acme.my.salesforce.com#x", false},
		{p, "https://-bad.my.salesforce.com", false},
		{p, "https://a_b.my.salesforce.com", false},
		{p, "https://127.0.0.1", false},
		{p, "http://127.0.0.1:4321", false},
		{local, "http://127.0.0.1:4322", false},
		{local, "https://127.0.0.1:4321", false},
		{p, "", false},
		{p, "javascript:alert(1)", false},
		{p, "//acme.my.salesforce.com", false},
	}
	for _, tt := range tests {
		err := tt.p.checkInstanceURL(tt.url)
		if (err == nil) != tt.want {
			t.Errorf("checkInstanceURL(%q) with login %s = %v, want ok %v", tt.url, tt.p.cfg.LoginURL, err, tt.want)
		}
	}
}

func TestDisconnectRevokes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 5)
	ctx := context.Background()
	rt := e.refreshToken(t, 5)
	if err := e.svc.Disconnect(ctx, 5); err != nil {
		t.Fatalf("Disconnect() = %v", err)
	}
	if !e.fake.Revoked(rt) {
		t.Error("the refresh token is still live at Salesforce after Disconnect")
	}
	rv := e.fake.RequestsTo(http.MethodPost, salesforcetest.RevokePath)
	if len(rv) != 1 || rv[0].Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("revoke requests = %+v, want one form post", rv)
	}
	if ok, err := e.svc.Connected(ctx, 5); ok || err != nil {
		t.Errorf("Connected() after Disconnect = %v, %v, want false", ok, err)
	}
	_, err := e.svc.upsertLead(ctx, execution(5, "cb-1", "101", nil), leadIn{Email: "jane@example.com"})
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Code != actions.CodeNotConnected {
		t.Errorf("action after Disconnect = %v, want NOT_CONNECTED", err)
	}
	// Disconnecting again is a no-op.
	if err := e.svc.Disconnect(ctx, 5); err != nil {
		t.Errorf("second Disconnect() = %v", err)
	}
}

// TestDisconnectWhenSalesforceIsDown: the grant is forgotten even when the
// revocation cannot be sent, and the error says so.
func TestDisconnectWhenSalesforceIsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 6)
	e.svc.cfg.LoginURL = "http://127.0.0.1:1" // nothing listens there
	err := e.svc.Disconnect(context.Background(), 6)
	if !errors.Is(err, actions.ErrNotRevoked) {
		t.Fatalf("Disconnect() = %v, want ErrNotRevoked", err)
	}
	if ok, _ := e.svc.Connected(context.Background(), 6); ok {
		t.Error("grant still stored after Disconnect")
	}
}
