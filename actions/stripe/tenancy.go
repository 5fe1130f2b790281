package stripe

import (
	"strconv"

	"hubspot-actions/actions"
)

// Portal isolation. With the app's shared key, every allowed portal's
// coupons, customers and codes live in the operator's one Stripe account,
// and with its own key a portal may share an account with another portal
// (two HubSpot accounts of one company). Stripe knows nothing of portals,
// and neither its list filters (code, email) nor stripe-mock can keep them
// apart; its Search API can filter on metadata but is eventually
// consistent, which a find-or-create cannot use. So the app keeps them
// apart itself:
//
//   - everything it creates carries metadata[hubspot_portal_id];
//   - every object it looks up (a promotion code by code, a customer by
//     email, a coupon by ID) is used only if visible to the portal: marked
//     with its ID, or, with the portal's own key only, not marked at all
//     (the merchant's own objects, made in the Dashboard). An object marked
//     for another portal is never visible, whichever key is used: it is
//     treated as not found, never reused or changed, and nothing of it is
//     answered;
//   - coupon IDs are derived from the portal as well as the terms, so each
//     portal has its own coupons;
//   - Idempotency-Keys are derived from the portal as well as the
//     callbackId, so one portal's request can never replay another's.

// portalMark is the value of metadata[hubspot_portal_id] for a portal.
func portalMark(portalID int64) string { return strconv.FormatInt(portalID, 10) }

// visible reports whether an object with metadata md that Stripe returned
// may be used for portalID when the execution uses key.
func visible(key actions.Key, portalID int64, md map[string]string) bool {
	mark := md[metaPortal]
	if mark == "" {
		return !key.Shared
	}
	return mark == portalMark(portalID)
}

// idempotencyKey is the Idempotency-Key of the execution's side effect
// named purpose, scoped to its portal.
func idempotencyKey(ex *actions.Execution, purpose string) string {
	return ex.IdempotencyKey(purpose + "\x00portal=" + portalMark(ex.PortalID))
}

// maxCustomerPages bounds how many pages of customers with one email are
// read looking for one visible to the portal; past them a new customer is
// created for it.
const maxCustomerPages = 5
