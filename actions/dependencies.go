package actions

import (
	"fmt"
	"slices"
	"strings"
)

// Dependency types of a definition's inputFieldDependencies (§1.7).
const (
	// DependencySingle greys an input out until its controlling input has
	// a value.
	DependencySingle = "SINGLE_FIELD"
	// DependencyConditional hides an input unless its controlling
	// enumeration has one of the dependency's values.
	DependencyConditional = "CONDITIONAL_SINGLE_FIELD"
)

// Dependency says which other input of the same action controls an input
// (InputField.DependsOn). Build it with ShownWhen or EnabledBy; Register
// refuses one that names no input, the input itself, a value its
// controller does not offer, or that forms a cycle.
type Dependency struct {
	// Type is DependencySingle or DependencyConditional.
	Type string
	// On is the name of the controlling input.
	On string
	// Values are, for DependencyConditional, the values of On that show
	// the input (the options' values, not their labels); nil otherwise.
	Values []string
}

// ShownWhen makes an input appear in the workflow editor only while the
// enumeration input controller has one of values (CONDITIONAL_SINGLE_FIELD,
// one definition entry per value). At run time a value HubSpot sends for
// it while the controller has another value (a stale one, left from before
// the marketer changed the controller) is ignored before validation.
func ShownWhen(controller string, values ...string) *Dependency {
	return &Dependency{Type: DependencyConditional, On: controller, Values: values}
}

// EnabledBy makes an input usable in the workflow editor only once input
// controller has a value (SINGLE_FIELD): it only makes sense with it. The
// input stays visible, and a value sent for it is always passed on.
func EnabledBy(controller string) *Dependency {
	return &Dependency{Type: DependencySingle, On: controller}
}

// InputFieldDependency is one entry of a definition's
// inputFieldDependencies (§1.7): the dependents of one controlling field
// (and, for CONDITIONAL_SINGLE_FIELD, one of its values).
type InputFieldDependency struct {
	DependencyType        string   `json:"dependencyType"`
	ControllingFieldName  string   `json:"controllingFieldName"`
	ControllingFieldValue string   `json:"controllingFieldValue,omitempty"`
	DependentFieldNames   []string `json:"dependentFieldNames"`
}

// checkDependencies checks the DependsOn of inputs: each names another
// input; a conditional one an enumeration with static options and some of
// their values, each once; a single one no values; a required input is
// never hidden; and following DependsOn never comes back to an input.
func checkDependencies(inputs []InputField) error {
	byName := map[string]InputField{}
	for _, f := range inputs {
		byName[f.Name] = f
	}
	for _, f := range inputs {
		d := f.DependsOn
		if d == nil {
			continue
		}
		c, ok := byName[d.On]
		switch {
		case d.On == f.Name:
			return fmt.Errorf("input %q depends on itself", f.Name)
		case !ok:
			return fmt.Errorf("input %q depends on %q, which is not an input", f.Name, d.On)
		}
		switch d.Type {
		case DependencySingle:
			if len(d.Values) > 0 {
				return fmt.Errorf("input %q: a %s dependency takes no values (use ShownWhen to show it for some values)", f.Name, DependencySingle)
			}
		case DependencyConditional:
			if c.Type != TypeEnumeration || c.Dynamic || len(c.Options) == 0 {
				return fmt.Errorf("input %q is shown for values of %q, which is not an enumeration with static options", f.Name, d.On)
			}
			if len(d.Values) == 0 {
				return fmt.Errorf("input %q is shown for no value of %q", f.Name, d.On)
			}
			for i, v := range d.Values {
				if !slices.ContainsFunc(c.Options, func(o Option) bool { return o.Value == v }) {
					return fmt.Errorf("input %q is shown when %q is %q, which is not one of its options", f.Name, d.On, v)
				}
				if slices.Contains(d.Values[:i], v) {
					return fmt.Errorf("input %q lists value %q of %q twice", f.Name, v, d.On)
				}
			}
			if f.Required {
				return fmt.Errorf("input %q is required, so it cannot be hidden for some values of %q", f.Name, d.On)
			}
		default:
			return fmt.Errorf("input %q: dependency type %q is not %s or %s", f.Name, d.Type, DependencySingle, DependencyConditional)
		}
	}
	// Each input has at most one controller, so a cycle is a chain of
	// controllers that comes back to where it started.
	for _, f := range inputs {
		seen := map[string]bool{f.Name: true}
		path := []string{f.Name}
		for d := f.DependsOn; d != nil; d = byName[d.On].DependsOn {
			path = append(path, d.On)
			if seen[d.On] {
				return fmt.Errorf("inputs depend on each other in a cycle: %s", strings.Join(path, " → "))
			}
			seen[d.On] = true
		}
	}
	return nil
}

// dependencies returns the inputFieldDependencies of inputs: one entry per
// controlling input and type (and value, for a conditional one), in the
// order their first dependent is declared, each listing its dependents in
// declaration order.
func dependencies(inputs []InputField) []InputFieldDependency {
	var out []InputFieldDependency
	index := map[[3]string]int{}
	for _, f := range inputs {
		d := f.DependsOn
		if d == nil {
			continue
		}
		values := d.Values
		if d.Type == DependencySingle {
			values = []string{""}
		}
		for _, v := range values {
			k := [3]string{d.Type, d.On, v}
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, InputFieldDependency{DependencyType: d.Type, ControllingFieldName: d.On, ControllingFieldValue: v})
			}
			out[i].DependentFieldNames = append(out[i].DependentFieldNames, f.Name)
		}
	}
	return out
}

