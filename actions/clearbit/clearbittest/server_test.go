package clearbittest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// get sends one request to s and returns the status, headers and body.
func get(t *testing.T, s *Server, method, target string, auth func(*http.Request)) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if auth != nil {
		auth(req)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Result().Header, string(b)
}

func basic(key string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(key, "") }
}

func bearer(key string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

func TestServerAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		target string
		auth   func(*http.Request)
		status int
		typ    string // error type, or "" for a record
	}{
		{"combined with basic auth", "GET", "/v2/combined/find?email=jane.doe@acme.com", basic("sk_a"), 200, ""},
		{"person with bearer auth", "GET", "/v2/people/find?email=jane.doe@acme.com", bearer("sk_a"), 200, ""},
		{"company", "GET", "/v2/companies/find?domain=acme.com", basic("sk_a"), 200, ""},
		{"no auth", "GET", "/v2/companies/find?domain=acme.com", nil, 401, "auth_required"},
		{"invalid key", "GET", "/v2/companies/find?domain=acme.com", basic("pk_public"), 401, "invalid_api_key"},
		{"over quota", "GET", "/v2/companies/find?domain=acme.com", basic(OverQuotaKey), 402, "over_quota"},
		{"unknown email", "GET", "/v2/combined/find?email=unknown@acme.com", basic("sk_a"), 404, "unknown_record"},
		{"unknown domain", "GET", "/v2/companies/find?domain=unknown.example", basic("sk_a"), 404, "unknown_record"},
		{"role address", "GET", "/v2/combined/find?email=info@acme.com", basic("sk_a"), 422, "invalid_email"},
		{"email without TLD", "GET", "/v2/people/find?email=jane@acme", basic("sk_a"), 422, "invalid_email"},
		{"domain without TLD", "GET", "/v2/companies/find?domain=acme", basic("sk_a"), 422, "invalid_domain"},
		{"unresolvable domain", "GET", "/v2/companies/find?domain=acme.invalid", basic("sk_a"), 422, "invalid_domain"},
		{"missing email", "GET", "/v2/people/find", basic("sk_a"), 422, "invalid_email"},
		{"rate limited", "GET", "/v2/combined/find?email=ratelimited@acme.com", basic("sk_a"), 429, "rate_limit"},
		{"unknown route", "GET", "/v1/nothing", basic("sk_a"), 404, "unknown_route"},
		{"not GET", "POST", "/v2/people/find?email=jane@acme.com", basic("sk_a"), 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(Options{})
			status, _, body := get(t, s, tt.method, tt.target, tt.auth)
			if status != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.target, status, body, tt.status)
			}
			var env struct {
				Error struct{ Type, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if env.Error.Type != tt.typ {
				t.Errorf("error type = %q, want %q", env.Error.Type, tt.typ)
			}
			if tt.typ != "" && env.Error.Message == "" {
				t.Errorf("error without a message: %s", body)
			}
		})
	}
}

