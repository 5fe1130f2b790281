package shopify

import (
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/shopify/shopifytest"
)

// TestLookupCustomerAsAgent: an agent's request carries the email as an
// input and no contact; without the input the answer names it and Shopify
// is not asked.
func TestLookupCustomerAsAgent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	h.fake.AddCustomer(testShop, shopifytest.Customer{ID: "gid://shopify/Customer/77", Email: "kim@example.com", Orders: 2})

	got := h.h.Run(t, ActionLookupCustomer, actionstest.NewAgentRequest(portal, map[string]any{InEmail: "kim@example.com"}), 15*time.Second)
	if got[OutFound] != "true" || got[OutCustomerID] != "77" || got["hs_execution_state"] != "SUCCESS" {
		t.Errorf("agent lookup = %v, want customer 77", got)
	}
	before := h.ops(customerQueryOp)
	got = h.h.Run(t, ActionLookupCustomer, actionstest.NewAgentRequest(portal, nil), 15*time.Second)
	if got["error_code"] != "VALIDATION_FAILED" || !strings.Contains(got["error_message"], "email: is required: the request names no contact") || got[OutFound] != "false" {
		t.Errorf("agent lookup without email = %v, want VALIDATION_FAILED naming email", got)
	}
	if n := h.ops(customerQueryOp) - before; n != 0 {
		t.Errorf("%d customer searches without an email, want none", n)
	}
}
