package actions

// registryDE is the German of the text the registry adds to every action.
// An input or output the registry adds needs its German here, or every
// action with a German translation is refused.
var registryDE = registryText{
	InputLabels: map[string]string{
		InputSaveToRecord: "Im Datensatz speichern",
	},
	InputDescriptions: map[string]string{
		InputSaveToRecord: "Schreibt die Ergebnisse zusätzlich in Eigenschaften des eingeschriebenen Datensatzes (in der Gruppe " + PropertyGroupLabel + ", die beim ersten Mal angelegt wird). Dafür braucht die App ihre optionalen Schreibberechtigungen.",
	},
	OutputLabels: map[string]string{
		OutputErrorCode: "Fehlercode",
		OutputErrorMsg:  "Fehlermeldung",
		OutputTestMode:  "Testmodus",
	},
	Messages: map[Code]string{
		CodeValidation:   "Eine Eingabe fehlt oder ist ungültig: {{ error_message }}",
		CodeNotConnected: "Nicht verbunden: {{ error_message }}",
		CodeNotFound:     "Nichts gefunden: {{ error_message }}",
		CodeRejected:     "Der Dienst hat die Anfrage abgelehnt: {{ error_message }}",
		CodeRateLimited:  "Der Dienst begrenzt gerade die Zahl der Anfragen: {{ error_message }}",
		CodeUnavailable:  "Der Dienst ist nicht erreichbar: {{ error_message }}",
		CodeInternal:     "In der App ist ein unerwarteter Fehler aufgetreten: {{ error_message }}",
	},
}
