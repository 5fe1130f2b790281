package shopify

import (
	"context"
	"fmt"
	"strings"

	"hubspot-actions/actions"
)

// ActionLookupCustomer is the key of the lookup action. It and the field
// names below are a public contract: live workflows reference them.
const ActionLookupCustomer = "shopify-lookup-customer"

// Inputs and outputs of shopify-lookup-customer.
const (
	InEmail          = "email"
	OutFound         = "found"
	OutCustomerID    = "customer_id"
	OutOrdersCount   = "orders_count"
	OutAmountSpent   = "amount_spent"
	OutCurrency      = "currency"
	OutLastOrderAt   = "last_order_at"
	OutTags          = "tags"
	propertyEmail    = "email"
	maxEmailLen      = 320
	customerQueryOp  = "customers"
	customerGIDStart = "gid://shopify/Customer/"
)

type lookupIn struct {
	Email string `json:"email"`
}

type lookupOut struct {
	Found       bool   `json:"found"`
	CustomerID  string `json:"customer_id"`
	OrdersCount string `json:"orders_count"`
	AmountSpent string `json:"amount_spent"`
	Currency    string `json:"currency"`
	LastOrderAt string `json:"last_order_at"`
	Tags        string `json:"tags"`
}

var lookupErrors = map[actions.Code]string{
	actions.CodeValidation:   "The email is empty (and the contact has none) or is not an email address.",
	actions.CodeNotConnected: "No Shopify shop is connected, or Shopify no longer accepts the connection: connect it on the settings page.",
	actions.CodeRejected:     "Shopify refused the search (permissions, a frozen shop).",
	actions.CodeRateLimited:  "The shop's API budget stayed used up until retries ran out.",
	actions.CodeUnavailable:  "Shopify could not be reached, or kept failing, until retries ran out.",
}

