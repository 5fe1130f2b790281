package simulate

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"hubspot-actions/actions"
)

// hideInputs does what HubSpot's editor does with the inputs chosen in
// body: it prints which inputs the choice hides (CONDITIONAL_SINGLE_FIELD
// dependents whose controller has another value) and which it greys out
// (SINGLE_FIELD dependents whose controller is empty), and removes the
// hidden ones from the request, since HubSpot does not send them. Greyed
// out ones are still sent: a value filled before stays in the workflow.
func hideInputs(w io.Writer, act *actions.Action, body map[string]any) {
	inputs, _ := body["inputFields"].(map[string]any)
	if act == nil || inputs == nil {
		return
	}
	var dropped []string
	for _, g := range act.Hidden(inputs) {
		if strings.TrimSpace(g.Value) == "" {
			fmt.Fprintf(w, "hidden while %s is empty: %s\n", g.Controller, strings.Join(g.Inputs, ", "))
		} else {
			fmt.Fprintf(w, "hidden by %s=%s: %s\n", g.Controller, g.Value, strings.Join(g.Inputs, ", "))
		}
		for _, n := range g.Inputs {
			if _, ok := inputs[n]; ok {
				dropped = append(dropped, n)
			}
		}
	}
	var greyed []actions.HiddenGroup // SINGLE_FIELD dependents, by controller
	for _, f := range act.Inputs {
		d := f.DependsOn
		if d == nil || d.Type != actions.DependencySingle {
			continue
		}
		if v := inputs[d.On]; v != nil && strings.TrimSpace(fmt.Sprint(v)) != "" {
			continue
		}
		i := slices.IndexFunc(greyed, func(g actions.HiddenGroup) bool { return g.Controller == d.On })
		if i < 0 {
			i = len(greyed)
			greyed = append(greyed, actions.HiddenGroup{Controller: d.On})
		}
		greyed[i].Inputs = append(greyed[i].Inputs, f.Name)
	}
	for _, g := range greyed {
		fmt.Fprintf(w, "greyed out until %s is set: %s\n", g.Controller, strings.Join(g.Inputs, ", "))
	}
	if len(dropped) == 0 {
		return
	}
	fmt.Fprintf(w, "not sent (hidden, so HubSpot drops them): %s\n", strings.Join(dropped, ", "))
	fields, _ := body["fields"].(map[string]any)
	for _, n := range dropped {
		delete(inputs, n)
		delete(fields, n)
	}
}
