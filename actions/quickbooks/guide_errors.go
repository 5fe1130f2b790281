package quickbooks

import "hubspot-actions/actions"

// The setup guide's words for when the QuickBooks actions answer each
// error code, and the HubSpot scopes they need.
var (
	invoiceErrors = map[actions.Code]string{
		actions.CodeValidation:   "An input is wrong (item, amount, due date), or there is no customer email: the input is empty and none of the deal's contacts has one.",
		actions.CodeNotConnected: "No QuickBooks company is connected, or QuickBooks no longer accepts the connection: connect it on the settings page.",
		actions.CodeNotFound:     "The product or service, or another record the invoice refers to, does not exist in QuickBooks or is inactive.",
		actions.CodeRejected:     "QuickBooks refused the invoice (permissions, subscription, a business rule). The message says whether an invoice was created but not emailed.",
		actions.CodeRateLimited:  "QuickBooks kept limiting requests until retries ran out.",
		actions.CodeUnavailable:  "QuickBooks could not be reached, or kept failing, until retries ran out.",
	}
	customerErrors = map[actions.Code]string{
		actions.CodeValidation:   "The email is not valid, or the record has no email, name or company and no display name is given.",
		actions.CodeNotConnected: "No QuickBooks company is connected, or QuickBooks no longer accepts the connection: connect it on the settings page.",
		actions.CodeNotFound:     "QuickBooks could not find a record the request refers to, or it is inactive.",
		actions.CodeRejected:     "QuickBooks refused to create the customer (permissions, subscription, a duplicate name).",
		actions.CodeRateLimited:  "QuickBooks kept limiting requests until retries ran out.",
		actions.CodeUnavailable:  "QuickBooks could not be reached, or kept failing, until retries ran out.",
	}
	// invoiceScopes: an invoice without a customer email goes to the first
	// of the deal's contacts that has one, read through HubSpot's CRM API.
	invoiceScopes = []actions.Scope{
		{Name: "crm.objects.deals.read", Reason: "reads the enrolled deal's associated contacts when no customer email is given."},
		{Name: "crm.objects.contacts.read", Reason: "reads those contacts' email, name, company and phone for the QuickBooks customer."},
	}
)
