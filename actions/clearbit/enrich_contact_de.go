package clearbit

import "hubspot-actions/actions"

// contactDE is clearbit-enrich-contact in German. The examples of role and
// seniority stay as Clearbit answers them, for branches on their values.
func contactDE() actions.Translation {
	return actions.Translation{
		Name: "Kontakt mit Clearbit anreichern",
		Description: "Sucht die E-Mail-Adresse des Kontakts bei Clearbit und gibt zurück, wer die Person ist (Name, Jobtitel, " +
			"Karrierestufe, Funktion, LinkedIn-Profil, Standort) und wo sie arbeitet (Unternehmen, Domain, Branche, Größe). " +
			"Verwenden Sie die Ausgaben in späteren Aktionen, etwa um sie in Kontakteigenschaften zu kopieren oder nach der " +
			"Karrierestufe zu verzweigen. „Angereichert“ ist wahr, wenn Clearbit die Person oder ihr Unternehmen kennt; ist es " +
			"falsch, nennt „Fehlercode“ den Grund (NOT_FOUND: Clearbit hat keine Daten zu dieser E-Mail-Adresse). Bei neuen " +
			"Datensätzen braucht Clearbit manchmal einige Minuten; der Workflow wartet so lange.",
		CardContent: "{{email}} mit Clearbit anreichern",
		InputLabels: map[string]string{InputEmail: "E-Mail"},
		InputDescriptions: map[string]string{
			InputEmail: "Die E-Mail-Adresse, nach der gesucht wird, z. B. jane@acme.com. Leer lassen, um die Eigenschaft „E-Mail“ " +
				"des Kontakts zu verwenden.",
		},
		OutputLabels: map[string]string{
			OutputEnriched:      "Angereichert",
			OutputFullName:      "Vollständiger Name",
			OutputJobTitle:      "Jobtitel",
			OutputSeniority:     "Karrierestufe (z. B. executive, director, manager)",
			OutputRole:          "Funktion (z. B. sales, marketing, engineering)",
			OutputCompanyName:   "Unternehmensname",
			OutputCompanyDomain: "Unternehmensdomain",
			OutputIndustry:      "Branche",
			OutputEmployeeCount: "Anzahl der Mitarbeiter",
			OutputLinkedInURL:   "URL des LinkedIn-Profils",
			OutputLocation:      "Standort",
		},
		Messages: messagesDE("Clearbit hat keine Daten zu dieser E-Mail-Adresse"),
	}
}
