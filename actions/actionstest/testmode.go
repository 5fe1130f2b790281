package actionstest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/actions/loopback"
)

// Unreachable returns the URL of a server that fails the test for every
// request it receives: the live configuration's base URL in tests that
// nothing may call.
func Unreachable(t testing.TB, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s (the live configuration) received %s %s, want no request", name, r.Method, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTwin builds a provider's test-mode twin as cmd does: it takes
// m.TestFake of the live configuration, serves the fake on loopback until
// the test ends, points the copy at it and builds the provider with
// deps.TestMode set. It returns the twin and the fake's handler, for the
// test to inspect what it received.
func TestTwin(t testing.TB, m actions.Module, live actions.ProviderConfig, deps actions.Deps) (actions.Provider, http.Handler) {
	t.Helper()
	cfg, fake := m.TestFake(live)
	if fake == nil {
		t.Fatalf("%s.TestFake(live) = nil fake, want one", m.Name())
	}
	fake.Use(loopback.ServeTest(t, fake.Handler))
	deps.TestMode = true
	p, err := m.New(cfg, deps)
	if err != nil {
		t.Fatalf("%s.New(test config, TestMode) = %v", m.Name(), err)
	}
	return p, fake.Handler
}
