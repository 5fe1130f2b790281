package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
)

// TestBuildTestActions: the test-mode registry holds exactly the live
// registry's action keys, in production (every provider pointed at a live
// host that fails the test if called) and in sandbox mode (with the
// diagnostic actions); each provider's test fake is served until the app
// closes.
func TestBuildTestActions(t *testing.T) {
	t.Parallel()
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the live configuration received %s %s, want no request", r.Method, r.URL.Path)
	}))
	t.Cleanup(trap.Close)
	live := map[string]string{
		"CLEARBIT_API_KEY": "sk_live_app", "CLEARBIT_APP_KEY_PORTALS": "all", "CLEARBIT_BASE_URL": trap.URL,
		"STRIPE_SECRET_KEY": "sk_live_app", "STRIPE_APP_KEY_PORTALS": "all", "STRIPE_API_BASE_URL": trap.URL,
		"QUICKBOOKS_CLIENT_ID": "real", "QUICKBOOKS_CLIENT_SECRET": "real-secret", "QUICKBOOKS_ENVIRONMENT": "production",
		"QUICKBOOKS_API_BASE_URL": trap.URL, "INTUIT_AUTHORIZE_URL": trap.URL, "INTUIT_TOKEN_URL": trap.URL, "INTUIT_REVOKE_URL": trap.URL,
		"SALESFORCE_CLIENT_ID": "real", "SALESFORCE_CLIENT_SECRET": "real-secret", "SALESFORCE_LOGIN_URL": trap.URL,
		"SHOPIFY_CLIENT_ID": "real", "SHOPIFY_CLIENT_SECRET": "real-secret", "SHOPIFY_API_BASE_URL": trap.URL,
	}
	tests := []struct {
		name    string
		sandbox bool
		env     map[string]string
	}{
		{"production", false, live},
		{"sandbox", true, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			provs, errs := loadProviders(func(k string) string { return tt.env[k] })
			if len(errs) > 0 {
				t.Fatalf("loadProviders: %v", errs)
			}
			cfg := config{Sandbox: tt.sandbox, Providers: provs}
			deps := actions.Deps{PublicBaseURL: "https://app.example", Log: log}
			a := &app{}
			t.Cleanup(a.close)
			liveReg := actions.NewRegistry()
			if err := buildProviders(liveReg, cfg, deps, a, log); err != nil {
				t.Fatalf("buildProviders: %v", err)
			}
			closers := len(a.closers)
			testReg, err := buildTestActions(cfg, deps, a, log)
			if err != nil {
				t.Fatalf("buildTestActions: %v", err)
			}
			if got := len(a.closers) - closers; got != len(provs) {
				t.Errorf("buildTestActions served %d fakes, want one per provider (%d)", got, len(provs))
			}
			if diff := cmp.Diff(actionKeys(liveReg), actionKeys(testReg)); diff != "" {
				t.Errorf("test-mode action keys differ from the live ones (-live +test):\n%s", diff)
			}
		})
	}
}

func actionKeys(r *actions.Registry) []string {
	var out []string
	for _, a := range r.All() {
		out = append(out, a.Key)
	}
	sort.Strings(out)
	return out
}
