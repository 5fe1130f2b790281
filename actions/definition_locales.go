package actions

import (
	"fmt"
	"sort"
)

// checkLocales checks a definition's labels beyond en: every locale is one
// HubSpot supports (§1.6), and every other locale than en has, for each
// text of en, its counterpart (and nothing en lacks): the action's name,
// description and card content (referencing the same inputs), each input
// label and description, a label for each static option of each input,
// each output label and each history message (referencing the same
// outputs).
func checkLocales(d Definition) []error {
	var errs []error
	en := d.Labels[Locale]
	locales := make([]string, 0, len(d.Labels))
	for l := range d.Labels {
		locales = append(locales, l)
	}
	sort.Strings(locales)
	for _, loc := range locales {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("labels.%s: %s", loc, fmt.Sprintf(format, args...)))
		}
		if !SupportedLocale(loc) {
			fail("HubSpot does not support locale %q (it supports %v)", loc, supportedLocales)
			continue
		}
		if loc == Locale {
			continue
		}
		l := d.Labels[loc]
		if l.ActionName == "" {
			fail("actionName is empty")
		}
		pairs := []struct {
			key      string
			en, here string
		}{
			{"actionDescription", en.ActionDescription, l.ActionDescription},
			{"actionCardContent", en.ActionCardContent, l.ActionCardContent},
		}
		for _, p := range pairs {
			switch {
			case p.en != "" && p.here == "":
				fail("%s is missing (labels.%s has one)", p.key, Locale)
			case p.en == "" && p.here != "":
				fail("%s has no counterpart in labels.%s", p.key, Locale)
			}
		}
		if l.ActionCardContent != "" && !sameRefs(en.ActionCardContent, l.ActionCardContent) {
			fail("actionCardContent references %v, labels.%s's %v: both must reference the same inputs", refSet(l.ActionCardContent), Locale, refSet(en.ActionCardContent))
		}
		maps := []struct {
			key      string
			en, here map[string]string
		}{
			{"inputFieldLabels", en.InputFieldLabels, l.InputFieldLabels},
			{"inputFieldDescriptions", en.InputFieldDescriptions, l.InputFieldDescriptions},
			{"outputFieldLabels", en.OutputFieldLabels, l.OutputFieldLabels},
			{"executionRules", en.ExecutionRules, l.ExecutionRules},
		}
		for _, m := range maps {
			for _, name := range sortedKeys(m.en) {
				if m.en[name] != "" && m.here[name] == "" {
					fail("%s has no %q (labels.%s has it)", m.key, name, Locale)
				}
			}
			for _, name := range sortedKeys(m.here) {
				if _, ok := m.en[name]; !ok {
					fail("%s has %q, which labels.%s has not", m.key, name, Locale)
				}
			}
		}
		for _, name := range sortedKeys(en.ExecutionRules) {
			if msg, ok := l.ExecutionRules[name]; ok && msg != "" && !sameRefs(en.ExecutionRules[name], msg) {
				fail("executionRules[%q] references %v, labels.%s's %v: both must reference the same outputs", name, refSet(msg), Locale, refSet(en.ExecutionRules[name]))
			}
		}
		options := map[string]map[string]bool{}
		for _, f := range d.InputFields {
			td := f.TypeDefinition
			if len(td.Options) == 0 {
				continue
			}
			options[td.Name] = map[string]bool{}
			for _, o := range td.Options {
				options[td.Name][o.Value] = true
				if l.InputFieldOptionLabels[td.Name][o.Value] == "" {
					fail("inputFieldOptionLabels has no label for option %q of input %q", o.Value, td.Name)
				}
			}
		}
		for _, name := range sortedKeys(l.InputFieldOptionLabels) {
			if options[name] == nil {
				fail("inputFieldOptionLabels names %q, which is not an input with static options", name)
				continue
			}
			for _, value := range sortedKeys(l.InputFieldOptionLabels[name]) {
				if !options[name][value] {
					fail("inputFieldOptionLabels[%q] names %q, which is not one of its options", name, value)
				}
			}
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