func (p *Provider) lookupSpec() actions.Spec[lookupIn, lookupOut] {
	text := func(name, label string) actions.OutputField {
		return actions.OutputField{Name: name, Type: actions.TypeString, FieldType: actions.FieldText, Label: label}
	}
	return actions.Spec[lookupIn, lookupOut]{
		Key:              ActionLookupCustomer,
		Name:             "Look up a Shopify customer",
		Description:      "Finds the customer with the contact's email in the connected Shopify shop and returns their number of orders, amount spent, last order date and tags. found is false when the shop has no such customer.",
		CardContent:      "Look up the Shopify customer with email {{email}}",
		ObjectTypes:      []string{"CONTACT"},
		ObjectProperties: []string{propertyEmail},
		Inputs: []actions.InputField{{
			Name: InEmail, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Email",
			Description: "The customer's email address. Leave empty to use the contact's Email property.",
		}},
		Outputs: []actions.OutputField{
			{Name: OutFound, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Customer found"},
			text(OutCustomerID, "Shopify customer ID"),
			{Name: OutOrdersCount, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Number of orders"},
			{Name: OutAmountSpent, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Amount spent"},
			text(OutCurrency, "Currency of the amount spent"),
			{Name: OutLastOrderAt, Type: actions.TypeDatetime, FieldType: actions.FieldDate, Label: "Last order at"},
			text(OutTags, "Customer tags (comma-separated)"),
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Check the email of this action: {{ error_message }}",
			actions.CodeNotConnected: "Shopify is not connected for this HubSpot account: {{ error_message }}",
			actions.CodeRejected:     "Shopify refused the customer search: {{ error_message }}",
			actions.CodeRateLimited:  "The Shopify customer was not looked up because of a rate limit: {{ error_message }}",
			actions.CodeUnavailable:  "Shopify could not be reached, so the customer was not looked up: {{ error_message }}",
		},
		Errors:      lookupErrors,
		FailOutputs: map[string]string{OutFound: "false"},
		Run:         p.lookup,
		// One GraphQL query of customers; no mutation.
		ReadOnly: true,
		Agent: &actions.AgentTool{Description: "Finds the customer with one email address in the Shopify shop connected to the HubSpot account. " +
			"Use it to learn whether someone has bought from the shop, how often and how much. " +
			"Input email: the customer's email address, such as jane@example.com; only a customer with exactly that address counts. " +
			"Give it whenever you know it (when it is empty, the enrolled contact's Email property is used, and without a contact the call fails). " +
			"Returns found \"true\" with customer_id, orders_count, amount_spent with its currency, last_order_at (ISO 8601; empty: no order yet) " +
			"and tags (comma-separated); found is \"false\" when the shop has no such customer. " +
			"On failure error_code says why: VALIDATION_FAILED (email is missing or is not one email address), NOT_CONNECTED (no shop is connected), " +
			"RATE_LIMITED or UPSTREAM_UNAVAILABLE (try again later). " +
			"It only reads: nothing is created or changed in Shopify or HubSpot, so calling it again is safe."},

		// The German is in lookup_customer_de.go.
		Translations: map[string]actions.Translation{"de": lookupDE()},
	}
}

// customer is what the actions read of a Shopify customer.
type customer struct {
	ID             string   `json:"id"`
	Email          string   `json:"email"`
	NumberOfOrders string   `json:"numberOfOrders"`
	Tags           []string `json:"tags"`
	AmountSpent    *struct {
		Amount       string `json:"amount"`
		CurrencyCode string `json:"currencyCode"`
	} `json:"amountSpent"`
	LastOrder *struct {
		CreatedAt string `json:"createdAt"`
	} `json:"lastOrder"`
}

const customerSearch = `query customers($q: String!) {
  customers(first: 10, query: $q) {
    nodes { id email numberOfOrders tags amountSpent { amount currencyCode } lastOrder { createdAt } }
  }
}`

// findCustomer returns the shop's customer with email, if any.
func (s *shop) findCustomer(ctx context.Context, email string) (customer, bool, error) {
	var data struct {
		Customers struct {
			Nodes []customer `json:"nodes"`
		} `json:"customers"`
	}
	if err := s.query(ctx, customerQueryOp, customerSearch, map[string]any{"q": SearchQuery(email)}, &data); err != nil {
		return customer{}, false, err
	}
	for _, c := range data.Customers.Nodes {
		// The search matches loosely; only the exact address counts.
		if strings.EqualFold(c.Email, email) {
			return c, true, nil
		}
	}
	return customer{}, false, nil
}

// checkEmail validates an email input (or the contact's property).
func checkEmail(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", actions.Invalid(field, "is required (the contact has no email either)")
	case len(v) > maxEmailLen || strings.ContainsAny(v, " \t\r\n") || strings.Count(v, "@") != 1 || strings.HasPrefix(v, "@") || strings.HasSuffix(v, "@"):
		return "", actions.Invalid(field, "must be one email address such as jane@example.com, not %q", clip(v))
	}
	return v, nil
}

func (p *Provider) lookup(ctx context.Context, ex *actions.Execution, in lookupIn) (lookupOut, error) {
	raw := in.Email
	if strings.TrimSpace(raw) == "" && !ex.HasObject() {
		// An agent's request, say: there is no contact to fall back on.
		return lookupOut{}, actions.Invalid(InEmail, "is required: the request names no contact whose Email property could be used")
	}
	if strings.TrimSpace(raw) == "" {
		raw = ex.Object.Property(propertyEmail)
	}
	email, err := checkEmail(InEmail, raw)
	if err != nil {
		return lookupOut{}, err
	}
	s, err := p.shopFor(ctx, ex.PortalID)
	if err != nil {
		return lookupOut{}, err
	}
	c, ok, err := s.findCustomer(ctx, email)
	if err != nil {
		return lookupOut{}, fmt.Errorf("shopify: look up customer: %w", err)
	}
	if !ok {
		return lookupOut{}, nil
	}
	out := lookupOut{Found: true, CustomerID: strings.TrimPrefix(c.ID, customerGIDStart), OrdersCount: c.NumberOfOrders, Tags: strings.Join(c.Tags, ", ")}
	if c.AmountSpent != nil {
		out.AmountSpent, out.Currency = c.AmountSpent.Amount, c.AmountSpent.CurrencyCode
	}
	if c.LastOrder != nil {
		out.LastOrderAt = c.LastOrder.CreatedAt
	}
	return out, nil
}
