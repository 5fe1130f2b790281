package actions

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Scope is a HubSpot OAuth scope the app asks for at install, with the
// reason it needs it (shown to operators in the README and to admins in the
// setup guide).
type Scope struct {
	Name   string
	Reason string
}

// The scopes every installation needs, whatever its actions.
var (
	// ScopeOAuth is required of every app that installs through OAuth.
	ScopeOAuth = Scope{Name: "oauth", Reason: "HubSpot requires it of every app installed through OAuth: the install, token refreshes and the connection check on the settings page."}
	// ScopeAutomation lets the app's workflow actions run and complete.
	ScopeAutomation = Scope{Name: "automation", Reason: "The custom workflow actions: HubSpot sends their executions, and the app completes BLOCKed ones through the callbacks API."}
)

// BaseScopes returns the scopes every installation needs, in order. Each
// call returns a new slice.
func BaseScopes() []Scope { return []Scope{ScopeOAuth, ScopeAutomation} }

var scopePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$`)

// checkScopes reports a scope that is not a HubSpot scope name or has no
// reason.
func checkScopes(scopes []Scope) error {
	for _, s := range scopes {
		if !scopePattern.MatchString(s.Name) {
			return fmt.Errorf("scope %q is not a HubSpot scope name such as crm.objects.contacts.read", s.Name)
		}
		if strings.TrimSpace(s.Reason) == "" {
			return fmt.Errorf("scope %s has no reason", s.Name)
		}
	}
	return nil
}

// RequireScope declares a scope a feature other than an action needs (the
// webhooks component's subscriptions, say), so that Scopes asks for it.
// Call it before serving, like Register.
func (r *Registry) RequireScope(s Scope) error {
	if err := checkScopes([]Scope{s}); err != nil {
		return fmt.Errorf("actions: %w", err)
	}
	r.scopes = append(r.scopes, s)
	return nil
}

// Scopes returns every scope the app needs: BaseScopes first, then, sorted
// by name, those the registered actions and features declare. A scope
// several of them need appears once, with their reasons joined. A scope no
// code declares is not there: dropping an action that needed it drops it
// from the install and the generated app definition.
func (r *Registry) Scopes() []Scope {
	out := BaseScopes()
	reasons := map[string][]string{}
	add := func(s Scope) {
		if slices.ContainsFunc(out, func(b Scope) bool { return b.Name == s.Name }) {
			return
		}
		if !slices.Contains(reasons[s.Name], s.Reason) {
			reasons[s.Name] = append(reasons[s.Name], s.Reason)
		}
	}
	for _, a := range r.All() {
		for _, s := range a.Scopes {
			add(Scope{Name: s.Name, Reason: a.Name + ": " + s.Reason})
		}
	}
	for _, s := range r.scopes {
		add(s)
	}
	names := make([]string, 0, len(reasons))
	for n := range reasons {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, Scope{Name: n, Reason: strings.Join(reasons[n], " ")})
	}
	return out
}

// ScopeNames returns the names of Scopes, in the same order.
func (r *Registry) ScopeNames() []string {
	ss := r.Scopes()
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}
