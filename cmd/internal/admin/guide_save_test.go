package admin

import (
	"context"
	"testing"
	"time"

	"hubspot-actions/actions"
)

// TestGuideShowsWhatIsSavedOnTheRecord: for an action that can save its
// outputs on the record, the guide lists the properties (labels and
// names, from the registry), the group and the optional permissions; an
// action that cannot has no such table.
func TestGuideShowsWhatIsSavedOnTheRecord(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	actions.MustRegister(reg, actions.Spec[widgetIn, widgetOut]{
		Key: "acme-find-widget", Name: "Find an Acme widget", ObjectTypes: []string{"CONTACT"},
		Inputs: []actions.InputField{
			{Name: "size", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Widget size"},
			{Name: "color", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Colour"},
			{Name: "token", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Acme token"},
		},
		Outputs: []actions.OutputField{{Name: "widget_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Widget ID"}},
		Save:    []actions.SavedProperty{{Output: "widget_id", Property: "hsa_acme_widget_id", Label: "Acme widget ID"}},
		Run:     func(context.Context, *actions.Execution, widgetIn) (widgetOut, error) { return widgetOut{}, nil },
	})
	actions.MustRegister(reg, actions.Spec[struct{}, struct{}]{
		Key: "acme-ping", Name: "Ping Acme",
		Run: func(context.Context, *actions.Execution, struct{}) (struct{}, error) { return struct{}{}, nil },
	})
	facts := GuideFacts{Scopes: append([]actions.Scope{actions.ScopeOAuth}, reg.OptionalScopes()...), HistoryRetention: 72 * time.Hour, UninstalledGrace: 14 * 24 * time.Hour}
	byID := guideElements(t, reg, nil, facts)
	wantIn(t, byID, "acme-find-widget-inputs", "Save to the record save_to_record Yes or no Optional")
	wantIn(t, byID, "acme-find-widget-saved", "Acme widget ID hsa_acme_widget_id widget_id")
	wantIn(t, byID, "acme-find-widget-save", actions.PropertyGroupLabel, "optional permissions", "NOT_CONNECTED")
	wantIn(t, byID, "scopes", "crm.objects.contacts.write", "crm.schemas.contacts.write", "Find an Acme widget: Saving results on the enrolled contact")
	if _, ok := byID["acme-ping-saved"]; ok {
		t.Errorf("the guide lists saved properties for acme-ping, which saves nothing")
	}
}
