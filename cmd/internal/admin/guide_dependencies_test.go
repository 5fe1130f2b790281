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

type giftIn struct {
	Kind    string `json:"kind"`
	Percent string `json:"percent"`
	Amount  string `json:"amount"`
	Email   string `json:"email"`
	Name    string `json:"name"`
}

// TestGuideSaysWhichInputsAppearWhen: the guide states, from each input's
// DependsOn and in the editor's words (labels, option labels), when an
// input appears or can be filled.
func TestGuideSaysWhichInputsAppearWhen(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	actions.MustRegister(reg, actions.Spec[giftIn, widgetOut]{
		Key: "acme-gift", Name: "Give an Acme gift", ObjectTypes: []string{"CONTACT"},
		Inputs: []actions.InputField{
			{Name: "kind", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Gift kind",
				Options: []actions.Option{{Label: "Percentage", Value: "pct"}, {Label: "Voucher", Value: "voucher"}, {Label: "Both", Value: "both"}}},
			{Name: "percent", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Percent off", DependsOn: actions.ShownWhen("kind", "pct", "both")},
			{Name: "amount", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Voucher amount", DependsOn: actions.ShownWhen("kind", "voucher")},
			{Name: "email", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Recipient email"},
			{Name: "name", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Recipient name", DependsOn: actions.EnabledBy("email")},
		},
		Outputs: []actions.OutputField{{Name: "widget_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Widget ID"}},
		Run: func(context.Context, *actions.Execution, giftIn) (widgetOut, error) {
			return widgetOut{}, nil
		},
	})
	log := slog.New(slog.DiscardHandler)
	w := New(oauth.New(oauth.Config{}, nil, &http.Client{}, log), NewSessions(nil, false), []byte("csrf key, csrf key, csrf key, 32"), log)
	e := actions.NewServer(log, actions.NewValidator())
	e.GET(actions.GuidePath, HandleGuide(w, reg, nil, GuideFacts{Scopes: []actions.Scope{actions.ScopeOAuth}, HistoryRetention: 72 * time.Hour, UninstalledGrace: 24 * time.Hour}), w.Secure)
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + actions.GuidePath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /guide = %d:\n%s", resp.StatusCode, body)
	}
	admintest.CheckAccessible(t, "/guide", body)
	byID := elementsByID(t, body)
	for id, want := range map[string][]string{
		"acme-gift-inputs": {
			"Percent off percent Number Optional Appears only when Gift kind is “Percentage” or “Both”; a value left in it while hidden is ignored.",
			"Voucher amount amount Number Optional Appears only when Gift kind is “Voucher”",
			"Recipient name name Text Optional Can be filled once Recipient email is set.",
		},
		"acme-gift-appear": {
			"Percent off: appears only when Gift kind is “Percentage” or “Both”",
			"Voucher amount: appears only when Gift kind is “Voucher”",
			"Recipient name: can be filled once Recipient email is set.",
		},
	} {
		n, ok := byID[id]
		if !ok {
			t.Errorf("the guide has no #%s", id)
			continue
		}
		got := admintest.NodeText(n)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("#%s says %q, want it to contain %q", id, got, w)
			}
		}
		if strings.Contains(got, "Gift kind: ") || strings.Contains(got, "Recipient email: ") {
			t.Errorf("#%s says %q: an input without DependsOn is always shown", id, got)
		}
	}
}
