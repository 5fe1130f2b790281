package admin

import (
	"context"
	"testing"
	"time"

	"hubspot-actions/actions"
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
	byID := guideElements(t, reg, nil, GuideFacts{Scopes: []actions.Scope{actions.ScopeOAuth}, HistoryRetention: 72 * time.Hour, UninstalledGrace: 24 * time.Hour})
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
		wantIn(t, byID, id, want...)
		// An input without DependsOn is always shown: no condition names it.
		wantNotIn(t, byID, id, "Gift kind: ", "Recipient email: ")
	}
}
