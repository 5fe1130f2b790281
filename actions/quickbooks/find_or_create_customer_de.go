package quickbooks

import "hubspot-actions/actions"

// findOrCreateCustomerDE is quickbooks-find-or-create-customer in German.
func findOrCreateCustomerDE() actions.Translation {
	return actions.Translation{
		Name: "QuickBooks-Kunden suchen oder anlegen",
		Description: "Sucht den Kunden in Ihrem verbundenen QuickBooks-Online-Unternehmen anhand seiner E-Mail-Adresse und " +
			"legt ihn an, falls es ihn noch nicht gibt. Verwenden Sie die Kunden-ID in späteren Schritten, oder verzweigen Sie " +
			"danach, ob ein neuer Kunde angelegt wurde. Leere Felder werden aus dem registrierten Kontakt (E-Mail, Vor- und " +
			"Nachname, Unternehmen, Telefon) oder Unternehmen (Name, Domain) übernommen.",
		CardContent: "QuickBooks-Kunden {{email}} suchen oder anlegen",
		InputLabels: map[string]string{
			InEmail:       "E-Mail",
			InDisplayName: "Anzeigename des Kunden",
			InCompanyName: "Unternehmensname",
			InPhone:       "Telefon",
		},
		InputDescriptions: map[string]string{
			InEmail:       "Die E-Mail-Adresse des Kunden; nach ihr wird in QuickBooks zuerst gesucht. Leer lassen, um die E-Mail-Adresse des Kontakts zu verwenden.",
			InDisplayName: "Der Name, unter dem ein neuer Kunde in QuickBooks angezeigt wird. Leer lassen, um den Namen des Kontakts oder des Unternehmens zu verwenden.",
			InCompanyName: "Das Unternehmen des Kunden. Leer lassen, um das Unternehmen des Kontakts zu verwenden.",
			InPhone:       "Die Telefonnummer des Kunden. Leer lassen, um die Telefonnummer des Datensatzes zu verwenden.",
		},
		OutputLabels: map[string]string{
			OutCustomerID: "QuickBooks-Kunden-ID",
			OutCreated:    "Neuer Kunde angelegt",
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Der QuickBooks-Kunde konnte nicht gesucht werden: {{ error_message }}",
			actions.CodeNotConnected: "QuickBooks ist nicht verbunden: {{ error_message }}",
			actions.CodeRejected:     "QuickBooks hat das Anlegen des Kunden abgelehnt: {{ error_message }}",
			actions.CodeRateLimited:  "QuickBooks hat die Anfragen wiederholt begrenzt, daher wurde der Kunde nicht gesucht: {{ error_message }}",
			actions.CodeUnavailable:  "QuickBooks war nicht erreichbar, daher wurde der Kunde nicht gesucht: {{ error_message }}",
		},
	}
}
