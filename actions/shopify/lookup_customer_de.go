package shopify

import "hubspot-actions/actions"

// lookupDE is shopify-lookup-customer in German.
func lookupDE() actions.Translation {
	return actions.Translation{
		Name: "Shopify-Kunden suchen",
		Description: "Sucht im verbundenen Shopify-Shop den Kunden mit der E-Mail-Adresse des Kontakts und gibt die Anzahl seiner " +
			"Bestellungen, den ausgegebenen Betrag, das Datum seiner letzten Bestellung und seine Tags zurück. „Kunde gefunden“ " +
			"ist falsch, wenn der Shop keinen solchen Kunden hat.",
		CardContent: "Shopify-Kunden mit der E-Mail-Adresse {{email}} suchen",
		InputLabels: map[string]string{InEmail: "E-Mail"},
		InputDescriptions: map[string]string{
			InEmail: "Die E-Mail-Adresse des Kunden. Leer lassen, um die Eigenschaft „E-Mail“ des Kontakts zu verwenden.",
		},
		OutputLabels: map[string]string{
			OutFound:       "Kunde gefunden",
			OutCustomerID:  "Shopify-Kunden-ID",
			OutOrdersCount: "Anzahl der Bestellungen",
			OutAmountSpent: "Ausgegebener Betrag",
			OutCurrency:    "Währung des ausgegebenen Betrags",
			OutLastOrderAt: "Letzte Bestellung am",
			OutTags:        "Kunden-Tags (durch Kommas getrennt)",
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Prüfen Sie die E-Mail-Adresse dieser Aktion: {{ error_message }}",
			actions.CodeNotConnected: "Shopify ist für diesen HubSpot-Account nicht verbunden: {{ error_message }}",
			actions.CodeRejected:     "Shopify hat die Kundensuche abgelehnt: {{ error_message }}",
			actions.CodeRateLimited:  "Wegen eines Anfragelimits wurde der Shopify-Kunde nicht gesucht: {{ error_message }}",
			actions.CodeUnavailable:  "Shopify war nicht erreichbar, daher wurde der Kunde nicht gesucht: {{ error_message }}",
		},
	}
}
