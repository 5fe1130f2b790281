package actions

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// supportedLocales are the locales HubSpot takes labels in (§1.6), English
// first: it is required, the others are optional.
var supportedLocales = []string{Locale, "fr", "de", "ja", "es", "pt-br", "nl"}

// localeNames are the supported locales' names, in English, for the guide.
var localeNames = map[string]string{
	Locale:  "English",
	"fr":    "French",
	"de":    "German",
	"ja":    "Japanese",
	"es":    "Spanish",
	"pt-br": "Portuguese (Brazil)",
	"nl":    "Dutch",
}

// SupportedLocales returns the locales HubSpot shows action labels in, in
// a fresh slice: en (required), fr, de, ja, es, pt-br and nl.
func SupportedLocales() []string { return slices.Clone(supportedLocales) }

// SupportedLocale reports whether HubSpot shows labels in locale.
func SupportedLocale(locale string) bool { return slices.Contains(supportedLocales, locale) }

// LocaleName returns a supported locale's name in English, such as
// "German" for de, or the locale itself when it is not supported.
func LocaleName(locale string) string {
	if n, ok := localeNames[locale]; ok {
		return n
	}
	return locale
}

// Translation is an action's text in one locale other than English. The
// English text stays on the Spec and its fields; a translation has, for
// every English text HubSpot shows, its counterpart under the same key.
// Register refuses a translation that lacks one, has one without an English
// original, or whose templates reference other fields than the English.
//
// The text the registry adds to every action (the error_code and
// error_message outputs, the default history messages) is translated once,
// per locale, in this package (labels_<locale>.go); a translation only
// holds the action's own text.
type Translation struct {
	Name        string // actionName
	Description string // actionDescription
	// CardContent is actionCardContent; it references the same {{input}}s
	// as the English.
	CardContent string
	// InputLabels and InputDescriptions are keyed by input name.
	InputLabels       map[string]string
	InputDescriptions map[string]string
	// OptionLabels are the labels of a static enumeration's options, by
	// input name, then option value.
	OptionLabels map[string]map[string]string
	// OutputLabels are keyed by output name.
	OutputLabels map[string]string
	// Messages translates the action's own Messages (and only those); the
	// other codes' messages are the registry's defaults in the locale. A
	// message references the same {{ output }}s as the English.
	Messages map[Code]string
}

// registryText is the text the registry adds to every action, in one
// locale: labels of the inputs and outputs it adds, with their options,
// and the default history message of each error code.
type registryText struct {
	InputLabels       map[string]string
	InputDescriptions map[string]string
	OptionLabels      map[string]map[string]string
	OutputLabels      map[string]string
	Messages          map[Code]string
}

// registryTexts holds registryText by locale; each lives in
// labels_<locale>.go.
var registryTexts = map[string]registryText{
	"de": registryDE,
}

// registryFile is where the registry's text in a locale is kept.
func registryFile(locale string) string { return "actions/labels_" + locale + ".go" }

// Locales returns the locales the action's labels come in: en, then its
// translations' locales in the order HubSpot lists them.
func (a *Action) Locales() []string {
	out := []string{Locale}
	for _, l := range supportedLocales[1:] {
		if _, ok := a.Translations[l]; ok {
			out = append(out, l)
		}
	}
	return out
}

// text is an action's text in one locale: its own translation, then the
// registry's text in that locale for what the registry added.
type text struct {
	own Translation
	reg registryText
}

func (a *Action) text(locale string) text {
	return text{own: a.Translations[locale], reg: registryTexts[locale]}
}

func (t text) inputLabel(name string) string {
	if s, ok := t.own.InputLabels[name]; ok {
		return s
	}
	return t.reg.InputLabels[name]
}

func (t text) inputDescription(name string) string {
	if s, ok := t.own.InputDescriptions[name]; ok {
		return s
	}
	return t.reg.InputDescriptions[name]
}

func (t text) optionLabel(name, value string) string {
	if s, ok := t.own.OptionLabels[name][value]; ok {
		return s
	}
	return t.reg.OptionLabels[name][value]
}

func (t text) outputLabel(name string) string {
	if s, ok := t.own.OutputLabels[name]; ok {
		return s
	}
	return t.reg.OutputLabels[name]
}

