package admin

import (
	"context"
	"testing"
	"time"

	"golang.org/x/net/html"

	"hubspot-actions/actions"
)

// registerWidget registers an action named name under key.
func registerWidget(r *actions.Registry, key, name string) {
	actions.MustRegister(r, actions.Spec[widgetIn, widgetOut]{
		Key: key, Name: name, Description: "Makes one widget.",
		Inputs: []actions.InputField{
			{Name: "size", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Widget size"},
			{Name: "color", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Colour"},
			{Name: "token", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Acme token", Secret: true},
		},
		Outputs: []actions.OutputField{{Name: "widget_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Widget ID"}},
		Run: func(context.Context, *actions.Execution, widgetIn) (widgetOut, error) {
			return widgetOut{}, nil
		},
	})
}

// testModeGuide fetches the guide of live registry reg with test-mode
// registry test (nil: no test mode), indexed by id.
func testModeGuide(t *testing.T, reg, test *actions.Registry) map[string]*html.Node {
	t.Helper()
	return guideElements(t, reg, nil, GuideFacts{HistoryRetention: 72 * time.Hour, UninstalledGrace: time.Hour, TestActions: test})
}

// TestGuideTestModeFromTheRegistry: the guide's test-mode section, and
// each action's line about it, come from the live and test-mode
// registries: which actions have a test version and which do not, the
// output that says so, and the settings page's own words for the steps.
func TestGuideTestModeFromTheRegistry(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	registerWidget(reg, "acme-make-widget", "Make an Acme widget")
	registerWidget(reg, "acme-ship-widget", "Ship an Acme widget")
	test := actions.NewRegistry()
	registerWidget(test, "acme-make-widget", "Make an Acme widget (test)")
	byID := testModeGuide(t, reg, test)
	wantIn(t, byID, "test-mode-section", "nothing is sent to the services", "executions that start afterwards")
	wantIn(t, byID, "test-mode-steps", "Under Test mode, choose Switch test mode on", "test_mode output is true", "choose Switch test mode off")
	wantIn(t, byID, "test-mode-with", "Make an Acme widget.")
	wantIn(t, byID, "test-mode-without", "UPSTREAM_UNAVAILABLE", "Ship an Acme widget.")
	wantIn(t, byID, "acme-make-widget-test-mode", "Runs against a test version")
	wantIn(t, byID, "acme-ship-widget-test-mode", "Has no test version")
	wantIn(t, byID, "acme-make-widget-outputs", "Test mode test_mode Yes or no")
	// An action that has no test version is not listed with those that do.
	wantNotIn(t, byID, "test-mode-with", "Ship")
}

// TestGuideWithoutTestMode: an installation without test-mode actions
// says it has no test mode and offers no steps.
func TestGuideWithoutTestMode(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	registerWidget(reg, "acme-make-widget", "Make an Acme widget")
	byID := testModeGuide(t, reg, nil)
	if _, ok := byID["test-mode-unavailable"]; !ok {
		t.Errorf("the guide does not say test mode is unavailable")
	}
	for _, id := range []string{"test-mode-steps", "acme-make-widget-test-mode"} {
		if _, ok := byID[id]; ok {
			t.Errorf("the guide has #%s without test mode", id)
		}
	}
}
