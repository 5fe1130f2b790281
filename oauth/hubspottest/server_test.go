package hubspottest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func postForm(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestAuthorizeAndExchange(t *testing.T) {
	t.Parallel()
	s := NewTestServer(t, Config{ClientID: "id", ClientSecret: "sec", RedirectURL: "https://app.example/cb", OmitHubID: true})
	authorize := func(q url.Values) *http.Response {
		t.Helper()
		resp, err := noRedirect().Get(s.URL() + "/oauth/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	q := url.Values{"client_id": {"id"}, "redirect_uri": {"https://app.example/cb"}, "scope": {"oauth automation"}, "optional_scope": {"tickets"}, "state": {"st"}}
	resp := authorize(q)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host != "app.example" || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize = %d to %q, want 302 to the redirect URL with code and state", resp.StatusCode, loc)
	}
	code := loc.Query().Get("code")

	bad := url.Values{"client_id": {"other"}, "redirect_uri": {"https://app.example/cb"}, "scope": {"oauth"}}
	if r := authorize(bad); r.StatusCode != http.StatusBadRequest {
		t.Errorf("authorize(unknown client) = %d, want 400", r.StatusCode)
	}
	wrongRedirect := url.Values{"client_id": {"id"}, "redirect_uri": {"https://evil.example/cb"}, "scope": {"oauth"}}
	if r := authorize(wrongRedirect); r.StatusCode != http.StatusBadRequest {
		t.Errorf("authorize(other redirect_uri) = %d, want 400", r.StatusCode)
	}

	exchange := url.Values{"grant_type": {"authorization_code"}, "client_id": {"id"}, "client_secret": {"sec"}, "code": {code}, "redirect_uri": {"https://app.example/cb"}}
	wrongSecret := url.Values{}
	for k, v := range exchange {
		wrongSecret[k] = v
	}
	wrongSecret.Set("client_secret", "nope")
	if st, body := postForm(t, s.URL()+"/oauth/2026-03/token", wrongSecret); st != http.StatusBadRequest || body["error"] != "invalid_client" {
		t.Errorf("token(wrong secret) = %d %v, want 400 invalid_client", st, body)
	}
	st, body := postForm(t, s.URL()+"/oauth/2026-03/token", exchange)
	if st != http.StatusOK || body["access_token"] == "" || body["expires_in"] != float64(1800) || body["hub_id"] != nil {
		t.Fatalf("token(code) = %d %v, want 200 with tokens, 1800 s and no hub_id", st, body)
	}
	if st, body := postForm(t, s.URL()+"/oauth/2026-03/token", exchange); st != http.StatusBadRequest || body["status"] != "BAD_AUTH_CODE" {
		t.Errorf("token(code again) = %d %v, want 400 BAD_AUTH_CODE", st, body)
	}

	intro := url.Values{"client_id": {"id"}, "client_secret": {"sec"}, "token": {body["access_token"].(string)}, "token_type_hint": {"access_token"}}
	if st, ib := postForm(t, s.URL()+"/oauth/2026-03/token/introspect", intro); st != http.StatusOK || ib["active"] != true || ib["hub_id"] != float64(7000001) || ib["user"] != "admin@example.com" {
		t.Errorf("introspect = %d %v, want active, hub 7000001, admin@example.com", st, ib)
	}

	rt := body["refresh_token"].(string)
	revoke := url.Values{"client_id": {"id"}, "client_secret": {"sec"}, "token": {rt}, "token_type_hint": {"refresh_token"}}
	if st, _ := postForm(t, s.URL()+"/oauth/2026-03/token/revoke", revoke); st != http.StatusOK || s.RefreshTokenLive(rt) {
		t.Errorf("revoke = %d, live %v; want 200 and the token dead", st, s.RefreshTokenLive(rt))
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {"id"}, "client_secret": {"sec"}, "refresh_token": {rt}}
	if st, body := postForm(t, s.URL()+"/oauth/2026-03/token", refresh); st != http.StatusBadRequest || body["error"] != "invalid_grant" || body["status"] != "BAD_REFRESH_TOKEN" {
		t.Errorf("token(revoked refresh token) = %d %v, want 400 invalid_grant BAD_REFRESH_TOKEN", st, body)
	}
	if s.RefreshCalls() != 1 {
		t.Errorf("RefreshCalls() = %d, want 1", s.RefreshCalls())
	}
}

func TestViolationsAreRecorded(t *testing.T) {
	t.Parallel()
	s := NewServer(Config{ClientID: "id", ClientSecret: "sec"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start(ln)
	t.Cleanup(func() { s.Close() })
	tok := s.Grant(1)

	send := func(method, path, contentType, body string, hdr map[string]string) int {
		req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	var batch []string
	for i := range 101 {
		batch = append(batch, fmt.Sprintf(`{"callbackId":"c%d","outputFields":{},"typedOutputs":{}}`, i))
	}
	tests := []struct {
		name             string
		method, path, ct string
		body             string
		hdr              map[string]string
		want             int
		violation        string
	}{
		{"secret in query", "POST", "/oauth/2026-03/token?client_secret=sec", "application/x-www-form-urlencoded",
			"grant_type=refresh_token&client_id=id&client_secret=sec&refresh_token=" + tok.RefreshToken, nil, 200, "query string"},
		{"basic auth", "POST", "/oauth/2026-03/token", "application/x-www-form-urlencoded",
			"grant_type=refresh_token&client_id=id&client_secret=sec&refresh_token=" + tok.RefreshToken, map[string]string{"Authorization": "Basic aWQ6c2Vj"}, 200, "Authorization header"},
		{"JSON token request", "POST", "/oauth/2026-03/token", "application/json", `{}`, nil, 400, "content type"},
		{"number in outputFields", "POST", "/automation/actions/callbacks/2026-03/ap-1/complete", "application/json",
			`{"outputFields":{"count":3}}`, bearer, 400, "not a string"},
		{"batch over 100", "POST", "/automation/actions/callbacks/2026-03/complete", "application/json",
			`{"inputs":[` + strings.Join(batch, ",") + `]}`, bearer, 400, "101 inputs"},
		{"no bearer", "POST", "/automation/actions/callbacks/2026-03/ap-1/complete", "application/json", `{"outputFields":{}}`, nil, 401, "no bearer"},
		{"comma scopes", "GET", "/oauth/authorize?client_id=id&redirect_uri=https://a.example/cb&scope=oauth,automation", "", "", nil, 302, "comma-separated"},
		{"unknown path", "GET", "/crm/v3/objects/deals", "", "", nil, 404, "unexpected request"},
	}
	for _, tt := range tests {
		s.ClearViolations()
		got := 0
		if tt.method == "GET" {
			resp, err := noRedirect().Get(s.URL() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got = resp.StatusCode
		} else {
			got = send(tt.method, tt.path, tt.ct, tt.body, tt.hdr)
		}
		v := s.Violations()
		if got != tt.want || len(v) == 0 || !strings.Contains(strings.Join(v, "\n"), tt.violation) {
			t.Errorf("%s: status %d, violations %q; want %d and a violation about %q", tt.name, got, v, tt.want, tt.violation)
		}
	}
}

func TestCallbacksAndRateLimitHeaders(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	s := NewTestServer(t, Config{ClientID: "id", ClientSecret: "sec", RateLimitMax: 2, EnforceRateLimit: true, Now: clock})
	tok := s.Grant(1, "oauth") // no automation scope
	other := s.Grant(2)
	post := func(token, id string) *http.Response {
		req, _ := http.NewRequest("POST", s.URL()+"/automation/actions/callbacks/2026-03/"+id+"/complete", strings.NewReader(`{"outputFields":{"hs_execution_state":"SUCCESS"},"typedOutputs":{}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post(tok.AccessToken, "a"); r.StatusCode != http.StatusForbidden {
		t.Errorf("complete without automation scope = %d, want 403", r.StatusCode)
	}
	r := post(other.AccessToken, "b")
	if r.StatusCode != http.StatusNoContent || r.Header.Get("X-HubSpot-RateLimit-Remaining") != "1" || r.Header.Get("X-HubSpot-RateLimit-Max") != "2" {
		t.Errorf("complete = %d, remaining %q; want 204, 1 of 2 left", r.StatusCode, r.Header.Get("X-HubSpot-RateLimit-Remaining"))
	}
	post(other.AccessToken, "b")
	if r := post(other.AccessToken, "c"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third call in the window = %d, want 429", r.StatusCode)
	}
	if s.Duplicates() != 1 || len(s.Completions()) != 2 {
		t.Errorf("duplicates %d, completions %d; want 1 and 2", s.Duplicates(), len(s.Completions()))
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if r := post(other.AccessToken, "d"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("complete with an expired token = %d, want 401", r.StatusCode)
	}
}

func TestOnCompleteSeesEveryCompletion(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	s := NewTestServer(t, Config{SandboxTokens: true, OnComplete: func(c Completion) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%d %s %s %v", c.PortalID, c.CallbackID, c.OutputFields["hs_execution_state"], c.Batch))
	}})
	post := func(path, body string) {
		req, _ := http.NewRequest("POST", s.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer sandbox-77")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST %s = %d", path, resp.StatusCode)
		}
	}
	post("/automation/actions/callbacks/2026-03/a/complete", `{"outputFields":{"hs_execution_state":"SUCCESS"},"typedOutputs":{}}`)
	post("/automation/actions/callbacks/2026-03/complete", `{"inputs":[{"callbackId":"b","outputFields":{"hs_execution_state":"FAIL_CONTINUE"},"typedOutputs":{}},{"callbackId":"a","outputFields":{"hs_execution_state":"SUCCESS"},"typedOutputs":{}}]}`)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"77 a SUCCESS false", "77 b FAIL_CONTINUE true", "77 a SUCCESS true"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("OnComplete saw %q, want %q", seen, want)
	}
	if s.Duplicates() != 1 {
		t.Errorf("Duplicates() = %d, want 1", s.Duplicates())
	}
}

func TestObject(t *testing.T) {
	t.Parallel()
	s := NewServer(Config{})
	s.SeedObject(5, "DEAL", "9", map[string]string{"dealname": "Big"})
	if p, ok := s.Object(5, "deals", "9"); !ok || p["dealname"] != "Big" {
		t.Errorf("Object(5, deals, 9) = %v, %v", p, ok)
	}
	if _, ok := s.Object(6, "0-3", "9"); ok {
		t.Errorf("Object of another portal found")
	}
}

// TestUninstall: the app uninstall API wants DELETE with a live access
// token carrying the oauth scope, answers 204, and leaves every token of
// the portal dead: API calls answer 401 and refreshes invalid_grant.
func TestUninstall(t *testing.T) {
	t.Parallel()
	s := NewTestServer(t, Config{ClientID: "id", ClientSecret: "sec"})
	del := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodDelete, s.URL()+"/appinstalls/2026-03/external-install", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusNoContent && len(b) != 0 {
			t.Errorf("uninstall answered 204 with a body %q", b)
		}
		return resp.StatusCode
	}
	noOAuth := s.Grant(7000002, "automation")
	if got := del(noOAuth.AccessToken); got != http.StatusForbidden {
		t.Errorf("uninstall with a token lacking the oauth scope = %d, want 403", got)
	}
	other := s.Grant(7000003)
	tok := s.Grant(7000001)
	if got := del(tok.AccessToken); got != http.StatusNoContent {
		t.Fatalf("uninstall = %d, want 204", got)
	}
	if got := s.Uninstalls(); len(got) != 1 || got[0] != 7000001 {
		t.Errorf("Uninstalls() = %v, want [7000001]", got)
	}
	if got := del(tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("uninstall again with the same token = %d, want 401", got)
	}
	code, body := postForm(t, s.URL()+"/oauth/2026-03/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"id"}, "client_secret": {"sec"}, "refresh_token": {tok.RefreshToken}})
	if code != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after uninstall = %d %v, want 400 invalid_grant", code, body)
	}
	if !s.RefreshTokenLive(other.RefreshToken) {
		t.Error("uninstalling portal 7000001 revoked portal 7000003's refresh token")
	}
	s.Fail(EndpointUninstall, 1, http.StatusServiceUnavailable, 0)
	if got := del(other.AccessToken); got != http.StatusServiceUnavailable {
		t.Errorf("uninstall with a fault queued = %d, want 503", got)
	}
	if got := s.Calls(EndpointUninstall); got != 4 {
		t.Errorf("Calls(EndpointUninstall) = %d, want 4", got)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
	// Without a token is a violation: a real client always sends one.
	if got := del(""); got != http.StatusUnauthorized {
		t.Errorf("uninstall without a token = %d, want 401", got)
	}
	if v := s.Violations(); len(v) != 1 {
		t.Errorf("violations after a call without a token: %v, want 1", v)
	}
	s.ClearViolations()
}
