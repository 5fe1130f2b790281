package shopify

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions"
)

// ActionCreateDiscountCode is the key of the create action. It and the
// field names below are a public contract: live workflows reference them.
const ActionCreateDiscountCode = "shopify-create-discount-code"

// Inputs of shopify-create-discount-code.
const (
	InDiscountType    = "discount_type"
	InPercentOff      = "percent_off"
	InAmountOff       = "amount_off"
	InUsageLimit      = "usage_limit"
	InOncePerCustomer = "once_per_customer"
	InExpiresInDays   = "expires_in_days"
	InCodePrefix      = "code_prefix"
	InCustomerEmail   = "customer_email"
)

// Outputs of shopify-create-discount-code.
const (
	OutCode       = "code"
	OutDiscountID = "discount_id"
	OutExpiresAt  = "expires_at"
)

// Values of discount_type.
const (
	DiscountPercent = "percent"
	DiscountAmount  = "amount"
)

// Limits of the inputs.
const (
	maxPrefixLen     = 20
	maxExpiresInDays = 5 * 365
)

// titleMark starts the title of every discount the app creates; the
// execution's reference follows, which is how a re-run knows its code.
const titleMark = "HubSpot workflow "

type createIn struct {
	DiscountType    string `json:"discount_type"`
	PercentOff      string `json:"percent_off"`
	AmountOff       string `json:"amount_off"`
	UsageLimit      int64  `json:"usage_limit"`
	OncePerCustomer string `json:"once_per_customer"`
	ExpiresInDays   int64  `json:"expires_in_days"`
	CodePrefix      string `json:"code_prefix"`
	CustomerEmail   string `json:"customer_email"`
}

type createOut struct {
	Code       string `json:"code"`
	DiscountID string `json:"discount_id"`
	ExpiresAt  string `json:"expires_at"`
}

var createErrors = map[actions.Code]string{
	actions.CodeValidation:   "An input is wrong (discount type, percent or amount, usage limit, expiry, prefix, email), or Shopify refused a value; the message names the input.",
	actions.CodeNotConnected: "No Shopify shop is connected, or Shopify no longer accepts the connection: connect it on the settings page.",
	actions.CodeNotFound:     "The code is only for one customer, and the shop has no customer with that email.",
	actions.CodeRejected:     "Shopify refused to create the discount (permissions, a frozen shop, a code taken by a discount the app did not make for this enrollment).",
	actions.CodeRateLimited:  "The shop's API budget stayed used up until retries ran out.",
	actions.CodeUnavailable:  "Shopify could not be reached, or kept failing, until retries ran out.",
}

