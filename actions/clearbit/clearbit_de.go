package clearbit

import "hubspot-actions/actions"

// messagesDE is the German of messages(notFound): sharedMessages, and the
// NOT_FOUND message given.
func messagesDE(notFound string) map[actions.Code]string {
	return map[actions.Code]string{
		actions.CodeValidation:   "Clearbit konnte die Eingabe nicht verwenden: {{ error_message }}",
		actions.CodeNotConnected: "Clearbit ist nicht eingerichtet: {{ error_message }}",
		actions.CodeNotFound:     notFound,
		actions.CodeRejected:     "Clearbit hat die Anfrage abgelehnt: {{ error_message }}",
		actions.CodeRateLimited:  "Die Clearbit-Abfrage hat ein Anfragelimit erreicht: {{ error_message }}",
		actions.CodeUnavailable:  "Clearbit hat nicht rechtzeitig geantwortet: {{ error_message }}",
		actions.CodeInternal:     "In der App ist ein unerwarteter Fehler aufgetreten: {{ error_message }}",
	}
}
