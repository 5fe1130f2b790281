package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"hubspot-actions/actions"
)

// The upsert-lead action's public contract.
const (
	KeyUpsertLead = "salesforce-upsert-lead"

	InEmail      = "email"
	InFirstName  = "first_name"
	InLastName   = "last_name"
	InCompany    = "company"
	InPhone      = "phone"
	InLeadSource = "lead_source"
	InLeadStatus = "lead_status"

	OutLeadID  = "lead_id"
	OutCreated = "created"
	OutLeadURL = "lead_url"
)

// Defaults of the fields Salesforce requires on a new lead, for a contact
// without them. The card's description names them.
const (
	DefaultLastName = "[not provided]"
	DefaultCompany  = "[not provided]"
)

// inputOf names the input that fills each Lead field.
var inputOf = map[string]string{
	"FirstName": InFirstName, "LastName": InLastName, "Company": InCompany, "Email": InEmail,
	"Phone": InPhone, "LeadSource": InLeadSource, "Status": InLeadStatus,
}

type leadIn struct {
	Email      string `json:"email" validate:"required,max=80"`
	FirstName  string `json:"first_name" validate:"max=40"`
	LastName   string `json:"last_name" validate:"max=80"`
	Company    string `json:"company" validate:"max=255"`
	Phone      string `json:"phone" validate:"max=40"`
	LeadSource string `json:"lead_source" validate:"max=255"`
	LeadStatus string `json:"lead_status" validate:"max=255"`
}

type leadOut struct {
	LeadID  string `json:"lead_id"`
	Created bool   `json:"created"`
	LeadURL string `json:"lead_url"`
}

