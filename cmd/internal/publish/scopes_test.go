package publish

import (
	"context"
	"encoding/json"
	"slices"
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
