package actions_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
)

type discountIn struct {
	Kind     string `json:"kind"`
	Percent  string `json:"percent"`
	Amount   int64  `json:"amount" validate:"gte=0"`
	Currency string `json:"currency" validate:"omitempty,len=3"`
	Plan     string `json:"plan"`
	Months   int64  `json:"months" validate:"lte=12"`
	Email    string `json:"email"`
	Name     string `json:"name"`
}

type discountOut struct {
	Seen string `json:"seen"`
}

// discountInputs declares a discount the way the Stripe action does: kind
// controls percent, and amount with currency; plan controls months; email
// enables name.
func discountInputs() []actions.InputField {
	enum := func(name string, values ...string) actions.InputField {
		f := actions.InputField{Name: name, Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: name, ValueTypes: []string{actions.StaticValue}}
		for _, v := range values {
			f.Options = append(f.Options, actions.Option{Label: strings.ToUpper(v), Value: v})
		}
		return f
	}
	num := func(name string, d *actions.Dependency) actions.InputField {
		return actions.InputField{Name: name, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: name, DependsOn: d}
	}
	text := func(name string, d *actions.Dependency) actions.InputField {
		return actions.InputField{Name: name, Type: actions.TypeString, FieldType: actions.FieldText, Label: name, DependsOn: d}
	}
	return []actions.InputField{
		enum("kind", "percent", "amount"),
		num("percent", actions.ShownWhen("kind", "percent")),
		num("amount", actions.ShownWhen("kind", "amount")),
		text("currency", actions.ShownWhen("kind", "amount")),
		enum("plan", "once", "repeating", "forever"),
		num("months", actions.ShownWhen("plan", "repeating", "forever")),
		text("email", nil),
		text("name", actions.EnabledBy("email")),
	}
}

