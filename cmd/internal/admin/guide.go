package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
)

// GuideFacts are the installation's settings the setup guide states: the
// scopes the install asks for (with their reasons) and how long data is
// kept.
type GuideFacts struct {
	Scopes []actions.Scope
	// HistoryRetention is HISTORY_RETENTION.
	HistoryRetention time.Duration
	// UninstalledGrace is how long the secrets of a portal uninstalled in
	// HubSpot are kept before they are deleted (UNINSTALLED_GRACE).
	UninstalledGrace time.Duration
	// TestActions are the actions' test-mode twins
	// (actions.Runtime.TestActions); nil when test mode is not available.
	TestActions *actions.Registry
}

// HandleGuide serves GET /guide: the public setup guide (no sign-in, as
// HubSpot's marketplace requires). It explains installing, connecting each
// provider, every action with its inputs, outputs and error codes, and how
// to disconnect and uninstall. Everything about the actions is generated
// from reg and the providers, so the guide cannot drift from the code.
func HandleGuide(w *Pages, reg *actions.Registry, providers []actions.Provider, facts GuideFacts) echo.HandlerFunc {
	type field struct {
		Name, Label, Type, Description string
		Required, Dynamic, Secret      bool
		Options                        []string
		Appears                        string // when the editor shows it, if not always
	}
	type saved struct {
		Property, Label, Output string
	}
	type action struct {
		Key, Name, Description, Objects, Card string
		Inputs, Outputs                       []field
		Errors                                []actions.ErrorCase
		Appear                                []string // the Appears of its inputs, as sentences
		// Agent says whether HubSpot's agents may use it as a tool.
		Agent  string
		IsTool bool
		// TestVersion: in test mode the action runs its test version;
		// without one it fails, calling nothing.
		TestVersion bool
		// Saved are the properties "Save to the record" writes.
		Saved []saved
		// Languages are the languages of its labels in the workflow editor.
		Languages string
	}
	// testMode is the guide's test-mode section.
	type testMode struct {
		Available     bool
		Output        string // the output every action answers it in
		With, Without []string
	}
	type provider struct {
		ID string
		actions.ProviderGuide
	}
	type data struct {
		page
		Scopes           []actions.Scope
		Providers        []provider
		Actions          []action
		Codes            []actions.ErrorCase
		Retention, Grace string
		TestMode         testMode
		PropertyGroup    string
		// Languages are the languages any action's labels come in.
		Languages string
	}
	d := data{Scopes: facts.Scopes, Retention: fmtPeriod(facts.HistoryRetention), Grace: fmtPeriod(facts.UninstalledGrace),
		TestMode: testMode{Available: facts.TestActions != nil, Output: actions.OutputTestMode}, PropertyGroup: actions.PropertyGroupLabel}
	for _, p := range providers {
		d.Providers = append(d.Providers, provider{ID: p.Name(), ProviderGuide: p.Guide()})
	}
	for _, c := range actions.Codes {
		d.Codes = append(d.Codes, actions.ErrorCase{Code: c, When: actions.CodeMeaning(c)})
	}
	for _, a := range reg.All() {
		ga := action{Key: a.Key, Name: a.Name, Description: a.Description, Objects: objectNames(a.ObjectTypes), Card: a.CardContent, Errors: a.Errors()}
		ga.Agent, ga.IsTool = agentToolText(a), a.IsAgentTool()
		if facts.TestActions != nil {
			_, ga.TestVersion = facts.TestActions.Get(a.Key)
			if ga.TestVersion {
				d.TestMode.With = append(d.TestMode.With, a.Name)
			} else {
				d.TestMode.Without = append(d.TestMode.Without, a.Name)
			}
		}
		for _, f := range a.Inputs {
			gf := field{Name: f.Name, Label: f.Label, Type: typeName(f.Type), Description: f.Description, Required: f.Required, Dynamic: f.Dynamic, Secret: f.Secret}
			for _, o := range f.Options {
				gf.Options = append(gf.Options, o.Label)
			}
			if gf.Appears = appears(a, f); gf.Appears != "" {
				ga.Appear = append(ga.Appear, f.Label+": "+lowerFirst(gf.Appears))
			}
			ga.Inputs = append(ga.Inputs, gf)
		}
		for _, f := range a.Outputs {
			ga.Outputs = append(ga.Outputs, field{Name: f.Name, Label: f.Label, Type: typeName(f.Type)})
		}
		for _, s := range a.Save {
			ga.Saved = append(ga.Saved, saved{Property: s.Property, Label: s.Label, Output: s.Output})
		}
		ga.Languages = languageNames(a.Locales())
		d.Actions = append(d.Actions, ga)
	}
	d.Languages = languageNames(allLocales(reg))
	return func(c echo.Context) error {
		v := d
		v.page = w.newPage(c, "Setup guide", "guide")
		// The same for everyone: nothing of a portal is on it.
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		return w.render(c, http.StatusOK, "guide", v)
	}
}

// typeName says what kind of value a field holds, in the words of the
// workflow editor.
func typeName(t string) string {
	switch t {
	case actions.TypeString:
		return "Text"
	case actions.TypeNumber:
		return "Number"
	case actions.TypeBool:
		return "Yes or no"
	case actions.TypeEnumeration:
		return "Choice"
	case actions.TypeDate:
		return "Date"
	case actions.TypeDatetime:
		return "Date and time"
	}
	return t
}

// objectNames lists the records an action works on: "Contacts and
// companies".
func objectNames(types []string) string {
	names := map[string]string{"CONTACT": "contacts", "COMPANY": "companies", "DEAL": "deals", "TICKET": "tickets"}
	var out []string
	for _, t := range types {
		n, ok := names[strings.ToUpper(t)]
		if !ok {
			n = strings.ToLower(t) + " records"
		}
		out = append(out, n)
	}
	s := strings.Join(out, ", ")
	if i := strings.LastIndex(s, ", "); i >= 0 {
		s = s[:i] + " and " + s[i+2:]
	}
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// agentToolText says, from the registry, whether HubSpot's agents may use
// an action as a tool, and why not when they may not.
func agentToolText(a *actions.Action) string {
	switch {
	case a.IsAgentTool() && a.Agent.SideEffects:
		return "Yes: HubSpot's agents can use it as a tool, although it changes things: " + a.Agent.SideEffectsReason
	case a.IsAgentTool():
		return "Yes: HubSpot's agents can use it as a tool. It only reads, so an agent may run it as often as it needs; " +
			"every input can be given by the agent, and none needs an enrolled record."
	case a.NeedsObject:
		return "No: it creates or changes things and works on the enrolled record, so only workflows run it."
	case a.ReadOnly:
		return "No: only workflows run it."
	}
	return "No: it creates or changes things, so only workflows run it."
}

// languageNames names locales in English: "English, French and German".
func languageNames(locales []string) string {
	names := make([]string, len(locales))
	for i, l := range locales {
		names[i] = actions.LocaleName(l)
	}
	s := strings.Join(names, ", ")
	if i := strings.LastIndex(s, ", "); i >= 0 {
		s = s[:i] + " and " + s[i+2:]
	}
	return s
}

// allLocales returns the locales any action's labels come in, in the
// order HubSpot lists them.
func allLocales(reg *actions.Registry) []string {
	has := map[string]bool{}
	for _, a := range reg.All() {
		for _, l := range a.Locales() {
			has[l] = true
		}
	}
	var out []string
	for _, l := range actions.SupportedLocales() {
		if has[l] {
			out = append(out, l)
		}
	}
	return out
}
