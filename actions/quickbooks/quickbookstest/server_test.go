package quickbookstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want query
	}{
		{`select * from Customer where PrimaryEmailAddr = 'o\'hara@example.com'`,
			query{entity: "Customer", where: []cond{{"PrimaryEmailAddr", "=", []any{"o'hara@example.com"}}}, start: 1, max: 100}},
		{`SELECT * FROM Item WHERE Name LIKE '%sup%' AND Active = true ORDERBY Name DESC STARTPOSITION 21 MAXRESULTS 20`,
			query{entity: "Item", where: []cond{{"Name", "like", []any{"%sup%"}}, {"Active", "=", []any{true}}}, orderBy: "Name", desc: true, start: 21, max: 20, hasStart: true}},
		{`select count(*) from Invoice where TotalAmt >= 10.5 and Id in ('1', '2')`,
			query{count: true, entity: "Invoice", where: []cond{{"TotalAmt", ">=", []any{10.5}}, {"Id", "in", []any{"1", "2"}}}, start: 1, max: 100}},
		{`select * from Customer maxresults 5000`, query{entity: "Customer", start: 1, max: 1000}},
		{`select * from Customer where DisplayName = 'back\\slash'`,
			query{entity: "Customer", where: []cond{{"DisplayName", "=", []any{`back\slash`}}}, start: 1, max: 100}},
	}
	for _, tt := range tests {
		got, err := parseQuery(tt.in)
		if err != nil {
			t.Errorf("parseQuery(%s) = %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(query{}, cond{})); diff != "" {
			t.Errorf("parseQuery(%s) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{
		`select * from Customer where DisplayName = 'unterminated`,
		`select * from Customer where A = 'x' or B = 'y'`,
		`select Id from Customer`,
		`select * from Customer where DisplayName = 'o'hara'`,
		`select * from Customer startposition 0`,
	} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("parseQuery(%s) succeeded, want a parse error", bad)
		}
	}
}

func TestLike(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, p string
		want bool
	}{
		{"premium support", "%sup%", true},
		{"support plan", "sup%", true},
		{"support plan", "%plan", true},
		{"support plan", "%sup", false},
		{"abc", "abc", true},
		{"abc", "a%b%c", true},
		{"ab", "a%b%c", false},
	}
	for _, tt := range tests {
		if got := like(tt.s, tt.p); got != tt.want {
			t.Errorf("like(%q, %q) = %v, want %v", tt.s, tt.p, got, tt.want)
		}
	}
}

// client drives the fake over HTTP like an app would.
type client struct {
	t     *testing.T
	f     *Fake
	token string
}

func connect(t *testing.T, opts Options) *client {
	t.Helper()
	f := Start(t, opts)
	nc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := nc.Get(f.AuthorizeURL() + "?" + url.Values{"response_type": {"code"}, "client_id": {DefaultClientID},
		"redirect_uri": {"https://app.example/cb"}, "scope": {Scope}, "state": {"s1"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("state") != "s1" || loc.Query().Get("realmId") != DefaultRealm {
		t.Fatalf("authorize redirect = %s", loc)
	}
	tok := tokenCall(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {"https://app.example/cb"}})
	return &client{t: t, f: f, token: tok["access_token"].(string)}
}

func tokenCall(t *testing.T, f *Fake, form url.Values) map[string]any {
	t.Helper()
	status, body := tokenStatus(t, f, form)
	if status != 200 {
		t.Fatalf("token %v = %d %s", form, status, body)
	}
	return body
}

func tokenStatus(t *testing.T, f *Fake, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (c *client) call(method, path, ctype, body string) (int, http.Header, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.f.URL+"/v3/company/"+DefaultRealm+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestTokenRotation(t *testing.T) {
	t.Parallel()
	f := Start(t, Options{})
	nc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := nc.Get(f.AuthorizeURL() + "?response_type=code&client_id=" + DefaultClientID + "&redirect_uri=https://app.example/cb&scope=" + Scope + "&state=x")
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	first := tokenCall(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"}})
	if first["expires_in"].(float64) != 3600 || first["token_type"] != "bearer" {
		t.Errorf("token = %v", first)
	}
	if s, _ := tokenStatus(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"}}); s != 400 {
		t.Errorf("reused code = %d, want 400", s)
	}
	second := tokenCall(t, f, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}})
	if second["refresh_token"] == first["refresh_token"] {
		t.Errorf("refresh token not rotated")
	}
	if s, body := tokenStatus(t, f, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}}); s != 400 || body["error"] != "invalid_grant" {
		t.Errorf("old refresh token = %d %v, want 400 invalid_grant", s, body)
	}
	if f.Refreshes() != 1 {
		t.Errorf("Refreshes() = %d, want 1", f.Refreshes())
	}
	// Credentials go in a Basic header, never the body.
	req, _ := http.NewRequest("POST", f.TokenURL(), strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second["refresh_token"].(string)},
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("credentials in the body = %d, want 401 invalid_client", resp.StatusCode)
	}
}

