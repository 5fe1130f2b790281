package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigUnauthLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       map[string]string
		every     time.Duration
		burst     int
		proxies   []string
		wantError []string
	}{
		{name: "defaults", env: nil, every: 3 * time.Second, burst: 20},
		{name: "per second", env: map[string]string{"UNAUTH_RATE_LIMIT": "4/s", "UNAUTH_RATE_BURST": "8"}, every: 250 * time.Millisecond, burst: 8},
		{name: "per hour", env: map[string]string{"UNAUTH_RATE_LIMIT": "600/h"}, every: 6 * time.Second, burst: 20},
		{name: "off", env: map[string]string{"UNAUTH_RATE_LIMIT": "off"}, every: 0, burst: 20},
		{name: "proxies", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,2001:db8::/32"}, every: 3 * time.Second, burst: 20,
			proxies: []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"}},
		{name: "bad values", env: map[string]string{"UNAUTH_RATE_LIMIT": "fast", "UNAUTH_RATE_BURST": "0", "TRUSTED_PROXIES": "10.0.0.0/8 proxy.internal"},
			wantError: []string{`UNAUTH_RATE_LIMIT: "fast" is not a rate`, `UNAUTH_RATE_BURST: "0" is not a whole number`, `TRUSTED_PROXIES: "proxy.internal": want IP addresses or CIDR ranges`}},
		{name: "bad unit", env: map[string]string{"UNAUTH_RATE_LIMIT": "20/day"}, wantError: []string{`UNAUTH_RATE_LIMIT: "20/day" is not a rate`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(env(tt.env))
			if len(tt.wantError) > 0 {
				for _, w := range tt.wantError {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("loadConfig() error = %v, want it to mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig() = %v", err)
			}
			if cfg.UnauthLimit.Every != tt.every || cfg.UnauthLimit.Burst != tt.burst {
				t.Errorf("UnauthLimit = %+v, want every %v, burst %d", cfg.UnauthLimit, tt.every, tt.burst)
			}
			var got []string
			for _, n := range cfg.TrustedProxies {
				got = append(got, n.String())
			}
			if strings.Join(got, " ") != strings.Join(tt.proxies, " ") {
				t.Errorf("TrustedProxies = %v, want %v", got, tt.proxies)
			}
		})
	}
}

// TestServeLimitsUnauthenticatedRoutes runs the real server: the install
// route answers 429 with Retry-After past a client's budget, a forged
// X-Forwarded-For buys no fresh budget, and signed executions are not
// limited.
func TestServeLimitsUnauthenticatedRoutes(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"UNAUTH_RATE_LIMIT": "1/h", "UNAUTH_RATE_BURST": "2"})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	install := func(xff string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth/hubspot/install", nil)
		req.Header.Set("Accept", "text/html")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 2 {
		if resp := install(""); resp.StatusCode != http.StatusFound {
			t.Fatalf("install #%d = %d, want 302 within the budget", i+1, resp.StatusCode)
		}
	}
	resp := install("192.0.2.44")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("install past the budget with a forged X-Forwarded-For = %d, Retry-After %q; want 429 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _ := s.get(t, "/oauth/hubspot/callback?state=x"); code != http.StatusTooManyRequests {
		t.Errorf("callback past the budget = %d, want 429 (one budget for every unauthenticated route)", code)
	}
	for i := range 5 {
		out := s.execute(t, "sandbox-echo", "cb-unauth-"+string(rune('a'+i)), 7000001, map[string]any{"message": "hi"})
		if out["hs_execution_state"] == "" {
			t.Fatalf("signed execution #%d answered %v", i+1, out)
		}
	}
}

// TestServeTrustsListedProxies: behind TRUSTED_PROXIES, each client the
// proxy forwards for has its own budget.
func TestServeTrustsListedProxies(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"UNAUTH_RATE_LIMIT": "1/h", "UNAUTH_RATE_BURST": "1", "TRUSTED_PROXIES": "127.0.0.1"})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	install := func(xff string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth/hubspot/install", nil)
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := install("192.0.2.1"); code != http.StatusFound {
		t.Errorf("first client = %d, want 302", code)
	}
	if code := install("192.0.2.1"); code != http.StatusTooManyRequests {
		t.Errorf("first client again = %d, want 429", code)
	}
	if code := install("192.0.2.2"); code != http.StatusFound {
		t.Errorf("second client behind the proxy = %d, want 302", code)
	}
}

// TestServeLimitsWebhooks: POST /hubspot/webhooks has its own per-client
// pace (HubSpot sends every portal's batches from a few addresses, so it
// does not share the install route's budget): past it, 429 with
// Retry-After before the body is read or the signature checked.
func TestServeLimitsWebhooks(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"WEBHOOK_RATE_LIMIT": "1/h", "WEBHOOK_RATE_BURST": "2", "UNAUTH_RATE_LIMIT": "1/h", "UNAUTH_RATE_BURST": "1"})
	post := func() *http.Response {
		t.Helper()
		resp, err := http.Post(s.URL+"/hubspot/webhooks", "application/json", strings.NewReader(`[]`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 2 {
		if resp := post(); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unsigned batch #%d = %d, want 401 within the budget", i+1, resp.StatusCode)
		}
	}
	if resp := post(); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("batch past the budget = %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The install route's budget is its own.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(s.URL + "/oauth/hubspot/install")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("install after the webhooks' budget ran out = %d, want 302", resp.StatusCode)
	}
}

// TestServeLimitsPublicPages: the guide, the stylesheet and the signed-out
// page share a per-client pace of their own (PUBLIC_RATE_LIMIT), apart
// from the install routes'.
func TestServeLimitsPublicPages(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"PUBLIC_RATE_LIMIT": "1/h", "PUBLIC_RATE_BURST": "2"})
	if code, _ := s.get(t, "/guide"); code != http.StatusOK {
		t.Fatalf("GET /guide = %d, want 200", code)
	}
	if code, _ := s.get(t, "/signed-out"); code != http.StatusOK {
		t.Fatalf("GET /signed-out = %d, want 200", code)
	}
	if code, _ := s.get(t, "/static/app.css"); code != http.StatusTooManyRequests {
		t.Errorf("GET /static/app.css past the budget = %d, want 429", code)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(s.URL + "/oauth/hubspot/install")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("install after the public pages' budget ran out = %d, want 302", resp.StatusCode)
	}
}