func (p *Provider) createSpec() actions.Spec[createIn, createOut] {
	static := []string{actions.StaticValue}
	return actions.Spec[createIn, createOut]{
		Key:  ActionCreateDiscountCode,
		Name: "Create a Shopify discount code",
		Description: "Creates a unique, hard-to-guess discount code in the connected Shopify shop for the enrolled contact, such as SPRING7KQ2M9XHTA, " +
			"worth a percentage or a fixed amount off the whole order. Put the code output in a marketing email. If the same enrollment runs the action again, it gets the same code back.",
		CardContent: "Create a Shopify discount code starting with {{code_prefix}}: {{discount_type}} off ({{percent_off}}% or {{amount_off}}), expires in {{expires_in_days}} days",
		ObjectTypes: []string{"CONTACT"},
		Inputs: []actions.InputField{
			{Name: InDiscountType, Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Discount type", Required: true, ValueTypes: static,
				Description: "A percentage off, or a fixed amount off in the shop's currency.",
				Options: []actions.Option{
					{Label: "Percentage off", Value: DiscountPercent, DisplayOrder: 1},
					{Label: "Fixed amount off", Value: DiscountAmount, DisplayOrder: 2},
				}},
			{Name: InPercentOff, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Percent off",
				DependsOn:   actions.ShownWhen(InDiscountType, DiscountPercent),
				Description: "For a percentage discount: more than 0 and at most 100, such as 15 or 12.5. Leave empty for a fixed amount."},
			{Name: InAmountOff, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Amount off",
				DependsOn:   actions.ShownWhen(InDiscountType, DiscountAmount),
				Description: "For a fixed-amount discount: the amount in the shop's currency, such as 10 or 10.50. Use a dot for decimals. Leave empty for a percentage."},
			{Name: InUsageLimit, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Maximum uses",
				Description: "How many times the code can be used in total. Use 1 for a single-use code; leave empty for no limit."},
			{Name: InOncePerCustomer, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Once per customer", ValueTypes: static,
				Description: "Each customer can use the code only once."},
			{Name: InExpiresInDays, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Expires after (days)",
				Description: "How many days the code can be used, counted from when this action runs (rounded up to the whole hour). Leave empty for a code that never expires."},
			{Name: InCodePrefix, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Code prefix",
				Description: fmt.Sprintf("Letters and digits the code starts with, such as SPRING (up to %d, upper-cased). Ten random letters and digits follow, so each contact gets a different code.", maxPrefixLen)},
			{Name: InCustomerEmail, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Only for the customer with email",
				Description: "Optional: only the shop's customer with this email can use the code; choose the contact's Email. The customer must exist in Shopify."},
		},
		Outputs: []actions.OutputField{
			{Name: OutCode, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Discount code"},
			{Name: OutDiscountID, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Shopify discount ID"},
			{Name: OutExpiresAt, Type: actions.TypeDatetime, FieldType: actions.FieldDate, Label: "Code expires at"},
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Check this action's discount settings: {{ error_message }}",
			actions.CodeNotConnected: "Shopify is not connected for this HubSpot account: {{ error_message }}",
			actions.CodeNotFound:     "Shopify could not find the customer the code is for: {{ error_message }}",
			actions.CodeRejected:     "Shopify refused to create the discount code: {{ error_message }}",
			actions.CodeRateLimited:  "No discount code was created because of a rate limit: {{ error_message }}",
			actions.CodeUnavailable:  "Shopify could not be reached, so no discount code was created: {{ error_message }}",
		},
		Errors: createErrors,
		Run:    p.create,

		// The German is in create_discount_code_de.go.
		Translations: map[string]actions.Translation{"de": createDE()},
	}
}

// createPlan is a validated create request.
type createPlan struct {
	percent       float64 // fraction 0-1, for percent discounts
	amount        string  // decimal, for amount discounts
	usageLimit    int64
	once          bool
	expiresInDays int64
	prefix        string
	email         string
}

var (
	prefixPattern = regexp.MustCompile(`^[A-Z0-9]*$`)
	numberPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// plan checks the inputs and returns the first problem as
// VALIDATION_FAILED naming the input.
func plan(in createIn) (createPlan, error) {
	var p createPlan
	pct, amt := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(in.PercentOff), "%")), strings.TrimSpace(in.AmountOff)
	switch strings.ToLower(strings.TrimSpace(in.DiscountType)) {
	case DiscountPercent:
		if amt != "" {
			return p, actions.Invalid(InAmountOff, "leave it empty for a percentage discount (or choose the fixed amount discount type)")
		}
		f, err := decimal(pct, 2)
		if err != nil {
			return p, actions.Invalid(InPercentOff, "%s", err.Error())
		}
		if f <= 0 || f > 100 {
			return p, actions.Invalid(InPercentOff, "must be more than 0 and at most 100")
		}
		p.percent = f / 100
	case DiscountAmount:
		if pct != "" {
			return p, actions.Invalid(InPercentOff, "leave it empty for a fixed-amount discount (or choose the percentage discount type)")
		}
		f, err := decimal(amt, 2)
		if err != nil {
			return p, actions.Invalid(InAmountOff, "%s", err.Error())
		}
		if f <= 0 {
			return p, actions.Invalid(InAmountOff, "must be more than 0")
		}
		if f > 1e9 {
			return p, actions.Invalid(InAmountOff, "must be at most 1000000000")
		}
		p.amount = strconv.FormatFloat(f, 'f', 2, 64)
	case "":
		return p, actions.Invalid(InDiscountType, "is required: percent or amount")
	default:
		return p, actions.Invalid(InDiscountType, "must be percent or amount, not %q", clip(in.DiscountType))
	}
	if in.UsageLimit < 0 {
		return p, actions.Invalid(InUsageLimit, "must be at least 1, or empty for no limit")
	}
	if in.UsageLimit > math.MaxInt32 {
		// Shopify's usageLimit is a GraphQL Int (32 bits).
		return p, actions.Invalid(InUsageLimit, "must be at most %d", math.MaxInt32)
	}
	p.usageLimit = in.UsageLimit
	switch strings.ToLower(strings.TrimSpace(in.OncePerCustomer)) {
	case "", "false", "no":
	case "true", "yes":
		p.once = true
	default:
		return p, actions.Invalid(InOncePerCustomer, "must be true or false, not %q", clip(in.OncePerCustomer))
	}
	switch {
	case in.ExpiresInDays < 0:
		return p, actions.Invalid(InExpiresInDays, "must be at least 1, or empty for a code that never expires")
	case in.ExpiresInDays > maxExpiresInDays:
		return p, actions.Invalid(InExpiresInDays, "must be at most %d (five years)", maxExpiresInDays)
	}
	p.expiresInDays = in.ExpiresInDays
	p.prefix = strings.ToUpper(strings.TrimSpace(in.CodePrefix))
	switch {
	case !prefixPattern.MatchString(p.prefix):
		return p, actions.Invalid(InCodePrefix, "may contain only letters A-Z and digits 0-9 (no spaces, dashes or accents), not %q", clip(in.CodePrefix))
	case len(p.prefix) > maxPrefixLen:
		return p, actions.Invalid(InCodePrefix, "must be at most %d characters long", maxPrefixLen)
	}
	if strings.TrimSpace(in.CustomerEmail) != "" {
		e, err := checkEmail(InCustomerEmail, in.CustomerEmail)
		if err != nil {
			return p, err
		}
		p.email = e
	}
	return p, nil
}

// decimal reads a non-negative number with at most places decimals.
func decimal(s string, places int) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("is required: a number such as 15")
	}
	if !numberPattern.MatchString(s) {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("must be more than 0")
		}
		return 0, fmt.Errorf("must be a number such as 15 or 12.5 (use a dot for decimals), not %q", clip(s))
	}
	if _, frac, _ := strings.Cut(s, "."); len(strings.TrimRight(frac, "0")) > places {
		return 0, fmt.Errorf("may have at most %d decimal places", places)
	}
	return strconv.ParseFloat(s, 64)
}