func TestServerQueuedThenFound(t *testing.T) {
	t.Parallel()
	s := NewServer(Options{QueuedCalls: 2})
	var got []int
	for range 4 {
		status, _, _ := get(t, s, "GET", "/v2/combined/find?email=queued@acme.com", basic("sk_a"))
		got = append(got, status)
	}
	for range 3 {
		status, _, _ := get(t, s, "GET", "/v2/companies/find?domain=queued.example", basic("sk_a"))
		got = append(got, status)
	}
	if diff := cmp.Diff([]int{202, 202, 200, 200, 202, 202, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	s.AssertCalls(t, "queued@acme.com", 4)
	s.AssertCalls(t, "QUEUED.example", 3)
	s.AssertKeyCalls(t, "sk_a", 7)
}

func TestServerRateLimitHeaders(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := NewServer(Options{Limit: 2, Now: func() time.Time { return now }})
	var statuses []int
	var remaining []string
	for range 3 {
		status, h, _ := get(t, s, "GET", "/v2/companies/find?domain=acme.com", basic("sk_a"))
		statuses = append(statuses, status)
		remaining = append(remaining, h.Get("X-Ratelimit-Remaining"))
		if h.Get("X-Ratelimit-Limit") != "2" || h.Get("X-Ratelimit-Reset") != "1772366460" || h.Get("Retry-After") != "" {
			t.Errorf("headers = %v", h)
		}
	}
	if diff := cmp.Diff([]int{200, 200, 429}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1", "0", "0"}, remaining); diff != "" {
		t.Errorf("remaining (-want +got):\n%s", diff)
	}
	// Another key has its own window; a new minute starts a new one.
	if status, _, _ := get(t, s, "GET", "/v2/companies/find?domain=acme.com", basic("sk_b")); status != 200 {
		t.Errorf("other key: status %d", status)
	}
	now = now.Add(time.Minute)
	if status, _, _ := get(t, s, "GET", "/v2/companies/find?domain=acme.com", basic("sk_a")); status != 200 {
		t.Errorf("next window: status %d", status)
	}

	// The magic 429 resets ResetAfter ahead and succeeds afterwards.
	status, h, _ := get(t, s, "GET", "/v2/people/find?email=ratelimited@acme.com", basic("sk_c"))
	if status != 429 || h.Get("X-Ratelimit-Remaining") != "0" || h.Get("X-Ratelimit-Reset") != "1772366461" {
		t.Errorf("magic 429 = %d %v", status, h)
	}
	if status, _, _ := get(t, s, "GET", "/v2/people/find?email=ratelimited@acme.com", basic("sk_c")); status != 200 {
		t.Errorf("after the magic 429: status %d", status)
	}
}

func TestServerForceKeysAndArrays(t *testing.T) {
	t.Parallel()
	s := NewServer(Options{Keys: []string{"sk_only"}, ArrayErrors: true})
	if status, _, _ := get(t, s, "GET", "/v2/companies/find?domain=acme.com", basic("sk_other")); status != 401 {
		t.Errorf("unlisted key: status %d, want 401", status)
	}
	s.Force("acme.com", 503, 1)
	status, _, body := get(t, s, "GET", "/v2/companies/find?domain=acme.com", basic("sk_only"))
	if status != 503 || !strings.HasPrefix(body, `{"error":[{"type":"server_error"`) {
		t.Errorf("forced = %d %s, want 503 in the array envelope", status, body)
	}
	if status, _, _ := get(t, s, "GET", "/v2/companies/find?domain=acme.com", basic("sk_only")); status != 200 {
		t.Errorf("after the forced answer: status %d", status)
	}
	s.SetCompany("acme.com", nil)
	if status, _, _ := get(t, s, "GET", "/v2/companies/find?domain=acme.com", basic("sk_only")); status != 404 {
		t.Errorf("removed company: status %d, want 404", status)
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.Auth != "basic" || last.Key != "sk_only" || last.Input() != "acme.com" || last.Status != 404 {
		t.Errorf("recorded %+v", last)
	}
}

func TestServerCombinedShapes(t *testing.T) {
	t.Parallel()
	s := NewServer(Options{})
	decode := func(target string) (map[string]json.RawMessage, string) {
		status, _, body := get(t, s, "GET", target, basic("sk_a"))
		if status != 200 {
			t.Fatalf("%s = %d %s", target, status, body)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		return m, body
	}
	m, body := decode("/v2/combined/find?email=jane.doe@acme.com")
	if string(m["company"]) == "null" || !strings.Contains(body, `"fullName":"Jane Doe"`) || !strings.Contains(body, `"domain":"acme.com"`) {
		t.Errorf("combined = %s", body)
	}
	m, body = decode("/v2/combined/find?email=jane@gmail.com")
	if string(m["company"]) != "null" || !strings.Contains(body, `"emailProvider":true`) {
		t.Errorf("free provider combined = %s, want a person and company null", body)
	}
}

func TestGenerateIsDeterministicAndPlausible(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff(GeneratePerson("Jane.Doe@Acme.com"), GeneratePerson("jane.doe@acme.com")); diff != "" {
		t.Errorf("GeneratePerson differs for the same email (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(GenerateCompany("acme.com"), GenerateCompany("acme.com")); diff != "" {
		t.Errorf("GenerateCompany differs for the same domain (-a +b):\n%s", diff)
	}
	tests := []struct {
		domain, name, country, legalSuffix string
	}{
		{"acme.com", "Acme", "United States", "Inc."},
		{"globex-systems.de", "Globex Systems", "Germany", "GmbH"},
		{"initech.co.uk", "Initech", "United Kingdom", "Ltd"},
		{"ibm.com", "IBM", "United States", "Inc."},
	}
	for _, tt := range tests {
		c := GenerateCompany(tt.domain)
		if c.Name != tt.name || *c.Geo.Country != tt.country || *c.LegalName != tt.name+" "+tt.legalSuffix || *c.Metrics.Employees <= 0 || *c.FoundedYear < 1950 {
			t.Errorf("GenerateCompany(%q) = %s, %s, %s, %d employees", tt.domain, c.Name, *c.LegalName, *c.Geo.Country, *c.Metrics.Employees)
		}
	}
	p := GeneratePerson("john_smith+news@initech.co.uk")
	if *p.Name.FullName != "John Smith" || *p.Employment.Name != "Initech" || *p.Geo.Country != "United Kingdom" || *p.LinkedIn.Handle != "in/john-smith" {
		t.Errorf("GeneratePerson = %s at %s in %s (%s)", *p.Name.FullName, *p.Employment.Name, *p.Geo.Country, *p.LinkedIn.Handle)
	}
	if GeneratePerson("not-an-email") != nil || GenerateCompany("nodot") != nil {
		t.Errorf("generated a record for a malformed input")
	}
}
