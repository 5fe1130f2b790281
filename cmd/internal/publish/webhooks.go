package publish

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"hubspot-actions/actions"
	"hubspot-actions/actions/webhooks"
)

// The webhooks component (§2.5): one file under src/app/webhooks.
const (
	webhooksFile = "src/app/webhooks/webhooks" + componentSuffix
	webhooksUID  = "hubspot-actions-webhooks"
	webhooksType = "webhooks"
	// concurrentRequests is how many batches HubSpot may send at once
	// (HubSpot's own template uses 10; each batch is one small write).
	concurrentRequests = 10
)

// Bounds of maxConcurrentRequests: HubSpot's older webhooks doc says the
// value "must be greater than five"; the upper bound is ours, so that a
// burst of batches cannot crowd out the execution requests on the one
// database writer.
const (
	minConcurrentRequests = 6
	maxConcurrentRequests = 100
)

// webhooksMeta is the webhooks component.
type webhooksMeta struct {
	UID    string         `json:"uid"`
	Type   string         `json:"type"`
	Config webhooksConfig `json:"config"`
}

type webhooksConfig struct {
	Settings      webhookSettings      `json:"settings"`
	Subscriptions webhookSubscriptions `json:"subscriptions"`
}

type webhookSettings struct {
	TargetURL             string `json:"targetUrl"`
	MaxConcurrentRequests int    `json:"maxConcurrentRequests"`
}

// webhookSubscriptions groups subscriptions as the component does:
// crmObjects in the generic form (object.<event> with an objectType),
// legacyCrmObjects as <object>.<event>, hubEvents (the contact's privacy
// deletion).
type webhookSubscriptions struct {
	CRMObjects       []crmObjectSubscription `json:"crmObjects"`
	LegacyCRMObjects []eventSubscription     `json:"legacyCrmObjects"`
	HubEvents        []eventSubscription     `json:"hubEvents"`
}

type crmObjectSubscription struct {
	SubscriptionType string `json:"subscriptionType"`
	ObjectType       string `json:"objectType"`
	PropertyName     string `json:"propertyName,omitempty"`
	Active           bool   `json:"active"`
}

type eventSubscription struct {
	SubscriptionType string `json:"subscriptionType"`
	PropertyName     string `json:"propertyName,omitempty"`
	Active           bool   `json:"active"`
}

// newWebhooksMeta returns the webhooks component: batches go to
// webhooks.Path under the public base URL; it subscribes to the contact's
// privacy deletion and to the deletion of every object the app keeps data
// about, the events the receiver acts on.
func newWebhooksMeta(p projectParams, all []*actions.Action) webhooksMeta {
	m := webhooksMeta{UID: webhooksUID, Type: webhooksType, Config: webhooksConfig{
		Settings: webhookSettings{TargetURL: p.PublicBaseURL + webhooks.Path, MaxConcurrentRequests: concurrentRequests},
		Subscriptions: webhookSubscriptions{
			CRMObjects:       []crmObjectSubscription{},
			LegacyCRMObjects: []eventSubscription{},
			HubEvents:        []eventSubscription{{SubscriptionType: "contact.privacyDeletion", Active: true}},
		},
	}}
	for _, o := range webhooks.KeptObjects(all) {
		m.Config.Subscriptions.CRMObjects = append(m.Config.Subscriptions.CRMObjects,
			crmObjectSubscription{SubscriptionType: "object.deletion", ObjectType: o, Active: true})
	}
	return m
}

// Event kinds and objects HubSpot documents for subscriptions (§10).
var (
	subscriptionKinds = []string{"creation", "deletion", "propertyChange", "associationChange", "merge", "restore"}
	legacyObjects     = []string{"contact", "company", "deal", "ticket", "line_item", "product"}
	// crmObjectTypes are the objects the generic form takes (HubSpot's
	// generic-webhooks list, standard objects).
	crmObjectTypes = []string{
		"appointment", "call", "cart", "commerce_payment", "communication", "company", "contact", "course", "deal",
		"discount", "email", "fee", "feedback_submission", "goal_target", "invoice", "lead", "line_item", "listing",
		"meeting_event", "note", "order", "partner_client", "postal_mail", "product", "quote", "quote_template",
		"service", "subscription", "task", "tax", "ticket", "user",
	}
	// hubEvents are the subscriptions listed under hubEvents.
	hubEvents = []string{"contact.privacyDeletion"}
)

