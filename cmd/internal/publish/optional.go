package publish

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"hubspot-actions/actions"
)

// DefaultOptionalScopes returns the scopes the app asks for as optional
// unless HUBSPOT_OPTIONAL_SCOPES says otherwise: those saving results on
// records needs (actions.Registry.OptionalScopes). Each call returns a new
// slice.
func DefaultOptionalScopes(reg *actions.Registry) []string {
	return reg.OptionalScopeNames()
}

// withOptionalScopes gives p reg's optional scopes when
// HUBSPOT_OPTIONAL_SCOPES is unset, leaving out any the app requires
// already (a scope cannot be both).
func withOptionalScopes(p projectParams, getenv func(string) string, reg *actions.Registry) projectParams {
	if strings.TrimSpace(getenv("HUBSPOT_OPTIONAL_SCOPES")) != "" {
		return p
	}
	p.OptionalScopes = nil
	for _, s := range DefaultOptionalScopes(reg) {
		if !slices.Contains(p.RequiredScopes, s) {
			p.OptionalScopes = append(p.OptionalScopes, s)
		}
	}
	return p
}

// warnOptionalScopes tells the operator about optional scopes the code
// declares that neither HUBSPOT_SCOPES nor HUBSPOT_OPTIONAL_SCOPES asks for:
// without them no portal can save results on its records.
func warnOptionalScopes(w io.Writer, p projectParams, optional []string) {
	for _, s := range optional {
		if !slices.Contains(p.RequiredScopes, s) && !slices.Contains(p.OptionalScopes, s) {
			fmt.Fprintf(w, "warning: the app does not ask for optional scope %s, which saving results on records needs; add it to HUBSPOT_OPTIONAL_SCOPES\n", s)
		}
	}
}
