package salesforcetest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// token runs the authorization code flow with PKCE against the fake and
// returns an access token.
func token(t *testing.T, f *Fake) string {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	nc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "redirect_uri": {"https://app.example/cb"}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	resp, err := nc.Get(f.URL + AuthorizePath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "client_id": {DefaultClientID},
		"client_secret": {DefaultClientSecret}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}}
	resp, err = http.PostForm(f.URL+TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 || out["access_token"] == nil || out["expires_in"] != nil || out["instance_url"] != f.URL {
		t.Fatalf("token answer = %d %v", resp.StatusCode, out)
	}
	return out["access_token"].(string)
}

func call(t *testing.T, f *Fake, tok, method, path, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestUpsertStatuses(t *testing.T) {
	t.Parallel()
	f := Start(t, Options{})
	tok := token(t, f)
	path := func(v string) string {
		return "/services/data/" + v + "/sobjects/Lead/" + DefaultExternalIDField + "/77"
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		text                     string
	}{
		{"create", "PATCH", path("v63.0"), `{"LastName":"L","Company":"C"}`, 201, `"created":true`},
		{"update", "PATCH", path("v63.0"), `{"FirstName":"F"}`, 200, `"created":false`},
		{"update before v46", "PATCH", path("v45.0"), `{"FirstName":"G"}`, 204, ""},
		{"external id in the body", "PATCH", path("v63.0"), `{"` + DefaultExternalIDField + `":"1"}`, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"unknown field", "PATCH", "/services/data/v63.0/sobjects/Lead/Nope__c/1", `{"LastName":"L"}`, 404, "NOT_FOUND"},
		{"required fields", "PATCH", "/services/data/v63.0/sobjects/Lead/" + DefaultExternalIDField + "/78", `{"FirstName":"F"}`, 400, "REQUIRED_FIELD_MISSING"},
		{"unknown version", "GET", "/services/data/v99.0/limits", "", 404, "NOT_FOUND"},
		{"malformed query", "GET", "/services/data/v63.0/query?q=" + url.QueryEscape(`SELECT Id FROM Lead WHERE Email = 'a' OR Email != 'b'`), "", 400, "MALFORMED_QUERY"},
		{"wildcard escape outside LIKE", "GET", "/services/data/v63.0/query?q=" + url.QueryEscape(`SELECT Id FROM Lead WHERE Email = 'a\%'`), "", 400, "MALFORMED_QUERY"},
		{"unterminated literal", "GET", "/services/data/v63.0/query?q=" + url.QueryEscape(`SELECT Id FROM Lead WHERE Email = 'a\'`), "", 400, "MALFORMED_QUERY"},
	}
	for _, tt := range tests {
		status, h, body := call(t, f, tok, tt.method, tt.path, tt.body)
		if status != tt.status || !strings.Contains(body, tt.text) {
			t.Errorf("%s: %s %s = %d %s, want %d with %q", tt.name, tt.method, tt.path, status, body, tt.status, tt.text)
		}
		if tt.status != 404 || tt.name == "unknown field" {
			if _, ok := strings.CutPrefix(h.Get("Sforce-Limit-Info"), "api-usage="); !ok {
				t.Errorf("%s: Sforce-Limit-Info = %q", tt.name, h.Get("Sforce-Limit-Info"))
			}
		}
	}
	f.AddLead(Lead{"LastName": "Twin", "Company": "C", DefaultExternalIDField: "77"})
	if status, _, body := call(t, f, tok, "PATCH", path("v63.0"), `{"FirstName":"F"}`); status != 300 || !strings.Contains(body, "/sobjects/Lead/") {
		t.Errorf("upsert with two matches = %d %s, want 300 with their URLs", status, body)
	}
	if status, _, body := call(t, f, "forged", "GET", "/services/data/v63.0/limits", ""); status != 401 || !strings.Contains(body, "INVALID_SESSION_ID") {
		t.Errorf("forged token = %d %s", status, body)
	}
}

func TestExchangeChecksVerifier(t *testing.T) {
	t.Parallel()
	f := Start(t, Options{})
	sum := sha256.Sum256([]byte(strings.Repeat("v", 43)))
	nc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "redirect_uri": {"https://app.example/cb"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	resp, _ := nc.Get(f.URL + AuthorizePath + "?" + q.Encode())
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "client_id": {DefaultClientID},
		"client_secret": {DefaultClientSecret}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {strings.Repeat("w", 43)}}
	resp, _ = http.PostForm(f.URL+TokenPath, form)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "invalid_grant") {
		t.Errorf("exchange with a wrong verifier = %d %s, want 400 invalid_grant", resp.StatusCode, b)
	}
	// Without a challenge, the authorize endpoint refuses.
	q.Del("code_challenge")
	resp, _ = nc.Get(f.URL + AuthorizePath + "?" + q.Encode())
	resp.Body.Close()
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Get("error") != "invalid_request" {
		t.Errorf("authorize without PKCE redirects to %s, want error=invalid_request", loc)
	}
}
