package salesforce

import (
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/salesforce/salesforcetest"
)

const portal = 7100001

// newHarness runs the Salesforce action behind the real runtime (signed
// requests, the ledger, input validation), with portal connected to a
// fresh fake org.
func newHarness(t *testing.T, opts salesforcetest.Options) (*env, *actionstest.Harness) {
	t.Helper()
	e := newEnv(t, opts)
	e.connect(t, portal)
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := e.svc.Register(r); err != nil {
			t.Fatalf("Register() = %v", err)
		}
	}, actionstest.Options{Config: actions.Config{InlineBudget: 3 * time.Second}})
	return e, h
}

func TestUpsertLeadThroughRuntime(t *testing.T) {
	t.Parallel()
	e, h := newHarness(t, salesforcetest.Options{})
	req := actionstest.NewRequest(portal, "CONTACT", map[string]any{"email": "sam.park@example.com", "lead_source": "Web"},
		map[string]string{"email": "sam.park@example.com", "firstname": "Sam", "lastname": "Park", "company": "Park & Co"})
	out := h.Run(t, KeyUpsertLead, req, 15*time.Second)
	leads := e.fake.Leads()
	if len(leads) != 1 {
		t.Fatalf("leads = %v, want 1", leads)
	}
	want := map[string]string{actions.OutputState: actions.StateSuccess, OutLeadID: leads[0]["Id"], OutCreated: "true",
		OutLeadURL: e.fake.URL + "/" + leads[0]["Id"], actions.OutputErrorCode: "", actions.OutputErrorMsg: ""}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("output %s = %q, want %q (all: %v)", k, out[k], v, out)
		}
	}
	if l := leads[0]; l["FirstName"] != "Sam" || l["Company"] != "Park & Co" || l[DefaultExternalIDField] != string(req.Object.ObjectID) {
		t.Errorf("lead = %v", l)
	}
	// HubSpot retrying the same request gets the same answer, and
	// Salesforce gets nothing more.
	before := len(e.fake.RequestsTo("", "/services/data/"))
	again := h.Run(t, KeyUpsertLead, req, 15*time.Second)
	if again[OutLeadID] != out[OutLeadID] || again[OutCreated] != "true" {
		t.Errorf("retried request = %v, want the first answer %v", again, out)
	}
	if after := len(e.fake.RequestsTo("", "/services/data/")); after != before || len(e.fake.Leads()) != 1 {
		t.Errorf("a retried request sent %d API requests and left %d leads, want none and 1", after-before, len(e.fake.Leads()))
	}
}

func TestUpsertLeadRuntimeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   salesforcetest.Options
		inputs map[string]any
		code   actions.Code
		text   string
	}{
		{"email missing", salesforcetest.Options{}, map[string]any{}, actions.CodeValidation, "email"},
		{"allocation spent", salesforcetest.Options{DailyLimit: 10, Used: 10}, map[string]any{"email": "x@example.com"}, actions.CodeRateLimited, "allocation"},
		{"restricted picklist", salesforcetest.Options{}, map[string]any{"email": "x@example.com", "lead_status": "Hot"}, actions.CodeValidation, "lead_status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, h := newHarness(t, tt.opts)
			out := h.Run(t, KeyUpsertLead, actionstest.NewRequest(portal, "CONTACT", tt.inputs, map[string]string{"lastname": "L", "company": "C"}), 15*time.Second)
			if out[actions.OutputState] != actions.StateFailContinue || out[actions.OutputErrorCode] != string(tt.code) || out[OutCreated] != "false" {
				t.Fatalf("outputs = %v, want FAIL_CONTINUE %s with created false", out, tt.code)
			}
			if !strings.Contains(out[actions.OutputErrorMsg], tt.text) {
				t.Errorf("error_message = %q, want it to contain %q", out[actions.OutputErrorMsg], tt.text)
			}
		})
	}
}
