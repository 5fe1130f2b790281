package main

import (
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
)

// TestProviderList builds the app-definition, sandbox mode and the
// settings page from the one list of providers: every provider in it
// contributes its actions, its fake and its card.
func TestProviderList(t *testing.T) {
	t.Parallel()
	reg, err := definitionRegistry()
	if err != nil {
		t.Fatal(err)
	}
	var published []string
	for _, a := range reg.All() {
		published = append(published, a.Key)
	}
	var fromList []string
	seen := map[string]bool{}
	for _, m := range providerModules() {
		if seen[m.Name()] {
			t.Errorf("provider %q is listed twice", m.Name())
		}
		seen[m.Name()] = true
		cfg := m.NewConfig()
		if errs := loadEnv(func(string) string { return "" }, cfg); len(errs) > 0 {
			t.Fatalf("%s: default configuration: %v", m.Name(), errs)
		}
		p, err := m.New(cfg, actions.Deps{PublicBaseURL: "http://localhost"})
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
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
	for _, m := range providerModules() {
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

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	type conf struct {
		Key     actions.Secret `env:"T_KEY"`
		URL     string         `env:"T_URL" default:"https://example.com"`
		N       int            `env:"T_N" default:"3"`
		On      bool           `env:"T_ON"`
		Wait    time.Duration  `env:"T_WAIT" default:"2s"`
		Untyped int
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    conf
		wantErr []string
	}{
		{name: "defaults", want: conf{URL: "https://example.com", N: 3, Wait: 2 * time.Second}},
		{
			name: "set",
			env:  map[string]string{"T_KEY": " sk_1 ", "T_URL": "http://x", "T_N": "7", "T_ON": "true", "T_WAIT": "1m"},
			want: conf{Key: "sk_1", URL: "http://x", N: 7, On: true, Wait: time.Minute},
		},
		{
			name:    "bad",
			env:     map[string]string{"T_N": "many", "T_ON": "sometimes", "T_WAIT": "-1s"},
			want:    conf{URL: "https://example.com"},
			wantErr: []string{"T_N", "T_ON", "T_WAIT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got conf
			errs := loadEnv(func(k string) string { return tt.env[k] }, &got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("loadEnv() config (-want +got):\n%s", diff)
			}
			if len(errs) != len(tt.wantErr) {
				t.Fatalf("loadEnv() errors = %v, want %d naming %v", errs, len(tt.wantErr), tt.wantErr)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tt.wantErr[i]) {
					t.Errorf("error %d = %v, want it to name %s", i, e, tt.wantErr[i])
				}
			}
		})
	}
}
