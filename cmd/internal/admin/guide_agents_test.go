package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
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
	log := slog.New(slog.DiscardHandler)
	w := New(oauth.New(oauth.Config{}, nil, &http.Client{}, log), NewSessions(nil, false), []byte("csrf key, csrf key, csrf key, 32"), log)
	e := actions.NewServer(log, actions.NewValidator())
	e.GET(actions.GuidePath, HandleGuide(w, reg, nil, GuideFacts{}), w.Secure)
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + actions.GuidePath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /guide = %d:\n%s", resp.StatusCode, b)
	}
	admintest.CheckAccessible(t, "/guide", string(b))
	byID := elementsByID(t, string(b))
	for id, want := range map[string]string{
		"acme-find-widget-agent": "Yes: HubSpot's agents can use it as a tool. It only reads",
		"acme-make-widget-agent": "No: it creates or changes things and works on the enrolled record, so only workflows run it.",
		"agent-tools":            "Find an Acme widget",
	} {
		n, ok := byID[id]
		if !ok {
			t.Errorf("the guide has no #%s", id)
			continue
		}
		if got := admintest.NodeText(n); !strings.Contains(got, want) {
			t.Errorf("#%s says %q, want it to contain %q", id, got, want)
		}
	}
	if got := admintest.NodeText(byID["agent-tools"]); strings.Contains(got, "Make an Acme widget") {
		t.Errorf("#agent-tools lists an action that is no tool: %q", got)
	}
}
