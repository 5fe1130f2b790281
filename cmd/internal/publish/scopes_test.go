package publish

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
)

// TestGeneratedScopesFollowTheRegistry: the app definition asks for the
// scopes the actions declare and no others, so a scope the app stops
// needing is dropped from it.
func TestGeneratedScopesFollowTheRegistry(t *testing.T) {
	t.Parallel()
	companies := actions.Scope{Name: "crm.objects.companies.read", Reason: "reads the company."}
	reg := func(scopes ...actions.Scope) *actions.Registry {
		r := actions.NewRegistry()
		actions.MustRegister(r, actions.Spec[struct{}, struct{}]{
			Key: "acme-lookup", Name: "Look up", ObjectTypes: []string{"COMPANY"}, Scopes: scopes,
			Run: func(context.Context, *actions.Execution, struct{}) (struct{}, error) { return struct{}{}, nil },
		})
		return r
	}
	required := func(r *actions.Registry) []string {
		t.Helper()
		p, err := committedParams(r)
		if err != nil {
			t.Fatal(err)
		}
		files, err := renderProject(p, r.All())
		if err != nil {
			t.Fatal(err)
		}
		var m appMeta
		if err := json.Unmarshal(files[appFile], &m); err != nil {
			t.Fatal(err)
		}
		return m.Config.Auth.RequiredScopes
	}
	if diff := cmp.Diff([]string{"oauth", "automation", "crm.objects.companies.read"}, required(reg(companies))); diff != "" {
		t.Errorf("requiredScopes with an action reading companies (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"oauth", "automation"}, required(reg())); diff != "" {
		t.Errorf("requiredScopes once no action reads companies (-want +got):\n%s", diff)
	}

	// The published app: only the CRM reads QuickBooks invoices make.
	got := required(testRegistry(t))
	if diff := cmp.Diff([]string{"oauth", "automation", "crm.objects.contacts.read", "crm.objects.deals.read"}, got); diff != "" {
		t.Errorf("the app's requiredScopes (-want +got):\n%s", diff)
	}
	if slices.Contains(got, "crm.objects.companies.read") {
		t.Errorf("the app asks for crm.objects.companies.read, which no action uses")
	}
}

// TestDefinitionsWarnsAboutScopes: writing a deployment's project with
// HUBSPOT_SCOPES asking for a scope no code declares, or leaving out one
// the actions need, says so.
func TestDefinitionsWarnsAboutScopes(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HUBSPOT_SCOPES": "oauth automation crm.objects.deals.read crm.objects.companies.read"}
	var out, errb strings.Builder
	err := run(t, []string{"definitions", "--dir", t.TempDir(), "--public-base-url", "https://actions.yourco.test"}, func(k string) string { return env[k] }, &out, &errb)
	if err != nil {
		t.Fatalf("definitions: %v\n%s%s", err, out.String(), errb.String())
	}
	for _, want := range []string{
		"warning: the app asks for scope crm.objects.companies.read, which no action or feature declares",
		"warning: the app does not ask for scope crm.objects.contacts.read, which its actions need",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("definitions' warnings lack %q:\n%s", want, errb.String())
		}
	}
	errb.Reset()
	if err := run(t, []string{"definitions", "--dir", t.TempDir(), "--public-base-url", "https://actions.yourco.test"}, noEnv, &out, &errb); err != nil || strings.Contains(errb.String(), "warning") {
		t.Errorf("definitions with the default scopes = %v, warnings %q", err, errb.String())
	}
}
