package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/cmd/internal/providers"
)

// TestGuidePage reads the public setup guide as a visitor without a
// session: it is served with the admin pages' security headers, starts no
// session, and describes every action of the published app (inputs,
// outputs, error codes) and every provider as the code declares them.
func TestGuidePage(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	anon := newWebClient(t, s)
	r := anon.get("/guide")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /guide without a session = %d, want 200:\n%s", r.Status, r.Body)
	}
	for k, v := range map[string]string{
		"Content-Security-Policy": admin.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"X-Frame-Options":         "DENY",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("GET /guide: %s = %q, want %q", k, got, v)
		}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /guide: Content-Type = %q", ct)
	}
	if c := r.Header.Values("Set-Cookie"); len(c) > 0 {
		t.Errorf("GET /guide sets cookies %q: the guide needs no session", c)
	}
	admintest.CheckAccessible(t, "/guide", r.Body)

	doc, err := html.Parse(strings.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*html.Node{}
	for n := range doc.Descendants() {
		if id := admintest.Attr(n, "id"); n.Type == html.ElementNode && id != "" {
			byID[id] = n
		}
	}
	textOf := func(id string) string {
		t.Helper()
		n, ok := byID[id]
		if !ok {
			t.Errorf("the guide has no #%s", id)
			return ""
		}
		return admintest.NodeText(n)
	}
	reg, err := providers.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range reg.All() {
		if got := textOf("action-" + a.Key); got != a.Name {
			t.Errorf("%s: heading %q, want %q", a.Key, got, a.Name)
		}
		inputs := textOf(a.Key + "-inputs")
		for _, f := range a.Inputs {
			if !strings.Contains(inputs, f.Label+" "+f.Name) {
				t.Errorf("%s: inputs table lacks %q:\n%s", a.Key, f.Label+" "+f.Name, inputs)
			}
		}
		outputs := textOf(a.Key + "-outputs")
		for _, f := range a.Outputs {
			if !strings.Contains(outputs, f.Label+" "+f.Name) {
				t.Errorf("%s: outputs table lacks %q", a.Key, f.Label+" "+f.Name)
			}
		}
		var want, got []string
		for _, e := range a.Errors() {
			want = append(want, string(e.Code))
		}
		for n := range byID[a.Key+"-errors"].Descendants() {
			if n.Type == html.ElementNode && n.Data == "code" {
				got = append(got, admintest.NodeText(n))
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: error codes on the guide (-declared +shown):\n%s", a.Key, diff)
		}
		if got := textOf(a.Key + "-languages"); got != "English and German" {
			t.Errorf("%s: labels in %q, want English and German", a.Key, got)
		}
	}
	if got := textOf("stripe-create-promotion-code-errors"); !strings.Contains(got, "NOT_FOUND") {
		t.Errorf("stripe-create-promotion-code: errors %q lack its declared NOT_FOUND", got)
	}
	scopes := textOf("scopes")
	for _, sc := range defaultScopes {
		if !strings.Contains(scopes, sc) {
			t.Errorf("the guide's scopes %q lack %s", scopes, sc)
		}
	}
	for _, id := range []string{"connect-quickbooks", "connect-clearbit", "connect-stripe", "disconnect-quickbooks", "disconnect-clearbit", "disconnect-stripe", "uninstall-settings", "uninstall-hubspot"} {
		textOf(id)
	}
	// What test mode does with each service comes from its Guide.
	for _, m := range providers.List() {
		cfg := m.NewConfig()
		if errs := providers.LoadEnv(func(string) string { return "" }, cfg); len(errs) > 0 {
			t.Fatalf("%s: default configuration: %v", m.Name(), errs)
		}
		p, err := m.New(cfg, actions.Deps{PublicBaseURL: "http://localhost"})
		if err != nil {
			t.Fatal(err)
		}
		lines := p.Guide().TestMode
		if len(lines) == 0 {
			t.Errorf("%s: its Guide says nothing of test mode", m.Name())
		}
		effects := textOf("test-mode-" + m.Name() + "-effects")
		for _, l := range lines {
			if !strings.Contains(effects, l) {
				t.Errorf("#test-mode-%s-effects = %q, want it to say %q", m.Name(), effects, l)
			}
		}
	}
	if got := textOf("retention"); got != "30 days" {
		t.Errorf("retention = %q, want 30 days", got)
	}
	if got := textOf("uninstalled-grace"); got != "30 days" {
		t.Errorf("uninstalled grace = %q, want 30 days", got)
	}
}

// TestGuideFactsFollowTheInstall: the guide lists the scopes the install
// really asks for, with the code's reasons, and says so when the operator
// asked for one no code declares.
func TestGuideFactsFollowTheInstall(t *testing.T) {
	t.Parallel()
	reg, err := providers.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{HubSpotScopes: []string{"oauth", "automation", "crm.objects.deals.read", "tickets"}, HubSpotOptionalScopes: []string{"crm.objects.contacts.read"}, HistoryRetention: 72 * time.Hour, UninstalledGrace: 14 * 24 * time.Hour}
	f := guideFacts(cfg, reg)
	var got []string
	for _, s := range f.Scopes {
		got = append(got, s.Name+": "+s.Reason)
	}
	want := []string{
		"oauth: " + actions.ScopeOAuth.Reason,
		"automation: " + actions.ScopeAutomation.Reason,
		"crm.objects.deals.read: Create QuickBooks invoice: reads the enrolled deal's associated contacts when no customer email is given. Webhooks: HubSpot tells the app when a deal is deleted, so its executions' personal data are erased from the history.",
		"tickets: Asked for by this installation's operator.",
		"crm.objects.contacts.read: Create QuickBooks invoice: reads those contacts' email, name, company and phone for the QuickBooks customer. Webhooks: HubSpot tells the app when a contact is deleted or asks for a privacy deletion, so its executions' personal data are erased from the history. (Optional: the app installs in accounts without it.)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("guideFacts().Scopes (-want +got):\n%s", diff)
	}
	if f.HistoryRetention != 72*time.Hour || f.UninstalledGrace != 14*24*time.Hour {
		t.Errorf("guideFacts() = %+v", f)
	}
}
