package actions_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
)

// registerMinimal registers an action with the given scopes and declared
// errors, and no inputs or outputs.
func registerMinimal(r *actions.Registry, key, name string, scopes []actions.Scope, errs map[actions.Code]string) error {
	return actions.Register(r, actions.Spec[struct{}, struct{}]{
		Key: key, Name: name, ObjectTypes: []string{"CONTACT"}, Scopes: scopes, Errors: errs,
		Run: func(context.Context, *actions.Execution, struct{}) (struct{}, error) { return struct{}{}, nil },
	})
}

func TestRegistryScopes(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	if diff := cmp.Diff([]string{"oauth", "automation"}, r.ScopeNames()); diff != "" {
		t.Errorf("ScopeNames() of an empty registry (-want +got):\n%s", diff)
	}
	deals := actions.Scope{Name: "crm.objects.deals.read", Reason: "reads the deal."}
	contacts := actions.Scope{Name: "crm.objects.contacts.read", Reason: "reads the contacts."}
	if err := registerMinimal(r, "b-invoice", "Invoice", []actions.Scope{deals, contacts}, nil); err != nil {
		t.Fatal(err)
	}
	if err := registerMinimal(r, "a-quote", "Quote", []actions.Scope{deals, {Name: "oauth", Reason: "again"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.RequireScope(actions.Scope{Name: "crm.objects.contacts.read", Reason: "Webhooks: contact events."}); err != nil {
		t.Fatal(err)
	}
	want := []actions.Scope{
		actions.ScopeOAuth,
		actions.ScopeAutomation,
		{Name: "crm.objects.contacts.read", Reason: "Invoice: reads the contacts. Webhooks: contact events."},
		{Name: "crm.objects.deals.read", Reason: "Quote: reads the deal. Invoice: reads the deal."},
	}
	if diff := cmp.Diff(want, r.Scopes()); diff != "" {
		t.Errorf("Scopes() (-want +got):\n%s", diff)
	}

	// A scope nothing declares any more is gone.
	r2 := actions.NewRegistry()
	if err := registerMinimal(r2, "a-quote", "Quote", []actions.Scope{deals}, nil); err != nil {
		t.Fatal(err)
	}
	if got := r2.ScopeNames(); strings.Contains(strings.Join(got, " "), "contacts") {
		t.Errorf("ScopeNames() = %v: contacts.read without an action that needs it", got)
	}
}

func TestRegisterRefusesBadScopesAndErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		scopes  []actions.Scope
		errs    map[actions.Code]string
		wantErr string
	}{
		{"scope without reason", []actions.Scope{{Name: "crm.objects.deals.read"}}, nil, "has no reason"},
		{"not a scope name", []actions.Scope{{Name: "Deals Read", Reason: "x"}}, nil, "is not a HubSpot scope name"},
		{"unknown code", nil, map[actions.Code]string{"OOPS": "x"}, `unknown error code "OOPS"`},
		{"empty words", nil, map[actions.Code]string{actions.CodeNotFound: " "}, "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := registerMinimal(actions.NewRegistry(), "x-y", "X", tt.scopes, tt.errs)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Register() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if err := actions.NewRegistry().RequireScope(actions.Scope{Name: "webhooks"}); err == nil {
		t.Errorf("RequireScope(no reason) = nil, want an error")
	}
}

func TestActionErrors(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	if err := registerMinimal(r, "plain", "Plain", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := registerMinimal(r, "lookup", "Lookup", nil, map[actions.Code]string{
		actions.CodeNotFound:   "No such thing.",
		actions.CodeValidation: "The thing's name is empty.",
	}); err != nil {
		t.Fatal(err)
	}
	plain, _ := r.Get("plain")
	if plain.Returns(actions.CodeNotFound) {
		t.Errorf("Returns(NOT_FOUND) = true for an action that does not declare it")
	}
	var codes []actions.Code
	for _, e := range plain.Errors() {
		codes = append(codes, e.Code)
		if e.When != actions.CodeMeaning(e.Code) {
			t.Errorf("plain: %s says %q, want the code's meaning", e.Code, e.When)
		}
	}
	if diff := cmp.Diff(actions.RuntimeCodes, codes); diff != "" {
		t.Errorf("plain.Errors() codes (-want +got):\n%s", diff)
	}

	lookup, _ := r.Get("lookup")
	got := lookup.Errors()
	if len(got) != len(actions.Codes) {
		t.Fatalf("lookup.Errors() = %v, want every code", got)
	}
	for _, e := range got {
		want := actions.CodeMeaning(e.Code)
		switch e.Code {
		case actions.CodeNotFound:
			want = "No such thing."
		case actions.CodeValidation:
			want = "The thing's name is empty."
		}
		if e.When != want {
			t.Errorf("lookup: %s says %q, want %q", e.Code, e.When, want)
		}
	}
	for _, c := range actions.Codes {
		if actions.CodeMeaning(c) == "" {
			t.Errorf("code %s has no meaning", c)
		}
	}
}
