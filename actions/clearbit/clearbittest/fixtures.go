package clearbittest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Person is Clearbit's person record as the API sends it; nullable fields
// are pointers (null in JSON when nil).
type Person struct {
	ID            string     `json:"id"`
	Name          PersonName `json:"name"`
	Email         string     `json:"email"`
	Gender        *string    `json:"gender"`
	Location      *string    `json:"location"`
	TimeZone      *string    `json:"timeZone"`
	UTCOffset     *int       `json:"utcOffset"`
	Geo           Geo        `json:"geo"`
	Bio           *string    `json:"bio"`
	Site          *string    `json:"site"`
	Avatar        *string    `json:"avatar"`
	Employment    Employment `json:"employment"`
	Facebook      Handle     `json:"facebook"`
	GitHub        Handle     `json:"github"`
	Twitter       Handle     `json:"twitter"`
	LinkedIn      Handle     `json:"linkedin"`
	Fuzzy         bool       `json:"fuzzy"`
	EmailProvider bool       `json:"emailProvider"`
	IndexedAt     string     `json:"indexedAt"`
}

// PersonName is a person's name.
type PersonName struct {
	FullName   *string `json:"fullName"`
	GivenName  *string `json:"givenName"`
	FamilyName *string `json:"familyName"`
}

// Geo is a location.
type Geo struct {
	StreetNumber *string  `json:"streetNumber,omitempty"`
	StreetName   *string  `json:"streetName,omitempty"`
	City         *string  `json:"city"`
	PostalCode   *string  `json:"postalCode,omitempty"`
	State        *string  `json:"state"`
	StateCode    *string  `json:"stateCode"`
	Country      *string  `json:"country"`
	CountryCode  *string  `json:"countryCode"`
	Lat          *float64 `json:"lat"`
	Lng          *float64 `json:"lng"`
}

// Employment is where a person works.
type Employment struct {
	Domain    *string `json:"domain"`
	Name      *string `json:"name"`
	Title     *string `json:"title"`
	Role      *string `json:"role"`
	SubRole   *string `json:"subRole"`
	Seniority *string `json:"seniority"`
}

// Handle is a social profile handle.
type Handle struct {
	Handle *string `json:"handle"`
}

// Company is Clearbit's company record as the API sends it.
type Company struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	LegalName     *string  `json:"legalName"`
	Domain        string   `json:"domain"`
	DomainAliases []string `json:"domainAliases"`
	Site          struct {
		PhoneNumbers   []string `json:"phoneNumbers"`
		EmailAddresses []string `json:"emailAddresses"`
	} `json:"site"`
	Category      Category `json:"category"`
	Tags          []string `json:"tags"`
	Description   *string  `json:"description"`
	FoundedYear   *int     `json:"foundedYear"`
	Location      *string  `json:"location"`
	TimeZone      *string  `json:"timeZone"`
	UTCOffset     *int     `json:"utcOffset"`
	Geo           Geo      `json:"geo"`
	Logo          *string  `json:"logo"`
	Facebook      Handle   `json:"facebook"`
	LinkedIn      Handle   `json:"linkedin"`
	Twitter       Handle   `json:"twitter"`
	Crunchbase    Handle   `json:"crunchbase"`
	EmailProvider bool     `json:"emailProvider"`
	Type          *string  `json:"type"`
	Ticker        *string  `json:"ticker"`
	Phone         *string  `json:"phone"`
	Metrics       Metrics  `json:"metrics"`
	IndexedAt     string   `json:"indexedAt"`
	Tech          []string `json:"tech"`
}

// Category is a company's classification.
type Category struct {
	Sector        *string `json:"sector"`
	IndustryGroup *string `json:"industryGroup"`
	Industry      *string `json:"industry"`
	SubIndustry   *string `json:"subIndustry"`
	SicCode       *string `json:"sicCode"`
	NaicsCode     *string `json:"naicsCode"`
}

// Metrics are a company's size figures.
type Metrics struct {
	Employees              *int    `json:"employees"`
	EmployeesRange         *string `json:"employeesRange"`
	EstimatedAnnualRevenue *string `json:"estimatedAnnualRevenue"`
	AnnualRevenue          *int64  `json:"annualRevenue"`
	Raised                 *int64  `json:"raised"`
	MarketCap              *int64  `json:"marketCap"`
	FiscalYearEnd          *int    `json:"fiscalYearEnd"`
}

// Ptr returns a pointer to v, for filling fixtures.
func Ptr[T any](v T) *T { return &v }

