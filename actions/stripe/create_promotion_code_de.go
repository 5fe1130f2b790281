package stripe

import (
	"fmt"

	"hubspot-actions/actions"
)

// createDE is stripe-create-promotion-code in German.
func createDE() actions.Translation {
	return actions.Translation{
		Name: "Stripe-Rabattcode erstellen",
		Description: "Erstellt für den registrierten Kontakt einen eindeutigen, schwer zu erratenden Stripe-Promotion-Code, z. B. " +
			"SPRING7KQ2M9XHTA, mit einem prozentualen oder festen Rabatt. Fügen Sie die Ausgabe „Rabattcode“ in eine " +
			"Marketing-E-Mail ein. Wird die Aktion für dieselbe Registrierung erneut ausgeführt, liefert sie denselben Code; " +
			"Codes mit demselben Rabatt teilen sich einen Stripe-Coupon.",
		CardContent: "Stripe-Rabattcode mit dem Präfix {{code_prefix}} erstellen: {{discount_type}} ({{percent_off}} % oder " +
			"{{amount_off}} {{currency}}), gültig für {{expires_in_days}} Tage",
		InputLabels: map[string]string{
			InDiscountType:     "Rabattart",
			InPercentOff:       "Rabatt in Prozent",
			InAmountOff:        "Rabattbetrag",
			InCurrency:         "Währung",
			InDuration:         "Gilt bei Abonnements",
			InDurationInMonths: "Anzahl der Monate",
			InExpiresInDays:    "Gültig für (Tage)",
			InMaxRedemptions:   "Maximale Einlösungen",
			InCodePrefix:       "Code-Präfix",
			InCustomerEmail:    "Nur für den Kunden mit der E-Mail-Adresse",
		},
		InputDescriptions: map[string]string{
			InDiscountType: "Ein prozentualer Rabatt oder ein fester Betrag in einer Währung.",
			InPercentOff: "Bei einem prozentualen Rabatt: mehr als 0 und höchstens 100, z. B. 15 oder 12.5 (höchstens zwei " +
				"Nachkommastellen). Bei einem festen Betrag leer lassen.",
			InAmountOff: "Bei einem festen Rabatt: der Betrag in der üblichen Einheit der Währung, z. B. 10 oder 10.50 für 10,50 $ " +
				"oder 500 für 500 ¥. Verwenden Sie einen Punkt als Dezimaltrennzeichen. Bei einem prozentualen Rabatt leer lassen.",
			InCurrency: "Bei einem festen Rabatt: der dreistellige Währungscode des Betrags, z. B. EUR, USD oder JPY.",
			InDuration: "Bei Abonnements: wie lange der Rabatt gilt. Einmalkäufe werden unabhängig von Ihrer Auswahl einmal " +
				"rabattiert. Standard: einmalig.",
			InDurationInMonths: "Nur bei „Für eine Anzahl von Monaten“: wie viele Monate eines Abonnements rabattiert werden, z. B. 3.",
			InExpiresInDays: "Wie viele Tage der Code gültig ist, gerechnet ab der Ausführung dieser Aktion (auf die volle Stunde " +
				"aufgerundet). Leer lassen für einen Code ohne Ablaufdatum.",
			InMaxRedemptions: "Wie oft der Code insgesamt eingelöst werden kann. Geben Sie 1 für einen Einmalcode ein; leer lassen für unbegrenzte Einlösungen.",
			InCodePrefix: fmt.Sprintf("Buchstaben und Ziffern, mit denen der Code beginnt, z. B. SPRING (bis zu %d, in Großbuchstaben). "+
				"Danach folgen zehn zufällige Buchstaben und Ziffern, sodass jeder Kontakt einen anderen Code erhält.", maxPrefixLen),
			InCustomerEmail: "Optional: Nur der Stripe-Kunde mit dieser E-Mail-Adresse kann den Code einlösen; wählen Sie die " +
				"Eigenschaft „E-Mail“ des Kontakts. Gibt es in Stripe noch keinen Kunden mit dieser E-Mail-Adresse, wird einer " +
				"angelegt, damit der Code funktioniert, wenn diese Person als dieser Kunde bezahlt.",
		},
		OptionLabels: map[string]map[string]string{
			InDiscountType: {DiscountPercent: "Prozentualer Rabatt", DiscountAmount: "Fester Betrag"},
			InDuration: {
				durationOnce:      "Einmalig (nur die erste Zahlung)",
				durationRepeating: "Für eine Anzahl von Monaten",
				durationForever:   "Unbegrenzt",
			},
		},
		OutputLabels: map[string]string{
			OutCode:            "Rabattcode",
			OutPromotionCodeID: "Stripe-Promotion-Code-ID",
			OutCouponID:        "Stripe-Coupon-ID",
			OutExpiresAt:       "Code läuft ab am",
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Prüfen Sie die Rabatteinstellungen dieser Aktion: {{ error_message }}",
			actions.CodeNotConnected: "Stripe ist für diesen HubSpot-Account nicht verbunden: {{ error_message }}",
			actions.CodeNotFound:     "Stripe konnte etwas nicht finden, das der Rabattcode benötigt: {{ error_message }}",
			actions.CodeRejected:     "Stripe hat das Erstellen des Rabattcodes abgelehnt: {{ error_message }}",
			actions.CodeRateLimited:  "Wegen eines Anfragelimits wurde kein Rabattcode erstellt: {{ error_message }}",
			actions.CodeUnavailable:  "Stripe war nicht erreichbar, daher wurde kein Rabattcode erstellt: {{ error_message }}",
		},
	}
}
