package main

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/providers"
)

// TestProviderList builds the app-definition, sandbox mode and the
// settings page from the one list of providers: every provider in it
// contributes its actions, its fake and its card.
func TestProviderList(t *testing.T) {
	t.Parallel()
	reg, err := providers.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	var published []string
	for _, a := range reg.All() {
		published = append(published, a.Key)
	}
	var fromList []string
	seen := map[string]bool{}
	for _, m := range providers.List() {
		if seen[m.Name()] {
			t.Errorf("provider %q is listed twice", m.Name())
		}
		seen[m.Name()] = true
		cfg := m.NewConfig()
		if errs := providers.LoadEnv(func(string) string { return "" }, cfg); len(errs) > 0 {
			t.Fatalf("%s: default configuration: %v", m.Name(), errs)
		}
		// Every limiter comes from the app's factory, the seam a limiter
		// shared by several replicas plugs into.
		var budgets []string
		p, err := m.New(cfg, actions.Deps{PublicBaseURL: "http://localhost", Limiters: func(name string, l actions.Limit) actions.Limiter {
			budgets = append(budgets, name)
			return actions.NewLimiter(l)
		}})
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		if len(budgets) == 0 {
			t.Errorf("%s builds its rate limiter outside Deps.Limiters", m.Name())
		}
		for _, b := range budgets {
			if !strings.HasPrefix(b, m.Name()) {
				t.Errorf("%s names a budget %q, not after itself", m.Name(), b)
			}
		}
		if p.Name() != m.Name() {
			t.Errorf("module %q builds provider %q", m.Name(), p.Name())
		}
		own := actions.NewRegistry()
		if err := p.Register(own); err != nil {
			t.Fatalf("%s: register: %v", m.Name(), err)
		}
		if len(own.All()) == 0 {
			t.Errorf("%s registers no action", m.Name())
		}
		for _, a := range own.All() {
			fromList = append(fromList, a.Key)
		}
		// With nothing configured, sandbox mode fakes every provider.
		fake := m.Sandbox(cfg)
		if fake == nil || fake.Handler == nil {
			t.Errorf("%s has no sandbox fake", m.Name())
		} else if note := fake.Use("http://127.0.0.1:1"); note == "" {
			t.Errorf("%s's fake says nothing in the sandbox banner", m.Name())
		}
	}
	sort.Strings(published)
	sort.Strings(fromList)
	if diff := cmp.Diff(fromList, published); diff != "" {
		t.Errorf("app-definition actions differ from the list's (-list +definition):\n%s", diff)
	}

	// The sandbox serves every provider's card on the settings page, in
	// the list's order.
	s := startServer(t, nil)
	wc := signIn(t, s)
	r := wc.get("/settings")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /settings = %d", r.Status)
	}
	last := -1
	for _, m := range providers.List() {
		i := strings.Index(r.Body, `class="card" id="`+m.Name()+`"`)
		if i < 0 {
			t.Errorf("settings page has no card for %s", m.Name())
			continue
		}
		if i < last {
			t.Errorf("settings page shows %s out of the list's order", m.Name())
		}
		last = i
	}
}
