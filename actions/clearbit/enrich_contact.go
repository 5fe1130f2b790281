package clearbit

import (
	"context"
	"net/mail"
	"strings"

	"hubspot-actions/actions"
)

// The clearbit-enrich-contact action's public names.
const (
	KeyEnrichContact = "clearbit-enrich-contact"

	InputEmail    = "email"
	PropertyEmail = "email"

	OutputEnriched      = "enriched"
	OutputFullName      = "full_name"
	OutputJobTitle      = "job_title"
	OutputSeniority     = "seniority"
	OutputRole          = "role"
	OutputCompanyName   = "company_name"
	OutputCompanyDomain = "company_domain"
	OutputIndustry      = "industry"
	OutputEmployeeCount = "employee_count"
	OutputLinkedInURL   = "linkedin_url"
	OutputLocation      = "location"
)

type contactIn struct {
	Email string `json:"email"`
}

type contactOut struct {
	Enriched      bool   `json:"enriched"`
	FullName      string `json:"full_name"`
	JobTitle      string `json:"job_title"`
	Seniority     string `json:"seniority"`
	Role          string `json:"role"`
	CompanyName   string `json:"company_name"`
	CompanyDomain string `json:"company_domain"`
	Industry      string `json:"industry"`
	EmployeeCount int    `json:"employee_count,omitempty"`
	LinkedInURL   string `json:"linkedin_url"`
	Location      string `json:"location"`
}

