package clearbit

import (
	"strings"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
)

func TestReduceDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, err string
	}{
		{in: "acme.com", want: "acme.com"},
		{in: "  Acme.COM  ", want: "acme.com"},
		{in: "www.acme.com", want: "acme.com"},
		{in: "WWW.acme.com.", want: "acme.com"},
		{in: "https://www.acme.com", want: "acme.com"},
		{in: "http://acme.com/", want: "acme.com"},
		{in: "https://www.acme.com:8443/about/team?utm=x#top", want: "acme.com"},
		{in: "acme.com/pricing", want: "acme.com"},
		{in: "acme.com:8080", want: "acme.com"},
		{in: "//acme.com/x", want: "acme.com"},
		{in: "https://user:pw@shop.acme.co.uk/cart", want: "shop.acme.co.uk"},
		{in: "jane.doe@Acme.com", want: "acme.com"},
		{in: "mailto:jane@acme.com", want: "acme.com"},
		{in: "Bücher.de", want: "xn--bcher-kva.de"},
		{in: "https://www.bücher.de/katalog", want: "xn--bcher-kva.de"},
		{in: "xn--bcher-kva.de", want: "xn--bcher-kva.de"},
		{in: "münchen.xn--p1ai", want: "xn--mnchen-3ya.xn--p1ai"},
		{in: "www.com", want: "www.com"},
		{in: "acme", err: "has no top-level domain"},
		{in: "https://localhost:3000", err: "has no top-level domain"},
		{in: "jane@", err: "has no domain"},
		{in: "https://", err: "is not a website address"},
		{in: "192.168.0.1", err: "is an IP address"},
		{in: "http://[::1]:80/", err: "is an IP address"},
		{in: "acme .com", err: "is not a valid domain name"},
		{in: "acme..com", err: "is not a valid domain name"},
		{in: "-acme.com", err: "is not a valid domain name"},
		{in: "acme_corp.com", err: "is not a valid domain name"},
		{in: "acme.123", err: "has no valid top-level domain"},
		{in: strings.Repeat("a", 64) + ".com", err: "is not a valid domain name"},
	}
	for _, tt := range tests {
		got, err := reduceDomain(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("reduceDomain(%q) = %q, %v, want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("reduceDomain(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCompanyDomainNamesFieldAndSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input, property, want, msg string
	}{
		{input: "https://acme.com", property: "other.com", want: "acme.com"},
		{property: "www.globex.de", want: "globex.de"},
		{msg: "domain: is required"},
		{input: "acme", msg: `domain: "acme" has no top-level domain`},
		{property: "acme", msg: `domain: the company's domain property "acme" has no top-level domain`},
	}
	for _, tt := range tests {
		got, err := companyDomain(tt.input, tt.property)
		if tt.msg == "" {
			if err != nil || got != tt.want {
				t.Errorf("companyDomain(%q, %q) = %q, %v, want %q", tt.input, tt.property, got, err, tt.want)
			}
			continue
		}
		ae, ok := err.(*actions.Error)
		if !ok || ae.Code != actions.CodeValidation || ae.Field != InputDomain || !strings.HasPrefix(ae.Message, tt.msg) {
			t.Errorf("companyDomain(%q, %q) = %v, want VALIDATION_FAILED %q", tt.input, tt.property, err, tt.msg)
		}
	}
}

func TestContactEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input, property, want, msg string
	}{
		{input: "Jane.Doe@Acme.com", want: "jane.doe@acme.com"},
		{input: "Jane Doe <jane@acme.com>", want: "jane@acme.com"},
		{property: " john@globex.de ", want: "john@globex.de"},
		{input: "jane@acme.com", property: "other@acme.com", want: "jane@acme.com"},
		{msg: "email: is required"},
		{input: "jane", msg: `email: "jane" is not an email address`},
		{input: "jane@acme", msg: `email: "jane@acme" is not an email address`},
		{property: "n/a", msg: `email: the contact's Email property "n/a" is not an email address`},
	}
	for _, tt := range tests {
		got, err := contactEmail(tt.input, tt.property)
		if tt.msg == "" {
			if err != nil || got != tt.want {
				t.Errorf("contactEmail(%q, %q) = %q, %v, want %q", tt.input, tt.property, got, err, tt.want)
			}
			continue
		}
		ae, ok := err.(*actions.Error)
		if !ok || ae.Code != actions.CodeValidation || ae.Field != InputEmail || !strings.HasPrefix(ae.Message, tt.msg) {
			t.Errorf("contactEmail(%q, %q) = %v, want VALIDATION_FAILED %q", tt.input, tt.property, err, tt.msg)
		}
	}
}

func TestErrorDetail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, typ, msg string
	}{
		{`{"error":{"type":"invalid_email","message":"Invalid email"}}`, "invalid_email", "Invalid email"},
		{`{"error":[{"type":"invalid_email","message":"Invalid email"},{"type":"x","message":"Also bad"}]}`, "invalid_email", "Invalid email; Also bad"},
		{`{"error":"Something broke"}`, "", "Something broke"},
		{`{"error":[]}`, "", ""},
		{`<html>Bad gateway</html>`, "", ""},
		{``, "", ""},
	}
	for _, tt := range tests {
		typ, msg := errorDetail(&upstream.APIError{Status: 422, Body: tt.body})
		if typ != tt.typ || msg != tt.msg {
			t.Errorf("errorDetail(%s) = %q, %q, want %q, %q", tt.body, typ, msg, tt.typ, tt.msg)
		}
	}
}

func TestLinkedInURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                                 "",
		"in/jane-doe":                      "https://www.linkedin.com/in/jane-doe",
		"company/acme":                     "https://www.linkedin.com/company/acme",
		"/company/acme":                    "https://www.linkedin.com/company/acme",
		"https://www.linkedin.com/in/jane": "https://www.linkedin.com/in/jane",
		"linkedin.com/in/jane":             "https://www.linkedin.com/in/jane",
	}
	for in, want := range tests {
		if got := linkedInURL(in); got != want {
			t.Errorf("linkedInURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkReduceDomain(b *testing.B) {
	inputs := []string{"acme.com", "https://www.Acme.com:8443/about?x=1", "jane.doe@acme.co.uk", "bücher.de"}
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range inputs {
			if _, err := reduceDomain(in); err != nil {
				b.Fatal(err)
			}
		}
	}
}
