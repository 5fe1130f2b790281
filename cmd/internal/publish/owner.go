package publish

import (
	"maps"
	"slices"

	"hubspot-actions/actions"
)

// A project build (hs project upload) also owns an app's action
// definitions, and nothing HubSpot documents in a definition says where it
// came from (the 2026-03 reference's PublicActionDefinition has no source
// field). So publish marks the definitions it writes, and treats a
// definition without its mark as someone else's: a project build's, or one
// made by hand. The mark is an execution rule that can never match: its
// condition is an error_message no execution answers (every failure
// message ends with "(ref EX-…)", and successes answer an empty one), so
// HubSpot never shows its message. The project files that `definitions`
// generates never carry it.
const (
	markerLabel   = "managed_by_hubspot_actions_publish"
	markerValue   = "managed by hubspot-actions publish"
	markerMessage = "This definition is managed by hubspot-actions publish."
)

// markPublished returns d with publish's mark added (d is not changed).
func markPublished(d actions.Definition) actions.Definition {
	if publishedByUs(d) {
		return d
	}
	d.ExecutionRules = append(slices.Clone(d.ExecutionRules), actions.ExecutionRule{
		LabelName:  markerLabel,
		Conditions: map[string]any{actions.OutputErrorMsg: markerValue},
	})
	labels := maps.Clone(d.Labels)
	if labels == nil {
		labels = map[string]actions.Labels{}
	}
	// Every locale has a message for every rule (the rule checker wants
	// it); this one is never shown, so it stays in English everywhere.
	for _, loc := range append([]string{actions.Locale}, slices.Collect(maps.Keys(d.Labels))...) {
		l := labels[loc]
		l.ExecutionRules = maps.Clone(l.ExecutionRules)
		if l.ExecutionRules == nil {
			l.ExecutionRules = map[string]string{}
		}
		l.ExecutionRules[markerLabel] = markerMessage
		labels[loc] = l
	}
	d.Labels = labels
	return d
}

// publishedByUs reports whether d carries publish's mark: publish created
// it or took it over (--force) and no project build has replaced it since.
func publishedByUs(d actions.Definition) bool {
	return slices.ContainsFunc(d.ExecutionRules, func(r actions.ExecutionRule) bool {
		return r.LabelName == markerLabel
	})
}
