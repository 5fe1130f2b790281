package publish

import (
	"strings"
	"testing"

	"hubspot-actions/actions/webhooks"
)

// TestWebhooksComponent: the generated component is where HubSpot's
// project parser looks for it, decodes strictly, targets the webhooks
// route and subscribes to the privacy deletion and to the deletion of
// every object the actions are enrolled with.
func TestWebhooksComponent(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	p, err := committedParams(reg)
	if err != nil {
		t.Fatal(err)
	}
	files, err := renderProject(p, reg.All())
	if err != nil {
		t.Fatal(err)
	}
	b, ok := files["src/app/webhooks/webhooks-hsmeta.json"]
	if !ok {
		t.Fatalf("no webhooks component among %v", sortedKeys(files))
	}
	var m webhooksMeta
	decodeStrict(t, b, &m)
	if m.Type != "webhooks" || m.Config.Settings.TargetURL != PlaceholderBaseURL+"/hubspot/webhooks" {
		t.Errorf("component = %+v", m)
	}
	if err := checkWebhooks(m, p.PublicBaseURL, p.RequiredScopes, []string{appUID}, []string{"company", "contact", "deal"}); err != nil {
		t.Errorf("generated component: %v", err)
	}
	if got := webhooks.KeptObjects(reg.All()); strings.Join(got, ",") != "company,contact,deal" {
		t.Errorf("keptObjects = %v, want company, contact and deal", got)
	}
}

// TestCheckWebhooks: each rule refuses what breaks it, naming it.
func TestCheckWebhooks(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	p, err := committedParams(reg)
	if err != nil {
		t.Fatal(err)
	}
	kept := webhooks.KeptObjects(reg.All())
	tests := []struct {
		name   string
		edit   func(m *webhooksMeta)
		scopes []string
		want   string
	}{
		{"http target", func(m *webhooksMeta) {
			m.Config.Settings.TargetURL = strings.Replace(m.Config.Settings.TargetURL, "https:", "http:", 1)
		}, nil, "must be an absolute https URL"},
		{"target on another host", func(m *webhooksMeta) { m.Config.Settings.TargetURL = "https://elsewhere.test/hubspot/webhooks" }, nil, "must be the app's webhooks route"},
		{"target on another path", func(m *webhooksMeta) { m.Config.Settings.TargetURL = PlaceholderBaseURL + "/hooks" }, nil, "must be the app's webhooks route"},
		{"concurrency too low", func(m *webhooksMeta) { m.Config.Settings.MaxConcurrentRequests = 5 }, nil, "maxConcurrentRequests is 5"},
		{"concurrency too high", func(m *webhooksMeta) { m.Config.Settings.MaxConcurrentRequests = 101 }, nil, "maxConcurrentRequests is 101"},
		{"bad uid", func(m *webhooksMeta) { m.UID = "web hooks" }, nil, "uid"},
		{"uid of the app", func(m *webhooksMeta) { m.UID = appUID }, nil, "not unique"},
		{"wrong type", func(m *webhooksMeta) { m.Type = "webhook" }, nil, `type is "webhook"`},
		{"unknown generic kind", func(m *webhooksMeta) { m.Config.Subscriptions.CRMObjects[0].SubscriptionType = "object.vanish" }, nil, "subscriptionType must be object."},
		{"legacy form in crmObjects", func(m *webhooksMeta) { m.Config.Subscriptions.CRMObjects[0].SubscriptionType = "contact.deletion" }, nil, "subscriptionType must be object."},
		{"unknown object", func(m *webhooksMeta) { m.Config.Subscriptions.CRMObjects[0].ObjectType = "spaceship" }, nil, `objectType "spaceship"`},
		{"unknown legacy type", func(m *webhooksMeta) {
			m.Config.Subscriptions.LegacyCRMObjects = append(m.Config.Subscriptions.LegacyCRMObjects, eventSubscription{SubscriptionType: "contact.privacyDeletion", Active: true})
		}, nil, "legacyCrmObjects[0]"},
		{"property change without a property", func(m *webhooksMeta) {
			m.Config.Subscriptions.LegacyCRMObjects = append(m.Config.Subscriptions.LegacyCRMObjects, eventSubscription{SubscriptionType: "contact.propertyChange", Active: true})
		}, nil, "needs a propertyName"},
		{"deletion with a property", func(m *webhooksMeta) { m.Config.Subscriptions.CRMObjects[0].PropertyName = "email" }, nil, "only propertyChange"},
		{"twice", func(m *webhooksMeta) {
			m.Config.Subscriptions.CRMObjects = append(m.Config.Subscriptions.CRMObjects, m.Config.Subscriptions.CRMObjects[0])
		}, nil, "subscribed twice"},
		{"same subscription in both forms", func(m *webhooksMeta) {
			m.Config.Subscriptions.LegacyCRMObjects = append(m.Config.Subscriptions.LegacyCRMObjects, eventSubscription{SubscriptionType: m.Config.Subscriptions.CRMObjects[0].ObjectType + ".deletion", Active: true})
		}, nil, "subscribed twice"},
		{"unknown hub event", func(m *webhooksMeta) { m.Config.Subscriptions.HubEvents[0].SubscriptionType = "contact.forget" }, nil, "hubEvents[0]"},
		{"privacy deletion paused", func(m *webhooksMeta) { m.Config.Subscriptions.HubEvents[0].Active = false }, nil, "no active contact.privacyDeletion"},
		{"no privacy deletion", func(m *webhooksMeta) { m.Config.Subscriptions.HubEvents = nil }, nil, "no active contact.privacyDeletion"},
		{"a kept object's deletion missing", func(m *webhooksMeta) { m.Config.Subscriptions.CRMObjects = m.Config.Subscriptions.CRMObjects[1:] }, nil, "no active deletion subscription for company"},
		{"a read scope missing", func(*webhooksMeta) {}, []string{"oauth", "automation", "crm.objects.contacts.read", "crm.objects.companies.read"}, "crm.objects.deals.read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newWebhooksMeta(p, reg.All())
			tt.edit(&m)
			scopes := p.RequiredScopes
			if tt.scopes != nil {
				scopes = tt.scopes
			}
			err := checkWebhooks(m, p.PublicBaseURL, scopes, []string{appUID}, kept)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("checkWebhooks(%s) = %v, want an error naming %q", tt.name, err, tt.want)
			}
		})
	}
}
