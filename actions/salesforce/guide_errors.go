package salesforce

import "hubspot-actions/actions"

// The setup guide's words for when the Salesforce action answers each
// error code.
var leadErrors = map[actions.Code]string{
	actions.CodeValidation:   "An input is wrong (the email, or a value Salesforce refused for a field such as the lead status or a too long name); the message names the input.",
	actions.CodeNotConnected: "No Salesforce org is connected, or Salesforce no longer accepts the connection: connect it on the settings page.",
	actions.CodeRejected:     "Salesforce refused the lead: several leads match the contact, a duplicate rule blocked it, the org requires another field, or the connected user lacks permission.",
	actions.CodeRateLimited:  "The org's daily Salesforce API allocation is used up, or Salesforce kept limiting requests until retries ran out.",
	actions.CodeUnavailable:  "Salesforce could not be reached, or kept failing, until retries ran out.",
}
