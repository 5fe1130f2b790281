package clearbit

import "hubspot-actions/actions"

// companyDE is clearbit-enrich-company in German.
func companyDE() actions.Translation {
	return actions.Translation{
		Name: "Unternehmen mit Clearbit anreichern",
		Description: "Sucht die Website-Domain des Unternehmens bei Clearbit und gibt seine Firmendaten zurück: Name, offizieller " +
			"Firmenname, Branche, Sektor, Anzahl der Mitarbeiter, geschätzter Jahresumsatz, Gründungsjahr, Stadt und Land des " +
			"Hauptsitzes sowie die LinkedIn-Seite. Eine Website-Adresse oder eine E-Mail-Adresse funktioniert ebenfalls; " +
			"verwendet wird nur ihre Domain. „Angereichert“ ist wahr, wenn Clearbit das Unternehmen kennt; ist es falsch, " +
			"nennt „Fehlercode“ den Grund (NOT_FOUND: Clearbit hat keine Daten zu dieser Domain). Bei neuen Datensätzen " +
			"braucht Clearbit manchmal einige Minuten; der Workflow wartet so lange.",
		CardContent: "{{domain}} mit Clearbit anreichern",
		InputLabels: map[string]string{InputDomain: "Unternehmensdomain"},
		InputDescriptions: map[string]string{
			InputDomain: "Die Website-Domain des Unternehmens, z. B. acme.com (https://www.acme.com/about oder jane@acme.com " +
				"funktionieren ebenfalls). Leer lassen, um die Eigenschaft „Domain-Name des Unternehmens“ zu verwenden.",
		},
		OutputLabels: map[string]string{
			OutputEnriched:               "Angereichert",
			OutputCompanyName:            "Unternehmensname",
			OutputLegalName:              "Offizieller Firmenname",
			OutputIndustry:               "Branche",
			OutputSector:                 "Sektor",
			OutputEmployeeCount:          "Anzahl der Mitarbeiter",
			OutputEstimatedAnnualRevenue: "Geschätzter Jahresumsatz (Spanne, USD)",
			OutputFoundedYear:            "Gründungsjahr",
			OutputCity:                   "Stadt",
			OutputCountry:                "Land",
			OutputLinkedInURL:            "URL der LinkedIn-Seite",
		},
		Messages: messagesDE("Clearbit hat keine Daten zu dieser Domain"),
	}
}
