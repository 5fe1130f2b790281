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

// TestGeneratedOptionalScopesFollowTheRegistry: app-hsmeta's
// optionalScopes are the scopes saving on records needs, for the object
// types of the actions that can save, and none when no action can.
func TestGeneratedOptionalScopesFollowTheRegistry(t *testing.T) {
	t.Parallel()
	type out struct {
		Note string `json:"note"`
	}
	reg := func(save bool) *actions.Registry {
		r := actions.NewRegistry()
		s := actions.Spec[struct{}, out]{
			Key: "acme-lookup", Name: "Look up", ObjectTypes: []string{"COMPANY"},
			Outputs: []actions.OutputField{{Name: "note", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Note"}},
			Run:     func(context.Context, *actions.Execution, struct{}) (out, error) { return out{}, nil },
		}
		if save {
			s.Save = []actions.SavedProperty{{Output: "note", Property: "hsa_acme_note", Label: "Acme note"}}
		}
		actions.MustRegister(r, s)
		if err := webhooks.RequireScopes(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	auth := func(r *actions.Registry) appAuth {
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
		return m.Config.Auth
	}
	if diff := cmp.Diff([]string{"crm.objects.companies.write", "crm.schemas.companies.write"}, auth(reg(true)).OptionalScopes); diff != "" {
		t.Errorf("optionalScopes with an action saving on companies (-want +got):\n%s", diff)
	}
	if got := auth(reg(false)).OptionalScopes; len(got) != 0 {
		t.Errorf("optionalScopes with no action saving = %v, want none", got)
	}
	a := auth(testRegistry(t))
	want := []string{"crm.objects.companies.write", "crm.objects.contacts.write", "crm.objects.deals.write",
		"crm.schemas.companies.write", "crm.schemas.contacts.write", "crm.schemas.deals.write"}
	if diff := cmp.Diff(want, a.OptionalScopes); diff != "" {
		t.Errorf("the app's optionalScopes (-want +got):\n%s", diff)
	}
	for _, s := range a.RequiredScopes {
		if strings.HasSuffix(s, ".write") {
			t.Errorf("the app requires %s; saving's scopes are optional", s)
		}
	}
}

// TestDefinitionsWarnsAboutOptionalScopes: HUBSPOT_OPTIONAL_SCOPES leaving
// out a scope saving needs is warned about, naming the variable; one
// HUBSPOT_SCOPES requires is not asked for as optional too.
func TestDefinitionsWarnsAboutOptionalScopes(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HUBSPOT_OPTIONAL_SCOPES": "crm.objects.contacts.write crm.schemas.contacts.write"}
	var out, errb strings.Builder
	dir := t.TempDir()
	if err := run(t, []string{"definitions", "--dir", dir, "--public-base-url", "https://actions.yourco.test"}, func(k string) string { return env[k] }, &out, &errb); err != nil {
		t.Fatalf("definitions: %v\n%s", err, errb.String())
	}
	for _, s := range []string{"crm.objects.deals.write", "crm.schemas.companies.write"} {
		if want := "warning: the app does not ask for optional scope " + s + ", which saving results on records needs; add it to HUBSPOT_OPTIONAL_SCOPES"; !strings.Contains(errb.String(), want) {
			t.Errorf("warnings lack %q:\n%s", want, errb.String())
		}
	}
	if strings.Contains(errb.String(), "which no action or feature declares") {
		t.Errorf("an optional scope the code declares was called unused:\n%s", errb.String())
	}

	required := "oauth automation crm.objects.companies.read crm.objects.contacts.read crm.objects.deals.read crm.objects.contacts.write"
	env = map[string]string{"HUBSPOT_SCOPES": required}
	errb.Reset()
	if err := run(t, []string{"definitions", "--dir", dir, "--public-base-url", "https://actions.yourco.test"}, func(k string) string { return env[k] }, &out, &errb); err != nil {
		t.Fatalf("definitions with a write scope required: %v\n%s", err, errb.String())
	}
	if strings.Contains(errb.String(), "warning") {
		t.Errorf("warnings with the default optional scopes: %s", errb.String())
	}
}
