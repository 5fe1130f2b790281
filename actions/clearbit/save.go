package clearbit

import "hubspot-actions/actions"

// The enrichments' outputs can be saved on the enrolled record, as
// properties named hsa_clearbit_<output> and labelled "Clearbit: …".
func saved(props ...actions.SavedProperty) []actions.SavedProperty { return props }

func saveText(output, label string) actions.SavedProperty {
	return actions.SavedProperty{Output: output, Property: actions.PropertyPrefix + "clearbit_" + output, Label: "Clearbit: " + label}
}

func saveNumber(output, label string) actions.SavedProperty {
	p := saveText(output, label)
	p.Type, p.FieldType = actions.TypeNumber, actions.FieldNumber
	return p
}
