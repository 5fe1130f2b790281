package admin

import (
	"context"
	"testing"
	"time"

	"hubspot-actions/actions"
)

// TestGuideNamesTheLanguagesFromTheRegistry: the guide says, per action,
// which languages its labels come in, and which languages the app's
// labels come in at all, from the actions' translations.
func TestGuideNamesTheLanguagesFromTheRegistry(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	run := func(context.Context, *actions.Execution, widgetIn) (widgetOut, error) { return widgetOut{}, nil }
	inputs := []actions.InputField{
		{Name: "size", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Widget size",
			Options: []actions.Option{{Label: "Small", Value: "s"}, {Label: "Large", Value: "l"}}},
		{Name: "color", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Colour", Description: "Any CSS colour."},
		{Name: "token", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Acme token", Secret: true},
	}
	outputs := []actions.OutputField{{Name: "widget_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Widget ID"}}
	actions.MustRegister(reg, actions.Spec[widgetIn, widgetOut]{
		Key: "acme-make-widget", Name: "Make an Acme widget", Description: "Makes one widget in Acme.",
		CardContent: "Widget of size {{size}}", ObjectTypes: []string{"CONTACT"}, Inputs: inputs, Outputs: outputs, Run: run,
		Translations: map[string]actions.Translation{"de": {
			Name: "Acme-Widget erstellen", Description: "Erstellt ein Widget in Acme.", CardContent: "Widget der Größe {{size}}",
			InputLabels:       map[string]string{"size": "Widget-Größe", "color": "Farbe", "token": "Acme-Token"},
			InputDescriptions: map[string]string{"color": "Eine beliebige CSS-Farbe."},
			OptionLabels:      map[string]map[string]string{"size": {"s": "Klein", "l": "Groß"}},
			OutputLabels:      map[string]string{"widget_id": "Widget-ID"},
		}},
	})
	actions.MustRegister(reg, actions.Spec[widgetIn, widgetOut]{
		Key: "acme-paint-widget", Name: "Paint an Acme widget", ObjectTypes: []string{"CONTACT"}, Inputs: inputs, Outputs: outputs, Run: run,
	})
	byID := guideElements(t, reg, nil, GuideFacts{Scopes: []actions.Scope{actions.ScopeOAuth}, HistoryRetention: 72 * time.Hour, UninstalledGrace: 72 * time.Hour})
	wantIn(t, byID, "acme-make-widget-languages", "English and German")
	wantIn(t, byID, "acme-paint-widget-languages", "English")
	wantNotIn(t, byID, "acme-paint-widget-languages", "German")
	wantIn(t, byID, "languages", "English and German")
}