// message returns the history message of code: the translation of the
// action's own message when it has one, else the registry's default.
func (t text) message(a *Action, code Code) string {
	if _, own := a.Messages[code]; own {
		return t.own.Messages[code]
	}
	return t.reg.Messages[code]
}

// translatedLabels returns the action's labels in locale, built like en:
// the same keys, each with its translation.
func (a *Action) translatedLabels(locale string, en Labels) Labels {
	t := a.text(locale)
	l := Labels{
		ActionName:             t.own.Name,
		ActionDescription:      t.own.Description,
		ActionCardContent:      t.own.CardContent,
		AppDisplayName:         en.AppDisplayName, // the app's name, a product name
		InputFieldLabels:       map[string]string{},
		InputFieldDescriptions: map[string]string{},
		OutputFieldLabels:      map[string]string{},
		ExecutionRules:         map[string]string{},
	}
	for _, f := range a.Inputs {
		l.InputFieldLabels[f.Name] = t.inputLabel(f.Name)
		if f.Description != "" {
			l.InputFieldDescriptions[f.Name] = t.inputDescription(f.Name)
		}
		for _, o := range f.Options {
			if l.InputFieldOptionLabels == nil {
				l.InputFieldOptionLabels = map[string]map[string]string{}
			}
			if l.InputFieldOptionLabels[f.Name] == nil {
				l.InputFieldOptionLabels[f.Name] = map[string]string{}
			}
			l.InputFieldOptionLabels[f.Name][o.Value] = t.optionLabel(f.Name, o.Value)
		}
	}
	for _, f := range a.Outputs {
		l.OutputFieldLabels[f.Name] = t.outputLabel(f.Name)
	}
	for _, c := range Codes {
		l.ExecutionRules[RuleLabel(c)] = t.message(a, c)
	}
	return l
}

// addTranslations adds the labels of every translated locale to labels,
// which holds en.
func (a *Action) addTranslations(labels map[string]Labels) {
	for _, locale := range a.Locales()[1:] {
		labels[locale] = a.translatedLabels(locale, labels[Locale])
	}
}

