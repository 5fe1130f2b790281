package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
)

type widgetIn struct {
	Size  string `json:"size"`
	Color string `json:"color"`
	Token string `json:"token"`
}

type widgetOut struct {
	WidgetID string `json:"widget_id"`
}

// TestGuideIsGeneratedFromTheRegistry serves the guide for an action and
// a provider it has never heard of: everything it says about them comes
// from their declarations.
func TestGuideIsGeneratedFromTheRegistry(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	actions.MustRegister(reg, actions.Spec[widgetIn, widgetOut]{
		Key: "acme-make-widget", Name: "Make an Acme widget", Description: "Makes one widget in Acme.",
		CardContent: "Widget of size {{size}}", ObjectTypes: []string{"CONTACT", "DEAL"},
		Inputs: []actions.InputField{
			{Name: "size", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Widget size", Required: true,
				Options: []actions.Option{{Label: "Small", Value: "s"}, {Label: "Large", Value: "l"}}},
			{Name: "color", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Colour", Description: "Any CSS colour."},
			{Name: "token", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Acme token", Secret: true},
		},
		Outputs: []actions.OutputField{{Name: "widget_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Widget ID"}},
		Errors:  map[actions.Code]string{actions.CodeNotFound: "Acme has no widget factory for this account."},
		Run: func(context.Context, *actions.Execution, widgetIn) (widgetOut, error) {
			return widgetOut{}, nil
		},
	})
	facts := GuideFacts{Scopes: []actions.Scope{actions.ScopeOAuth, {Name: "acme.widgets", Reason: "Makes widgets."}}, HistoryRetention: 72 * time.Hour, UninstalledGrace: 14 * 24 * time.Hour}
	resp, body := getGuide(t, reg, []actions.Provider{&acme{}}, facts)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /guide = %d:\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
		t.Errorf("GET /guide: CSP = %q, want %q", got, ContentSecurityPolicy)
	}
	admintest.CheckAccessible(t, "/guide", body)
	byID := elementsByID(t, body)
	wantIn(t, byID, "action-acme-make-widget", "Make an Acme widget")
	wantIn(t, byID, "acme-make-widget-objects", "Contacts and deals")
	wantIn(t, byID, "acme-make-widget-inputs", "Widget size size Choice Required", "Choices: Small, Large.",
		"Colour color Text Optional Any CSS colour.", "Acme token token", "never shown again")
	wantIn(t, byID, "acme-make-widget-outputs", "Widget ID widget_id Text", "Error code error_code Choice", "Error message error_message Text")
	wantIn(t, byID, "acme-make-widget-errors", "NOT_FOUND Acme has no widget factory for this account.", "VALIDATION_FAILED", "INTERNAL_ERROR")
	wantIn(t, byID, "scopes", "oauth", "acme.widgets Makes widgets.")
	wantIn(t, byID, "connect-acme", "Acme CRM")
	wantIn(t, byID, "test-mode-acme", "Acme CRM")
	wantIn(t, byID, "test-mode-acme-effects", "A stand-in for Acme answers.", "Widgets get made-up IDs.")
	wantIn(t, byID, "retention", "3 days")
	wantIn(t, byID, "uninstalled-grace", "14 days")
	wantIn(t, byID, "error-codes", "NOT_FOUND", "UPSTREAM_REJECTED", "RATE_LIMITED")
	text := admintest.PageText(t, body)
	for _, want := range []string{"Uninstall from HubSpot", "Settings, then Integrations, then Connected apps", "tokens, its service API keys and connections", "every settings-page session"} {
		if !strings.Contains(text, want) {
			t.Errorf("the guide lacks %q", want)
		}
	}
}