// HiddenGroup is the inputs one controlling input's value hides.
type HiddenGroup struct {
	// Controller is the controlling input; Value its value as sent
	// ("" when it has none).
	Controller, Value string
	// Inputs are the hidden inputs, in declaration order.
	Inputs []string
}

// Hidden returns the inputs the workflow editor hides for the given input
// values (CONDITIONAL_SINGLE_FIELD dependents whose controller has none of
// their values, or is itself hidden), grouped by controller, in the order
// of the inputs' declaration. A controller's value matches ignoring case
// and surrounding spaces, as the actions read their enumerations.
func (a *Action) Hidden(values map[string]any) []HiddenGroup {
	return hiddenInputs(a.Inputs, values)
}

func hiddenInputs(inputs []InputField, values map[string]any) []HiddenGroup {
	byName := map[string]InputField{}
	for _, f := range inputs {
		byName[f.Name] = f
	}
	// Register refused cycles, so this recursion ends.
	var shown func(name string) bool
	shown = func(name string) bool {
		d := byName[name].DependsOn
		if d == nil || d.Type != DependencyConditional {
			return true
		}
		if !shown(d.On) {
			return false
		}
		v := strings.TrimSpace(valueString(values[d.On]))
		return slices.ContainsFunc(d.Values, func(w string) bool { return strings.EqualFold(w, v) })
	}
	var out []HiddenGroup
	for _, f := range inputs {
		if shown(f.Name) {
			continue
		}
		on := f.DependsOn.On
		v := valueString(values[on])
		i := slices.IndexFunc(out, func(g HiddenGroup) bool { return g.Controller == on })
		if i < 0 {
			i = len(out)
			out = append(out, HiddenGroup{Controller: on, Value: v})
		}
		out[i].Inputs = append(out[i].Inputs, f.Name)
	}
	return out
}

// valueString is an input's value as text: "" when absent.
func valueString(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// dropHidden returns inputs without the ones the editor hides for them
// (see Action.Hidden) among decl: a value sent for a hidden input is stale
// and must not fail the action. inputs itself is not changed.
func dropHidden(decl []InputField, inputs map[string]any) map[string]any {
	hidden := hiddenInputs(decl, inputs)
	if len(hidden) == 0 {
		return inputs
	}
	out := make(map[string]any, len(inputs))
	for k, v := range inputs {
		out[k] = v
	}
	for _, g := range hidden {
		for _, n := range g.Inputs {
			delete(out, n)
		}
	}
	return out
}

// checkDefinitionDependencies checks a definition's inputFieldDependencies
// (§1.7): a known type; a controlling field and dependents that are inputs,
// the dependents other than it; for CONDITIONAL_SINGLE_FIELD a controlling
// enumeration with static options and a value among them; for SINGLE_FIELD
// no value; and no entry twice.
func checkDefinitionDependencies(d Definition) []error {
	var errs []error
	inputs := map[string]TypeDefinition{}
	for _, f := range d.InputFields {
		inputs[f.TypeDefinition.Name] = f.TypeDefinition
	}
	seen := map[[3]string]bool{}
	for i, dep := range d.InputFieldDependencies {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("inputFieldDependencies[%d] (%s on %q): %s", i, dep.DependencyType, dep.ControllingFieldName, fmt.Sprintf(format, args...)))
		}
		k := [3]string{dep.DependencyType, dep.ControllingFieldName, dep.ControllingFieldValue}
		if seen[k] {
			fail("the same controlling field and value are listed twice; list every dependent in one entry")
		}
		seen[k] = true
		c, ok := inputs[dep.ControllingFieldName]
		if !ok {
			fail("controllingFieldName %q is not an input", dep.ControllingFieldName)
		}
		if len(dep.DependentFieldNames) == 0 {
			fail("dependentFieldNames is empty")
		}
		for _, n := range dep.DependentFieldNames {
			switch _, ok := inputs[n]; {
			case !ok:
				fail("dependent %q is not an input", n)
			case n == dep.ControllingFieldName:
				fail("input %q depends on itself", n)
			}
		}
		switch dep.DependencyType {
		case DependencySingle:
			if dep.ControllingFieldValue != "" {
				fail("a %s dependency takes no controllingFieldValue", DependencySingle)
			}
		case DependencyConditional:
			switch {
			case !ok:
			case c.Type != TypeEnumeration:
				fail("the controlling field must be an enumeration with static options, not a %s", c.Type)
			case len(c.Options) == 0:
				fail("the controlling enumeration has no static options (options fetched from a URL cannot be checked)")
			case dep.ControllingFieldValue == "":
				fail("controllingFieldValue is empty")
			case !slices.ContainsFunc(c.Options, func(o Option) bool { return o.Value == dep.ControllingFieldValue }):
				fail("controllingFieldValue %q is not one of %q's options", dep.ControllingFieldValue, dep.ControllingFieldName)
			}
		default:
			fail("dependencyType %q is not %s or %s", dep.DependencyType, DependencySingle, DependencyConditional)
		}
	}
	return errs
}
