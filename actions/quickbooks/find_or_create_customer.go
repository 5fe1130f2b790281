package quickbooks

import (
	"context"
	"strings"
	"unicode/utf8"

	"hubspot-actions/actions"
)

// The find-or-create-customer action's public contract.
const (
	KeyFindOrCreateCustomer = "quickbooks-find-or-create-customer"

	InEmail       = "email"
	InDisplayName = "display_name"
	InCompanyName = "company_name"
	InPhone       = "phone"

	OutCustomerID = "customer_id"
	OutCreated    = "created"
)

type customerIn struct {
	Email       string `json:"email" validate:"omitempty,email,max=100"`
	DisplayName string `json:"display_name" validate:"max=500"`
	CompanyName string `json:"company_name" validate:"max=100"`
	Phone       string `json:"phone" validate:"max=30"`
}

type customerOut struct {
	CustomerID string `json:"customer_id"`
	Created    bool   `json:"created"`
}

func (s *Provider) findOrCreateCustomerSpec() actions.Spec[customerIn, customerOut] {
	return actions.Spec[customerIn, customerOut]{
		Key:  KeyFindOrCreateCustomer,
		Name: "Find or create QuickBooks customer",
		Description: "Looks up the customer in your connected QuickBooks Online company by email address and creates " +
			"one if there is none. Use the customer ID in later steps, or branch on whether a new customer was created. " +
			"Empty fields are filled from the enrolled contact (email, first and last name, company, phone) or company (name, domain).",
		CardContent:      "Find or create QuickBooks customer {{email}}",
		ObjectTypes:      []string{"CONTACT", "COMPANY"},
		ObjectProperties: []string{"email", "firstname", "lastname", "company", "phone", "name", "domain"},
		Inputs: []actions.InputField{
			{Name: InEmail, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Email",
				Description: "The customer's email address; QuickBooks is searched for it first. Leave empty to use the contact's email."},
			{Name: InDisplayName, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Customer display name",
				Description: "The name shown in QuickBooks for a new customer. Leave empty to use the contact's name or the company's name."},
			{Name: InCompanyName, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Company name",
				Description: "The customer's company. Leave empty to use the contact's company."},
			{Name: InPhone, Type: actions.TypeString, FieldType: actions.FieldPhone, Label: "Phone",
				Description: "The customer's phone number. Leave empty to use the record's phone."},
		},
		Outputs: []actions.OutputField{
			{Name: OutCustomerID, Type: actions.TypeString, FieldType: actions.FieldText, Label: "QuickBooks customer ID"},
			{Name: OutCreated, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "New customer created"},
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "The QuickBooks customer could not be looked up: {{ error_message }}",
			actions.CodeNotConnected: "QuickBooks is not connected: {{ error_message }}",
			actions.CodeRejected:     "QuickBooks refused to create the customer: {{ error_message }}",
			actions.CodeRateLimited:  "QuickBooks kept limiting requests, so the customer was not looked up: {{ error_message }}",
			actions.CodeUnavailable:  "QuickBooks could not be reached, so the customer was not looked up: {{ error_message }}",
		},
		Errors: customerErrors,
		Run:    s.findOrCreateCustomer,
		// The record's id tells apart customers whose names collide.
		NeedsObject: true,

		// The German is in find_or_create_customer_de.go.
		Translations: map[string]actions.Translation{"de": findOrCreateCustomerDE()},
	}
}

func (s *Provider) findOrCreateCustomer(ctx context.Context, ex *actions.Execution, in customerIn) (customerOut, error) {
	w, field, err := customerFromRecord(ex, in)
	if err != nil {
		return customerOut{}, err
	}
	var cu Customer
	var created bool
	err = s.withCompany(ctx, ex.PortalID, func(c *Client, realm string) error {
		var err error
		cu, created, err = findOrCreateCustomer(ctx, c, realm, ex, w)
		return err
	})
	if err != nil {
		return customerOut{}, s.classify(err, hints{emailField: field})
	}
	return customerOut{CustomerID: cu.ID, Created: created}, nil
}

// customerFromRecord fills empty inputs from the enrolled contact or
// company and returns the customer wanted and the field naming its email.
func customerFromRecord(ex *actions.Execution, in customerIn) (customerWant, string, error) {
	o := ex.Object
	w := customerWant{
		Email:       in.Email,
		DisplayName: in.DisplayName,
		CompanyName: in.CompanyName,
		Phone:       in.Phone,
		Suffix:      "HubSpot " + string(o.ObjectID),
	}
	field := InEmail
	if strings.EqualFold(o.ObjectType, "COMPANY") {
		if w.DisplayName == "" {
			w.DisplayName = strings.TrimSpace(o.Property("name"))
		}
		if w.DisplayName == "" {
			w.DisplayName = strings.TrimSpace(o.Property("domain"))
		}
		if w.CompanyName == "" {
			w.CompanyName = strings.TrimSpace(o.Property("name"))
		}
	} else {
		if w.Email == "" {
			w.Email = strings.TrimSpace(o.Property("email"))
		}
		w.GivenName = strings.TrimSpace(o.Property("firstname"))
		w.FamilyName = strings.TrimSpace(o.Property("lastname"))
		if w.CompanyName == "" {
			w.CompanyName = strings.TrimSpace(o.Property("company"))
		}
	}
	if w.Phone == "" {
		w.Phone = strings.TrimSpace(o.Property("phone"))
	}
	w.Phone, _ = cut(w.Phone, 30) // Intuit's limit, in characters
	if w.Email != "" && !validEmail(w.Email) {
		return w, field, actions.Invalid(field, "%q is not an email address such as jane@example.com", clip(w.Email))
	}
	if w.name() == "" {
		return w, field, actions.Invalid(InDisplayName, "is required when the record has no email, name or company")
	}
	return w, field, nil
}

func clip(s string) string {
	if c, short := cut(s, 60); short {
		return c + "…"
	}
	return s
}

// cut returns s shortened to at most n characters, never splitting one,
// and whether it was shortened.
func cut(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	return string([]rune(s)[:n]), true
}
