package clearbit

import (
	"context"
	"strings"

	"hubspot-actions/actions"
)

// The clearbit-enrich-company action's public names. It shares
// OutputEnriched, OutputCompanyName, OutputIndustry, OutputEmployeeCount and
// OutputLinkedInURL with clearbit-enrich-contact.
const (
	KeyEnrichCompany = "clearbit-enrich-company"

	InputDomain    = "domain"
	PropertyDomain = "domain"

	OutputLegalName              = "legal_name"
	OutputSector                 = "sector"
	OutputEstimatedAnnualRevenue = "estimated_annual_revenue"
	OutputFoundedYear            = "founded_year"
	OutputCity                   = "city"
	OutputCountry                = "country"
)

type companyIn struct {
	Domain string `json:"domain"`
}

type companyOut struct {
	Enriched               bool   `json:"enriched"`
	CompanyName            string `json:"company_name"`
	LegalName              string `json:"legal_name"`
	Industry               string `json:"industry"`
	Sector                 string `json:"sector"`
	EmployeeCount          int    `json:"employee_count,omitempty"`
	EstimatedAnnualRevenue string `json:"estimated_annual_revenue"`
	FoundedYear            int    `json:"founded_year,omitempty"`
	City                   string `json:"city"`
	Country                string `json:"country"`
	LinkedInURL            string `json:"linkedin_url"`
}