// expiry is now plus days, rounded up to the whole hour, so every retry
// within the hour asks for the same end.
func expiry(now time.Time, days int64) time.Time {
	t := now.UTC().Add(time.Duration(days) * 24 * time.Hour)
	if r := t.Truncate(time.Hour); !r.Equal(t) {
		t = r.Add(time.Hour)
	}
	return t
}

// discount is a code discount as the app reads it back.
type discount struct {
	ID     string
	Title  string
	Code   string
	EndsAt string
	Found  bool
	Ours   bool
}

const codeLookup = `query codeDiscountNodeByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount { ... on DiscountCodeBasic { title endsAt codes(first: 1) { nodes { code } } } }
  }
}`

// codeByCode finds the discount holding code, and whether this execution
// made it.
func (s *shop) codeByCode(ctx context.Context, ex *actions.Execution, code string) (discount, error) {
	var data struct {
		Node *struct {
			ID           string `json:"id"`
			CodeDiscount struct {
				Title  string `json:"title"`
				EndsAt string `json:"endsAt"`
				Codes  struct {
					Nodes []struct {
						Code string `json:"code"`
					} `json:"nodes"`
				} `json:"codes"`
			} `json:"codeDiscount"`
		} `json:"codeDiscountNodeByCode"`
	}
	if err := s.query(ctx, "codeDiscountNodeByCode", codeLookup, map[string]any{"code": code}, &data); err != nil {
		return discount{}, err
	}
	if data.Node == nil {
		return discount{}, nil
	}
	d := discount{ID: data.Node.ID, Title: data.Node.CodeDiscount.Title, EndsAt: data.Node.CodeDiscount.EndsAt, Code: code, Found: true}
	if n := data.Node.CodeDiscount.Codes.Nodes; len(n) > 0 {
		d.Code = n[0].Code
	}
	d.Ours = d.Title == title(ex)
	return d, nil
}

// title is the discount's title: it names the execution, which finds the
// code again on a re-run.
func title(ex *actions.Execution) string { return titleMark + ex.Ref }

const createMutation = `mutation discountCodeBasicCreate($d: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $d) {
    codeDiscountNode { id codeDiscount { ... on DiscountCodeBasic { endsAt } } }
    userErrors { field code message }
  }
}`