func discountSpec(inputs []actions.InputField, run func(discountIn)) actions.Spec[discountIn, discountOut] {
	return actions.Spec[discountIn, discountOut]{
		Key: "shop-discount", Name: "Discount", ObjectTypes: []string{"CONTACT"},
		Inputs:  inputs,
		Outputs: []actions.OutputField{{Name: "seen", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Seen"}},
		Run: func(_ context.Context, _ *actions.Execution, in discountIn) (discountOut, error) {
			if run != nil {
				run(in)
			}
			return discountOut{}, nil
		},
	}
}

func TestRegisterRefusesBadDependencies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(in []actions.InputField) // in is discountInputs()
		want string
	}{
		{"missing controller", func(in []actions.InputField) { in[1].DependsOn = actions.ShownWhen("type", "percent") }, `input "percent" depends on "type", which is not an input`},
		{"itself", func(in []actions.InputField) { in[6].DependsOn = actions.EnabledBy("email") }, `input "email" depends on itself`},
		{"conditional on a number", func(in []actions.InputField) { in[3].DependsOn = actions.ShownWhen("amount", "10") }, `input "currency" is shown for values of "amount", which is not an enumeration with static options`},
		{"conditional on an enumeration without static options", func(in []actions.InputField) { in[4].Options = nil }, `input "months" is shown for values of "plan", which is not an enumeration with static options`},
		{"value not an option", func(in []actions.InputField) { in[1].DependsOn = actions.ShownWhen("kind", "Percent") }, `input "percent" is shown when "kind" is "Percent", which is not one of its options`},
		{"no value", func(in []actions.InputField) { in[1].DependsOn = actions.ShownWhen("kind") }, `input "percent" is shown for no value of "kind"`},
		{"value twice", func(in []actions.InputField) { in[1].DependsOn = actions.ShownWhen("kind", "percent", "percent") }, `input "percent" lists value "percent" of "kind" twice`},
		{"required and hidden", func(in []actions.InputField) { in[1].Required = true }, `input "percent" is required, so it cannot be hidden for some values of "kind"`},
		{"single with values", func(in []actions.InputField) {
			in[7].DependsOn = &actions.Dependency{Type: actions.DependencySingle, On: "email", Values: []string{"x"}}
		}, `input "name": a SINGLE_FIELD dependency takes no values`},
		{"unknown type", func(in []actions.InputField) { in[7].DependsOn = &actions.Dependency{Type: "MULTI", On: "email"} }, `dependency type "MULTI" is not`},
		{"cycle", func(in []actions.InputField) {
			in[6].DependsOn = actions.EnabledBy("name") // name is enabled by email
		}, "inputs depend on each other in a cycle: email → name → email"},
		{"longer cycle", func(in []actions.InputField) {
			in[0].DependsOn = actions.EnabledBy("currency") // currency is shown by kind
		}, "cycle: kind → currency → kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := discountInputs()
			tt.edit(in)
			err := actions.Register(actions.NewRegistry(), discountSpec(in, nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Register() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if err := actions.Register(actions.NewRegistry(), discountSpec(discountInputs(), nil)); err != nil {
		t.Fatalf("Register(valid dependencies) = %v", err)
	}
}

func discountAction(t *testing.T) *actions.Action {
	t.Helper()
	r := actions.NewRegistry()
	actions.MustRegister(r, discountSpec(discountInputs(), nil))
	a, _ := r.Get("shop-discount")
	return a
}

func TestDefinitionGroupsDependencies(t *testing.T) {
	t.Parallel()
	d := discountAction(t).Definition(sampleParams)
	if err := actions.CheckDefinition(d); err != nil {
		t.Fatalf("CheckDefinition(generated) = %v", err)
	}
	want := []actions.InputFieldDependency{
		{DependencyType: "CONDITIONAL_SINGLE_FIELD", ControllingFieldName: "kind", ControllingFieldValue: "percent", DependentFieldNames: []string{"percent"}},
		{DependencyType: "CONDITIONAL_SINGLE_FIELD", ControllingFieldName: "kind", ControllingFieldValue: "amount", DependentFieldNames: []string{"amount", "currency"}},
		{DependencyType: "CONDITIONAL_SINGLE_FIELD", ControllingFieldName: "plan", ControllingFieldValue: "repeating", DependentFieldNames: []string{"months"}},
		{DependencyType: "CONDITIONAL_SINGLE_FIELD", ControllingFieldName: "plan", ControllingFieldValue: "forever", DependentFieldNames: []string{"months"}},
		{DependencyType: "SINGLE_FIELD", ControllingFieldName: "email", DependentFieldNames: []string{"name"}},
	}
	if diff := cmp.Diff(want, d.InputFieldDependencies); diff != "" {
		t.Errorf("inputFieldDependencies (-want +got):\n%s", diff)
	}
	// The project component carries them too, under the same key.
	c := discountAction(t).Component(sampleParams)
	if diff := cmp.Diff(want, c.Config.InputFieldDependencies); diff != "" {
		t.Errorf("component inputFieldDependencies (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, s := range []string{`"inputFieldDependencies":[{"dependencyType":"CONDITIONAL_SINGLE_FIELD","controllingFieldName":"kind","controllingFieldValue":"percent","dependentFieldNames":["percent"]}`,
		`{"dependencyType":"SINGLE_FIELD","controllingFieldName":"email","dependentFieldNames":["name"]}`} {
		if !strings.Contains(js, s) {
			t.Errorf("component JSON lacks %s:\n%s", s, js)
		}
	}
	if back := c.Definition(); !cmp.Equal(back.InputFieldDependencies, want) {
		t.Errorf("Component.Definition() lost the dependencies: %v", back.InputFieldDependencies)
	}
	// The project check (definitions --check, publish) checks them.
	c.Config.InputFieldDependencies[0].ControllingFieldValue = "half"
	if err := actions.CheckProject("app", []actions.Component{c}); err == nil || !strings.Contains(err.Error(), `shop-discount: inputFieldDependencies[0] (CONDITIONAL_SINGLE_FIELD on "kind"): controllingFieldValue "half" is not one of "kind"'s options`) {
		t.Errorf("CheckProject(component with a bad dependency) = %v", err)
	}
	// An action without dependencies writes none.
	if js := mustJSON(t, sampleAction(t).Definition(sampleParams)); strings.Contains(js, "inputFieldDependencies") {
		t.Errorf("definition without dependencies has the key: %s", js)
	}
}

func TestCheckDefinitionRefusesBadDependencies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dep  actions.InputFieldDependency
		want string
	}{
		{"missing controller", actions.InputFieldDependency{DependencyType: "SINGLE_FIELD", ControllingFieldName: "nope", DependentFieldNames: []string{"name"}}, `controllingFieldName "nope" is not an input`},
		{"missing dependent", actions.InputFieldDependency{DependencyType: "SINGLE_FIELD", ControllingFieldName: "email", DependentFieldNames: []string{"nick"}}, `dependent "nick" is not an input`},
		{"no dependents", actions.InputFieldDependency{DependencyType: "SINGLE_FIELD", ControllingFieldName: "email"}, "dependentFieldNames is empty"},
		{"itself", actions.InputFieldDependency{DependencyType: "SINGLE_FIELD", ControllingFieldName: "email", DependentFieldNames: []string{"email"}}, `input "email" depends on itself`},
		{"conditional on text", actions.InputFieldDependency{DependencyType: "CONDITIONAL_SINGLE_FIELD", ControllingFieldName: "email", ControllingFieldValue: "x", DependentFieldNames: []string{"name"}}, "must be an enumeration with static options, not a string"},
		{"value not an option", actions.InputFieldDependency{DependencyType: "CONDITIONAL_SINGLE_FIELD", ControllingFieldName: "kind", ControllingFieldValue: "free", DependentFieldNames: []string{"name"}}, `controllingFieldValue "free" is not one of "kind"'s options`},
		{"conditional without value", actions.InputFieldDependency{DependencyType: "CONDITIONAL_SINGLE_FIELD", ControllingFieldName: "kind", DependentFieldNames: []string{"name"}}, "controllingFieldValue is empty"},
		{"single with value", actions.InputFieldDependency{DependencyType: "SINGLE_FIELD", ControllingFieldName: "email", ControllingFieldValue: "x", DependentFieldNames: []string{"name"}}, "takes no controllingFieldValue"},
		{"unknown type", actions.InputFieldDependency{DependencyType: "ANY", ControllingFieldName: "email", DependentFieldNames: []string{"name"}}, `dependencyType "ANY" is not`},
		{"entry twice", actions.InputFieldDependency{DependencyType: "CONDITIONAL_SINGLE_FIELD", ControllingFieldName: "kind", ControllingFieldValue: "percent", DependentFieldNames: []string{"name"}}, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := discountAction(t).Definition(sampleParams)
			d.InputFieldDependencies = append(d.InputFieldDependencies, tt.dep)
			err := actions.CheckDefinition(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckDefinition() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// A controller whose options are fetched cannot be checked.
	d := discountAction(t).Definition(sampleParams)
	d.InputFields[0].TypeDefinition.Options = nil
	d.InputFields[0].TypeDefinition.OptionsURL = "https://actions.example.com/options/kind"
	if err := actions.CheckDefinition(d); err == nil || !strings.Contains(err.Error(), "no static options") {
		t.Errorf("CheckDefinition(controller with optionsUrl) = %v, want no static options", err)
	}
}

func TestHidden(t *testing.T) {
	t.Parallel()
	a := discountAction(t)
	tests := []struct {
		name   string
		values map[string]any
		want   []actions.HiddenGroup
	}{
		{"percent", map[string]any{"kind": "percent", "plan": "repeating"}, []actions.HiddenGroup{{Controller: "kind", Value: "percent", Inputs: []string{"amount", "currency"}}}},
		{"amount, case and spaces ignored", map[string]any{"kind": " Amount ", "plan": "FOREVER"}, []actions.HiddenGroup{{Controller: "kind", Value: " Amount ", Inputs: []string{"percent"}}}},
		{"nothing chosen", map[string]any{"email": ""}, []actions.HiddenGroup{
			{Controller: "kind", Inputs: []string{"percent", "amount", "currency"}},
			{Controller: "plan", Inputs: []string{"months"}},
		}},
		{"once", map[string]any{"kind": "amount", "plan": "once"}, []actions.HiddenGroup{
			{Controller: "kind", Value: "amount", Inputs: []string{"percent"}},
			{Controller: "plan", Value: "once", Inputs: []string{"months"}},
		}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, a.Hidden(tt.values)); diff != "" {
			t.Errorf("%s: Hidden(%v) (-want +got):\n%s", tt.name, tt.values, diff)
		}
	}
}

// TestStaleHiddenInputsAreIgnored runs the action as HubSpot would with
// values left from before the marketer changed a controller: the hidden
// ones never reach validation or Run; a shown one is still validated and
// named.
func TestStaleHiddenInputsAreIgnored(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []discountIn
	h := actionstest.New(t, func(r *actions.Registry) {
		actions.MustRegister(r, discountSpec(discountInputs(), func(in discountIn) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, in)
		}))
	}, actionstest.Options{})

	// amount "-5", currency "euro" and months 99 are all invalid, but hidden.
	req := actionstest.NewRequest(7000001, "CONTACT", map[string]any{
		"kind": "percent", "percent": "15", "amount": "-5", "currency": "euro", "plan": "once", "months": 99, "name": "Kim",
	}, nil)
	got := h.Execute(t, "shop-discount", req)
	if got["hs_execution_state"] != "SUCCESS" {
		t.Fatalf("Execute(percent with stale amount) = %v, want SUCCESS", got)
	}
	mu.Lock()
	want := discountIn{Kind: "percent", Percent: "15", Plan: "once", Name: "Kim"} // a SINGLE_FIELD dependent is kept
	if len(seen) != 1 || seen[0] != want {
		t.Errorf("Run got %+v, want %+v", seen, want)
	}
	mu.Unlock()

	// The same values with the controller on amount: they are shown, so
	// validated, and the message names the field.
	req = actionstest.NewRequest(7000001, "CONTACT", map[string]any{"kind": "amount", "amount": "-5", "currency": "EUR"}, nil)
	got = h.Execute(t, "shop-discount", req)
	if got["error_code"] != "VALIDATION_FAILED" || !strings.HasPrefix(got["error_message"], "amount: ") {
		t.Errorf("Execute(amount -5) = %v, want VALIDATION_FAILED naming amount", got)
	}
	req = actionstest.NewRequest(7000001, "CONTACT", map[string]any{"kind": "amount", "amount": "5", "currency": "EUR", "plan": "repeating", "months": 99}, nil)
	got = h.Execute(t, "shop-discount", req)
	if got["error_code"] != "VALIDATION_FAILED" || !strings.HasPrefix(got["error_message"], "months: ") {
		t.Errorf("Execute(repeating, months 99) = %v, want VALIDATION_FAILED naming months", got)
	}
}
