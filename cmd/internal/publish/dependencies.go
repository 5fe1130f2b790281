package publish

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"hubspot-actions/actions"
)

// dependencyBreakingChanges lists what want's inputFieldDependencies change
// in have's that breaks workflows already using the action, as
// breakingChanges does for fields: an input hidden (CONDITIONAL_SINGLE_FIELD)
// for a value of its controller where it used to be shown, including one
// that used to be always shown (a workflow that filled it would lose it
// from the editor, and the action would ignore its value), and an option
// removed from a controlling enumeration while a dependency uses it.
// SINGLE_FIELD dependencies only grey an input out until its controller is
// set, and a value sent for it is still used, so they break nothing.
func dependencyBreakingChanges(want, have actions.Definition) []string {
	var out []string
	wantIn := map[string]actions.TypeDefinition{}
	for _, f := range want.InputFields {
		wantIn[f.TypeDefinition.Name] = f.TypeDefinition
	}
	wantShown, haveShown := shownFor(want), shownFor(have)
	for _, f := range have.InputFields {
		n := f.TypeDefinition.Name
		if _, ok := wantIn[n]; !ok {
			continue // reported as removed
		}
		w, h := wantShown[n], haveShown[n]
		for _, c := range sortedKeys(w) {
			hv, ok := h[c]
			if !ok {
				if len(h) == 0 {
					out = append(out, fmt.Sprintf("input %q would be hidden unless %s is %s, where it was always shown", n, c, strings.Join(w[c], " or ")))
				} else {
					out = append(out, fmt.Sprintf("input %q would also be hidden unless %s is %s", n, c, strings.Join(w[c], " or ")))
				}
				continue
			}
			for _, v := range hv {
				if !slices.Contains(w[c], v) {
					out = append(out, fmt.Sprintf("input %q would be hidden when %s is %s, where it was shown", n, c, v))
				}
			}
		}
	}
	for _, dep := range have.InputFieldDependencies {
		if dep.DependencyType != actions.DependencyConditional {
			continue
		}
		c, ok := wantIn[dep.ControllingFieldName]
		if !ok || len(c.Options) == 0 {
			continue // removed (reported), or no longer a static enumeration (its type change is)
		}
		if !slices.ContainsFunc(c.Options, func(o actions.Option) bool { return o.Value == dep.ControllingFieldValue }) {
			out = append(out, fmt.Sprintf("option %q of input %q would be removed, which shows %s", dep.ControllingFieldValue, dep.ControllingFieldName, strings.Join(dep.DependentFieldNames, ", ")))
		}
	}
	return out
}

// shownFor maps each input a CONDITIONAL_SINGLE_FIELD dependency hides to
// its controllers and, for each, the values that show it (sorted).
func shownFor(d actions.Definition) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, dep := range d.InputFieldDependencies {
		if dep.DependencyType != actions.DependencyConditional {
			continue
		}
		for _, n := range dep.DependentFieldNames {
			if out[n] == nil {
				out[n] = map[string][]string{}
			}
			vs := out[n][dep.ControllingFieldName]
			if !slices.Contains(vs, dep.ControllingFieldValue) {
				vs = append(vs, dep.ControllingFieldValue)
				sort.Strings(vs)
			}
			out[n][dep.ControllingFieldName] = vs
		}
	}
	return out
}
