package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
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

func guideBody(t *testing.T, reg, test *actions.Registry) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	w := New(oauth.New(oauth.Config{}, nil, &http.Client{}, log), NewSessions(nil, false), []byte("csrf key, csrf key, csrf key, 32"), log)
	e := actions.NewServer(log, actions.NewValidator())
	e.GET(actions.GuidePath, HandleGuide(w, reg, nil, GuideFacts{HistoryRetention: 72 * time.Hour, UninstalledGrace: time.Hour, TestActions: test}), w.Secure)
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + actions.GuidePath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /guide = %d:\n%s", resp.StatusCode, b)
	}
	admintest.CheckAccessible(t, "/guide", string(b))
	return string(b)
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
	body := guideBody(t, reg, test)
	byID := elementsByID(t, body)
	wantIn := func(id string, want ...string) {
		t.Helper()
		n, ok := byID[id]
		if !ok {
			t.Errorf("the guide has no #%s", id)
			return
		}
		got := admintest.NodeText(n)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("#%s says %q, want it to contain %q", id, got, w)
			}
		}
	}
	wantIn("test-mode-section", "nothing is sent to the services", "executions that start afterwards")
	wantIn("test-mode-steps", "Under Test mode, choose Switch test mode on", "test_mode output is true", "choose Switch test mode off")
	wantIn("test-mode-with", "Make an Acme widget.")
	wantIn("test-mode-without", "UPSTREAM_UNAVAILABLE", "Ship an Acme widget.")
	wantIn("acme-make-widget-test-mode", "Runs against a test version")
	wantIn("acme-ship-widget-test-mode", "Has no test version")
	wantIn("acme-make-widget-outputs", "Test mode test_mode Yes or no")
	if strings.Contains(admintest.NodeText(byID["test-mode-with"]), "Ship") {
		t.Errorf("#test-mode-with lists an action that has no test version")
	}
}

// TestGuideWithoutTestMode: an installation without test-mode actions
// says it has no test mode and offers no steps.
func TestGuideWithoutTestMode(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	registerWidget(reg, "acme-make-widget", "Make an Acme widget")
	byID := elementsByID(t, guideBody(t, reg, nil))
	if _, ok := byID["test-mode-unavailable"]; !ok {
		t.Errorf("the guide does not say test mode is unavailable")
	}
	for _, id := range []string{"test-mode-steps", "acme-make-widget-test-mode"} {
		if _, ok := byID[id]; ok {
			t.Errorf("the guide has #%s without test mode", id)
		}
	}
}