func TestAdoptUnknownGrants(t *testing.T) {
	t.Parallel()
	old := Start(t, Options{})
	nc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := nc.Get(old.AuthorizeURL() + "?response_type=code&client_id=" + DefaultClientID + "&redirect_uri=https://app.example/cb&scope=" + Scope)
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	tok := tokenCall(t, old, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {"https://app.example/cb"}})
	// A restarted fake (a new process) adopts the refresh token only when asked to.
	if s, _ := tokenStatus(t, Start(t, Options{}), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}); s != 400 {
		t.Errorf("strict fake accepted an unknown refresh token: %d", s)
	}
	lenient := Start(t, Options{AdoptUnknownGrants: true})
	tokenCall(t, lenient, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
}

func TestAPIBehaviour(t *testing.T) {
	t.Parallel()
	c := connect(t, Options{})
	// Empty result: an empty QueryResponse object.
	status, hdr, body := c.call("GET", "/query?query="+url.QueryEscape("select * from Customer where PrimaryEmailAddr = 'nobody@example.com'")+"&minorversion=75", "", "")
	if status != 200 || !strings.HasPrefix(body, `{"QueryResponse":{},"time":"`) || hdr.Get("intuit_tid") == "" {
		t.Errorf("empty query = %d %s (tid %q)", status, body, hdr.Get("intuit_tid"))
	}
	// Create, then find by an escaped email.
	status, _, body = c.call("POST", "/customer?requestid=r1", "application/json", `{"DisplayName":"Pat O'Hara","PrimaryEmailAddr":{"Address":"o'hara@example.com"}}`)
	if status != 200 || !strings.Contains(body, `"Id":"101"`) {
		t.Fatalf("create = %d %s", status, body)
	}
	_, _, body = c.call("GET", "/query?query="+url.QueryEscape(`select * from Customer where PrimaryEmailAddr = 'O\'HARA@example.com'`), "", "")
	if !strings.Contains(body, `"Id":"101"`) || !strings.Contains(body, `"startPosition":1`) {
		t.Errorf("query by escaped email = %s", body)
	}
	// A repeated requestid replays the original answer.
	_, _, again := c.call("POST", "/customer?requestid=r1", "application/json", `{"DisplayName":"Someone Else"}`)
	if !strings.Contains(again, `"DisplayName":"Pat O'Hara"`) {
		t.Errorf("replayed create = %s", again)
	}
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string
	}{
		{"duplicate name", "POST", "/customer", "application/json", `{"DisplayName":"jordan lee"}`, 400, `"code":"6240"`},
		{"vendor name", "POST", "/customer", "application/json", `{"DisplayName":"Acme Supplies"}`, 400, `"code":"6240"`},
		{"bad email", "POST", "/customer", "application/json", `{"DisplayName":"X","PrimaryEmailAddr":{"Address":"x@@y"}}`, 400, `"code":"2210"`},
		{"magic bad email", "POST", "/customer", "application/json", `{"DisplayName":"X","PrimaryEmailAddr":{"Address":"x@bad-email.example"}}`, 400, `"code":"2210"`},
		{"stale sync token", "POST", "/customer", "application/json", `{"Id":"1","SyncToken":"7","sparse":true,"DisplayName":"J"}`, 400, `"code":"5010"`},
		{"sparse update", "POST", "/customer", "application/json", `{"Id":"1","SyncToken":"0","sparse":true,"CompanyName":"Lee Co"}`, 200, `"SyncToken":"1"`},
		{"invoice without customer", "POST", "/invoice", "application/json", `{"Line":[{"DetailType":"SalesItemLineDetail","Amount":1}]}`, 400, `"code":"6560"`},
		{"invoice with inactive item", "POST", "/invoice", "application/json", `{"CustomerRef":{"value":"1"},"Line":[{"DetailType":"SalesItemLineDetail","Amount":1,"SalesItemLineDetail":{"ItemRef":{"value":"31"}}}]}`, 400, `"code":"610"`},
		{"invoice", "POST", "/invoice", "application/json", `{"CustomerRef":{"value":"1"},"Line":[{"DetailType":"SalesItemLineDetail","Amount":480,"SalesItemLineDetail":{"ItemRef":{"value":"7"},"Qty":4,"UnitPrice":120}}]}`, 200, `"TotalAmt":480`},
		{"send without octet-stream", "POST", "/invoice/102/send", "application/json", ``, 400, `"code":"2500"`},
		{"send", "POST", "/invoice/102/send?sendTo=ap%40example.com", "application/octet-stream", ``, 200, `"EmailStatus":"EmailSent"`},
		{"not queryable", "GET", "/query?query=" + url.QueryEscape("select * from Customer where Notes = 'x'"), "", "", 400, `"code":"4001"`},
		{"companyinfo", "GET", "/companyinfo/" + DefaultRealm, "", "", 200, `"CompanyName":"Sandbox Company US 1"`},
		{"requestid too long", "POST", "/customer?requestid=" + strings.Repeat("x", 51), "application/json", `{"DisplayName":"Y"}`, 400, `"code":"4000"`},
	}
	for _, tt := range tests {
		status, _, body := c.call(tt.method, tt.path, tt.ctype, tt.body)
		if status != tt.status || !strings.Contains(body, tt.code) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, status, body, tt.status, tt.code)
		}
	}
}

