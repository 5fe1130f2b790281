package actions_test

import (
	"context"
	"strings"
	"testing"

	"hubspot-actions/actions"
)

// sampleDE is a complete German translation of sampleSpec's text.
func sampleDE() actions.Translation {
	return actions.Translation{
		Name:              "Ticket erstellen",
		Description:       "Erstellt ein Ticket.",
		CardContent:       "Ticket {{title}} in {{ queue }}",
		InputLabels:       map[string]string{"title": "Titel", "queue": "Warteschlange", "size": "Größe"},
		InputDescriptions: map[string]string{"title": "Kurze Zusammenfassung"},
		OptionLabels:      map[string]map[string]string{"size": {"s": "Klein", "l": "Groß"}},
		OutputLabels:      map[string]string{"ticket_id": "Ticket-ID"},
		Messages:          map[actions.Code]string{actions.CodeNotFound: "Keine Warteschlange {{ error_message }} für Ticket {{ticket_id}}"},
	}
}

// sampleSpec is sampleAction's spec with the given translations.
func sampleSpec(tr map[string]actions.Translation) actions.Spec[sampleIn, sampleOut] {
	return actions.Spec[sampleIn, sampleOut]{
		Key:         "helpdesk-create-ticket",
		Name:        "Create ticket",
		Description: "Creates a ticket.",
		CardContent: "Ticket {{title}} in {{ queue }}",
		ObjectTypes: []string{"CONTACT"},
		Inputs: []actions.InputField{
			{Name: "title", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Title", Required: true, Description: "Short summary"},
			{Name: "queue", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Queue", Dynamic: true, ValueTypes: []string{actions.StaticValue}},
			{Name: "size", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Size", Options: []actions.Option{{Label: "Small", Value: "s"}, {Label: "Large", Value: "l"}}},
		},
		Outputs:  []actions.OutputField{{Name: "ticket_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Ticket ID"}},
		Messages: map[actions.Code]string{actions.CodeNotFound: "No queue {{ error_message }} for ticket {{ticket_id}}"},
		Run: func(context.Context, *actions.Execution, sampleIn) (sampleOut, error) {
			return sampleOut{}, nil
		},
		Options: map[string]actions.OptionsFunc{"queue": func(context.Context, *actions.OptionsRequest) (actions.OptionsPage, error) {
			return actions.OptionsPage{}, nil
		}},
		Translations: tr,
	}
}

func TestRegisterRefusesIncompleteTranslations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		locale string
		edit   func(*actions.Translation)
		want   []string // each must be in the error
	}{
		{"no name", "de", func(tr *actions.Translation) { tr.Name = "" },
			[]string{"locale de", "the action's name", `Translations["de"].Name`}},
		{"no description", "de", func(tr *actions.Translation) { tr.Description = "" },
			[]string{"the action's description", `Translations["de"].Description`}},
		{"no card content", "de", func(tr *actions.Translation) { tr.CardContent = "" },
			[]string{"the card content", `Translations["de"].CardContent`}},
		{"card content references another input", "de", func(tr *actions.Translation) { tr.CardContent = "Ticket {{titel}} in {{queue}}" },
			[]string{`Translations["de"].CardContent references [queue titel]`, "[queue title]", "same inputs"}},
		{"card content drops an input", "de", func(tr *actions.Translation) { tr.CardContent = "Ticket {{title}}" },
			[]string{"CardContent references [title]", "same inputs"}},
		{"no input label", "de", func(tr *actions.Translation) { delete(tr.InputLabels, "queue") },
			[]string{`the label of input "queue"`, `Translations["de"].InputLabels`}},
		{"no input description", "de", func(tr *actions.Translation) { tr.InputDescriptions = nil },
			[]string{`the description of input "title"`, `Translations["de"].InputDescriptions`}},
		{"a description English has not", "de", func(tr *actions.Translation) { tr.InputDescriptions["size"] = "Wie groß" },
			[]string{`InputDescriptions["size"] has no English original`}},
		{"no option label", "de", func(tr *actions.Translation) { delete(tr.OptionLabels["size"], "l") },
			[]string{`the label of option "l" of input "size"`, `Translations["de"].OptionLabels`}},
		{"an option that does not exist", "de", func(tr *actions.Translation) { tr.OptionLabels["size"]["xl"] = "Riesig" },
			[]string{`OptionLabels["size"] names "xl"`}},
		{"an input that does not exist", "de", func(tr *actions.Translation) { tr.InputLabels["colour"] = "Farbe" },
			[]string{`InputLabels names "colour"`}},
		{"no output label", "de", func(tr *actions.Translation) { tr.OutputLabels = nil },
			[]string{`the label of output "ticket_id"`, `Translations["de"].OutputLabels`}},
		{"no message for the action's own message", "de", func(tr *actions.Translation) { tr.Messages = nil },
			[]string{"the history message for NOT_FOUND", `Translations["de"].Messages[NOT_FOUND]`}},
		{"message references another output", "de", func(tr *actions.Translation) {
			tr.Messages[actions.CodeNotFound] = "Keine Warteschlange {{ error_message }}"
		}, []string{"the history message for NOT_FOUND", "references [error_message]", "[error_message ticket_id]", "same outputs"}},
		{"message for a code the action does not override", "de", func(tr *actions.Translation) {
			tr.Messages[actions.CodeInternal] = "Fehler: {{ error_message }}"
		}, []string{"Messages has INTERNAL_ERROR", "actions/labels_de.go"}},
		{"unsupported locale", "de-ch", func(*actions.Translation) {},
			[]string{"locale de-ch", "HubSpot does not show labels in this locale", "pt-br"}},
		{"English as a translation", "en", func(*actions.Translation) {},
			[]string{"locale en", "English is the Spec's own text"}},
		// fr has no registry text: the action's own text is complete, the
		// registry's outputs and default messages are not.
		{"registry text missing in the locale", "fr", func(*actions.Translation) {},
			[]string{"locale fr", `the label of output "error_code" (added by the registry)`, "write registryFR (a registryText) in actions/labels_fr.go",
				"the history message for VALIDATION_FAILED (added by the registry)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := sampleDE()
			tt.edit(&tr)
			r := actions.NewRegistry()
			err := actions.Register(r, sampleSpec(map[string]actions.Translation{tt.locale: tr}))
			if err == nil {
				t.Fatalf("Register(%s) = nil, want an error", tt.name)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Register(%s) = %v\nwant it to contain %q", tt.name, err, w)
				}
			}
			if _, ok := r.Get("helpdesk-create-ticket"); ok {
				t.Errorf("Register(%s) failed but left the action registered", tt.name)
			}
		})
	}
}

