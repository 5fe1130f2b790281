package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/oauth/hubspottest"
)

// TestSaveOnRecordEndToEnd drives the real binary: a portal that granted
// the optional scopes at install gets Clearbit's results on the enrolled
// contact, in the app's properties, made once; a portal whose admin
// declined them gets NOT_CONNECTED telling it to reinstall, with the
// outputs, and nothing is written.
func TestSaveOnRecordEndToEnd(t *testing.T) {
	t.Parallel()
	m := startMarket(t)
	const granted, declined = 7300001, 7300002
	m.install(granted)
	m.hs.DeclineOptional()
	m.install(declined)
	m.hs.SeedObject(granted, "contacts", "501", map[string]string{"email": "maren.holt@northwind.example"})
	m.hs.SeedObject(declined, "contacts", "502", map[string]string{"email": "maren.holt@northwind.example"})
	execute := func(callbackID string, portal int64, contactID string) map[string]string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"callbackId":  callbackID,
			"origin":      map[string]any{"portalId": portal, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
			"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 78},
			"object":      map[string]any{"objectId": contactID, "objectType": "CONTACT", "properties": map[string]any{"email": "maren.holt@northwind.example"}},
			"inputFields": map[string]any{"email": "maren.holt@northwind.example", actions.InputSaveToRecord: "true"},
		})
		status, b := m.postV3("/hubspot/actions/clearbit-enrich-contact", body, time.Now())
		if status != http.StatusOK {
			t.Fatalf("execute %s: %d %s", callbackID, status, b)
		}
		var res actions.Response
		if err := json.Unmarshal([]byte(b), &res); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		return res.OutputFields
	}

	out := execute("ap-save-1", granted, "501")
	if out[actions.OutputState] != actions.StateSuccess || out["job_title"] == "" {
		t.Fatalf("enrich with the box ticked = %v, want SUCCESS with outputs", out)
	}
	rec, _ := m.hs.Object(granted, "contacts", "501")
	if rec["hsa_clearbit_job_title"] != out["job_title"] || rec["hsa_clearbit_company_name"] != out["company_name"] {
		t.Errorf("the contact after the save = %v, want the outputs %v in hsa_clearbit_*", rec, out)
	}
	if !m.hs.HasGroup(granted, "contacts", actions.PropertyGroupName) || len(m.hs.Properties(granted, "contacts")) != 10 {
		t.Errorf("group made %v, properties %v; want the group and 10 properties", m.hs.HasGroup(granted, "contacts", actions.PropertyGroupName), m.hs.Properties(granted, "contacts"))
	}
	calls := m.hs.Calls(hubspottest.EndpointProperties)
	if out := execute("ap-save-2", granted, "501"); out[actions.OutputState] != actions.StateSuccess {
		t.Errorf("second save = %v, want SUCCESS", out)
	}
	if got := m.hs.Calls(hubspottest.EndpointProperties); got != calls {
		t.Errorf("the second save made %d properties API calls, want none", got-calls)
	}

	out = execute("ap-save-3", declined, "502")
	if out[actions.OutputState] != actions.StateFailContinue || out[actions.OutputErrorCode] != string(actions.CodeNotConnected) ||
		!strings.Contains(out[actions.OutputErrorMsg], "reinstall the app") || out["job_title"] == "" {
		t.Errorf("enrich for the portal that declined the scopes = %v, want NOT_CONNECTED saying to reinstall, with the outputs", out)
	}
	for _, u := range m.hs.Updates() {
		if u.PortalID == declined {
			t.Errorf("a record of the portal that declined the scopes was written: %+v", u)
		}
	}
}