// freeProviders are email domains whose addresses belong to people, not
// companies: Clearbit finds no employer for them.
var freeProviders = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "yahoo.com": true, "hotmail.com": true, "outlook.com": true,
	"live.com": true, "icloud.com": true, "aol.com": true, "proton.me": true, "protonmail.com": true, "gmx.de": true,
}

// GeneratePerson returns the person the fake finds for email: the same
// email always gives the same person, whose employer is GenerateCompany
// of the email's domain (none for free email providers). It returns nil for
// an input that is not an email address.
func GeneratePerson(email string) *Person {
	email = strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" {
		return nil
	}
	h := digest("person:" + email)
	given, family := nameFromLocal(local, h)
	full := given + " " + family
	slug := strings.ToLower(strings.ReplaceAll(given+"-"+family, " ", "-"))
	p := &Person{
		ID:        uuid("person:" + email),
		Name:      PersonName{FullName: Ptr(full), GivenName: Ptr(given), FamilyName: Ptr(family)},
		Email:     email,
		Gender:    nil,
		LinkedIn:  Handle{Handle: Ptr("in/" + slug)},
		Twitter:   Handle{},
		GitHub:    Handle{},
		Facebook:  Handle{},
		IndexedAt: indexedAt(h),
	}
	if freeProviders[domain] {
		p.EmailProvider = true
		c := pick(usCities, h>>8)
		p.Geo = c.geo("United States", "US")
		p.Location, p.TimeZone, p.UTCOffset = Ptr(c.location("United States")), Ptr(c.tz), Ptr(c.offset)
		return p
	}
	co := GenerateCompany(domain)
	if co == nil {
		return p
	}
	job := pick(jobs, h>>16)
	p.Employment = Employment{Domain: Ptr(co.Domain), Name: Ptr(co.Name), Title: Ptr(job.title), Role: Ptr(job.role), SubRole: nil}
	if job.seniority != "" {
		p.Employment.Seniority = Ptr(job.seniority)
	}
	cc := countryOf(domain)
	loc := pick(cc.cities, h>>24)
	p.Geo = loc.geo(cc.name, cc.code)
	p.Location, p.TimeZone, p.UTCOffset = Ptr(loc.location(cc.name)), Ptr(loc.tz), Ptr(loc.offset)
	p.Bio = Ptr(fmt.Sprintf("%s at %s.", job.title, co.Name))
	return p
}

// GenerateCompany returns the company the fake finds for domain; the same
// domain always gives the same company. It returns nil for an input that is
// not a domain.
func GenerateCompany(domain string) *Company {
	domain = strings.ToLower(strings.TrimSpace(domain))
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || strings.ContainsAny(domain, " /:@") {
		return nil
	}
	h := digest("company:" + domain)
	base := labels[len(labels)-2]
	if len(labels) >= 3 && secondLevel[base] {
		base = labels[len(labels)-3]
	}
	name := companyName(base)
	cc := countryOf(domain)
	loc := pick(cc.cities, h)
	ind := pick(industries, h>>8)
	size := pick(sizes, h>>16)
	employees := size.employees + int((h>>24)%uint64(size.employees/3+1))
	founded := 1950 + int((h>>32)%72)
	slug := strings.ReplaceAll(base, "_", "-")
	c := &Company{
		ID:            uuid("company:" + domain),
		Name:          name,
		LegalName:     Ptr(name + " " + cc.suffix),
		Domain:        domain,
		DomainAliases: []string{},
		Category: Category{Sector: Ptr(ind.sector), IndustryGroup: Ptr(ind.group), Industry: Ptr(ind.industry),
			SubIndustry: Ptr(ind.sub), SicCode: Ptr(ind.sic), NaicsCode: Ptr(ind.naics)},
		Tags:        []string{ind.tag, "B2B"},
		Description: Ptr(fmt.Sprintf("%s is a %s company based in %s.", name, strings.ToLower(ind.industry), loc.name)),
		FoundedYear: Ptr(founded),
		Location:    Ptr(loc.location(cc.name)),
		TimeZone:    Ptr(loc.tz),
		UTCOffset:   Ptr(loc.offset),
		Geo:         loc.geo(cc.name, cc.code),
		LinkedIn:    Handle{Handle: Ptr("company/" + slug)},
		Twitter:     Handle{Handle: Ptr(strings.ReplaceAll(slug, "-", ""))},
		Type:        Ptr("private"),
		Phone:       Ptr(cc.phone),
		Metrics: Metrics{Employees: Ptr(employees), EmployeesRange: Ptr(size.rng),
			EstimatedAnnualRevenue: Ptr(size.revenue)},
		IndexedAt: indexedAt(h),
		Tech:      []string{pick(techs, h>>40), pick(techs, h>>44)},
	}
	c.Geo.StreetNumber, c.Geo.StreetName, c.Geo.PostalCode = Ptr(fmt.Sprint(1+h%400)), Ptr(pick(streets, h>>48)), Ptr(loc.postal)
	c.Site.PhoneNumbers = []string{cc.phone}
	c.Site.EmailAddresses = []string{"hello@" + domain}
	if freeProviders[domain] {
		c.EmailProvider = true
	}
	if employees >= 5000 {
		c.Type = Ptr("public")
	}
	return c
}

