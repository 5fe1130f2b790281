package stripe

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
)

func TestPlanValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   createIn
		want createPlan
	}{
		{"percent, defaults", createIn{DiscountType: "percent", PercentOff: "15"},
			createPlan{terms: terms{percentOff: 15, duration: "once"}}},
		{"percent with decimals, sign and odd case", createIn{DiscountType: " Percent ", PercentOff: "12.50%", Duration: "Forever", CodePrefix: " spring26 "},
			createPlan{terms: terms{percentOff: 12.5, duration: "forever"}, prefix: "SPRING26"}},
		{"percent ignores a currency", createIn{DiscountType: "percent", PercentOff: "100", Currency: "usd"},
			createPlan{terms: terms{percentOff: 100, duration: "once"}}},
		{"amount USD", createIn{DiscountType: "amount", AmountOff: "10.50", Currency: "USD", Duration: "repeating", DurationInMonths: 3, ExpiresInDays: 30, MaxRedemptions: 1, CustomerEmail: " a@b.co "},
			createPlan{terms: terms{amountOff: 1050, currency: "usd", duration: "repeating", months: 3}, expiresInDays: 30, maxRedemptions: 1, email: "a@b.co"}},
		{"amount with thousands separator", createIn{DiscountType: "amount", AmountOff: "1,250", Currency: "eur"},
			createPlan{terms: terms{amountOff: 125000, currency: "eur", duration: "once"}}},
		{"amount JPY", createIn{DiscountType: "amount", AmountOff: "500", Currency: "jpy"},
			createPlan{terms: terms{amountOff: 500, currency: "jpy", duration: "once"}}},
		{"amount KWD", createIn{DiscountType: "amount", AmountOff: "1.25", Currency: "kwd"},
			createPlan{terms: terms{amountOff: 1250, currency: "kwd", duration: "once"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := plan(tt.in)
			if err != nil {
				t.Fatalf("plan(%+v) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(createPlan{}, terms{})); diff != "" {
				t.Errorf("plan(%+v) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestPlanInvalid(t *testing.T) {
	t.Parallel()
	pct := func(mod func(*createIn)) createIn {
		in := createIn{DiscountType: "percent", PercentOff: "15"}
		mod(&in)
		return in
	}
	amt := func(mod func(*createIn)) createIn {
		in := createIn{DiscountType: "amount", AmountOff: "10", Currency: "usd"}
		mod(&in)
		return in
	}
	tests := []struct {
		name  string
		in    createIn
		field string
		says  string
	}{
		{"no discount type", createIn{PercentOff: "10"}, InDiscountType, "is required"},
		{"unknown discount type", createIn{DiscountType: "bogo"}, InDiscountType, "percent or amount"},
		{"percent missing", pct(func(in *createIn) { in.PercentOff = "" }), InPercentOff, "is required"},
		{"percent zero", pct(func(in *createIn) { in.PercentOff = "0" }), InPercentOff, "more than 0 and at most 100"},
		{"percent over 100", pct(func(in *createIn) { in.PercentOff = "100.5" }), InPercentOff, "more than 0 and at most 100"},
		{"percent negative", pct(func(in *createIn) { in.PercentOff = "-5" }), InPercentOff, "more than 0"},
		{"percent with comma", pct(func(in *createIn) { in.PercentOff = "12,5" }), InPercentOff, "use a dot"},
		{"percent three decimals", pct(func(in *createIn) { in.PercentOff = "12.345" }), InPercentOff, "two decimal places"},
		{"percent and amount", pct(func(in *createIn) { in.AmountOff = "5" }), InAmountOff, "leave it empty"},
		{"amount and percent", amt(func(in *createIn) { in.PercentOff = "5" }), InPercentOff, "leave it empty"},
		{"amount missing", amt(func(in *createIn) { in.AmountOff = "" }), InAmountOff, "is required"},
		{"amount without currency", amt(func(in *createIn) { in.Currency = "" }), InCurrency, "is required"},
		{"amount bad currency", amt(func(in *createIn) { in.Currency = "dollars" }), InCurrency, "three-letter"},
		{"amount unknown currency", amt(func(in *createIn) { in.Currency = "XYZ" }), InCurrency, `ISO 4217 currency code such as USD, not "XYZ"`},
		{"amount metal, not a currency", amt(func(in *createIn) { in.Currency = "xau" }), InCurrency, "ISO 4217"},
		{"amount zero", amt(func(in *createIn) { in.AmountOff = "0.00" }), InAmountOff, "more than 0"},
		{"amount negative", amt(func(in *createIn) { in.AmountOff = "-10" }), InAmountOff, "more than 0"},
		{"amount European comma", amt(func(in *createIn) { in.AmountOff = "10,50" }), InAmountOff, "use a dot"},
		{"amount too precise", amt(func(in *createIn) { in.AmountOff = "10.505" }), InAmountOff, "at most 2 decimal places"},
		{"amount JPY decimals", amt(func(in *createIn) { in.AmountOff, in.Currency = "10.5", "JPY" }), InAmountOff, "whole number in JPY"},
		{"amount words", amt(func(in *createIn) { in.AmountOff = "ten" }), InAmountOff, "must be a number"},
		{"amount huge", amt(func(in *createIn) { in.AmountOff = "99999999999999999" }), InAmountOff, "too large"},
		{"unknown duration", pct(func(in *createIn) { in.Duration = "weekly" }), InDuration, "once, repeating or forever"},
		{"repeating without months", pct(func(in *createIn) { in.Duration = "repeating" }), InDurationInMonths, "at least 1"},
		{"repeating negative months", pct(func(in *createIn) { in.Duration, in.DurationInMonths = "repeating", -2 }), InDurationInMonths, "at least 1"},
		{"months without repeating", pct(func(in *createIn) { in.DurationInMonths = 3 }), InDurationInMonths, "only applies"},
		{"negative expiry", pct(func(in *createIn) { in.ExpiresInDays = -1 }), InExpiresInDays, "at least 1"},
		{"expiry past five years", pct(func(in *createIn) { in.ExpiresInDays = 2000 }), InExpiresInDays, "at most 1825"},
		{"negative max redemptions", pct(func(in *createIn) { in.MaxRedemptions = -1 }), InMaxRedemptions, "at least 1"},
		{"prefix with dash", pct(func(in *createIn) { in.CodePrefix = "SPRING-26" }), InCodePrefix, "only letters A-Z and digits"},
		{"prefix with space", pct(func(in *createIn) { in.CodePrefix = "SPR ING" }), InCodePrefix, "only letters A-Z and digits"},
		{"prefix with accent", pct(func(in *createIn) { in.CodePrefix = "ÉTÉ" }), InCodePrefix, "only letters A-Z and digits"},
		{"prefix too long", pct(func(in *createIn) { in.CodePrefix = strings.Repeat("A", 21) }), InCodePrefix, "at most 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := plan(tt.in)
			var ae *actions.Error
			if !errors.As(err, &ae) || ae.Code != actions.CodeValidation || ae.Field != tt.field ||
				!strings.HasPrefix(ae.Message, tt.field+": ") || !strings.Contains(ae.Message, tt.says) {
				t.Errorf("plan(%+v) = %v, want VALIDATION_FAILED on %s saying %q", tt.in, err, tt.field, tt.says)
			}
		})
	}
}

func TestAmounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		currency string
		minor    int64
		back     string
	}{
		{"10", "usd", 1000, "10.00"},
		{"10.5", "usd", 1050, "10.50"},
		{"0.01", "eur", 1, "0.01"},
		{"1,234,567.89", "usd", 123456789, "1234567.89"},
		{"500", "jpy", 500, "500"},
		{"500.00", "jpy", 500, "500"},
		{"1000", "krw", 1000, "1000"},
		{"1.25", "kwd", 1250, "1.25"},
		{"1000", "isk", 100000, "1000"},
		{"007.10", "gbp", 710, "7.10"},
	}
	for _, tt := range tests {
		got, err := parseAmount(tt.in, tt.currency)
		if err != nil || got != tt.minor {
			t.Errorf("parseAmount(%q, %s) = %d, %v, want %d", tt.in, tt.currency, got, err, tt.minor)
		}
		if back := formatAmount(got, tt.currency); back != tt.back {
			t.Errorf("formatAmount(%d, %s) = %q, want %q", got, tt.currency, back, tt.back)
		}
	}
	if got := formatAmount(1005, "kwd"); got != "1.005" {
		t.Errorf("formatAmount(1005, kwd) = %q, want 1.005 (a nonzero third decimal is kept)", got)
	}
	for _, bad := range []string{"", "1.2.3", "1,23", "12,34.5", "$10", "1e3", " ", "."} {
		if _, err := parseAmount(bad, "usd"); err == nil {
			t.Errorf("parseAmount(%q) succeeded", bad)
		}
	}
}

func TestMinter(t *testing.T) {
	t.Parallel()
	m := minter{secret: []byte("0123456789abcdef-secret")}
	a, b := m.suffix("cb-1"), m.suffix("cb-2")
	if a != m.suffix("cb-1") {
		t.Errorf("suffix is not stable for one callbackId")
	}
	if a == b {
		t.Errorf("suffix(cb-1) == suffix(cb-2) = %s", a)
	}
	for _, s := range []string{a, b} {
		if len(s) != suffixLen || strings.Trim(s, codeAlphabet) != "" {
			t.Errorf("suffix %q: want %d characters of %s", s, suffixLen, codeAlphabet)
		}
	}
	other := minter{secret: []byte("another-secret-0123456789")}
	if other.suffix("cb-1") == a {
		t.Errorf("the suffix does not depend on the secret")
	}
	t1 := terms{percentOff: 15, duration: "once"}
	t2 := terms{percentOff: 15, duration: "forever"}
	again := terms{percentOff: 15, duration: "once"}
	if m.couponID(1, t1) != m.couponID(1, again) || m.couponID(1, t1) == m.couponID(1, t2) || !strings.HasPrefix(m.couponID(1, t1), "hubspot_") {
		t.Errorf("couponID: %s %s", m.couponID(1, t1), m.couponID(1, t2))
	}
	// The same suffix-bearing codes across many executions do not collide.
	seen := map[string]bool{}
	for i := range 20000 {
		s := m.suffix("callback-" + string(rune('a'+i%26)) + strings.Repeat("x", i%7) + string(rune(i)))
		if seen[s] {
			t.Fatalf("suffix collision after %d codes", i)
		}
		seen[s] = true
	}
}

func TestTermsNameAndMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    terms
		name string
	}{
		{terms{percentOff: 15, duration: "once"}, "15% off"},
		{terms{percentOff: 12.5, duration: "repeating", months: 3}, "12.5% off for 3 months"},
		{terms{percentOff: 50, duration: "repeating", months: 1}, "50% off for 1 month"},
		{terms{amountOff: 1050, currency: "usd", duration: "forever"}, "10.50 USD off forever"},
		{terms{amountOff: 500, currency: "jpy", duration: "once"}, "500 JPY off"},
		{terms{amountOff: 999999999999999, currency: "usd", duration: "repeating", months: 120}, "9999999999999.99 USD off for 120 months"},
	}
	for _, tt := range tests {
		if got := tt.t.name(); got != tt.name || len(got) > 40 {
			t.Errorf("%+v.name() = %q, want %q", tt.t, got, tt.name)
		}
	}
	pct := terms{percentOff: 15, duration: "once"}
	if !pct.matches(Coupon{PercentOff: 15, Duration: "once"}) || pct.matches(Coupon{PercentOff: 15, Duration: "forever"}) ||
		pct.matches(Coupon{AmountOff: 15, Currency: "usd", Duration: "once"}) {
		t.Errorf("percent matches wrong")
	}
	amt := terms{amountOff: 1050, currency: "usd", duration: "repeating", months: 3}
	if !amt.matches(Coupon{AmountOff: 1050, Currency: "usd", Duration: "repeating", DurationInMonths: 3}) ||
		amt.matches(Coupon{AmountOff: 1050, Currency: "eur", Duration: "repeating", DurationInMonths: 3}) ||
		amt.matches(Coupon{AmountOff: 1050, Currency: "usd", Duration: "repeating", DurationInMonths: 4}) {
		t.Errorf("amount matches wrong")
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 14, 25, 7, 0, time.UTC)
	if got, want := expiry(now, 7), time.Date(2026, 3, 17, 15, 0, 0, 0, time.UTC).Unix(); got != want {
		t.Errorf("expiry(7 days) = %v, want %v", time.Unix(got, 0).UTC(), time.Unix(want, 0).UTC())
	}
	onHour := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	if got, want := expiry(onHour, 1), onHour.Add(24*time.Hour).Unix(); got != want {
		t.Errorf("expiry on the hour = %v", time.Unix(got, 0).UTC())
	}
	if got := isoTime(expiry(now, 7)); got != "2026-03-17T15:00:00Z" {
		t.Errorf("isoTime = %q", got)
	}
	if isoTime(0) != "" {
		t.Errorf("isoTime(0) = %q, want empty", isoTime(0))
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	stripeErr := func(status int, typ, code, param, msg string) error {
		return &Error{API: &upstream.APIError{Status: status}, Type: typ, Code: code, Param: param, Message: msg}
	}
	tests := []struct {
		name    string
		err     error
		code    actions.Code // "" when the error must stay transient
		field   string
		pending bool
	}{
		{"400 on a known param", stripeErr(400, "invalid_request_error", "", "currency", "Invalid currency: xyz"), actions.CodeValidation, InCurrency, false},
		{"400 on expires_at", stripeErr(400, "invalid_request_error", "", "expires_at", "too far"), actions.CodeValidation, InExpiresInDays, false},
		{"400 elsewhere", stripeErr(400, "invalid_request_error", "", "promotion[coupon]", "No such coupon"), actions.CodeRejected, "", false},
		{"idempotency error", stripeErr(400, "idempotency_error", "", "", "Keys for idempotent requests…"), actions.CodeInternal, "", false},
		{"401", stripeErr(401, "invalid_request_error", "", "", "Invalid API Key provided: sk_test_****abcd"), actions.CodeRejected, "", false},
		{"402", stripeErr(402, "card_error", "", "", "declined"), actions.CodeRejected, "", false},
		{"403", stripeErr(403, "invalid_request_error", "", "", "no permission"), actions.CodeRejected, "", false},
		{"404", stripeErr(404, "invalid_request_error", "resource_missing", "id", "No such thing"), actions.CodeNotFound, "", false},
		{"409", stripeErr(409, "invalid_request_error", "idempotency_key_in_use", "", "in progress"), "", "", true},
		{"424", stripeErr(424, "api_error", "", "", "external"), actions.CodeRejected, "", false},
		{"429", stripeErr(429, "invalid_request_error", "rate_limit", "", "slow"), "", "", false},
		{"500", stripeErr(500, "api_error", "", "", "oops"), "", "", false},
		{"network", &upstream.APIError{Status: http.StatusBadGateway}, "", "", false},
	}
	for _, tt := range tests {
		got := classify(tt.err, createFields, "create the coupon")
		var ae *actions.Error
		var pe *actions.PendingError
		switch {
		case tt.pending:
			if !errors.As(got, &pe) {
				t.Errorf("%s: classify = %v, want pending", tt.name, got)
			}
		case tt.code == "":
			if !actions.Transient(got) {
				t.Errorf("%s: classify = %v, want it transient", tt.name, got)
			}
		case !errors.As(got, &ae) || ae.Code != tt.code || ae.Field != tt.field:
			t.Errorf("%s: classify = %v, want %s on %q", tt.name, got, tt.code, tt.field)
		case strings.Contains(ae.Message, "sk_test"):
			t.Errorf("%s: message %q shows a key", tt.name, ae.Message)
		}
	}
}

func BenchmarkSuffix(b *testing.B) {
	m := minter{secret: []byte("0123456789abcdef-secret")}
	for b.Loop() {
		m.suffix("ap-123456-789012345-6-0")
	}
}
