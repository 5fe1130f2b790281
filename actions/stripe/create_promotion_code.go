package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions"
)

// ActionCreatePromotionCode is the key of the create action. It and the
// field names below are a public contract: live workflows reference them.
const ActionCreatePromotionCode = "stripe-create-promotion-code"

// Inputs of stripe-create-promotion-code.
const (
	InDiscountType     = "discount_type"
	InPercentOff       = "percent_off"
	InAmountOff        = "amount_off"
	InCurrency         = "currency"
	InDuration         = "duration"
	InDurationInMonths = "duration_in_months"
	InExpiresInDays    = "expires_in_days"
	InMaxRedemptions   = "max_redemptions"
	InCodePrefix       = "code_prefix"
	InCustomerEmail    = "customer_email"
)

// Outputs of stripe-create-promotion-code.
const (
	OutCode            = "code"
	OutPromotionCodeID = "promotion_code_id"
	OutCouponID        = "coupon_id"
	OutExpiresAt       = "expires_at"
)

// Values of discount_type and duration.
const (
	DiscountPercent   = "percent"
	DiscountAmount    = "amount"
	durationOnce      = "once"
	durationRepeating = "repeating"
	durationForever   = "forever"
)

// Limits of the create action's inputs.
const (
	maxPrefixLen     = 20
	maxExpiresInDays = 5 * 365 // Stripe refuses redemption dates more than 5 years ahead
	maxMonths        = 120
)

// Metadata keys the app writes on what it creates.
const (
	metaCreatedBy = "created_by"
	metaRef       = "hubspot_ref" // the execution's reference: finds the code of a re-run
	metaPortal    = "hubspot_portal_id"
	metaObject    = "hubspot_object_id"
	createdBy     = "hubspot-actions"
)

type createIn struct {
	DiscountType     string `json:"discount_type"`
	PercentOff       string `json:"percent_off"`
	AmountOff        string `json:"amount_off"`
	Currency         string `json:"currency"`
	Duration         string `json:"duration"`
	DurationInMonths int64  `json:"duration_in_months"`
	ExpiresInDays    int64  `json:"expires_in_days"`
	MaxRedemptions   int64  `json:"max_redemptions"`
	CodePrefix       string `json:"code_prefix"`
	CustomerEmail    string `json:"customer_email" validate:"omitempty,email,max=512"`
}

type createOut struct {
	Code            string `json:"code"`
	PromotionCodeID string `json:"promotion_code_id"`
	CouponID        string `json:"coupon_id"`
	ExpiresAt       string `json:"expires_at"`
}

// createFields maps Stripe's parameters back to the inputs they come from.
var createFields = map[string]string{
	"percent_off":        InPercentOff,
	"amount_off":         InAmountOff,
	"currency":           InCurrency,
	"duration":           InDuration,
	"duration_in_months": InDurationInMonths,
	"expires_at":         InExpiresInDays,
	"max_redemptions":    InMaxRedemptions,
	"code":               InCodePrefix,
	"customer":           InCustomerEmail,
	"email":              InCustomerEmail,
}

