package quickbooks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
)

// The create-invoice action's public contract.
const (
	KeyCreateInvoice = "quickbooks-create-invoice"

	InCustomerEmail = "customer_email"
	InCustomerName  = "customer_name"
	InAmount        = "amount"
	InItemID        = "item_id"
	InDescription   = "description"
	InDueInDays     = "due_in_days"
	InSendEmail     = "send_email"

	OutInvoiceID     = "invoice_id"
	OutInvoiceNumber = "invoice_number"
	OutTotalAmount   = "total_amount"
	OutInvCustomerID = "customer_id"
	OutDueDate       = "due_date"
	OutEmailStatus   = "email_status"
	OutInvoiceURL    = "invoice_url"
)

// itemsPageSize is how many items one options page shows.
const itemsPageSize = 20

type invoiceIn struct {
	CustomerEmail string  `json:"customer_email" validate:"omitempty,email,max=100"`
	CustomerName  string  `json:"customer_name" validate:"max=500"`
	Amount        float64 `json:"amount" validate:"gt=0,lte=99999999"`
	ItemID        string  `json:"item_id" validate:"required,max=20"`
	Description   string  `json:"description" validate:"max=4000"`
	DueInDays     int     `json:"due_in_days" validate:"gte=0,lte=3650"`
	SendEmail     bool    `json:"send_email"`
}

type invoiceOut struct {
	InvoiceID     string  `json:"invoice_id"`
	InvoiceNumber string  `json:"invoice_number"`
	TotalAmount   float64 `json:"total_amount,omitempty"`
	CustomerID    string  `json:"customer_id"`
	DueDate       string  `json:"due_date"`
	EmailStatus   string  `json:"email_status"`
	InvoiceURL    string  `json:"invoice_url"`
}