func TestGatewayFaults(t *testing.T) {
	t.Parallel()
	c := connect(t, Options{RequestsPerMinute: 2, Now: func() time.Time { return time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC) }})
	c.call("GET", "/companyinfo/"+DefaultRealm, "", "")
	c.call("GET", "/companyinfo/"+DefaultRealm, "", "")
	status, hdr, body := c.call("GET", "/companyinfo/"+DefaultRealm, "", "")
	if status != 429 || hdr.Get("Content-Type") != "application/xml" || !strings.Contains(body, `<Fault type="SERVICE"><Error code="3001">`) {
		t.Errorf("third request in a minute = %d %s %s, want the XML 429", status, hdr.Get("Content-Type"), body)
	}

	c = connect(t, Options{})
	c.f.ExpireAccessTokens()
	status, _, body = c.call("GET", "/companyinfo/"+DefaultRealm, "", "")
	if status != 401 || !strings.Contains(body, `"fault":{"error":[{"message":"message=AuthenticationFailed`) {
		t.Errorf("expired token = %d %s, want the lower-case 401", status, body)
	}
}

func TestPathKnobs(t *testing.T) {
	t.Parallel()
	c := connect(t, Options{})
	c.f.FailNextOn("/send", 503, 2)
	c.f.AnswerEmptyNext("/customer")
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string
	}{
		{"other paths pass", "GET", "/companyinfo/" + DefaultRealm, "", "", 200, `"CompanyName"`},
		{"send fails", "POST", "/invoice/1/send", "application/octet-stream", "", 503, `"SystemFault"`},
		{"send fails again", "POST", "/invoice/1/send", "application/octet-stream", "", 503, `"SystemFault"`},
		{"then passes", "POST", "/invoice/1/send", "application/octet-stream", "", 400, `"code":"610"`},
		{"empty 200", "POST", "/customer?requestid=e1", "application/json", `{"DisplayName":"Empty"}`, 200, `{"time":"`},
		{"replayed empty", "POST", "/customer?requestid=e1", "application/json", `{"DisplayName":"Empty"}`, 200, `{"time":"`},
		{"next create is real", "POST", "/customer?requestid=e2", "application/json", `{"DisplayName":"Real"}`, 200, `"Customer":`},
	}
	for _, tt := range tests {
		status, _, body := c.call(tt.method, tt.path, tt.ctype, tt.body)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, status, body, tt.status, tt.want)
		}
	}
	if n := len(c.f.Customers(DefaultRealm)); n != 3 {
		t.Errorf("customers = %d, want the 2 seeded and the real one", n)
	}
}
