package admin

import (
	"strings"

	"hubspot-actions/actions"
)

// appears says when the workflow editor offers input f of a, from its
// DependsOn, in the words of the editor (labels, not names): "" when it is
// always offered.
func appears(a *actions.Action, f actions.InputField) string {
	d := f.DependsOn
	if d == nil {
		return ""
	}
	var c actions.InputField
	for _, in := range a.Inputs {
		if in.Name == d.On {
			c = in
		}
	}
	switch d.Type {
	case actions.DependencyConditional:
		var labels []string
		for _, v := range d.Values {
			l := v
			for _, o := range c.Options {
				if o.Value == v {
					l = o.Label
				}
			}
			labels = append(labels, "“"+l+"”")
		}
		return "Appears only when " + c.Label + " is " + strings.Join(labels, " or ") + "; a value left in it while hidden is ignored."
	case actions.DependencySingle:
		return "Can be filled once " + c.Label + " is set."
	}
	return ""
}

// lowerFirst lower-cases the first letter of a sentence that follows a
// colon.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
