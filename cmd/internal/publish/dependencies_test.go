package publish

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
)

// TestPublishRefusesHidingInputs: HubSpot's definition of the Stripe
// action predates its dependencies, so publishing them would hide inputs
// live workflows may have filled; publish refuses that as it refuses other
// breaking changes, and --allow-breaking lets it through.
func TestPublishRefusesHidingInputs(t *testing.T) {
	t.Parallel()
	old := codeDefinition(t, "stripe-create-promotion-code")
	if len(old.InputFieldDependencies) == 0 {
		t.Fatal("the code's stripe-create-promotion-code has no inputFieldDependencies")
	}
	old.InputFieldDependencies = nil

	f := newAutomationFake(t)
	id := f.seed(old)
	out, err := f.publish(t)
	if err == nil {
		t.Fatalf("publish succeeded:\n%s", out)
	}
	for _, want := range []string{
		`input "percent_off" would be hidden unless discount_type is percent, where it was always shown`,
		`input "amount_off" would be hidden unless discount_type is amount, where it was always shown`,
		`input "currency" would be hidden unless discount_type is amount, where it was always shown`,
		`input "duration_in_months" would be hidden unless duration is repeating, where it was always shown`,
		"--allow-breaking", "nothing was changed",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if !strings.Contains(out, "(inputFieldDependencies)") || !strings.Contains(out, "BREAKING: input \"percent_off\" would be hidden") {
		t.Errorf("plan does not show the change:\n%s", out)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("a refused publish wrote %v", w)
	}

	if out, err := f.publish(t, "--allow-breaking"); err != nil {
		t.Fatalf("publish --allow-breaking: %v\n%s", err, out)
	}
	if !slices.Contains(f.writes(), "PATCH /automation/actions/2026-03/4242/"+id) {
		t.Errorf("writes = %v, want the PATCH", f.writes())
	}
}

// TestPublishAddsSingleFieldDependencies: greying an input out until
// another is set breaks nothing (its value is still used), so it is
// published without --allow-breaking.
func TestPublishAddsSingleFieldDependencies(t *testing.T) {
	t.Parallel()
	old := codeDefinition(t, "quickbooks-create-invoice")
	if len(old.InputFieldDependencies) == 0 {
		t.Fatal("the code's quickbooks-create-invoice has no inputFieldDependencies")
	}
	old.InputFieldDependencies = nil
	f := newAutomationFake(t)
	id := f.seed(old)
	if out, err := f.publish(t); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	if !slices.Contains(f.writes(), "PATCH /automation/actions/2026-03/4242/"+id) {
		t.Errorf("writes = %v, want the PATCH", f.writes())
	}
}

func TestDependencyBreakingChanges(t *testing.T) {
	t.Parallel()
	cond := func(c, v string, deps ...string) actions.InputFieldDependency {
		return actions.InputFieldDependency{DependencyType: actions.DependencyConditional, ControllingFieldName: c, ControllingFieldValue: v, DependentFieldNames: deps}
	}
	single := func(c string, deps ...string) actions.InputFieldDependency {
		return actions.InputFieldDependency{DependencyType: actions.DependencySingle, ControllingFieldName: c, DependentFieldNames: deps}
	}
	code := codeDefinition(t, "stripe-create-promotion-code") // the want side
	tests := []struct {
		name string
		have []actions.InputFieldDependency
		edit func(have *actions.Definition)
		want []string
	}{
		{"same", code.InputFieldDependencies, nil, nil},
		{"shown for fewer values", append(slices.Clone(code.InputFieldDependencies), cond("duration", "forever", "duration_in_months")), nil,
			[]string{`input "duration_in_months" would be hidden when duration is forever, where it was shown`}},
		{"controlling option removed", append(slices.Clone(code.InputFieldDependencies), cond("discount_type", "free_shipping", "code_prefix")), func(d *actions.Definition) {
			for i := range d.InputFields {
				if td := &d.InputFields[i].TypeDefinition; td.Name == "discount_type" {
					td.Options = append(td.Options, actions.Option{Label: "Free shipping", Value: "free_shipping"})
				}
			}
		}, []string{`option "free_shipping" of input "discount_type" would be removed, which shows code_prefix`}},
		{"another controller", []actions.InputFieldDependency{
			cond("discount_type", "percent", "percent_off"), cond("discount_type", "amount", "amount_off", "currency"),
			cond("discount_type", "amount", "duration_in_months"), cond("discount_type", "percent", "duration_in_months"),
		}, nil, []string{`input "duration_in_months" would also be hidden unless duration is repeating`}},
		{"shown more is fine", append(slices.Clone(code.InputFieldDependencies), cond("discount_type", "percent", "code_prefix")), nil, nil},
		{"greyed out is fine", []actions.InputFieldDependency{
			cond("discount_type", "percent", "percent_off"), cond("discount_type", "amount", "amount_off", "currency"), cond("duration", "repeating", "duration_in_months"),
			single("customer_email", "code_prefix"),
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			have := codeDefinition(t, "stripe-create-promotion-code")
			have.InputFieldDependencies = tt.have
			if tt.edit != nil {
				tt.edit(&have)
			}
			if diff := cmp.Diff(tt.want, dependencyBreakingChanges(code, have)); diff != "" {
				t.Errorf("dependencyBreakingChanges (-want +got):\n%s", diff)
			}
		})
	}
}
