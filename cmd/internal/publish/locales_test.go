package publish

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hubspot-actions/actions"
)

// TestEveryActionIsInGerman: every published action has a German
// translation, and the committed project component of each carries
// labels.de, complete against labels.en (the rule checker), with every
// text really translated: none is left equal to its English or holds a
// placeholder.
func TestEveryActionIsInGerman(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	var comps []actions.Component
	for _, a := range reg.All() {
		if !slices.Contains(a.Locales(), "de") {
			t.Errorf("%s: Locales() = %v, want de among them", a.Key, a.Locales())
		}
		b, err := os.ReadFile(filepath.Join(committedDir, actionsFolder, a.Key+componentSuffix))
		if err != nil {
			t.Fatal(err)
		}
		var c actions.Component
		decodeStrict(t, b, &c)
		comps = append(comps, c)
		en, de := c.Config.Labels[actions.Locale], c.Config.Labels["de"]
		if de.ActionName == "" {
			t.Errorf("%s: the committed component has no labels.de", a.Key)
			continue
		}
		same := func(where, en, de string) {
			t.Helper()
			if en == de {
				t.Errorf("%s: labels.de.%s = %q, the same as the English", a.Key, where, de)
			}
			for _, p := range []string{"TODO", "TBD", "FIXME", "XXX", "lorem"} {
				if strings.Contains(de, p) {
					t.Errorf("%s: labels.de.%s = %q holds a placeholder", a.Key, where, de)
				}
			}
		}
		same("actionName", en.ActionName, de.ActionName)
		same("actionDescription", en.ActionDescription, de.ActionDescription)
		same("actionCardContent", en.ActionCardContent, de.ActionCardContent)
		for _, m := range []struct {
			key    string
			en, de map[string]string
		}{
			{"inputFieldLabels", en.InputFieldLabels, de.InputFieldLabels},
			{"inputFieldDescriptions", en.InputFieldDescriptions, de.InputFieldDescriptions},
			{"outputFieldLabels", en.OutputFieldLabels, de.OutputFieldLabels},
			{"executionRules", en.ExecutionRules, de.ExecutionRules},
		} {
			for name, s := range m.en {
				same(m.key+"."+name, s, m.de[name])
			}
		}
		for _, f := range c.Config.InputFields {
			for _, o := range f.TypeDefinition.Options {
				same("inputFieldOptionLabels."+f.TypeDefinition.Name+"."+o.Value, o.Label, de.InputFieldOptionLabels[f.TypeDefinition.Name][o.Value])
			}
		}
	}
	if err := actions.CheckProject(appUID, comps); err != nil {
		t.Errorf("the committed project breaks the rules:\n%v", err)
	}
}

// TestCheckProjectRefusesBadLocales: the rule checker definitions and
// publish run refuses labels in a locale HubSpot does not support, and a
// German whose labels are incomplete, naming the component and the text.
func TestCheckProjectRefusesBadLocales(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	a, ok := reg.Get("stripe-create-promotion-code")
	if !ok {
		t.Fatal("stripe-create-promotion-code is not registered")
	}
	dp := actions.DefinitionParams{PublicBaseURL: PlaceholderBaseURL, AppDisplayName: AppName, Published: true}
	tests := []struct {
		name string
		edit func(map[string]actions.Labels)
		want string
	}{
		{"unsupported locale", func(l map[string]actions.Labels) { l["de-at"] = l["de"] },
			`stripe-create-promotion-code: labels.de-at: HubSpot does not support locale "de-at"`},
		{"missing input label", func(l map[string]actions.Labels) { delete(l["de"].InputFieldLabels, "currency") },
			`stripe-create-promotion-code: labels.de: inputFieldLabels has no "currency"`},
		{"missing option label", func(l map[string]actions.Labels) { delete(l["de"].InputFieldOptionLabels["duration"], "forever") },
			`labels.de: inputFieldOptionLabels has no label for option "forever" of input "duration"`},
		{"missing history message", func(l map[string]actions.Labels) {
			delete(l["de"].ExecutionRules, actions.RuleLabel(actions.CodeNotFound))
		},
			`labels.de: executionRules has no "error_not_found"`},
		{"card content with another input", func(l map[string]actions.Labels) {
			de := l["de"]
			de.ActionCardContent = "Rabattcode {{code}}"
			l["de"] = de
		}, "labels.de: actionCardContent references [code]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := a.Component(dp)
			tt.edit(c.Config.Labels)
			err := actions.CheckProject(appUID, []actions.Component{c})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckProject(%s) = %v, want an error containing %q", tt.name, err, tt.want)
			}
			// publish checks each definition the same way before sending it.
			if err := actions.CheckDefinition(c.Definition()); err == nil {
				t.Errorf("CheckDefinition(%s) = nil, want an error", tt.name)
			}
		})
	}
}