func (e *Provider) companySpec() actions.Spec[companyIn, companyOut] {
	text := func(name, label string) actions.OutputField {
		return actions.OutputField{Name: name, Type: actions.TypeString, FieldType: actions.FieldText, Label: label}
	}
	number := func(name, label string) actions.OutputField {
		return actions.OutputField{Name: name, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: label}
	}
	return actions.Spec[companyIn, companyOut]{
		Key:  KeyEnrichCompany,
		Name: "Enrich company with Clearbit",
		Description: "Looks up the company's website domain in Clearbit and returns its firmographics: name, legal name, " +
			"industry, sector, number of employees, estimated annual revenue, founding year, headquarters city and country, " +
			"and LinkedIn page. A website address or an email address works too; only its domain is used. " +
			"\"Enriched\" is true when Clearbit knew the company; when it is false, error code says why " +
			"(NOT_FOUND: Clearbit has no data for this domain). New records can take Clearbit a few minutes; the workflow waits for them.",
		CardContent:      "Enrich {{domain}} with Clearbit",
		ObjectTypes:      []string{"COMPANY"},
		ObjectProperties: []string{PropertyDomain},
		Inputs: []actions.InputField{{
			Name: InputDomain, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Company domain",
			Description: "The company's website domain, such as acme.com (https://www.acme.com/about or jane@acme.com work too). " +
				"Leave empty to use the company's Company domain name property.",
		}},
		Outputs: []actions.OutputField{
			{Name: OutputEnriched, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Enriched"},
			text(OutputCompanyName, "Company name"),
			text(OutputLegalName, "Legal name"),
			text(OutputIndustry, "Industry"),
			text(OutputSector, "Sector"),
			number(OutputEmployeeCount, "Number of employees"),
			text(OutputEstimatedAnnualRevenue, "Estimated annual revenue (range, USD)"),
			number(OutputFoundedYear, "Year founded"),
			text(OutputCity, "City"),
			text(OutputCountry, "Country"),
			text(OutputLinkedInURL, "LinkedIn page URL"),
		},
		Messages:    messages("Clearbit has no data for this domain"),
		Errors:      errorCases("domain"),
		BlockExpiry: e.opts.BlockExpiry,
		// Also answered with failures the runtime produces without running
		// the action (the portal must reinstall, the wait for Clearbit
		// expired), so workflows can always branch on enriched.
		FailOutputs: map[string]string{OutputEnriched: "false"},
		// A lookup: Clearbit keeps nothing of ours and nothing is written.
		ReadOnly: true,
		Agent: &actions.AgentTool{Description: "Finds firmographic information about one company from its website domain, using Clearbit. " +
			"Use it when you need to know what a company is, how big it is or where it is based. " +
			"Input domain: the company's website domain, such as acme.com; a website address (https://www.acme.com/about) or an email address " +
			"(jane@acme.com) works too, only its domain is used. Give it whenever you know it " +
			"(when it is empty, the enrolled company's domain property is used, and without a company the call fails). " +
			"Returns enriched \"true\" with company_name, legal_name, industry, sector, employee_count, estimated_annual_revenue (a range in USD), " +
			"founded_year, city and country of the headquarters, and linkedin_url; any of them may be empty when Clearbit does not know it. " +
			"enriched is \"false\" when nothing is known, with error_code saying why: NOT_FOUND (Clearbit has no data for this domain), " +
			"VALIDATION_FAILED (domain is missing or is not a domain), NOT_CONNECTED (the account has no Clearbit key). " +
			"It only reads: nothing is created or changed in HubSpot or Clearbit, so calling it again is safe."},
		Save: saved(
			saveText(OutputCompanyName, "Company name"),
			saveText(OutputLegalName, "Legal name"),
			saveText(OutputIndustry, "Industry"),
			saveText(OutputSector, "Sector"),
			saveNumber(OutputEmployeeCount, "Number of employees"),
			saveText(OutputEstimatedAnnualRevenue, "Estimated annual revenue (USD)"),
			saveNumber(OutputFoundedYear, "Year founded"),
			saveText(OutputCity, "City"),
			saveText(OutputCountry, "Country"),
			saveText(OutputLinkedInURL, "LinkedIn page URL"),
		),
		Run: e.enrichCompany,

		// The German is in enrich_company_de.go.
		Translations: map[string]actions.Translation{"de": companyDE()},
	}
}

// enrichCompany looks the company up by domain. Lookups have no side
// effect, so a repeated run just asks again.
func (e *Provider) enrichCompany(ctx context.Context, ex *actions.Execution, in companyIn) (companyOut, error) {
	if strings.TrimSpace(in.Domain) == "" && !ex.HasObject() {
		// An agent's request, say: there is no company to fall back on.
		return companyOut{}, actions.Invalid(InputDomain, "is required: the request names no company whose domain property could be used")
	}
	domain, err := companyDomain(in.Domain, ex.Object.Property(PropertyDomain))
	if err != nil {
		return companyOut{}, err
	}
	key, err := e.key(ctx, ex)
	if err != nil {
		return companyOut{}, err
	}
	c, err := e.c.FindCompany(ctx, key, domain)
	if err != nil {
		return companyOut{}, e.classify(ctx, ex.PortalID, err, InputDomain, domain)
	}
	return companyOutputs(c), nil
}

// companyDomain picks the domain to look up, the input or else the
// company's property, and reduces it to a bare domain.
func companyDomain(input, property string) (string, error) {
	raw, from := strings.TrimSpace(input), ""
	if raw == "" {
		raw, from = strings.TrimSpace(property), "the company's domain property "
	}
	if raw == "" {
		return "", actions.Invalid(InputDomain, "is required: enter a domain such as acme.com or make sure the company has one")
	}
	d, err := reduceDomain(raw)
	if err != nil {
		return "", actions.Invalid(InputDomain, "%s%q %s", from, clip(raw), err.Error())
	}
	return d, nil
}

func companyOutputs(c Company) companyOut {
	return companyOut{
		Enriched:               true,
		CompanyName:            c.Name,
		LegalName:              c.LegalName,
		Industry:               c.Category.Industry,
		Sector:                 c.Category.Sector,
		EmployeeCount:          c.Metrics.Employees,
		EstimatedAnnualRevenue: c.Metrics.EstimatedAnnualRevenue,
		FoundedYear:            c.FoundedYear,
		City:                   c.Geo.City,
		Country:                c.Geo.Country,
		LinkedInURL:            linkedInURL(c.LinkedIn.Handle),
	}
}