// checkWebhooks checks the webhooks component against the protocol's rules
// and the app's needs: a valid uid distinct from the other components'
// (taken lists them), targetUrl https at webhooks.Path under the public
// base URL, maxConcurrentRequests within bounds, known subscription types
// with a propertyName exactly on property changes, no subscription twice,
// the read scope of every subscribed contact, company or deal among
// requiredScopes, and active subscriptions to the contact's privacy
// deletion and to the deletion of every object in kept. It reports every
// problem found, joined.
func checkWebhooks(m webhooksMeta, base string, requiredScopes, taken, kept []string) error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("webhooks: "+format, args...))
	}
	if !actions.ValidUID(m.UID) {
		fail("uid %q must be 1 to 64 letters, digits, '_', '-' or '.'", m.UID)
	}
	if slices.Contains(taken, m.UID) {
		fail("uid %q is not unique in the project", m.UID)
	}
	if m.Type != webhooksType {
		fail("type is %q, want %q", m.Type, webhooksType)
	}
	s := m.Config.Settings
	if u, err := url.Parse(s.TargetURL); err != nil || u.Scheme != "https" || u.Host == "" {
		fail("targetUrl %q must be an absolute https URL (HubSpot only calls https URLs)", s.TargetURL)
	} else if want := strings.TrimRight(base, "/") + webhooks.Path; s.TargetURL != want {
		fail("targetUrl %q must be the app's webhooks route %s", s.TargetURL, want)
	}
	if n := s.MaxConcurrentRequests; n < minConcurrentRequests || n > maxConcurrentRequests {
		fail("maxConcurrentRequests is %d, want %d to %d", n, minConcurrentRequests, maxConcurrentRequests)
	}

	active := map[string]bool{} // "deletion of contact", "contact.privacyDeletion"
	seen := map[string]bool{}
	needScope := func(obj string) {
		if sc, ok := webhooks.ReadScopes[obj]; ok && !slices.Contains(requiredScopes, sc) {
			fail("subscriptions to %s events need the %s scope among requiredScopes", obj, sc)
		}
	}
	checkProperty := func(where, kind, prop string) {
		switch {
		case kind == "propertyChange" && prop == "":
			fail("%s: a propertyChange subscription needs a propertyName", where)
		case kind != "propertyChange" && prop != "":
			fail("%s: only propertyChange subscriptions take a propertyName", where)
		}
	}
	for i, c := range m.Config.Subscriptions.CRMObjects {
		where := fmt.Sprintf("crmObjects[%d] (%s %s)", i, c.SubscriptionType, c.ObjectType)
		obj, kind, _ := strings.Cut(c.SubscriptionType, ".")
		if obj != "object" || !slices.Contains(subscriptionKinds, kind) {
			fail("%s: subscriptionType must be object.<%s>", where, strings.Join(subscriptionKinds, "|"))
		}
		if !slices.Contains(crmObjectTypes, c.ObjectType) {
			fail("%s: objectType %q is not an object HubSpot's webhooks know", where, c.ObjectType)
		}
		checkProperty(where, kind, c.PropertyName)
		key := c.ObjectType + "." + kind + "." + c.PropertyName
		if seen[key] {
			fail("%s: subscribed twice", where)
		}
		seen[key] = true
		needScope(c.ObjectType)
		if c.Active && kind == "deletion" {
			active["deletion of "+c.ObjectType] = true
		}
	}
	for i, c := range m.Config.Subscriptions.LegacyCRMObjects {
		where := fmt.Sprintf("legacyCrmObjects[%d] (%s)", i, c.SubscriptionType)
		obj, kind, _ := strings.Cut(c.SubscriptionType, ".")
		if !slices.Contains(legacyObjects, obj) || !slices.Contains(subscriptionKinds, kind) {
			fail("%s: subscriptionType must be <%s>.<%s>", where, strings.Join(legacyObjects, "|"), strings.Join(subscriptionKinds, "|"))
		}
		checkProperty(where, kind, c.PropertyName)
		key := obj + "." + kind + "." + c.PropertyName
		if seen[key] {
			fail("%s: subscribed twice", where)
		}
		seen[key] = true
		needScope(obj)
		if c.Active && kind == "deletion" {
			active["deletion of "+obj] = true
		}
	}
	for i, c := range m.Config.Subscriptions.HubEvents {
		where := fmt.Sprintf("hubEvents[%d] (%s)", i, c.SubscriptionType)
		if !slices.Contains(hubEvents, c.SubscriptionType) {
			fail("%s: subscriptionType must be one of %s", where, strings.Join(hubEvents, ", "))
		}
		if c.PropertyName != "" {
			fail("%s: takes no propertyName", where)
		}
		if seen[c.SubscriptionType] {
			fail("%s: subscribed twice", where)
		}
		seen[c.SubscriptionType] = true
		needScope("contact")
		if c.Active {
			active[c.SubscriptionType] = true
		}
	}
	if !active["contact.privacyDeletion"] {
		fail("no active contact.privacyDeletion subscription: a marketplace app must honour privacy deletions")
	}
	for _, o := range kept {
		if !active["deletion of "+o] {
			fail("no active deletion subscription for %s, whose records the app keeps executions of", o)
		}
	}
	return errors.Join(errs...)
}

// addWebhooks generates the webhooks component into the project's files
// through add, failing when it breaks checkWebhooks.
func addWebhooks(p projectParams, all []*actions.Action, add func(name string, v any) error) error {
	m := newWebhooksMeta(p, all)
	taken := []string{appUID}
	for _, a := range all {
		taken = append(taken, a.Key)
	}
	if err := checkWebhooks(m, p.PublicBaseURL, p.RequiredScopes, taken, webhooks.KeptObjects(all)); err != nil {
		return fmt.Errorf("the generated webhooks component breaks HubSpot's rules:\n%w", err)
	}
	return add(webhooksFile, m)
}
