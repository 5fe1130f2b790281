package publish

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCommittedWebhooksComponentHasHubSpotsShape reads the committed
// webhooks component as plain JSON, not through our own types, and holds
// it to the format HubSpot documents for a developer-platform project
// (developers.hubspot.com/docs/apps/developer-platform/add-features/
// configure-webhooks; protocol reference §2.5, §10): a *-hsmeta.json file
// in src/app/webhooks; uid, type "webhooks" and config; config.settings
// with exactly targetUrl and maxConcurrentRequests; config.subscriptions
// with crmObjects (object.* types naming a lower-case objectType),
// legacyCrmObjects (<object>.<event>, no objectType) and hubEvents (the
// privacy deletion and conversation events, no objectType), each
// subscription only subscriptionType, objectType, propertyName and active.
func TestCommittedWebhooksComponentHasHubSpotsShape(t *testing.T) {
	t.Parallel()
	matches, err := filepath.Glob(filepath.Join(committedDir, "src", "app", "webhooks", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 1 || !strings.HasSuffix(matches[0], "-hsmeta.json") {
		t.Fatalf("src/app/webhooks holds %v, want one *-hsmeta.json component", matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	keysAre(t, "the component", top, []string{"uid", "type", "config"}, nil)
	var uid, typ string
	json.Unmarshal(top["uid"], &uid)
	json.Unmarshal(top["type"], &typ)
	if typ != "webhooks" || uid == "" || uid == appUID {
		t.Errorf("uid %q, type %q; want a uid of its own and type webhooks", uid, typ)
	}
	var config map[string]json.RawMessage
	json.Unmarshal(top["config"], &config)
	keysAre(t, "config", config, []string{"settings", "subscriptions"}, nil)
	var settings map[string]json.RawMessage
	json.Unmarshal(config["settings"], &settings)
	keysAre(t, "config.settings", settings, []string{"targetUrl", "maxConcurrentRequests"}, nil)
	var target string
	var concurrency float64
	if json.Unmarshal(settings["targetUrl"], &target) != nil || !strings.HasPrefix(target, "https://") {
		t.Errorf("targetUrl = %s, want an https URL string", settings["targetUrl"])
	}
	if json.Unmarshal(settings["maxConcurrentRequests"], &concurrency) != nil || concurrency <= 5 {
		t.Errorf("maxConcurrentRequests = %s, want a number greater than five", settings["maxConcurrentRequests"])
	}

	var subs map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(config["subscriptions"], &subs); err != nil {
		t.Fatalf("config.subscriptions: %v", err)
	}
	for k := range subs {
		if !slices.Contains([]string{"crmObjects", "legacyCrmObjects", "hubEvents"}, k) {
			t.Errorf("config.subscriptions has %q, which HubSpot does not document", k)
		}
	}
	privacy := 0
	for group, list := range subs {
		for i, s := range list {
			where := fmt.Sprintf("%s[%d]", group, i)
			var st string
			var active bool
			if json.Unmarshal(s["subscriptionType"], &st) != nil || st == "" {
				t.Errorf("%s: subscriptionType = %s, want a string", where, s["subscriptionType"])
			}
			if json.Unmarshal(s["active"], &active) != nil {
				t.Errorf("%s (%s): active = %s, want a boolean", where, st, s["active"])
			}
			if st == "contact.privacyDeletion" {
				privacy++
				if group != "hubEvents" || !active {
					t.Errorf("contact.privacyDeletion is in %s (active %v); HubSpot lists it, active, under hubEvents", group, active)
				}
			}
			switch group {
			case "crmObjects":
				keysAre(t, where, s, []string{"subscriptionType", "objectType", "active"}, []string{"propertyName"})
				var ot string
				json.Unmarshal(s["objectType"], &ot)
				if !strings.HasPrefix(st, "object.") || ot == "" || ot != strings.ToLower(ot) || strings.HasSuffix(ot, "s") {
					t.Errorf("%s: %s of %q; want object.<event> of a lower-case singular objectType such as contact", where, st, ot)
				}
			case "legacyCrmObjects", "hubEvents":
				keysAre(t, where, s, []string{"subscriptionType", "active"}, []string{"propertyName"})
				if strings.HasPrefix(st, "object.") {
					t.Errorf("%s: %s belongs in crmObjects", where, st)
				}
				if group == "hubEvents" && st != "contact.privacyDeletion" && !strings.HasPrefix(st, "conversation.") {
					t.Errorf("%s: %s is not a hub event (contact.privacyDeletion, conversation.*)", where, st)
				}
			}
		}
	}
	if privacy != 1 {
		t.Errorf("contact.privacyDeletion is subscribed %d times, want once", privacy)
	}
}

// keysAre checks that obj has every key of required and nothing beyond
// required and optional.
func keysAre(t *testing.T, what string, obj map[string]json.RawMessage, required, optional []string) {
	t.Helper()
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s lacks %q", what, k)
		}
	}
	for k := range obj {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			t.Errorf("%s has %q, which HubSpot does not document there", what, k)
		}
	}
}
