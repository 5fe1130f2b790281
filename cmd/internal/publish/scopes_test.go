package publish

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/webhooks"
)

// TestGeneratedScopesFollowTheRegistry: the app definition asks for the
// scopes the actions declare and no others, so a scope the app stops
// needing is dropped from it.
func TestGeneratedScopesFollowTheRegistry(t *testing.T) {
	t.Parallel()
	companies := actions.Scope{Name: "crm.objects.companies.read", Reason: "reads the company."}
	// (A ticket: the webhooks component subscribes to the deletion of the
	// actions' objects, and a company's would need its read scope.)
	reg := func(object string, scopes ...actions.Scope) *actions.Registry {
		r := actions.NewRegistry()
		actions.MustRegister(r, actions.Spec[struct{}, struct{}]{
			Key: "acme-lookup", Name: "Look up", ObjectTypes: []string{object}, Scopes: scopes,
			Run: func(context.Context, *actions.Execution, struct{}) (struct{}, error) { return struct{}{}, nil },
		})
		if err := webhooks.RequireScopes(r); err != nil {
			t.Fatal(err)
		}
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
	if diff := cmp.Diff([]string{"oauth", "automation", "crm.objects.companies.read", "crm.objects.contacts.read"}, required(reg("COMPANY", companies))); diff != "" {
		t.Errorf("requiredScopes with an action reading companies (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"oauth", "automation", "crm.objects.contacts.read"}, required(reg("TICKET"))); diff != "" {
		t.Errorf("requiredScopes once no action reads companies (-want +got):\n%s", diff)
	}

	// The published app: the CRM reads QuickBooks invoices make, and the
	// objects whose deletions the webhooks component subscribes to.
	got := required(testRegistry(t))
	if diff := cmp.Diff([]string{"oauth", "automation", "crm.objects.companies.read", "crm.objects.contacts.read", "crm.objects.deals.read"}, got); diff != "" {
		t.Errorf("the app's requiredScopes (-want +got):\n%s", diff)
	}
}

// TestDefinitionsWarnsAboutScopes: writing a deployment's project with
// HUBSPOT_SCOPES asking for a scope no code declares says so; leaving out
// one the webhooks' subscriptions need is refused, naming it.
func TestDefinitionsWarnsAboutScopes(t *testing.T) {
	t.Parallel()
	all := "oauth automation crm.objects.companies.read crm.objects.contacts.read crm.objects.deals.read"
	env := map[string]string{"HUBSPOT_SCOPES": all + " tickets"}
	var out, errb strings.Builder
	err := run(t, []string{"definitions", "--dir", t.TempDir(), "--public-base-url", "https://actions.yourco.test"}, func(k string) string { return env[k] }, &out, &errb)
	if err != nil {
		t.Fatalf("definitions: %v\n%s%s", err, out.String(), errb.String())
	}
	if want := "warning: the app asks for scope tickets, which no action or feature declares"; !strings.Contains(errb.String(), want) {
		t.Errorf("definitions' warnings lack %q:\n%s", want, errb.String())
	}
	env["HUBSPOT_SCOPES"] = strings.Replace(all, " crm.objects.contacts.read", "", 1)
	errb.Reset()
	err = run(t, []string{"definitions", "--dir", t.TempDir(), "--public-base-url", "https://actions.yourco.test"}, func(k string) string { return env[k] }, &out, &errb)
	if err == nil || !strings.Contains(err.Error()+errb.String(), "crm.objects.contacts.read") {
		t.Errorf("definitions without crm.objects.contacts.read = %v (%s), want a refusal naming it", err, errb.String())
	}
	errb.Reset()
	if err := run(t, []string{"definitions", "--dir", t.TempDir(), "--public-base-url", "https://actions.yourco.test"}, noEnv, &out, &errb); err != nil || strings.Contains(errb.String(), "warning") {
		t.Errorf("definitions with the default scopes = %v, warnings %q", err, errb.String())
	}
}