func TestTranslatedDefinition(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	if err := actions.Register(r, sampleSpec(map[string]actions.Translation{"de": sampleDE()})); err != nil {
		t.Fatalf("Register(complete German) = %v", err)
	}
	a, _ := r.Get("helpdesk-create-ticket")
	if got := a.Locales(); strings.Join(got, ",") != "en,de" {
		t.Errorf("Locales() = %v, want [en de]", got)
	}
	d := a.Definition(sampleParams)
	if err := actions.CheckDefinition(d); err != nil {
		t.Fatalf("CheckDefinition(translated) = %v", err)
	}
	de, ok := d.Labels["de"]
	if !ok {
		t.Fatalf("Definition().Labels has no de: %v", d.Labels)
	}
	checks := []struct{ name, got, want string }{
		{"actionName", de.ActionName, "Ticket erstellen"},
		{"appDisplayName", de.AppDisplayName, "Helpdesk"},
		{"inputFieldLabels.size", de.InputFieldLabels["size"], "Größe"},
		{"inputFieldDescriptions.title", de.InputFieldDescriptions["title"], "Kurze Zusammenfassung"},
		{"inputFieldOptionLabels.size.l", de.InputFieldOptionLabels["size"]["l"], "Groß"},
		{"outputFieldLabels.error_code", de.OutputFieldLabels[actions.OutputErrorCode], "Fehlercode"},
		{"executionRules not found", de.ExecutionRules[actions.RuleLabel(actions.CodeNotFound)], "Keine Warteschlange {{ error_message }} für Ticket {{ticket_id}}"},
		{"executionRules default", de.ExecutionRules[actions.RuleLabel(actions.CodeNotConnected)], "Nicht verbunden: {{ error_message }}"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("labels.de.%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if d.Labels[actions.Locale].InputFieldOptionLabels != nil {
		t.Errorf("labels.en.inputFieldOptionLabels = %v, want none (en's option labels are the options')", d.Labels[actions.Locale].InputFieldOptionLabels)
	}
	// The project component carries the same locales.
	if _, ok := a.Component(sampleParams).Config.Labels["de"]; !ok {
		t.Errorf("Component().Config.Labels has no de")
	}
}

func TestCheckDefinitionRefusesBadLocales(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	actions.MustRegister(r, sampleSpec(map[string]actions.Translation{"de": sampleDE()}))
	a, _ := r.Get("helpdesk-create-ticket")
	tests := []struct {
		name string
		edit func(map[string]actions.Labels)
		want string
	}{
		{"unsupported locale", func(l map[string]actions.Labels) { l["xx"] = l["de"] },
			`labels.xx: HubSpot does not support locale "xx"`},
		{"no action name", func(l map[string]actions.Labels) { de := l["de"]; de.ActionName = ""; l["de"] = de },
			"labels.de: actionName is empty"},
		{"no description", func(l map[string]actions.Labels) { de := l["de"]; de.ActionDescription = ""; l["de"] = de },
			"labels.de: actionDescription is missing"},
		{"card references other inputs", func(l map[string]actions.Labels) {
			de := l["de"]
			de.ActionCardContent = "Ticket {{ size }}"
			l["de"] = de
		}, "labels.de: actionCardContent references [size]"},
		{"missing input label", func(l map[string]actions.Labels) { delete(l["de"].InputFieldLabels, "title") },
			`labels.de: inputFieldLabels has no "title"`},
		{"extra input label", func(l map[string]actions.Labels) { l["de"].InputFieldLabels["colour"] = "Farbe" },
			`labels.de: inputFieldLabels has "colour", which labels.en has not`},
		{"missing input description", func(l map[string]actions.Labels) { delete(l["de"].InputFieldDescriptions, "title") },
			`labels.de: inputFieldDescriptions has no "title"`},
		{"missing option label", func(l map[string]actions.Labels) { delete(l["de"].InputFieldOptionLabels["size"], "s") },
			`labels.de: inputFieldOptionLabels has no label for option "s" of input "size"`},
		{"option label of a field without options", func(l map[string]actions.Labels) {
			l["de"].InputFieldOptionLabels["title"] = map[string]string{"x": "X"}
		}, `inputFieldOptionLabels names "title", which is not an input with static options`},
		{"missing output label", func(l map[string]actions.Labels) { delete(l["de"].OutputFieldLabels, actions.OutputErrorMsg) },
			`labels.de: outputFieldLabels has no "error_message"`},
		{"missing history message", func(l map[string]actions.Labels) { delete(l["de"].ExecutionRules, "error_internal_error") },
			`labels.de: executionRules has no "error_internal_error"`},
		{"history message references other outputs", func(l map[string]actions.Labels) {
			l["de"].ExecutionRules["error_internal_error"] = "Fehler {{ ticket_id }}"
		}, `labels.de: executionRules["error_internal_error"] references [ticket_id]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := a.Definition(sampleParams) // fresh maps for each case
			tt.edit(d.Labels)
			err := actions.CheckDefinition(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckDefinition(%s) = %v, want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
}
