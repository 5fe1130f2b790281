package stripe

import "hubspot-actions/actions"

// checkDE is stripe-check-promotion-code in German.
func checkDE() actions.Translation {
	return actions.Translation{
		Name: "Stripe-Rabattcode prüfen",
		Description: "Sucht einen Stripe-Promotion-Code, etwa einen, den ein Kontakt in ein Formular eingegeben hat, und gibt an, " +
			"ob er jetzt eingelöst werden kann, wie oft er bereits eingelöst wurde und welchen Rabatt er gewährt. Ein Code, den " +
			"es nicht gibt, ist kein Fehler: „Code vorhanden“ ist dann falsch, sodass Sie danach verzweigen können.",
		CardContent: "Stripe-Rabattcode {{code}} prüfen",
		InputLabels: map[string]string{InCode: "Rabattcode"},
		InputDescriptions: map[string]string{
			InCode: "Der zu prüfende Code, z. B. SPRING7KQ2M9XHTA. Groß- und Kleinschreibung spielen keine Rolle.",
		},
		OutputLabels: map[string]string{
			OutFound:          "Code vorhanden",
			OutActive:         "Code jetzt einlösbar",
			OutTimesRedeemed:  "Anzahl der Einlösungen",
			OutMaxRedemptions: "Maximale Einlösungen (leer: unbegrenzt)",
			OutPercentOff:     "Rabatt in Prozent",
			OutAmountOff:      "Rabattbetrag",
			OutCurrency:       "Währung des Rabattbetrags",
			OutExpiresAt:      "Code läuft ab am (leer: nie)",
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Prüfen Sie die Eingabe „Rabattcode“ dieser Aktion: {{ error_message }}",
			actions.CodeNotConnected: "Stripe ist für diesen HubSpot-Account nicht verbunden: {{ error_message }}",
			actions.CodeRejected:     "Stripe hat die Suche nach dem Rabattcode abgelehnt: {{ error_message }}",
			actions.CodeRateLimited:  "Wegen eines Anfragelimits wurde der Rabattcode nicht geprüft: {{ error_message }}",
			actions.CodeUnavailable:  "Stripe war nicht erreichbar, daher wurde der Rabattcode nicht geprüft: {{ error_message }}",
		},
	}
}
