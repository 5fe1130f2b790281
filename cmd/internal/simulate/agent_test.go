package simulate

import (
	"net/http"
	"strings"
	"testing"
)

// TestSimulateAsAgent: --agent sends what HubSpot's agents send (source
// AGENTS, no workflow, no object unless given) and refuses actions that
// are not agent tools before sending anything.
func TestSimulateAsAgent(t *testing.T) {
	t.Parallel()
	cbAddr := freeAddr(t)
	var got []map[string]any
	f := newFakeBackend(t, cbAddr, func(_ int, req map[string]any) (int, http.Header, string) {
		got = append(got, req)
		return 200, nil, success
	})
	common := []string{"--url", f.ts.URL, "--callback-addr", cbAddr}

	out, err := simulate(t, f.env(), append(common, "--agent", "--action", "clearbit-enrich-contact", "--input", "email=jo@acme.com")...)
	if err != nil {
		t.Fatalf("simulate --agent: %v\n%s", err, out)
	}
	wantLines(t, out, "as an agent (source AGENTS), no object", "Final state: SUCCESS")
	if len(got) != 1 {
		t.Fatalf("backend got %d requests, want 1", len(got))
	}
	if ctx, _ := got[0]["context"].(map[string]any); len(ctx) != 1 || ctx["source"] != "AGENTS" {
		t.Errorf("context = %v, want source AGENTS only (no workflow)", got[0]["context"])
	}
	if _, ok := got[0]["object"]; ok {
		t.Errorf("request has an object %v; an agent names none unless told", got[0]["object"])
	}
	if in, _ := got[0]["inputFields"].(map[string]any); in["email"] != "jo@acme.com" {
		t.Errorf("inputFields = %v", got[0]["inputFields"])
	}

	out, err = simulate(t, f.env(), append(common, "--agent", "--action", "shopify-lookup-customer", "--object-id", "77", "--property", "email=kim@acme.com")...)
	if err != nil {
		t.Fatalf("simulate --agent --object-id: %v\n%s", err, out)
	}
	wantLines(t, out, "as an agent (source AGENTS), CONTACT 77")
	if obj, _ := got[1]["object"].(map[string]any); obj["objectId"] != "77" || obj["objectType"] != "CONTACT" {
		t.Errorf("object = %v, want CONTACT 77", got[1]["object"])
	}

	for _, tt := range []struct{ action, want string }{
		{"stripe-create-promotion-code", "--agent: stripe-create-promotion-code is not an agent tool (it creates or changes things), so HubSpot's agents never run it; simulate it without --agent"},
		{"quickbooks-create-invoice", "quickbooks-create-invoice is not an agent tool"},
		{"no-such-action", "--agent: no-such-action is not an action of this build"},
	} {
		out, err := simulate(t, f.env(), append(common, "--agent", "--action", tt.action)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("simulate --agent --action %s = %v, want an error containing %q\n%s", tt.action, err, tt.want, out)
		}
	}
	if len(got) != 2 {
		t.Errorf("backend got %d requests, want 2: refused simulations send nothing", len(got))
	}
}
