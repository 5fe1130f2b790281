package admin

import (
	"context"
	"testing"

	"hubspot-actions/actions"
)

type findIn struct {
	Name string `json:"name"`
}

type findOut struct {
	Found bool `json:"found"`
}

// TestGuideSaysWhichActionsAreAgentTools: per action, the guide says from
// the registry whether HubSpot's agents may use it, and lists the tools.
func TestGuideSaysWhichActionsAreAgentTools(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	actions.MustRegister(reg, actions.Spec[findIn, findOut]{
		Key: "acme-find-widget", Name: "Find an Acme widget", ObjectTypes: []string{"CONTACT"},
		Inputs:   []actions.InputField{{Name: "name", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Name"}},
		Outputs:  []actions.OutputField{{Name: "found", Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Found"}},
		Run:      func(context.Context, *actions.Execution, findIn) (findOut, error) { return findOut{}, nil },
		ReadOnly: true,
		Agent:    &actions.AgentTool{Description: "Finds a widget by name. Input name: the widget's name. Returns found."},
	})
	actions.MustRegister(reg, actions.Spec[widgetIn, widgetOut]{
		Key: "acme-make-widget", Name: "Make an Acme widget", ObjectTypes: []string{"DEAL"}, NeedsObject: true,
		Inputs: []actions.InputField{
			{Name: "size", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Size"},
			{Name: "color", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Colour"},
			{Name: "token", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Token", Secret: true},
		},
		Outputs: []actions.OutputField{{Name: "widget_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Widget ID"}},
		Run:     func(context.Context, *actions.Execution, widgetIn) (widgetOut, error) { return widgetOut{}, nil },
	})
	byID := guideElements(t, reg, nil, GuideFacts{})
	wantIn(t, byID, "acme-find-widget-agent", "Yes: HubSpot's agents can use it as a tool. It only reads")
	wantIn(t, byID, "acme-make-widget-agent", "No: it creates or changes things and works on the enrolled record, so only workflows run it.")
	wantIn(t, byID, "agent-tools", "Find an Acme widget")
	// An action that is no tool is not listed.
	wantNotIn(t, byID, "agent-tools", "Make an Acme widget")
}