func (s *Provider) upsertLeadSpec() actions.Spec[leadIn, leadOut] {
	return actions.Spec[leadIn, leadOut]{
		Key:  KeyUpsertLead,
		Name: "Create or update Salesforce lead",
		Description: "Creates or updates the contact's lead in your connected Salesforce org, matched by the HubSpot contact ID in the lead field " +
			s.cfg.ExternalIDField + " (or, when the org has no such field, by email address). Running it again for the same contact updates the same lead. " +
			"Empty name, company and phone fields are filled from the contact. Salesforce requires a last name and a company: a new lead without them gets " +
			"\"" + DefaultLastName + "\", and an existing lead keeps its own.",
		CardContent:      "Create or update Salesforce lead {{email}}",
		ObjectTypes:      []string{"CONTACT"},
		ObjectProperties: []string{"email", "firstname", "lastname", "company", "phone", "lifecyclestage"},
		Inputs: []actions.InputField{
			{Name: InEmail, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Email", Required: true,
				Description: "The lead's email address. It also finds the lead when the org has no HubSpot contact ID field."},
			{Name: InFirstName, Type: actions.TypeString, FieldType: actions.FieldText, Label: "First name",
				Description: "Leave empty to use the contact's first name."},
			{Name: InLastName, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Last name",
				Description: "Leave empty to use the contact's last name; a new lead without one gets \"" + DefaultLastName + "\"."},
			{Name: InCompany, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Company",
				Description: "Leave empty to use the contact's company; a new lead without one gets \"" + DefaultCompany + "\"."},
			{Name: InPhone, Type: actions.TypeString, FieldType: actions.FieldPhone, Label: "Phone",
				Description: "Leave empty to use the contact's phone number."},
			{Name: InLeadSource, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Lead source",
				Description: "A value of the org's Lead Source picklist, such as Web. Leave empty to keep the lead's."},
			{Name: InLeadStatus, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Lead status",
				Description: "A value of the org's Lead Status picklist, such as Open - Not Contacted. Leave empty for the org's default (new leads) or to keep the lead's."},
		},
		Outputs: []actions.OutputField{
			{Name: OutLeadID, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Salesforce lead ID"},
			{Name: OutCreated, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "New lead created"},
			{Name: OutLeadURL, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Salesforce lead link"},
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "The Salesforce lead was not saved: {{ error_message }}",
			actions.CodeNotConnected: "Salesforce is not connected: {{ error_message }}",
			actions.CodeRejected:     "Salesforce refused the lead: {{ error_message }}",
			actions.CodeRateLimited:  "Salesforce is limiting requests, so the lead was not saved: {{ error_message }}",
			actions.CodeUnavailable:  "Salesforce could not be reached, so the lead was not saved: {{ error_message }}",
		},
		FailOutputs: map[string]string{OutCreated: "false"},
		Errors:      leadErrors,
		Run:         s.upsertLead,

		// The German is in upsert_lead_de.go.
		Translations: map[string]actions.Translation{"de": upsertLeadDE(s.cfg.ExternalIDField)},
	}
}

// wantLead is the lead an execution writes, and what a new one needs.
type wantLead struct {
	Lead
	key string // the HubSpot object id, the external id's value; "" when unknown
}

func (s *Provider) upsertLead(ctx context.Context, ex *actions.Execution, in leadIn) (leadOut, error) {
	w, err := leadFromRecord(ex, in)
	if err != nil {
		return leadOut{}, err
	}
	var res UpsertResult
	var instance string
	err = s.withOrg(ctx, ex.PortalID, func(c *Client) error {
		var err error
		var missing bool
		instance = c.InstanceURL()
		res, missing, err = upsert(ctx, c, s.cfg.ExternalIDField, w, s.fieldMissing(c.org))
		if missing {
			s.rememberFieldMissing(c.org)
		}
		return err
	})
	if err != nil {
		return leadOut{}, s.classify(err, w)
	}
	return leadOut{LeadID: res.ID, Created: res.Created, LeadURL: instance + "/" + res.ID}, nil
}

// leadFromRecord fills empty inputs from the enrolled contact.
func leadFromRecord(ex *actions.Execution, in leadIn) (wantLead, error) {
	o := ex.Object
	fill := func(v, prop string) string {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
		return strings.TrimSpace(o.Property(prop))
	}
	w := wantLead{
		Lead: Lead{
			Email:      strings.TrimSpace(in.Email),
			FirstName:  fill(in.FirstName, "firstname"),
			LastName:   fill(in.LastName, "lastname"),
			Company:    fill(in.Company, "company"),
			Phone:      fill(in.Phone, "phone"),
			LeadSource: strings.TrimSpace(in.LeadSource),
			Status:     strings.TrimSpace(in.LeadStatus),
		},
		key: strings.TrimSpace(string(o.ObjectID)),
	}
	if !validEmail(w.Email) {
		return w, actions.Invalid(InEmail, "%q is not an email address such as jane@example.com", clip(w.Email))
	}
	if w.key != "" && !validKey(w.key) {
		w.key = "" // not a HubSpot id: match by email alone
	}
	return w, nil
}

// validKey reports whether k is a HubSpot object id (digits).
func validKey(k string) bool {
	if len(k) > 40 {
		return false
	}
	for _, r := range k {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// validEmail reports whether s is one plain address (no display name).
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

// upsert writes the lead: by the external id field when the contact's id is
// known and the field exists (skipField: it was found missing a moment
// ago), else by email (one match is updated, none creates, several are
// refused). Either way a re-run of the execution finds what an earlier run
// wrote, so it never creates a second lead. Salesforce's required LastName
// and Company are sent as their defaults only when a new lead lacks them,
// so an existing lead keeps its own. fieldMissing reports that the org
// answered that the field does not exist.
func upsert(ctx context.Context, c *Client, field string, w wantLead, skipField bool) (res UpsertResult, fieldMissing bool, err error) {
	if w.key != "" && !skipField {
		res, err := c.UpsertLead(ctx, field, w.key, w.Lead)
		if missingRequired(err) {
			res, err = c.UpsertLead(ctx, field, w.key, w.withDefaults())
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
			return res, false, err
		}
		// The org has no such field (or the user may not see it): match
		// by email.
		fieldMissing = true
	}
	found, err := c.FindLeadsByEmail(ctx, w.Email, 2)
	if err != nil {
		return UpsertResult{}, fieldMissing, err
	}
	switch len(found) {
	case 0:
		id, err := c.CreateLead(ctx, w.withDefaults())
		return UpsertResult{ID: id, Created: true}, fieldMissing, err
	case 1:
		return UpsertResult{ID: found[0].ID}, fieldMissing, c.UpdateLead(ctx, found[0].ID, w.Lead)
	}
	return UpsertResult{}, fieldMissing, &MultipleError{Matches: len(found), byEmail: true}
}

// fieldMissingFor is how long an org whose external id field was found
// missing is matched by email without asking again: an admin who adds the
// field sees it used within this long.
const fieldMissingFor = 10 * time.Minute

// fieldMissing reports whether the org's external id field was found
// missing less than fieldMissingFor ago.
func (s *Provider) fieldMissing(orgID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.noField[orgID]
	return ok && s.now().Before(until)
}

func (s *Provider) rememberFieldMissing(orgID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noField[orgID] = s.now().Add(fieldMissingFor)
}

// withDefaults fills the fields Salesforce requires on a new lead.
func (w wantLead) withDefaults() Lead {
	l := w.Lead
	if l.LastName == "" {
		l.LastName = DefaultLastName
	}
	if l.Company == "" {
		l.Company = DefaultCompany
	}
	return l
}

// missingRequired reports whether a write failed only for a required field
// the defaults fill.
func missingRequired(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || !ae.Has("REQUIRED_FIELD_MISSING") {
		return false
	}
	for _, it := range ae.Errors {
		for _, f := range it.Fields {
			if f != "LastName" && f != "Company" {
				return false
			}
		}
	}
	return true
}

// classify turns an error from the API into what the marketer sees:
// outages stay transient (the runtime retries them with backoff); the
// rest become the taxonomy's codes, naming the input at fault.
func (s *Provider) classify(err error, w wantLead) error {
	var me *MultipleError
	if errors.As(err, &me) {
		if me.byEmail {
			return actions.Fail(actions.CodeRejected, "Several Salesforce leads have the email %s, so none was changed. Merge them in Salesforce, or add the %s field to leads so each HubSpot contact has its own.", w.Email, s.cfg.ExternalIDField).With(err)
		}
		return actions.Fail(actions.CodeRejected, "Several Salesforce leads have HubSpot contact ID %s in %s, so none was changed. Merge them in Salesforce (and mark the field Unique).", w.key, s.cfg.ExternalIDField).With(err)
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	fe := ae.First()
	switch {
	case ae.Auth():
		return s.reconnect(err)
	case ae.Has("REQUEST_LIMIT_EXCEEDED"):
		msg := "The Salesforce org has used up its API requests for the last 24 hours, so the lead was not saved. Requests free up as the day rolls on; a Salesforce admin can see the allocation under Setup, Company Information."
		if ae.Usage.Limit > 0 {
			msg = fmt.Sprintf("The Salesforce org has used %s, its whole allocation, so the lead was not saved. Requests free up as the day rolls on; a Salesforce admin can raise the allocation.", ae.Usage)
		}
		return actions.Fail(actions.CodeRateLimited, "%s", msg).With(err)
	case ae.Status >= 500:
		return err
	case ae.Has("DUPLICATES_DETECTED"):
		return actions.Fail(actions.CodeRejected, "Salesforce's duplicate rules refused a new lead for %s: a matching lead or contact already exists (%s).", w.Email, plain(fe)).With(err)
	}
	for _, it := range ae.Errors {
		for _, f := range it.Fields {
			if in, ok := inputOf[f]; ok {
				return actions.Invalid(in, "Salesforce refused it: %s", plain(it)).With(err)
			}
		}
	}
	if len(fe.Fields) > 0 {
		return actions.Fail(actions.CodeRejected, "Salesforce refused the lead because of its field %s: %s. A Salesforce admin can check that field's settings and rules.", strings.Join(fe.Fields, ", "), plain(fe)).With(err)
	}
	if ae.Status == http.StatusNotFound {
		return actions.Fail(actions.CodeRejected, "Salesforce answered that a resource the app uses does not exist or is not accessible to the connected user (%s).", plain(fe)).With(err)
	}
	if ae.Status == http.StatusForbidden {
		return actions.Fail(actions.CodeRejected, "Salesforce refused access (%s). The connected Salesforce user may lack permission to create or edit leads.", plain(fe)).With(err)
	}
	return actions.Fail(actions.CodeRejected, "Salesforce rejected the lead: %s", plain(fe)).With(err)
}

// plain describes an error item for a marketer.
func plain(it ErrorItem) string {
	msg := strings.TrimSpace(it.Message)
	if msg == "" {
		msg = "no details given"
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if it.ErrorCode != "" {
		msg += " (" + it.ErrorCode + ")"
	}
	return msg
}
