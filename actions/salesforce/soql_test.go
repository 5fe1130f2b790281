package salesforce

import (
	"context"
	"strings"
	"testing"

	"hubspot-actions/actions/salesforce/salesforcetest"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, quote, like string }{
		{"jane@example.com", `'jane@example.com'`, `'jane@example.com'`},
		{"o'hara@example.com", `'o\'hara@example.com'`, `'o\'hara@example.com'`},
		{`back\slash`, `'back\\slash'`, `'back\\slash'`},
		{`\'`, `'\\\''`, `'\\\''`},
		{"100%_sure", `'100%_sure'`, `'100\%\_sure'`},
		{`say "hi"`, `'say \"hi\"'`, `'say \"hi\"'`},
		{"line\nbreak\ttab\r", `'line\nbreak\ttab\r'`, `'line\nbreak\ttab\r'`},
		{"' OR Email != '", `'\' OR Email != \''`, `'\' OR Email != \''`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.quote {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.quote)
		}
		if got := QuoteLike(tt.in); got != tt.like {
			t.Errorf("QuoteLike(%q) = %s, want %s", tt.in, got, tt.like)
		}
	}
}

// FuzzQuote: whatever the value, the quoted literal parses back (the way
// SOQL reads it) to exactly that value with nothing after it, so a value
// can never change the query; a LIKE pattern from QuoteLike matches the
// value itself and nothing its wildcards would otherwise match.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"jane@example.com", "o'hara", `\`, `\'`, "%", "_", "a%b_c", "' OR Id != '", "\n\r\t\b\f", `"`, "é", `\u0041`, `\%`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, '\x00') || !validUTF8(s) {
			t.Skip("not a value a contact's email can hold")
		}
		q, err := salesforcetest.ParseQuery("SELECT Id FROM Lead WHERE Email = " + Quote(s) + " LIMIT 2")
		if err != nil {
			t.Fatalf("Quote(%q) = %s: %v", s, Quote(s), err)
		}
		if q.Value != s || q.Like || q.Limit != 2 || q.Field != "Email" {
			t.Fatalf("Quote(%q) parses to %+v", s, q)
		}
		lq, err := salesforcetest.ParseQuery("SELECT Id FROM Lead WHERE Email LIKE " + QuoteLike(s))
		if err != nil {
			t.Fatalf("QuoteLike(%q) = %s: %v", s, QuoteLike(s), err)
		}
		if !lq.Matches(s) {
			t.Fatalf("QuoteLike(%q) = %s does not match the value", s, QuoteLike(s))
		}
		if other := strings.NewReplacer("%", "x", "_", "y").Replace(s); other != s && lq.Matches(other) {
			t.Fatalf("QuoteLike(%q) matches %q: a wildcard was left unescaped", s, other)
		}
	})
}

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestFindLeadsByEmailEscaping sends lookups through the fake's query
// endpoint, which reads literals with SOQL's escapes: each finds exactly
// its own lead, never the decoy a broken literal or a wildcard would.
func TestFindLeadsByEmailEscaping(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 9)
	emails := []string{
		"o'hara@example.com",
		`back\slash@example.com`,
		"100%@example.com",
		"under_score@example.com",
		`"quoted"@example.com`,
		"' OR Email != '@example.com",
	}
	ids := map[string]string{}
	for _, em := range emails {
		ids[em] = e.fake.AddLead(salesforcetest.Lead{"Email": em, "LastName": "L", "Company": "C"})
	}
	// Decoys that a LIKE wildcard or a dropped escape would match.
	e.fake.AddLead(salesforcetest.Lead{"Email": "100x@example.com", "LastName": "D", "Company": "C"})
	e.fake.AddLead(salesforcetest.Lead{"Email": "underXscore@example.com", "LastName": "D", "Company": "C"})
	ctx := context.Background()
	for _, em := range emails {
		var got []LeadRecord
		err := e.svc.withOrg(ctx, 9, func(c *Client) error {
			var err error
			got, err = c.FindLeadsByEmail(ctx, em, 5)
			return err
		})
		if err != nil {
			t.Errorf("FindLeadsByEmail(%q) = %v", em, err)
			continue
		}
		if len(got) != 1 || got[0].ID != ids[em] {
			t.Errorf("FindLeadsByEmail(%q) = %+v, want only lead %s", em, got, ids[em])
		}
	}
}