func (a *Provider) createSpec() actions.Spec[createIn, createOut] {
	static := []string{actions.StaticValue}
	return actions.Spec[createIn, createOut]{
		Key:  ActionCreatePromotionCode,
		Name: "Create a Stripe discount code",
		Description: "Creates a unique, hard-to-guess Stripe promotion code for the enrolled contact, such as SPRING7KQ2M9XHTA, " +
			"worth a percentage or a fixed amount off. Put the code output in a marketing email. If the same enrollment runs " +
			"the action again, it gets the same code back; codes with the same discount share one Stripe coupon.",
		CardContent: "Create a Stripe discount code starting with {{code_prefix}}: {{discount_type}} off " +
			"({{percent_off}}% or {{amount_off}} {{currency}}), expires in {{expires_in_days}} days",
		ObjectTypes: []string{"CONTACT"},
		Inputs: []actions.InputField{
			{Name: InDiscountType, Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Discount type", Required: true, ValueTypes: static,
				Description: "A percentage off, or a fixed amount off in one currency.",
				Options: []actions.Option{
					{Label: "Percentage off", Value: DiscountPercent, DisplayOrder: 1},
					{Label: "Fixed amount off", Value: DiscountAmount, DisplayOrder: 2},
				}},
			{Name: InPercentOff, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Percent off",
				DependsOn:   actions.ShownWhen(InDiscountType, DiscountPercent),
				Description: "For a percentage discount: more than 0 and at most 100, such as 15 or 12.5 (at most two decimal places). Leave empty for a fixed amount."},
			{Name: InAmountOff, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Amount off",
				DependsOn: actions.ShownWhen(InDiscountType, DiscountAmount),
				Description: "For a fixed-amount discount: the amount in the currency's usual unit, such as 10 or 10.50 for $10.50, or 500 for ¥500. " +
					"Use a dot for decimals. Leave empty for a percentage."},
			{Name: InCurrency, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Currency",
				DependsOn:   actions.ShownWhen(InDiscountType, DiscountAmount),
				Description: "For a fixed-amount discount: the three-letter currency code of the amount, such as USD, EUR or JPY."},
			{Name: InDuration, Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Applies to subscriptions", ValueTypes: static,
				Description: "For subscriptions: how long the discount lasts. One-time purchases are discounted once whatever you choose. Default: once.",
				Options: []actions.Option{
					{Label: "Once (first payment only)", Value: durationOnce, DisplayOrder: 1},
					{Label: "For a number of months", Value: durationRepeating, DisplayOrder: 2},
					{Label: "Forever", Value: durationForever, DisplayOrder: 3},
				}},
			{Name: InDurationInMonths, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Number of months",
				DependsOn:   actions.ShownWhen(InDuration, durationRepeating),
				Description: "Only with \"For a number of months\": how many months of a subscription are discounted, such as 3."},
			{Name: InExpiresInDays, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Expires after (days)",
				Description: "How many days the code can be used, counted from when this action runs (rounded up to the whole hour). Leave empty for a code that never expires."},
			{Name: InMaxRedemptions, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Maximum uses",
				Description: "How many times the code can be used in total. Use 1 for a single-use code; leave empty for no limit."},
			{Name: InCodePrefix, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Code prefix",
				Description: fmt.Sprintf("Letters and digits the code starts with, such as SPRING (up to %d, upper-cased). "+
					"Ten random letters and digits follow, so each contact gets a different code.", maxPrefixLen)},
			{Name: InCustomerEmail, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Only for the customer with email",
				Description: "Optional: only the Stripe customer with this email can use the code; choose the contact's Email. " +
					"If Stripe has no customer with this email yet, one is created, so the code works when this person pays as that customer."},
		},
		Outputs: []actions.OutputField{
			{Name: OutCode, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Discount code"},
			{Name: OutPromotionCodeID, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Stripe promotion code ID"},
			{Name: OutCouponID, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Stripe coupon ID"},
			{Name: OutExpiresAt, Type: actions.TypeDatetime, FieldType: actions.FieldDate, Label: "Code expires at"},
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Check this action's discount settings: {{ error_message }}",
			actions.CodeNotConnected: "Stripe is not connected for this HubSpot account: {{ error_message }}",
			actions.CodeNotFound:     "Stripe could not find something the discount code needs: {{ error_message }}",
			actions.CodeRejected:     "Stripe refused to create the discount code: {{ error_message }}",
			actions.CodeRateLimited:  "No discount code was created because of a rate limit: {{ error_message }}",
			actions.CodeUnavailable:  "Stripe could not be reached, so no discount code was created: {{ error_message }}",
		},
		Errors: createErrors,
		Run:    a.create,

		// The German is in create_promotion_code_de.go.
		Translations: map[string]actions.Translation{"de": createDE()},
	}
}

// createPlan is a validated create request.
type createPlan struct {
	terms          terms
	expiresInDays  int64
	maxRedemptions int64
	prefix         string
	email          string
}

var (
	prefixPattern   = regexp.MustCompile(`^[A-Z0-9]*$`)
	currencyPattern = regexp.MustCompile(`^[a-z]{3}$`)
)

// plan checks the inputs against each other, in the order the editor shows
// them, and returns the first problem as VALIDATION_FAILED naming the input.
func plan(in createIn) (createPlan, error) {
	var p createPlan
	kind := strings.ToLower(strings.TrimSpace(in.DiscountType))
	currency := strings.ToLower(strings.TrimSpace(in.Currency))
	switch kind {
	case DiscountPercent:
		pct, err := parsePercent(in.PercentOff)
		if err != nil {
			return p, actions.Invalid(InPercentOff, "%s", err.Error())
		}
		if strings.TrimSpace(in.AmountOff) != "" {
			return p, actions.Invalid(InAmountOff, "leave it empty for a percentage discount (or choose the fixed amount discount type)")
		}
		p.terms.percentOff = pct
	case DiscountAmount:
		if strings.TrimSpace(in.PercentOff) != "" {
			return p, actions.Invalid(InPercentOff, "leave it empty for a fixed-amount discount (or choose the percentage discount type)")
		}
		if strings.TrimSpace(in.AmountOff) == "" {
			return p, actions.Invalid(InAmountOff, "is required for a fixed-amount discount")
		}
		switch {
		case currency == "":
			return p, actions.Invalid(InCurrency, "is required for a fixed-amount discount: a three-letter code such as USD")
		case !currencyPattern.MatchString(currency):
			return p, actions.Invalid(InCurrency, "must be a three-letter currency code such as USD, not %q", clip(in.Currency))
		case !isoCurrencies[currency]:
			return p, actions.Invalid(InCurrency, "must be an ISO 4217 currency code such as USD, not %q", clip(in.Currency))
		}
		amount, err := parseAmount(in.AmountOff, currency)
		if err != nil {
			return p, actions.Invalid(InAmountOff, "%s", err.Error())
		}
		p.terms.amountOff, p.terms.currency = amount, currency
	case "":
		return p, actions.Invalid(InDiscountType, "is required: percent or amount")
	default:
		return p, actions.Invalid(InDiscountType, "must be percent or amount, not %q", clip(in.DiscountType))
	}

	p.terms.duration = strings.ToLower(strings.TrimSpace(in.Duration))
	switch p.terms.duration {
	case "":
		p.terms.duration = durationOnce
	case durationOnce, durationForever, durationRepeating:
	default:
		return p, actions.Invalid(InDuration, "must be once, repeating or forever, not %q", clip(in.Duration))
	}
	switch {
	case p.terms.duration == durationRepeating && in.DurationInMonths <= 0:
		return p, actions.Invalid(InDurationInMonths, "must be at least 1 when the discount repeats for a number of months")
	case p.terms.duration == durationRepeating && in.DurationInMonths > maxMonths:
		return p, actions.Invalid(InDurationInMonths, "must be at most %d", maxMonths)
	case p.terms.duration != durationRepeating && in.DurationInMonths != 0:
		return p, actions.Invalid(InDurationInMonths, "only applies when the discount repeats for a number of months; leave it empty")
	}
	if p.terms.duration == durationRepeating {
		p.terms.months = in.DurationInMonths
	}

	switch {
	case in.ExpiresInDays < 0:
		return p, actions.Invalid(InExpiresInDays, "must be at least 1, or empty for a code that never expires")
	case in.ExpiresInDays > maxExpiresInDays:
		return p, actions.Invalid(InExpiresInDays, "must be at most %d (five years)", maxExpiresInDays)
	}
	p.expiresInDays = in.ExpiresInDays
	if in.MaxRedemptions < 0 {
		return p, actions.Invalid(InMaxRedemptions, "must be at least 1, or empty for no limit")
	}
	p.maxRedemptions = in.MaxRedemptions

	p.prefix = strings.ToUpper(strings.TrimSpace(in.CodePrefix))
	switch {
	case !prefixPattern.MatchString(p.prefix):
		return p, actions.Invalid(InCodePrefix, "may contain only letters A-Z and digits 0-9 (no spaces, dashes or accents), not %q", clip(in.CodePrefix))
	case len(p.prefix) > maxPrefixLen:
		return p, actions.Invalid(InCodePrefix, "must be at most %d characters long", maxPrefixLen)
	}
	p.email = strings.TrimSpace(in.CustomerEmail)
	return p, nil
}

var percentPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// parsePercent reads a percentage such as 15 or 12.5 strictly: a comma is
// refused rather than guessed at.
func parsePercent(s string) (float64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" {
		return 0, errors.New("is required for a percentage discount: a number such as 15")
	}
	if !percentPattern.MatchString(s) {
		if strings.HasPrefix(s, "-") {
			return 0, errors.New("must be more than 0 and at most 100")
		}
		return 0, fmt.Errorf("must be a number such as 15 or 12.5 (use a dot for decimals), not %q", clip(s))
	}
	if _, frac, _ := strings.Cut(s, "."); len(strings.TrimRight(frac, "0")) > 2 {
		return 0, errors.New("may have at most two decimal places")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 100 {
		return 0, errors.New("must be more than 0 and at most 100")
	}
	return f, nil
}

// create runs stripe-create-promotion-code: find or create the shared
// coupon, find or create the customer, then create the code, each step
// safe to repeat (see the package documentation). The coupon comes first
// so that terms Stripe refuses (a currency it does not support) leave no
// customer behind.
func (a *Provider) create(ctx context.Context, ex *actions.Execution, in createIn) (createOut, error) {
	p, err := plan(in)
	if err != nil {
		return createOut{}, err
	}
	key, err := a.keys(ctx, ex)
	if err != nil {
		return createOut{}, err
	}
	mint, err := a.minter(ctx)
	if err != nil {
		return createOut{}, err
	}
	coupon, err := a.coupon(ctx, ex, key, mint.couponID(ex.PortalID, p.terms), p.terms)
	if err != nil {
		return createOut{}, err
	}
	var customer string
	if p.email != "" {
		if customer, err = a.customer(ctx, ex, key, p.email); err != nil {
			return createOut{}, err
		}
	}
	params := PromotionCodeParams{
		CouponID:       coupon.ID,
		Code:           p.prefix + mint.suffix(ex.CallbackID),
		Customer:       customer,
		MaxRedemptions: p.maxRedemptions,
		Metadata: map[string]string{
			metaCreatedBy: createdBy,
			metaRef:       ex.Ref,
			metaPortal:    portalMark(ex.PortalID),
			metaObject:    string(ex.Object.ObjectID),
		},
	}
	if p.expiresInDays > 0 {
		params.ExpiresAt = expiry(a.now(), p.expiresInDays)
	}
	promo, err := a.promotionCode(ctx, ex, key, params)
	if err != nil {
		return createOut{}, err
	}
	couponID := coupon.ID
	if promo.CouponID != "" {
		// A code an earlier run made, found by lookup, keeps its coupon.
		couponID = promo.CouponID
	}
	return createOut{Code: promo.Code, PromotionCodeID: promo.ID, CouponID: couponID, ExpiresAt: isoTime(promo.ExpiresAt)}, nil
}

// expiry is now plus days, rounded up to the whole hour, so that every
// retry within the hour sends the same expires_at.
func expiry(now time.Time, days int64) int64 {
	t := now.Add(time.Duration(days) * 24 * time.Hour)
	if r := t.Truncate(time.Hour); !r.Equal(t) {
		t = r.Add(time.Hour)
	}
	return t.Unix()
}

// customer returns the ID of the newest Stripe customer with email that is
// visible to the portal, trying the email as given and then in lower case
// (Stripe's filter is case-sensitive), and creates one when there is none: a
// marketer who restricts a code to a contact expects the code to work for
// that person, including a lead who never bought. Another portal's customer
// with the same email is never used. Two executions for the same new email
// at the same moment may each create a customer; Stripe allows duplicates.
func (a *Provider) customer(ctx context.Context, ex *actions.Execution, key actions.Key, email string) (string, error) {
	find := func() (string, error) {
		for _, e := range uniq(email, strings.ToLower(email)) {
			after := ""
			for range maxCustomerPages {
				found, more, err := a.c.ListCustomersByEmail(ctx, key.Secret.Reveal(), e, after)
				if err != nil {
					return "", classify(err, createFields, "look up the Stripe customer")
				}
				for _, c := range found {
					if visible(key, ex.PortalID, c.Metadata) {
						return c.ID, nil
					}
				}
				if !more || len(found) == 0 {
					break
				}
				after = found[len(found)-1].ID
			}
		}
		return "", nil
	}
	if id, err := find(); id != "" || err != nil {
		return id, err
	}
	params := CustomerParams{Email: email, Metadata: map[string]string{
		metaCreatedBy: createdBy,
		metaPortal:    portalMark(ex.PortalID),
		metaObject:    string(ex.Object.ObjectID),
	}}
	c, err := a.c.CreateCustomer(ctx, key.Secret.Reveal(), idempotencyKey(ex, "stripe-customer"), params)
	if replayedFailure(err) {
		// An earlier attempt failed under this key, and we found no customer:
		// ask again under a key of this attempt.
		c, err = a.c.CreateCustomer(ctx, key.Secret.Reveal(), retryKey(ex, "stripe-customer"), params)
	}
	if err != nil {
		return "", classify(err, createFields, "create the Stripe customer")
	}
	return c.ID, nil
}

// coupon returns the coupon shared by every code of the portal with terms
// t, creating it the first time. Its ID is derived from the portal and the
// terms, so concurrent creators converge on one coupon: the loser gets
// "already exists" and reads it.
func (a *Provider) coupon(ctx context.Context, ex *actions.Execution, key actions.Key, id string, t terms) (Coupon, error) {
	get := func() (Coupon, bool, error) {
		c, err := a.c.GetCoupon(ctx, key.Secret.Reveal(), id)
		if isStatus(err, http.StatusNotFound) {
			return Coupon{}, false, nil
		}
		if err != nil {
			return Coupon{}, false, classify(err, createFields, "read the Stripe coupon")
		}
		if c.Metadata[metaPortal] != portalMark(ex.PortalID) {
			// Only this portal's creator can know the ID; whoever made it,
			// it is not this portal's to use.
			return Coupon{}, false, actions.Fail(actions.CodeRejected,
				"A Stripe coupon with the ID %s exists that the app did not make for this HubSpot account; delete it in Stripe so the app can create its own.", id)
		}
		if !t.matches(c) {
			return Coupon{}, false, actions.Fail(actions.CodeRejected,
				"The Stripe coupon %s exists with other terms than %s; delete it in Stripe so the app can create it again.", id, t.name())
		}
		if !c.Valid {
			return Coupon{}, false, actions.Fail(actions.CodeRejected,
				"The Stripe coupon %s (%s) can no longer be redeemed; delete it in Stripe so the app can create it again.", id, t.name())
		}
		return c, true, nil
	}
	if c, ok, err := get(); ok || err != nil {
		return c, err
	}
	params := CouponParams{
		ID:               id,
		Name:             t.name(),
		PercentOff:       t.percentOff,
		AmountOff:        t.amountOff,
		Currency:         t.currency,
		Duration:         t.duration,
		DurationInMonths: t.months,
		Metadata:         map[string]string{metaCreatedBy: createdBy, metaPortal: portalMark(ex.PortalID)},
	}
	c, err := a.c.CreateCoupon(ctx, key.Secret.Reveal(), idempotencyKey(ex, "stripe-coupon"), params)
	for retried := false; err != nil && (rejected(err) || replayedFailure(err)); retried = true {
		// Another execution created it first ("already exists"), or an
		// earlier attempt's failure is stored under our key: read it again.
		if existing, ok, gerr := get(); ok || gerr != nil {
			return existing, gerr
		}
		if !replayedFailure(err) || retried {
			break
		}
		c, err = a.c.CreateCoupon(ctx, key.Secret.Reveal(), retryKey(ex, "stripe-coupon"), params)
	}
	if err != nil {
		return Coupon{}, classify(err, createFields, "create the Stripe coupon")
	}
	return c, nil
}

// promotionCode creates the execution's code. When Stripe refuses (the
// code exists because an earlier run created it after its Idempotency-Key
// was pruned, or the parameters differ from an earlier run's) or replays
// an earlier attempt's failure, it looks the code up and returns it if an
// earlier run of this execution made it.
func (a *Provider) promotionCode(ctx context.Context, ex *actions.Execution, key actions.Key, p PromotionCodeParams) (PromotionCode, error) {
	promo, err := a.c.CreatePromotionCode(ctx, key.Secret.Reveal(), idempotencyKey(ex, "stripe-promotion-code"), p)
	for retried := false; err != nil && (rejected(err) || replayedFailure(err)); retried = true {
		existing, ok, lerr := a.ownCode(ctx, ex, key, p.Code)
		if ok || lerr != nil {
			return existing, lerr
		}
		if !replayedFailure(err) || retried {
			break
		}
		promo, err = a.c.CreatePromotionCode(ctx, key.Secret.Reveal(), retryKey(ex, "stripe-promotion-code"), p)
	}
	if err != nil {
		return PromotionCode{}, classify(err, createFields, "create the promotion code")
	}
	return promo, nil
}

// ownCode finds code among Stripe's promotion codes if this execution
// created it (metadata hubspot_ref is the execution's reference and
// hubspot_portal_id its portal).
func (a *Provider) ownCode(ctx context.Context, ex *actions.Execution, key actions.Key, code string) (PromotionCode, bool, error) {
	found, err := a.c.ListPromotionCodes(ctx, key.Secret.Reveal(), code)
	if err != nil {
		return PromotionCode{}, false, classify(err, createFields, "look up the promotion code")
	}
	for _, pc := range found {
		if strings.EqualFold(pc.Code, code) && pc.Metadata[metaRef] == ex.Ref && pc.Metadata[metaPortal] == portalMark(ex.PortalID) {
			return pc, true, nil
		}
	}
	return PromotionCode{}, false, nil
}

// retryKey is the Idempotency-Key for sending a request again after Stripe
// replayed an earlier attempt's failure for the execution's usual key. It
// is only used after a lookup showed that nothing was created.
func retryKey(ex *actions.Execution, purpose string) string {
	return idempotencyKey(ex, purpose+"-attempt-"+strconv.Itoa(ex.Attempt))
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}
