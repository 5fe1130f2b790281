package shopify

import (
	"fmt"

	"hubspot-actions/actions"
)

// createDE is shopify-create-discount-code in German.
func createDE() actions.Translation {
	return actions.Translation{
		Name: "Shopify-Rabattcode erstellen",
		Description: "Erstellt im verbundenen Shopify-Shop einen eindeutigen, schwer zu erratenden Rabattcode für den registrierten " +
			"Kontakt, z. B. SPRING7KQ2M9XHTA, mit einem prozentualen oder festen Rabatt auf die gesamte Bestellung. Fügen Sie die " +
			"Ausgabe „Rabattcode“ in eine Marketing-E-Mail ein. Wird die Aktion für dieselbe Registrierung erneut ausgeführt, " +
			"liefert sie denselben Code.",
		CardContent: "Shopify-Rabattcode mit dem Präfix {{code_prefix}} erstellen: {{discount_type}} ({{percent_off}} % oder " +
			"{{amount_off}}), gültig für {{expires_in_days}} Tage",
		InputLabels: map[string]string{
			InDiscountType:    "Rabattart",
			InPercentOff:      "Rabatt in Prozent",
			InAmountOff:       "Rabattbetrag",
			InUsageLimit:      "Maximale Einlösungen",
			InOncePerCustomer: "Einmal pro Kunde",
			InExpiresInDays:   "Gültig für (Tage)",
			InCodePrefix:      "Code-Präfix",
			InCustomerEmail:   "Nur für den Kunden mit der E-Mail-Adresse",
		},
		InputDescriptions: map[string]string{
			InDiscountType: "Ein prozentualer Rabatt oder ein fester Betrag in der Währung des Shops.",
			InPercentOff:   "Bei einem prozentualen Rabatt: mehr als 0 und höchstens 100, z. B. 15 oder 12.5. Bei einem festen Betrag leer lassen.",
			InAmountOff: "Bei einem festen Rabatt: der Betrag in der Währung des Shops, z. B. 10 oder 10.50. Verwenden Sie einen Punkt " +
				"als Dezimaltrennzeichen. Bei einem prozentualen Rabatt leer lassen.",
			InUsageLimit:      "Wie oft der Code insgesamt eingelöst werden kann. Geben Sie 1 für einen Einmalcode ein; leer lassen für unbegrenzte Einlösungen.",
			InOncePerCustomer: "Jeder Kunde kann den Code nur einmal einlösen.",
			InExpiresInDays: "Wie viele Tage der Code gültig ist, gerechnet ab der Ausführung dieser Aktion (auf die volle Stunde " +
				"aufgerundet). Leer lassen für einen Code ohne Ablaufdatum.",
			InCodePrefix: fmt.Sprintf("Buchstaben und Ziffern, mit denen der Code beginnt, z. B. SPRING (bis zu %d, in Großbuchstaben). "+
				"Danach folgen zehn zufällige Buchstaben und Ziffern, sodass jeder Kontakt einen anderen Code erhält.", maxPrefixLen),
			InCustomerEmail: "Optional: Nur der Kunde des Shops mit dieser E-Mail-Adresse kann den Code einlösen; wählen Sie die " +
				"Eigenschaft „E-Mail“ des Kontakts. Der Kunde muss in Shopify bereits vorhanden sein.",
		},
		OptionLabels: map[string]map[string]string{
			InDiscountType: {DiscountPercent: "Prozentualer Rabatt", DiscountAmount: "Fester Betrag"},
		},
		OutputLabels: map[string]string{
			OutCode:       "Rabattcode",
			OutDiscountID: "Shopify-Rabatt-ID",
			OutExpiresAt:  "Code läuft ab am",
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Prüfen Sie die Rabatteinstellungen dieser Aktion: {{ error_message }}",
			actions.CodeNotConnected: "Shopify ist für diesen HubSpot-Account nicht verbunden: {{ error_message }}",
			actions.CodeNotFound:     "Shopify konnte den Kunden, für den der Code bestimmt ist, nicht finden: {{ error_message }}",
			actions.CodeRejected:     "Shopify hat das Erstellen des Rabattcodes abgelehnt: {{ error_message }}",
			actions.CodeRateLimited:  "Wegen eines Anfragelimits wurde kein Rabattcode erstellt: {{ error_message }}",
			actions.CodeUnavailable:  "Shopify war nicht erreichbar, daher wurde kein Rabattcode erstellt: {{ error_message }}",
		},
	}
}
