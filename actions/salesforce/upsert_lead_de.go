package salesforce

import "hubspot-actions/actions"

// upsertLeadDE is salesforce-upsert-lead in German; externalIDField is the
// lead field that holds the HubSpot contact ID. The values a new lead gets
// without a last name or company stay as Salesforce stores them.
func upsertLeadDE(externalIDField string) actions.Translation {
	return actions.Translation{
		Name: "Salesforce-Lead erstellen oder aktualisieren",
		Description: "Erstellt oder aktualisiert den Lead des Kontakts in Ihrer verbundenen Salesforce-Organisation. Der Lead wird " +
			"über die HubSpot-Kontakt-ID im Lead-Feld " + externalIDField + " zugeordnet (oder, wenn die Organisation dieses Feld " +
			"nicht hat, über die E-Mail-Adresse). Wird die Aktion für denselben Kontakt erneut ausgeführt, wird derselbe Lead " +
			"aktualisiert. Leere Felder für Name, Unternehmen und Telefon werden aus dem Kontakt übernommen. Salesforce verlangt " +
			"einen Nachnamen und ein Unternehmen: Ein neuer Lead ohne diese Angaben erhält „" + DefaultLastName + "“, ein " +
			"bestehender Lead behält seine eigenen.",
		CardContent: "Salesforce-Lead {{email}} erstellen oder aktualisieren",
		InputLabels: map[string]string{
			InEmail:      "E-Mail",
			InFirstName:  "Vorname",
			InLastName:   "Nachname",
			InCompany:    "Unternehmen",
			InPhone:      "Telefon",
			InLeadSource: "Lead-Quelle",
			InLeadStatus: "Lead-Status",
		},
		InputDescriptions: map[string]string{
			InEmail:      "Die E-Mail-Adresse des Leads. Über sie wird der Lead auch gefunden, wenn die Organisation kein Feld für die HubSpot-Kontakt-ID hat.",
			InFirstName:  "Leer lassen, um den Vornamen des Kontakts zu verwenden.",
			InLastName:   "Leer lassen, um den Nachnamen des Kontakts zu verwenden; ein neuer Lead ohne Nachnamen erhält „" + DefaultLastName + "“.",
			InCompany:    "Leer lassen, um das Unternehmen des Kontakts zu verwenden; ein neuer Lead ohne Unternehmen erhält „" + DefaultCompany + "“.",
			InPhone:      "Leer lassen, um die Telefonnummer des Kontakts zu verwenden.",
			InLeadSource: "Ein Wert aus der Auswahlliste „Lead-Quelle“ Ihrer Organisation, z. B. Web. Leer lassen, um den Wert des Leads beizubehalten.",
			InLeadStatus: "Ein Wert aus der Auswahlliste „Lead-Status“ Ihrer Organisation, z. B. Open - Not Contacted. Leer lassen: Neue Leads " +
				"erhalten den Standardwert der Organisation, bestehende behalten ihren Status.",
		},
		OutputLabels: map[string]string{
			OutLeadID:  "Salesforce-Lead-ID",
			OutCreated: "Neuer Lead erstellt",
			OutLeadURL: "Link zum Salesforce-Lead",
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Der Salesforce-Lead wurde nicht gespeichert: {{ error_message }}",
			actions.CodeNotConnected: "Salesforce ist nicht verbunden: {{ error_message }}",
			actions.CodeRejected:     "Salesforce hat den Lead abgelehnt: {{ error_message }}",
			actions.CodeRateLimited:  "Salesforce begrenzt gerade die Anfragen, daher wurde der Lead nicht gespeichert: {{ error_message }}",
			actions.CodeUnavailable:  "Salesforce war nicht erreichbar, daher wurde der Lead nicht gespeichert: {{ error_message }}",
		},
	}
}
