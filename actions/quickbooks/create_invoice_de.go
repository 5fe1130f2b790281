package quickbooks

import "hubspot-actions/actions"

// createInvoiceDE is quickbooks-create-invoice in German.
func createInvoiceDE() actions.Translation {
	return actions.Translation{
		Name: "QuickBooks-Rechnung erstellen",
		Description: "Erstellt in Ihrem verbundenen QuickBooks-Online-Unternehmen eine Rechnung an den Kunden des Deals, mit " +
			"einer Position für das gewählte Produkt oder die gewählte Dienstleistung, und kann sie dem Kunden per E-Mail " +
			"senden. Der Kunde wird über seine E-Mail-Adresse gefunden (standardmäßig die des mit dem Deal verknüpften " +
			"Kontakts) und bei Bedarf angelegt.",
		CardContent: "QuickBooks-Rechnung über {{amount}} erstellen",
		InputLabels: map[string]string{
			InCustomerEmail: "E-Mail-Adresse des Kunden",
			InCustomerName:  "Name des Kunden",
			InAmount:        "Betrag",
			InItemID:        "Produkt oder Dienstleistung",
			InDescription:   "Positionsbeschreibung",
			InDueInDays:     "Fällig in (Tagen)",
			InSendEmail:     "Rechnung per E-Mail senden",
		},
		InputDescriptions: map[string]string{
			InCustomerEmail: "An wen die Rechnung geht. Leer lassen, um die E-Mail-Adresse des mit dem Deal verknüpften Kontakts zu verwenden.",
			InCustomerName:  "Der Name für einen neuen Kunden in QuickBooks. Leer lassen, um den Namen des Kontakts zu verwenden.",
			InAmount:        "Der Rechnungsbetrag in der Währung des QuickBooks-Unternehmens, zum Beispiel der Betrag des Deals.",
			InItemID:        "Das Produkt oder die Dienstleistung aus QuickBooks, für die die Rechnungsposition gilt.",
			InDescription:   "Der Text der Rechnungsposition. Leer lassen, um den Namen des Deals zu verwenden.",
			InDueInDays:     "Tage bis zur Fälligkeit der Zahlung. Leer lassen, um die Zahlungsbedingungen des Kunden in QuickBooks zu verwenden.",
			InSendEmail:     "Sendet die Rechnung aus QuickBooks an die E-Mail-Adresse des Kunden.",
		},
		OutputLabels: map[string]string{
			OutInvoiceID:     "QuickBooks-Rechnungs-ID",
			OutInvoiceNumber: "Rechnungsnummer",
			OutTotalAmount:   "Rechnungssumme",
			OutInvCustomerID: "QuickBooks-Kunden-ID",
			OutDueDate:       "Fälligkeitsdatum",
			OutEmailStatus:   "E-Mail-Status",
			OutInvoiceURL:    "Link zur Rechnung in QuickBooks",
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Die Rechnung wurde nicht erstellt: {{ error_message }}",
			actions.CodeNotFound:     "Die Rechnung wurde nicht erstellt: {{ error_message }}",
			actions.CodeNotConnected: "QuickBooks ist nicht verbunden: {{ error_message }}",
			actions.CodeRejected:     "QuickBooks hat die Anfrage abgelehnt: {{ error_message }}",
			actions.CodeRateLimited:  "QuickBooks hat die Anfragen wiederholt begrenzt: {{ error_message }}",
			actions.CodeUnavailable:  "QuickBooks war nicht erreichbar oder hat wiederholt Fehler gemeldet: {{ error_message }}",
		},
	}
}
