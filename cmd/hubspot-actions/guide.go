package main

import (
	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin"
)

// guideFacts are what the setup guide says about this installation: the
// scopes the install really asks for (HUBSPOT_SCOPES, then the optional
// ones), each with the reason the code declares, and how long data is kept.
func guideFacts(cfg config, reg *actions.Registry) admin.GuideFacts {
	reasons := map[string]string{}
	for _, s := range append(reg.Scopes(), reg.OptionalScopes()...) {
		reasons[s.Name] = s.Reason
	}
	var scopes []actions.Scope
	for _, name := range cfg.HubSpotScopes {
		scopes = append(scopes, actions.Scope{Name: name, Reason: reasonOr(reasons[name], "Asked for by this installation's operator.")})
	}
	for _, name := range cfg.HubSpotOptionalScopes {
		scopes = append(scopes, actions.Scope{Name: name, Reason: reasonOr(reasons[name], "Asked for by this installation's operator.") + " (Optional: the app installs in accounts without it.)"})
	}
	return admin.GuideFacts{Scopes: scopes, HistoryRetention: cfg.HistoryRetention, UninstalledGrace: cfg.UninstalledGrace}
}

func reasonOr(reason, def string) string {
	if reason == "" {
		return def
	}
	return reason
}
