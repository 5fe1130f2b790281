package quickbooks

import (
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/quickbooks/quickbookstest"
)

// TestActionsOnTheRecordNeedOne: the QuickBooks actions work on the
// enrolled record, so a request without one (as HubSpot's agents send)
// answers VALIDATION_FAILED naming the record, and QuickBooks is not
// called.
func TestActionsOnTheRecordNeedOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	h.fake.ResetRequests()
	tests := []struct {
		key    string
		inputs map[string]any
		want   string
	}{
		{KeyCreateInvoice, map[string]any{"customer_email": "jordan.lee@example.com", "amount": "10", "item_id": "7"},
			"object: this action works on the enrolled deal, and the request (from AGENTS) names none"},
		{KeyFindOrCreateCustomer, map[string]any{"email": "jordan.lee@example.com"},
			"object: this action works on the enrolled contact or company, and the request (from AGENTS) names none"},
	}
	for _, tt := range tests {
		got := h.h.Run(t, tt.key, actionstest.NewAgentRequest(portal, tt.inputs), 15*time.Second)
		if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "VALIDATION_FAILED" || !strings.Contains(got["error_message"], tt.want) {
			t.Errorf("%s without a record = %v, want VALIDATION_FAILED containing %q", tt.key, got, tt.want)
		}
	}
	if n := len(h.fake.APIRequests()); n != 0 {
		t.Errorf("QuickBooks got %d API requests, want none", n)
	}
}