func (s *Provider) createInvoiceSpec() actions.Spec[invoiceIn, invoiceOut] {
	return actions.Spec[invoiceIn, invoiceOut]{
		Key:  KeyCreateInvoice,
		Name: "Create QuickBooks invoice",
		Description: "Creates an invoice in your connected QuickBooks Online company for the deal's customer, " +
			"with one line for the product or service you pick, and can email it to the customer. " +
			"The customer is found by email (by default the email of the deal's associated contact) and created if needed.",
		CardContent:      "Create a QuickBooks invoice for {{amount}}",
		ObjectTypes:      []string{"DEAL"},
		ObjectProperties: []string{"dealname"},
		Inputs: []actions.InputField{
			{Name: InCustomerEmail, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Customer email",
				Description: "Who the invoice is for. Leave empty to use the email of the contact associated with the deal."},
			{Name: InCustomerName, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Customer name",
				DependsOn:   actions.EnabledBy(InCustomerEmail),
				Description: "The name for a new QuickBooks customer with the customer email above (it can be set once the email is). Leave empty to use the contact's name."},
			{Name: InAmount, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Amount", Required: true,
				Description: "The invoice amount, in the QuickBooks company's currency, for example the deal amount."},
			{Name: InItemID, Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Product or service", Required: true,
				Description: "The QuickBooks product or service the invoice line is for.", Dynamic: true,
				ValueTypes: []string{actions.StaticValue}},
			{Name: InDescription, Type: actions.TypeString, FieldType: actions.FieldTextarea, Label: "Line description",
				Description: "Text on the invoice line. Leave empty to use the deal name."},
			{Name: InDueInDays, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Due in (days)",
				Description: "Days until payment is due. Leave empty to use the customer's payment terms in QuickBooks."},
			{Name: InSendEmail, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Email the invoice",
				Description: "Send the invoice from QuickBooks to the customer's email address."},
		},
		Outputs: []actions.OutputField{
			{Name: OutInvoiceID, Type: actions.TypeString, FieldType: actions.FieldText, Label: "QuickBooks invoice ID"},
			{Name: OutInvoiceNumber, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Invoice number"},
			{Name: OutTotalAmount, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Invoice total"},
			{Name: OutInvCustomerID, Type: actions.TypeString, FieldType: actions.FieldText, Label: "QuickBooks customer ID"},
			{Name: OutDueDate, Type: actions.TypeDate, FieldType: actions.FieldDate, Label: "Due date"},
			{Name: OutEmailStatus, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Email status"},
			{Name: OutInvoiceURL, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Invoice link (QuickBooks)"},
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation: "The invoice was not created: {{ error_message }}",
			actions.CodeNotFound:   "The invoice was not created: {{ error_message }}",
			// These codes also end executions whose invoice exists but was
			// not emailed, so their messages leave that to error_message.
			actions.CodeNotConnected: "QuickBooks is not connected: {{ error_message }}",
			actions.CodeRejected:     "QuickBooks refused the request: {{ error_message }}",
			actions.CodeRateLimited:  "QuickBooks kept limiting requests: {{ error_message }}",
			actions.CodeUnavailable:  "QuickBooks could not be reached or kept failing: {{ error_message }}",
		},
		Save: []actions.SavedProperty{
			{Output: OutInvoiceNumber, Property: actions.PropertyPrefix + "quickbooks_invoice_number", Label: "QuickBooks invoice number"},
			{Output: OutInvoiceURL, Property: actions.PropertyPrefix + "quickbooks_invoice_url", Label: "QuickBooks invoice link"},
		},
		Errors:  invoiceErrors,
		Scopes:  invoiceScopes,
		Run:     s.createInvoice,
		Options: map[string]actions.OptionsFunc{InItemID: s.itemOptions},
		// The invoice is the enrolled deal's: its id names the customer
		// and, without a customer email, finds the deal's contact.
		NeedsObject: true,

		// The German is in create_invoice_de.go.
		Translations: map[string]actions.Translation{"de": createInvoiceDE()},
	}
}

func (s *Provider) createInvoice(ctx context.Context, ex *actions.Execution, in invoiceIn) (invoiceOut, error) {
	if strings.Trim(in.ItemID, "0123456789") != "" {
		return invoiceOut{}, actions.Invalid(InItemID, "must be a QuickBooks product or service id such as 7; pick one from the list")
	}
	amount := math.Round(in.Amount*100) / 100
	if amount <= 0 {
		return invoiceOut{}, actions.Invalid(InAmount, "must be at least 0.01")
	}
	// A portal without QuickBooks must learn that, not that its deal's
	// contact has no email, and must not spend HubSpot quota finding out.
	if _, _, err := s.company(ctx, ex.PortalID); err != nil {
		return invoiceOut{}, s.classify(err, hints{})
	}
	w := customerWant{
		Email:       in.CustomerEmail,
		DisplayName: in.CustomerName,
		Suffix:      "HubSpot deal " + string(ex.Object.ObjectID),
	}
	if w.Email == "" {
		ct, err := s.crm.DealContact(ctx, ex.PortalID, string(ex.Object.ObjectID))
		if err != nil {
			return invoiceOut{}, fmt.Errorf("quickbooks: read the contact of deal %s: %w", ex.Object.ObjectID, err)
		}
		if ct.Email == "" {
			return invoiceOut{}, actions.Invalid(InCustomerEmail, "is empty and the deal has no associated contact with an email address; associate a contact or set the customer email")
		}
		if !validEmail(ct.Email) {
			return invoiceOut{}, actions.Invalid(InCustomerEmail, "the deal's contact email %q is not a valid email address", clip(ct.Email))
		}
		w.Email, w.GivenName, w.FamilyName, w.CompanyName, w.Phone = ct.Email, ct.FirstName, ct.LastName, ct.Company, ct.Phone
	}
	desc := in.Description
	if desc == "" {
		desc = ex.Object.Property("dealname")
	}
	inv := Invoice{
		Line: []Line{{
			DetailType:  "SalesItemLineDetail",
			Amount:      amount,
			Description: desc,
			SalesItemLineDetail: &SalesItemLineDetail{
				ItemRef:   Ref{Value: in.ItemID},
				Qty:       1,
				UnitPrice: amount,
			},
		}},
		BillEmail:   &EmailAddr{Address: w.Email},
		PrivateNote: fmt.Sprintf("Created by HubSpot workflow %d for deal %s (%s)", ex.Context.WorkflowID, ex.Object.ObjectID, ex.Ref),
	}
	if in.DueInDays > 0 {
		inv.DueDate = s.now().UTC().AddDate(0, 0, in.DueInDays).Format(time.DateOnly)
	}
	var out invoiceOut // set once the invoice exists
	err := s.withCompany(ctx, ex.PortalID, func(c *Client, realm string) error {
		cu, _, err := findOrCreateCustomer(ctx, c, realm, ex, w)
		if err != nil {
			return err
		}
		inv.CustomerRef = &Ref{Value: cu.ID}
		created, err := c.CreateInvoice(ctx, realm, ex.IdempotencyKey("qbo-invoice"), inv)
		if err != nil {
			return err
		}
		out = invoiceOut{
			InvoiceID:     created.ID,
			InvoiceNumber: created.DocNumber,
			TotalAmount:   created.TotalAmt,
			CustomerID:    cu.ID,
			DueDate:       created.DueDate,
			EmailStatus:   created.EmailStatus,
			InvoiceURL:    s.invoiceURL(created.ID),
		}
		// A replayed create answers the invoice of the run that made it,
		// whose customer may not be the one found this time.
		if created.CustomerRef != nil && created.CustomerRef.Value != "" {
			out.CustomerID = created.CustomerRef.Value
		}
		if !in.SendEmail {
			return nil
		}
		sent, err := c.SendInvoice(ctx, realm, ex.IdempotencyKey("qbo-invoice-send"), created.ID, w.Email)
		if err != nil {
			return err
		}
		out.EmailStatus = sent.EmailStatus
		return nil
	})
	switch {
	case err == nil:
		return out, nil
	case out.InvoiceID == "":
		return invoiceOut{}, s.classify(err, hints{emailField: InCustomerEmail, itemField: InItemID, itemID: in.ItemID})
	}
	return out, s.notEmailed(ex, out, err)
}

// sendTries is how many runs of an execution may try to email an invoice
// that exists. The runtime would retry transient failures for longer, but
// then its give-up message could not say that the invoice exists; after
// these runs the execution ends with the invoice, not emailed.
const sendTries = 3

// notEmailed is the error for a failure after the invoice was created
// (sending it, or reconnecting to send it), returned with the invoice's
// outputs: a transient one is left to the runtime to retry until the
// sendTries-th run, and the rest say that the invoice exists but was not
// emailed.
func (s *Provider) notEmailed(ex *actions.Execution, out invoiceOut, err error) error {
	invoice := out.InvoiceNumber
	if invoice == "" {
		invoice = "with ID " + out.InvoiceID
	}
	if isTransient(err) {
		if ex.Attempt < sendTries {
			return err
		}
		code, why := actions.CodeUnavailable, "QuickBooks kept failing"
		var ae *upstream.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests {
			code, why = actions.CodeRateLimited, "QuickBooks kept limiting requests"
		}
		return actions.Fail(code, "Invoice %s exists but was not emailed: %s (%d tries). Send it from QuickBooks.", invoice, why, ex.Attempt).With(err)
	}
	var ae *actions.Error
	if !errors.As(s.classify(err, hints{emailField: InCustomerEmail}), &ae) {
		return actions.Fail(actions.CodeInternal, "Invoice %s exists but was not emailed: the app could not read QuickBooks' answer. Send it from QuickBooks.", invoice).With(err)
	}
	code := actions.CodeRejected
	if ae.Code == actions.CodeNotConnected {
		code = ae.Code
	}
	return actions.Fail(code, "Invoice %s exists but was not emailed: %s", invoice, ae.Message).With(err)
}

// isTransient reports whether an API error is worth retrying.
func isTransient(err error) bool { return actions.Transient(err) }

// itemOptions fills the item_id dropdown with the company's active
// products and services, by name, searchable and paged.
func (s *Provider) itemOptions(ctx context.Context, req *actions.OptionsRequest) (actions.OptionsPage, error) {
	start := 1
	if a := req.FetchOptions.After; a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 1 {
			return actions.OptionsPage{}, actions.Fail(actions.CodeValidation, "The list position %q is not valid; close and reopen the list.", clip(a))
		}
		start = n
	}
	q := strings.TrimSpace(req.FetchOptions.Q)
	var items []Item
	err := s.withCompany(ctx, int64(req.Origin.PortalID), func(c *Client, realm string) error {
		var err error
		items, err = c.Items(ctx, realm, q, start, itemsPageSize)
		return err
	})
	if err != nil {
		return actions.OptionsPage{}, s.classify(err, hints{})
	}
	page := actions.OptionsPage{Options: []actions.Option{}, Searchable: true}
	for _, it := range items {
		if it.Type == "Category" {
			continue // categories group items; they cannot be sold
		}
		desc := it.Type
		if it.UnitPrice != 0 {
			desc += fmt.Sprintf(", %.2f", it.UnitPrice)
		}
		page.Options = append(page.Options, actions.Option{Label: it.Name, Value: it.ID, Description: desc})
	}
	if len(items) == itemsPageSize {
		page.After = strconv.Itoa(start + itemsPageSize)
	}
	return page, nil
}

// invoiceURL links to an invoice in QuickBooks Online's web app, in the
// company the API calls reach (sandbox companies live on their own host).
func (s *Provider) invoiceURL(id string) string {
	host := "https://qbo.intuit.com"
	if s.cfg.Environment == "sandbox" {
		host = "https://sandbox.qbo.intuit.com"
	}
	return host + "/app/invoice?txnId=" + url.QueryEscape(id)
}
