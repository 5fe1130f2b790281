package hubspot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions/hubspot"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

func completion(id, state string) hubspot.Completion {
	return hubspot.Completion{CallbackID: id, OutputFields: map[string]string{"hs_execution_state": state, "error_code": ""}}
}

func TestCompleteCallbacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{}, false, nil)

	if err := env.h.CompleteCallbacks(ctx, testPortal, []hubspot.Completion{completion("ap-1-0", "SUCCESS")}); err != nil {
		t.Fatalf("CompleteCallbacks(1) = %v", err)
	}
	batch := []hubspot.Completion{completion("ap-1-1", "SUCCESS"), completion("ap-1-2", "FAIL_CONTINUE"), {CallbackID: "ap-1-3"}}
	if err := env.h.CompleteCallbacks(ctx, testPortal, batch); err != nil {
		t.Fatalf("CompleteCallbacks(3) = %v", err)
	}
	want := []hubspottest.Completion{
		{PortalID: testPortal, CallbackID: "ap-1-0", OutputFields: map[string]string{"hs_execution_state": "SUCCESS", "error_code": ""}},
		{PortalID: testPortal, CallbackID: "ap-1-1", OutputFields: map[string]string{"hs_execution_state": "SUCCESS", "error_code": ""}, Batch: true},
		{PortalID: testPortal, CallbackID: "ap-1-2", OutputFields: map[string]string{"hs_execution_state": "FAIL_CONTINUE", "error_code": ""}, Batch: true},
		{PortalID: testPortal, CallbackID: "ap-1-3", OutputFields: map[string]string{}, Batch: true},
	}
	if diff := cmp.Diff(want, env.hs.Completions()); diff != "" {
		t.Errorf("completions mismatch (-want +got):\n%s", diff)
	}

	// More than 100 go in batches of at most 100.
	var many []hubspot.Completion
	for i := range 150 {
		many = append(many, completion(fmt.Sprintf("ap-2-%d", i), "SUCCESS"))
	}
	before := env.hs.Calls(hubspottest.EndpointCallbacks)
	if err := env.h.CompleteCallbacks(ctx, testPortal, many); err != nil {
		t.Fatalf("CompleteCallbacks(150) = %v", err)
	}
	if n := env.hs.Calls(hubspottest.EndpointCallbacks) - before; n != 2 {
		t.Errorf("150 completions took %d calls, want 2", n)
	}
	if n := len(env.hs.Completions()); n != 154 || env.hs.Duplicates() != 0 {
		t.Errorf("HubSpot holds %d completions, %d duplicates; want 154, 0", n, env.hs.Duplicates())
	}
	c, err := env.hs.WaitCompletion(ctx, "ap-2-149")
	if err != nil || c.OutputFields["hs_execution_state"] != "SUCCESS" {
		t.Errorf("WaitCompletion(ap-2-149) = %+v, %v", c, err)
	}
}

func TestGetObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{}, false, nil)
	env.hs.SeedObject(testPortal, "deals", "11", map[string]string{"dealname": "Big deal", "amount": "100"})
	env.hs.SeedObject(testPortal, "contacts", "21", map[string]string{"email": "buyer@example.com", "firstname": "Ada"})
	env.hs.SeedObject(testPortal, "contacts", "22", map[string]string{"firstname": "No email"})
	env.hs.SeedObject(testPortal, "deals", "12", map[string]string{"dealname": "Lonely deal"})
	env.hs.SeedObject(testPortal, "deals", "13", map[string]string{"dealname": "Deal of 22"})
	env.hs.Associate(testPortal, "deals", "11", "contacts", "21")
	env.hs.Associate(testPortal, "deals", "13", "0-1", "22")

	o, err := env.h.GetObject(ctx, testPortal, "deals", "11", []string{"dealname", "closedate"}, []string{"contacts"})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	want := hubspot.Object{
		ID: "11",
		Properties: map[string]string{"dealname": "Big deal", "closedate": "", "hs_object_id": "11",
			"createdate": "2026-01-02T03:04:05Z", "lastmodifieddate": "2026-01-02T03:04:05Z"},
		CreatedAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		UpdatedAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Associations: map[string][]hubspot.Association{"contacts": {{ID: "21", Types: []string{"deal_to_contact"}}}},
	}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("GetObject() mismatch (-want +got):\n%s", diff)
	}

	if c, err := env.h.DealContact(ctx, testPortal, "11"); err != nil || c.ID != "21" || c.Properties["email"] != "buyer@example.com" || c.Properties["firstname"] != "Ada" {
		t.Errorf("DealContact(11) = %+v, %v; want contact 21 buyer@example.com", c, err)
	}
	for _, deal := range []string{"12", "13", "404"} {
		if _, err := env.h.DealContact(ctx, testPortal, deal); !errors.Is(err, hubspot.ErrNotFound) {
			t.Errorf("DealContact(%s) = %v, want hubspot.ErrNotFound", deal, err)
		}
	}
	_, err = env.h.GetObject(ctx, testPortal, "deals", "404", nil, nil)
	var ae *upstream.APIError
	if !errors.Is(err, hubspot.ErrNotFound) || !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("GetObject(unknown) = %v, want hubspot.ErrNotFound and *upstream.APIError 404", err)
	}
}

// TestHubSpotNotConnected: a portal whose grant must be reinstalled, or
// that has none, is not called.
func TestHubSpotNotConnected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{}, false, nil)
	err := env.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.MarkTokenStatus(ctx, testPortal, oauth.ProviderHubSpot, 1, store.StatusNeedsReinstall, "invalid_grant")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env.reopen(false) // as after a restart: the grant is read again
	for _, p := range []int64{testPortal, 404} {
		if err := env.h.CompleteCallbacks(ctx, p, []hubspot.Completion{completion("ap-1", "SUCCESS")}); !errors.Is(err, oauth.ErrNotConnected) {
			t.Errorf("CompleteCallbacks(portal %d) = %v, want oauth.ErrNotConnected", p, err)
		}
		if _, err := env.h.GetObject(ctx, p, "deals", "1", nil, nil); !errors.Is(err, oauth.ErrNotConnected) {
			t.Errorf("GetObject(portal %d) = %v, want oauth.ErrNotConnected", p, err)
		}
		if err := env.h.CheckPortal(ctx, p); !errors.Is(err, oauth.ErrNotConnected) {
			t.Errorf("CheckPortal(portal %d) = %v, want oauth.ErrNotConnected", p, err)
		}
	}
	if n := env.hs.Calls(hubspottest.EndpointCallbacks) + env.hs.Calls(hubspottest.EndpointCRM); n != 0 {
		t.Errorf("HubSpot got %d API calls, want none", n)
	}
}

func TestHubSpotSandbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{SandboxTokens: true}, true, nil)
	if err := env.h.CheckPortal(ctx, 555); err != nil {
		t.Errorf("CheckPortal() in sandbox = %v, want nil", err)
	}
	if err := env.h.CompleteCallbacks(ctx, 555, []hubspot.Completion{completion("ap-5", "SUCCESS")}); err != nil {
		t.Fatalf("CompleteCallbacks() in sandbox = %v", err)
	}
	if c := env.hs.Completions(); len(c) != 1 || c[0].PortalID != 555 {
		t.Errorf("completions = %+v, want one for portal 555", c)
	}
}