func (e *Provider) contactSpec() actions.Spec[contactIn, contactOut] {
	text := func(name, label string) actions.OutputField {
		return actions.OutputField{Name: name, Type: actions.TypeString, FieldType: actions.FieldText, Label: label}
	}
	return actions.Spec[contactIn, contactOut]{
		Key:  KeyEnrichContact,
		Name: "Enrich contact with Clearbit",
		Description: "Looks up the contact's email address in Clearbit and returns who they are (name, job title, " +
			"seniority, role, LinkedIn profile, location) and where they work (company, domain, industry, size). " +
			"Use the outputs in later actions, for example to copy them into contact properties or to branch on seniority. " +
			"\"Enriched\" is true when Clearbit knew the person or their company; when it is false, error code says why " +
			"(NOT_FOUND: Clearbit has no data for this email). New records can take Clearbit a few minutes; the workflow waits for them.",
		CardContent:      "Enrich {{email}} with Clearbit",
		ObjectTypes:      []string{"CONTACT"},
		ObjectProperties: []string{PropertyEmail},
		Inputs: []actions.InputField{{
			Name: InputEmail, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Email",
			Description: "The email address to look up, such as jane@acme.com. Leave empty to use the contact's Email property.",
		}},
		Outputs: []actions.OutputField{
			{Name: OutputEnriched, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Enriched"},
			text(OutputFullName, "Full name"),
			text(OutputJobTitle, "Job title"),
			text(OutputSeniority, "Seniority (executive, director, manager …)"),
			text(OutputRole, "Role (sales, marketing, engineering …)"),
			text(OutputCompanyName, "Company name"),
			text(OutputCompanyDomain, "Company domain"),
			text(OutputIndustry, "Industry"),
			{Name: OutputEmployeeCount, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Number of employees"},
			text(OutputLinkedInURL, "LinkedIn profile URL"),
			text(OutputLocation, "Location"),
		},
		Messages:    messages("Clearbit has no data for this email"),
		Errors:      errorCases("email address"),
		BlockExpiry: e.opts.BlockExpiry,
		// Also answered with failures the runtime produces without running
		// the action (the portal must reinstall, the wait for Clearbit
		// expired), so workflows can always branch on enriched.
		FailOutputs: map[string]string{OutputEnriched: "false"},
		// A lookup: Clearbit keeps nothing of ours and nothing is written.
		ReadOnly: true,
		Agent: &actions.AgentTool{Description: "Finds professional information about one person from their email address, using Clearbit. " +
			"Use it when you need to know who someone is or where they work. " +
			"Input email: the person's email address, such as jane@acme.com; give it whenever you know it " +
			"(when it is empty, the enrolled contact's Email property is used, and without a contact the call fails). " +
			"Returns enriched \"true\" with full_name, job_title, seniority, role, linkedin_url and location of the person, and " +
			"company_name, company_domain, industry and employee_count of their employer; any of them may be empty when Clearbit does not know it. " +
			"enriched is \"false\" when nothing is known, with error_code saying why: NOT_FOUND (Clearbit has no data for this email), " +
			"VALIDATION_FAILED (email is missing or is not an email address), NOT_CONNECTED (the account has no Clearbit key). " +
			"It only reads: nothing is created or changed in HubSpot or Clearbit, so calling it again is safe."},
		Save: saved(
			saveText(OutputFullName, "Full name"),
			saveText(OutputJobTitle, "Job title"),
			saveText(OutputSeniority, "Seniority"),
			saveText(OutputRole, "Role"),
			saveText(OutputCompanyName, "Company name"),
			saveText(OutputCompanyDomain, "Company domain"),
			saveText(OutputIndustry, "Industry"),
			saveNumber(OutputEmployeeCount, "Number of employees"),
			saveText(OutputLinkedInURL, "LinkedIn profile URL"),
			saveText(OutputLocation, "Location"),
		),
		Run: e.enrichContact,

		// The German is in enrich_contact_de.go.
		Translations: map[string]actions.Translation{"de": contactDE()},
	}
}

// enrichContact looks the contact up with Clearbit's Combined endpoint, so
// the company comes in the same call. Lookups have no side effect, so a
// repeated run just asks again.
func (e *Provider) enrichContact(ctx context.Context, ex *actions.Execution, in contactIn) (contactOut, error) {
	if strings.TrimSpace(in.Email) == "" && !ex.HasObject() {
		// An agent's request, say: there is no contact to fall back on.
		return contactOut{}, actions.Invalid(InputEmail, "is required: the request names no contact whose Email property could be used")
	}
	email, err := contactEmail(in.Email, ex.Object.Property(PropertyEmail))
	if err != nil {
		return contactOut{}, err
	}
	key, err := e.key(ctx, ex)
	if err != nil {
		return contactOut{}, err
	}
	res, err := e.c.FindCombined(ctx, key, email)
	if err != nil {
		return contactOut{}, e.classify(ctx, ex.PortalID, err, InputEmail, email)
	}
	if res.Person == nil && res.Company == nil {
		return contactOut{}, actions.Fail(actions.CodeNotFound, "Clearbit has no data for %s.", email)
	}
	return contactOutputs(res), nil
}

// contactEmail picks the email to look up, the input or else the contact's
// property, and checks it.
func contactEmail(input, property string) (string, error) {
	raw, from := strings.TrimSpace(input), ""
	if raw == "" {
		raw, from = strings.TrimSpace(property), "the contact's Email property "
	}
	if raw == "" {
		return "", actions.Invalid(InputEmail, "is required: enter an email address or make sure the contact has one")
	}
	email, ok := normalizeEmail(raw)
	if !ok {
		return "", actions.Invalid(InputEmail, "%s%q is not an email address such as jane@acme.com", from, clip(raw))
	}
	return email, nil
}

// normalizeEmail accepts "jane@acme.com" and "Jane Doe <jane@acme.com>" and
// returns the lower-case address, whose domain must have a dot.
func normalizeEmail(s string) (string, bool) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", false
	}
	addr := strings.ToLower(a.Address)
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.ContainsAny(domain, " []") {
		return "", false
	}
	return addr, true
}

func contactOutputs(res Combined) contactOut {
	out := contactOut{Enriched: true}
	if p := res.Person; p != nil {
		out.FullName = p.Name.FullName
		if out.FullName == "" {
			out.FullName = strings.TrimSpace(p.Name.GivenName + " " + p.Name.FamilyName)
		}
		out.JobTitle = p.Employment.Title
		out.Seniority = p.Employment.Seniority
		out.Role = p.Employment.Role
		out.CompanyName = p.Employment.Name
		out.CompanyDomain = p.Employment.Domain
		out.LinkedInURL = linkedInURL(p.LinkedIn.Handle)
		out.Location = p.Location
		if out.Location == "" {
			out.Location = place(p.Geo.City, p.Geo.State, p.Geo.Country)
		}
	}
	if c := res.Company; c != nil {
		if c.Name != "" {
			out.CompanyName = c.Name
		}
		if c.Domain != "" {
			out.CompanyDomain = c.Domain
		}
		out.Industry = c.Category.Industry
		out.EmployeeCount = c.Metrics.Employees
	}
	return out
}

func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}
