package clearbit_test

import (
	"testing"
	"time"

	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/clearbit"
	"hubspot-actions/actions/clearbit/clearbittest"
)

// TestEnrichAsAgent: HubSpot's agents call the enrichments with their
// inputs and no record; without an input there is nothing to fall back on,
// and the answer names the input.
func TestEnrichAsAgent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{}, clearbit.Options{})
	tests := []struct {
		name   string
		key    string
		inputs map[string]any
		want   outcome
	}{
		{"contact by email", clearbit.KeyEnrichContact, map[string]any{"email": "jane.doe@acme.com"},
			outcome{state: "SUCCESS", outputs: map[string]string{"enriched": "true", "full_name": "Jane Doe"}}},
		{"contact without email", clearbit.KeyEnrichContact, nil,
			outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{"email: is required: the request names no contact"}, outputs: map[string]string{"enriched": "false"}}},
		{"company by domain", clearbit.KeyEnrichCompany, map[string]any{"domain": "https://www.acme.com/about"},
			outcome{state: "SUCCESS", outputs: map[string]string{"enriched": "true"}}},
		{"company without domain", clearbit.KeyEnrichCompany, map[string]any{"domain": " "},
			outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{"domain: is required: the request names no company"}, outputs: map[string]string{"enriched": "false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := e.h.Run(t, tt.key, actionstest.NewAgentRequest(portalApp, tt.inputs), 20*time.Second)
			tt.want.check(t, got)
		})
	}
}