// secondLevel labels sit under a country code (acme.co.uk).
var secondLevel = map[string]bool{"co": true, "com": true, "org": true, "net": true, "ac": true, "gov": true, "ltd": true}

func companyName(label string) string {
	parts := strings.FieldsFunc(label, func(r rune) bool { return r == '-' || r == '_' })
	for i, p := range parts {
		if len(p) <= 3 && len(parts) == 1 {
			parts[i] = strings.ToUpper(p)
			continue
		}
		parts[i] = title(p)
	}
	if len(parts) == 0 {
		return strings.ToUpper(label)
	}
	return strings.Join(parts, " ")
}

func nameFromLocal(local string, h uint64) (given, family string) {
	local, _, _ = strings.Cut(local, "+")
	tokens := strings.FieldsFunc(local, func(r rune) bool { return !unicode.IsLetter(r) })
	switch len(tokens) {
	case 0:
		return pick(givenNames, h), pick(familyNames, h>>4)
	case 1:
		return title(tokens[0]), pick(familyNames, h>>4)
	}
	return title(tokens[0]), title(tokens[len(tokens)-1])
}

func title(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return s
	}
	return string(unicode.ToUpper(r[0])) + string(r[1:])
}

func digest(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint64(sum[:8])
}

func uuid(s string) string {
	b := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func indexedAt(h uint64) string {
	base := time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)
	return base.Add(-time.Duration(h%90) * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z")
}

func pick[T any](list []T, h uint64) T { return list[h%uint64(len(list))] }

type city struct {
	name, state, stateCode, tz, postal string
	offset                             int
	lat, lng                           float64
}

func (c city) geo(country, code string) Geo {
	g := Geo{City: Ptr(c.name), Country: Ptr(country), CountryCode: Ptr(code), Lat: Ptr(c.lat), Lng: Ptr(c.lng)}
	if c.state != "" {
		g.State, g.StateCode = Ptr(c.state), Ptr(c.stateCode)
	}
	return g
}

func (c city) location(country string) string {
	if c.stateCode != "" {
		return c.name + ", " + c.stateCode + ", " + country
	}
	return c.name + ", " + country
}

type country struct {
	name, code, suffix, phone string
	cities                    []city
}

var usCities = []city{
	{"San Francisco", "California", "CA", "America/Los_Angeles", "94107", -7, 37.7749, -122.4194},
	{"New York", "New York", "NY", "America/New_York", "10013", -4, 40.7128, -74.006},
	{"Austin", "Texas", "TX", "America/Chicago", "78701", -5, 30.2672, -97.7431},
	{"Boston", "Massachusetts", "MA", "America/New_York", "02110", -4, 42.3601, -71.0589},
	{"Chicago", "Illinois", "IL", "America/Chicago", "60607", -5, 41.8781, -87.6298},
	{"Seattle", "Washington", "WA", "America/Los_Angeles", "98104", -7, 47.6062, -122.3321},
}

var countries = map[string]country{
	"de": {"Germany", "DE", "GmbH", "+49 30 1234567", []city{
		{"Berlin", "Berlin", "BE", "Europe/Berlin", "10115", 2, 52.52, 13.405},
		{"Munich", "Bavaria", "BY", "Europe/Berlin", "80331", 2, 48.1351, 11.582},
		{"Hamburg", "Hamburg", "HH", "Europe/Berlin", "20095", 2, 53.5511, 9.9937}}},
	"uk": {"United Kingdom", "GB", "Ltd", "+44 20 7946 0000", []city{
		{"London", "England", "ENG", "Europe/London", "EC1A 1BB", 1, 51.5074, -0.1278},
		{"Manchester", "England", "ENG", "Europe/London", "M1 1AE", 1, 53.4808, -2.2426},
		{"Edinburgh", "Scotland", "SCT", "Europe/London", "EH1 1YZ", 1, 55.9533, -3.1883}}},
	"fr": {"France", "FR", "SAS", "+33 1 23 45 67 89", []city{
		{"Paris", "Île-de-France", "IDF", "Europe/Paris", "75002", 2, 48.8566, 2.3522},
		{"Lyon", "Auvergne-Rhône-Alpes", "ARA", "Europe/Paris", "69002", 2, 45.764, 4.8357}}},
	"nl": {"Netherlands", "NL", "B.V.", "+31 20 123 4567", []city{
		{"Amsterdam", "North Holland", "NH", "Europe/Amsterdam", "1012 AB", 2, 52.3676, 4.9041},
		{"Rotterdam", "South Holland", "ZH", "Europe/Amsterdam", "3011 AD", 2, 51.9244, 4.4777}}},
	"ca": {"Canada", "CA", "Inc.", "+1 416-555-0100", []city{
		{"Toronto", "Ontario", "ON", "America/Toronto", "M5V 2T6", -4, 43.6532, -79.3832},
		{"Vancouver", "British Columbia", "BC", "America/Vancouver", "V6B 1A1", -7, 49.2827, -123.1207}}},
	"au": {"Australia", "AU", "Pty Ltd", "+61 2 5550 1234", []city{
		{"Sydney", "New South Wales", "NSW", "Australia/Sydney", "2000", 10, -33.8688, 151.2093},
		{"Melbourne", "Victoria", "VIC", "Australia/Melbourne", "3000", 10, -37.8136, 144.9631}}},
}

var us = country{"United States", "US", "Inc.", "+1 415-555-0100", usCities}

func countryOf(domain string) country {
	tld := domain[strings.LastIndex(domain, ".")+1:]
	if c, ok := countries[tld]; ok {
		return c
	}
	return us
}

type industry struct{ sector, group, industry, sub, sic, naics, tag string }

var industries = []industry{
	{"Information Technology", "Software & Services", "Internet Software & Services", "Internet Software & Services", "73", "51", "SaaS"},
	{"Information Technology", "Software & Services", "IT Services", "Data Processing & Outsourced Services", "73", "54", "Technology"},
	{"Industrials", "Capital Goods", "Machinery", "Industrial Machinery", "35", "33", "Manufacturing"},
	{"Consumer Discretionary", "Retailing", "Internet & Catalog Retail", "Internet & Catalog Retail", "59", "45", "E-commerce"},
	{"Health Care", "Health Care Equipment & Services", "Health Care Providers & Services", "Health Care Services", "80", "62", "Health Care"},
	{"Financials", "Diversified Financials", "Diversified Financial Services", "Specialized Finance", "61", "52", "Finance"},
	{"Industrials", "Commercial & Professional Services", "Professional Services", "Research & Consulting Services", "87", "54", "Consulting"},
	{"Consumer Discretionary", "Media", "Media", "Advertising", "73", "54", "Marketing"},
}

type companySize struct {
	employees    int
	rng, revenue string
}

var sizes = []companySize{
	{8, "1-10", "$0-$1M"},
	{35, "11-50", "$1M-$10M"},
	{140, "51-250", "$10M-$50M"},
	{420, "251-1K", "$50M-$100M"},
	{2300, "1K-5K", "$250M-$500M"},
	{7800, "5K-10K", "$500M-$1B"},
	{24000, "10K-50K", "$1B-$10B"},
}

type job struct{ title, role, seniority string }

var jobs = []job{
	{"Chief Executive Officer", "leadership", "executive"},
	{"VP of Marketing", "marketing", "executive"},
	{"Marketing Manager", "marketing", "manager"},
	{"Director of Sales", "sales", "director"},
	{"Account Executive", "sales", ""},
	{"Software Engineer", "engineering", ""},
	{"Engineering Manager", "engineering", "manager"},
	{"Head of Customer Success", "customer_service", "director"},
	{"Product Manager", "product", "manager"},
	{"Financial Controller", "finance", "manager"},
	{"HR Business Partner", "human_resources", ""},
}

var (
	givenNames  = []string{"Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie"}
	familyNames = []string{"Smith", "Garcia", "Chen", "Müller", "Okafor", "Novak", "Larsen", "Patel", "Rossi", "Kim"}
	streets     = []string{"Market Street", "Main Street", "Harbor Way", "King Street", "Mill Lane", "Station Road"}
	techs       = []string{"google_analytics", "hubspot", "salesforce", "stripe", "aws_route_53", "cloudflare", "zendesk", "slack"}
)