type userError struct {
	Field   []string `json:"field"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
}

func (p *Provider) create(ctx context.Context, ex *actions.Execution, in createIn) (createOut, error) {
	pl, err := plan(in)
	if err != nil {
		return createOut{}, err
	}
	s, err := p.shopFor(ctx, ex.PortalID)
	if err != nil {
		return createOut{}, err
	}
	mint, err := p.minter(ctx)
	if err != nil {
		return createOut{}, err
	}
	code := pl.prefix + mint.suffix(ex.CallbackID)
	// A re-run finds the code an earlier run made, whatever happened to
	// that run's answer.
	if d, err := s.own(ctx, ex, code); err != nil || d.Found {
		return out(d), err
	}
	buyers := map[string]any{"all": "ALL"}
	if pl.email != "" {
		c, ok, err := s.findCustomer(ctx, pl.email)
		if err != nil {
			return createOut{}, fmt.Errorf("shopify: look up the customer: %w", err)
		}
		if !ok {
			return createOut{}, (&actions.Error{Code: actions.CodeNotFound, Field: InCustomerEmail,
				Message: InCustomerEmail + ": the shop has no customer with this email, so a code only they can use cannot be made"})
		}
		buyers = map[string]any{"customers": map[string]any{"add": []string{c.ID}}}
	}
	value := map[string]any{"percentage": pl.percent}
	if pl.amount != "" {
		value = map[string]any{"discountAmount": map[string]any{"amount": pl.amount, "appliesOnEachItem": false}}
	}
	input := map[string]any{
		"title":                  title(ex),
		"code":                   code,
		"startsAt":               p.now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"context":                buyers,
		"customerGets":           map[string]any{"value": value, "items": map[string]any{"all": true}},
		"appliesOncePerCustomer": pl.once,
		"combinesWith":           map[string]any{"orderDiscounts": false, "productDiscounts": false, "shippingDiscounts": true},
	}
	if pl.usageLimit > 0 {
		input["usageLimit"] = pl.usageLimit
	}
	if pl.expiresInDays > 0 {
		input["endsAt"] = expiry(p.now(), pl.expiresInDays).Format(time.RFC3339)
	}
	var data struct {
		Create struct {
			Node *struct {
				ID           string `json:"id"`
				CodeDiscount struct {
					EndsAt string `json:"endsAt"`
				} `json:"codeDiscount"`
			} `json:"codeDiscountNode"`
			UserErrors []userError `json:"userErrors"`
		} `json:"discountCodeBasicCreate"`
	}
	if err := s.query(ctx, "discountCodeBasicCreate", createMutation, map[string]any{"d": input}, &data); err != nil {
		return createOut{}, fmt.Errorf("shopify: create discount: %w", err)
	}
	if ue := data.Create.UserErrors; len(ue) > 0 {
		if taken(ue) {
			// Another run of this execution made it meanwhile.
			if d, err := s.own(ctx, ex, code); err != nil || d.Found {
				return out(d), err
			}
		}
		return createOut{}, userErrors(ue)
	}
	if data.Create.Node == nil {
		return createOut{}, fmt.Errorf("shopify: discountCodeBasicCreate answered neither a discount nor userErrors")
	}
	return createOut{Code: code, DiscountID: data.Create.Node.ID, ExpiresAt: data.Create.Node.CodeDiscount.EndsAt}, nil
}

// own looks code up: found and this execution's, it is returned; found
// and someone else's, that is UPSTREAM_REJECTED.
func (s *shop) own(ctx context.Context, ex *actions.Execution, code string) (discount, error) {
	d, err := s.codeByCode(ctx, ex, code)
	if err != nil {
		return discount{}, fmt.Errorf("shopify: look up the code: %w", err)
	}
	if d.Found && !d.Ours {
		return discount{}, actions.Fail(actions.CodeRejected,
			"The discount code %s already exists in Shopify in a discount the app did not make for this enrollment; delete it in Shopify so the app can create it.", code)
	}
	return d, nil
}

func out(d discount) createOut {
	return createOut{Code: d.Code, DiscountID: d.ID, ExpiresAt: d.EndsAt}
}

func taken(ue []userError) bool {
	for _, e := range ue {
		if e.Code == "TAKEN" {
			return true
		}
	}
	return false
}

// userFields maps the last parts of a userError's field path to the
// input it comes from.
var userFields = map[string]string{
	"code":                   InCodePrefix,
	"percentage":             InPercentOff,
	"discountAmount":         InAmountOff,
	"amount":                 InAmountOff,
	"usageLimit":             InUsageLimit,
	"appliesOncePerCustomer": InOncePerCustomer,
	"endsAt":                 InExpiresInDays,
	"customers":              InCustomerEmail,
	"context":                InCustomerEmail,
	"customerSelection":      InCustomerEmail,
}

// userErrors turns Shopify's userErrors into VALIDATION_FAILED naming the
// input when the field is one, else UPSTREAM_REJECTED.
func userErrors(ue []userError) error {
	e := ue[0]
	cause := fmt.Errorf("userErrors: %s %v %s", e.Code, e.Field, clip(e.Message))
	for i := len(e.Field) - 1; i >= 0; i-- {
		if in, ok := userFields[e.Field[i]]; ok {
			return actions.Invalid(in, "Shopify refused it: %s", clip(e.Message)).With(cause)
		}
	}
	return actions.Fail(actions.CodeRejected, "Shopify refused the discount: %s", clip(e.Message)).With(cause)
}
