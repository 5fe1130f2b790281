package actions

import (
	"strings"
	"testing"
)

// TestCheckTranslationsNamesTheRegistrysFile: an input or output the
// registry adds to every action, without its German in labels_de.go, is
// named with the file and variable to add it to.
func TestCheckTranslationsNamesTheRegistrysFile(t *testing.T) {
	t.Parallel()
	own := OutputField{Name: "ticket_id", Type: TypeString, FieldType: FieldText, Label: "Ticket ID"}
	added := InputField{Name: "notify_owner", Type: TypeBool, FieldType: FieldCheckbox, Label: "Notify the owner", Description: "Writes the outputs"}
	a := &Action{
		Key:    "helpdesk-create-ticket",
		Name:   "Create ticket",
		Inputs: []InputField{added},
		Outputs: []OutputField{own,
			{Name: "sent_at", Type: TypeString, FieldType: FieldText, Label: "Sent at"}},
		Translations: map[string]Translation{"de": {Name: "Ticket erstellen", OutputLabels: map[string]string{"ticket_id": "Ticket-ID"}}},
	}
	err := checkTranslations(a, nil, []OutputField{own})
	if err == nil {
		t.Fatal("checkTranslations(registry fields without German) = nil, want an error")
	}
	for _, want := range []string{
		`locale de: the label of input "notify_owner" (added by the registry) has no translation: add it to registryDE.InputLabels in actions/labels_de.go`,
		`the description of input "notify_owner" (added by the registry) has no translation: add it to registryDE.InputDescriptions in actions/labels_de.go`,
		`the label of output "sent_at" (added by the registry) has no translation: add it to registryDE.OutputLabels in actions/labels_de.go`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("checkTranslations() = %v\nwant it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ticket_id") || strings.Contains(err.Error(), "history message") {
		t.Errorf("checkTranslations() = %v, want only the registry's missing fields named", err)
	}
}
