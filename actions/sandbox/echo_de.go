package sandbox

import "hubspot-actions/actions"

// echoDE is sandbox-echo in German. The choices of fail_with are error
// codes, which stay as they are in every language.
func echoDE() actions.Translation {
	codes := map[string]string{}
	for _, o := range codeOptions() {
		codes[o.Value] = o.Label
	}
	return actions.Translation{
		Name: "Sandbox: Nachricht zurückgeben",
		Description: "Antwortet mit der Nachricht, die sie erhält. Mit delay_ms sehen Sie eine Ausführung, die mit BLOCK " +
			"beantwortet und per Callback abgeschlossen wird, mit pending_times Wiederholungen und mit fail_with einen Fehler.",
		CardContent: "{{message}} zurückgeben",
		InputLabels: map[string]string{
			InputMessage: "Nachricht",
			InputDelayMS: "Verzögerung (ms)",
			InputFail:    "Fehlschlagen mit",
			InputPending: "So oft „noch nicht fertig“ antworten",
		},
		InputDescriptions: map[string]string{
			InputMessage: "Ein beliebiger Text; er kommt in der Ausgabe „Echo“ zurück.",
			InputDelayMS: "Wie lange vor der Antwort gearbeitet wird. Ist sie länger als das Inline-Budget, wird die Ausführung mit BLOCK beantwortet.",
			InputFail:    "Ein Fehlercode, mit dem die Aktion fehlschlägt, statt die Nachricht zurückzugeben.",
			InputPending: "Jedes Mal fragt die Laufzeit eine Sekunde später erneut nach, wie bei einem Dienst, der die Arbeit in eine Warteschlange gestellt hat.",
		},
		OptionLabels: map[string]map[string]string{InputFail: codes},
		OutputLabels: map[string]string{
			"echo":    "Echo",
			"length":  "Länge der Nachricht",
			"attempt": "Versuch, der geantwortet hat",
		},
	}
}