// checkTranslations checks that each of the action's translations has,
// for every English text HubSpot shows, its counterpart, and nothing
// else. own and ownOut are the action's own inputs and outputs (the
// Spec's); the rest of a.Inputs and a.Outputs is the registry's. Each
// problem names the text and where to add it.
func checkTranslations(a *Action, ownIn []InputField, ownOut []OutputField) error {
	var errs []error
	locales := make([]string, 0, len(a.Translations))
	for l := range a.Translations {
		locales = append(locales, l)
	}
	sort.Strings(locales)
	isOwnIn := map[string]bool{}
	for _, f := range ownIn {
		isOwnIn[f.Name] = true
	}
	isOwnOut := map[string]bool{}
	for _, f := range ownOut {
		isOwnOut[f.Name] = true
	}
	for _, locale := range locales {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("locale %s: %s", locale, fmt.Sprintf(format, args...)))
		}
		if locale == Locale {
			fail("English is the Spec's own text (Name, Description, Inputs, …), not a translation")
			continue
		}
		if !SupportedLocale(locale) {
			fail("HubSpot does not show labels in this locale (it supports %v)", supportedLocales)
			continue
		}
		tr := a.Translations[locale]
		_, hasReg := registryTexts[locale]
		t := a.text(locale)
		spec := fmt.Sprintf("Translations[%q]", locale)
		// missing says where the text of a field belongs: the action's
		// spec for its own fields, labels_<locale>.go for the registry's.
		missing := func(what string, own bool, field string) {
			if own {
				fail("%s has no translation: add it to %s.%s in the action's spec", what, spec, field)
				return
			}
			if !hasReg {
				fail("%s (added by the registry) has no translation: the registry has no text in %s; write %s (a registryText) in %s and list it in registryTexts (actions/translations.go)", what, locale, registryVar(locale), registryFile(locale))
				return
			}
			fail("%s (added by the registry) has no translation: add it to %s.%s in %s", what, registryVar(locale), field, registryFile(locale))
		}

		if tr.Name == "" {
			missing("the action's name", true, "Name")
		}
		if a.Description != "" && tr.Description == "" {
			missing("the action's description", true, "Description")
		}
		if a.Description == "" && tr.Description != "" {
			fail("%s.Description has no English original", spec)
		}
		if a.CardContent != "" && tr.CardContent == "" {
			missing("the card content", true, "CardContent")
		}
		if a.CardContent == "" && tr.CardContent != "" {
			fail("%s.CardContent has no English original", spec)
		}
		if tr.CardContent != "" && !sameRefs(a.CardContent, tr.CardContent) {
			fail("%s.CardContent references %v, the English card content %v: both must reference the same inputs", spec, refSet(tr.CardContent), refSet(a.CardContent))
		}

		inputs := map[string]InputField{}
		for _, f := range a.Inputs {
			inputs[f.Name] = f
			own := isOwnIn[f.Name]
			if t.inputLabel(f.Name) == "" {
				missing(fmt.Sprintf("the label of input %q", f.Name), own, "InputLabels")
			}
			if f.Description != "" && t.inputDescription(f.Name) == "" {
				missing(fmt.Sprintf("the description of input %q", f.Name), own, "InputDescriptions")
			}
			for _, o := range f.Options {
				if t.optionLabel(f.Name, o.Value) == "" {
					missing(fmt.Sprintf("the label of option %q of input %q", o.Value, f.Name), own, "OptionLabels")
				}
			}
		}
		for name := range tr.InputLabels {
			if !isOwnIn[name] {
				fail("%s.InputLabels names %q, which is not one of the action's inputs", spec, name)
			}
		}
		for name := range tr.InputDescriptions {
			if f, ok := inputs[name]; !ok || !isOwnIn[name] {
				fail("%s.InputDescriptions names %q, which is not one of the action's inputs", spec, name)
			} else if f.Description == "" {
				fail("%s.InputDescriptions[%q] has no English original", spec, name)
			}
		}
		for name, opts := range tr.OptionLabels {
			f, ok := inputs[name]
			if !ok || !isOwnIn[name] {
				fail("%s.OptionLabels names %q, which is not one of the action's inputs", spec, name)
				continue
			}
			for value := range opts {
				if !slices.ContainsFunc(f.Options, func(o Option) bool { return o.Value == value }) {
					fail("%s.OptionLabels[%q] names %q, which is not an option of the input", spec, name, value)
				}
			}
		}

		for _, f := range a.Outputs {
			if t.outputLabel(f.Name) == "" {
				missing(fmt.Sprintf("the label of output %q", f.Name), isOwnOut[f.Name], "OutputLabels")
			}
		}
		for name := range tr.OutputLabels {
			if !isOwnOut[name] {
				fail("%s.OutputLabels names %q, which is not one of the action's outputs", spec, name)
			}
		}

		for _, c := range Codes {
			_, own := a.Messages[c]
			m := t.message(a, c)
			if m == "" {
				missing(fmt.Sprintf("the history message for %s", c), own, fmt.Sprintf("Messages[%s]", c))
				continue
			}
			if !sameRefs(a.Message(c), m) {
				where := registryFile(locale)
				if own {
					where = spec + ".Messages"
				}
				fail("the history message for %s (%s) references %v, the English %v: both must reference the same outputs", c, where, refSet(m), refSet(a.Message(c)))
			}
		}
		for c := range tr.Messages {
			if _, own := a.Messages[c]; !own {
				fail("%s.Messages has %s, which the action's Messages do not override (the registry's default message in %s is used)", spec, c, registryFile(locale))
			}
		}
	}
	return errors.Join(errs...)
}

// registryVar names the variable of labels_<locale>.go: registryDE for de.
func registryVar(locale string) string {
	return "registry" + strings.ToUpper(strings.ReplaceAll(locale, "-", ""))
}

// refSet returns the distinct names s references as {{ name }}, sorted.
func refSet(s string) []string {
	refs := TemplateRefs(s)
	sort.Strings(refs)
	return slices.Compact(refs)
}

// sameRefs reports whether a and b reference the same names.
func sameRefs(a, b string) bool { return slices.Equal(refSet(a), refSet(b)) }
