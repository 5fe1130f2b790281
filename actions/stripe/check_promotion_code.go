package stripe

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"hubspot-actions/actions"
)

// ActionCheckPromotionCode is the key of the check action. It and the
// field names below are a public contract: live workflows reference them.
const ActionCheckPromotionCode = "stripe-check-promotion-code"

// Inputs of stripe-check-promotion-code.
const InCode = "code"

// Outputs of stripe-check-promotion-code (expires_at is OutExpiresAt).
const (
	OutFound          = "found"
	OutActive         = "active"
	OutTimesRedeemed  = "times_redeemed"
	OutMaxRedemptions = "max_redemptions"
	OutPercentOff     = "percent_off"
	OutAmountOff      = "amount_off"
	OutCurrency       = "currency"
)

type checkIn struct {
	Code string `json:"code" validate:"required,max=500"`
}

// checkOut holds numbers as strings so that "unknown" (a code that was not
// found, a limit that is not set) is "" rather than 0.
type checkOut struct {
	Found          bool   `json:"found"`
	Active         bool   `json:"active"`
	TimesRedeemed  string `json:"times_redeemed"`
	MaxRedemptions string `json:"max_redemptions"`
	PercentOff     string `json:"percent_off"`
	AmountOff      string `json:"amount_off"`
	Currency       string `json:"currency"`
	ExpiresAt      string `json:"expires_at"`
}

var checkFields = map[string]string{"code": InCode}

func (a *Provider) checkSpec() actions.Spec[checkIn, checkOut] {
	return actions.Spec[checkIn, checkOut]{
		Key:  ActionCheckPromotionCode,
		Name: "Check a Stripe discount code",
		Description: "Looks up a Stripe promotion code, such as one a contact entered in a form, and tells whether it can be used now, " +
			"how often it was used and what discount it gives. A code that does not exist is not an error: \"Code exists\" is false, " +
			"so you can branch on it.",
		CardContent: "Check the Stripe discount code {{code}}",
		ObjectTypes: []string{"CONTACT"},
		Inputs: []actions.InputField{
			{Name: InCode, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Discount code", Required: true,
				Description: "The code to check, such as SPRING7KQ2M9XHTA. Upper or lower case does not matter."},
		},
		Outputs: []actions.OutputField{
			{Name: OutFound, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Code exists"},
			{Name: OutActive, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Code can be used now"},
			{Name: OutTimesRedeemed, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Times used"},
			{Name: OutMaxRedemptions, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Maximum uses (empty: no limit)"},
			{Name: OutPercentOff, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Percent off"},
			{Name: OutAmountOff, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Amount off"},
			{Name: OutCurrency, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Currency of the amount off"},
			{Name: OutExpiresAt, Type: actions.TypeDatetime, FieldType: actions.FieldDate, Label: "Code expires at (empty: never)"},
		},
		Messages: map[actions.Code]string{
			actions.CodeValidation:   "Check this action's discount code input: {{ error_message }}",
			actions.CodeNotConnected: "Stripe is not connected for this HubSpot account: {{ error_message }}",
			actions.CodeRejected:     "Stripe refused to look up the discount code: {{ error_message }}",
			actions.CodeRateLimited:  "The discount code was not checked because of a rate limit: {{ error_message }}",
			actions.CodeUnavailable:  "Stripe could not be reached, so the discount code was not checked: {{ error_message }}",
		},
		Errors: checkErrors,
		Run:    a.check,
		// Lists and reads promotion codes and coupons; writes nothing.
		ReadOnly: true,
		Agent: &actions.AgentTool{Description: "Checks one Stripe promotion code (a discount code a customer types at checkout) in the account's connected Stripe account. " +
			"Use it when someone gives you a discount code and you need to know whether it exists, whether it can be used now, or what discount it gives. " +
			"Input code: the code as the customer has it, such as SPRING7KQ2M9XHTA (letters, digits and dashes; upper or lower case does not matter). " +
			"Returns found \"true\" or \"false\" (a code that does not exist is found \"false\", not an error); " +
			"active \"true\" when the code can be redeemed now (switched on, not expired, uses left, its coupon still valid); " +
			"times_redeemed; max_redemptions (empty: no limit); percent_off, or amount_off with its currency; and expires_at (ISO 8601; empty: never). " +
			"On failure error_code says why: VALIDATION_FAILED (code is missing), NOT_CONNECTED (no Stripe account is connected), " +
			"RATE_LIMITED or UPSTREAM_UNAVAILABLE (try again later). " +
			"It only reads: nothing is created or changed in Stripe or HubSpot, so calling it again is safe."},

		// The German is in check_promotion_code_de.go.
		Translations: map[string]actions.Translation{"de": checkDE()},
	}
}

// codePattern is what Stripe allows in a code; nothing else can exist.
var codePattern = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// check runs stripe-check-promotion-code. A code that does not exist
// succeeds with found=false: the lookup worked, and marketers branch on
// found. When several codes match (Stripe keeps the text unique only among
// active codes of one customer), a usable one wins, else the newest.
//
// active is true when the code can be redeemed now: Stripe's active flag
// is on, it has not expired, it has uses left, and its coupon is still
// valid (not deleted, past its own redeem-by date or used up). A code
// restricted to one customer is active even though only that customer can
// use it.
func (a *Provider) check(ctx context.Context, ex *actions.Execution, in checkIn) (checkOut, error) {
	code := strings.TrimSpace(in.Code)
	if !codePattern.MatchString(code) {
		return checkOut{}, nil
	}
	k, err := a.keys(ctx, ex)
	if err != nil {
		return checkOut{}, err
	}
	key := k.Secret.Reveal()
	found, err := a.c.ListPromotionCodes(ctx, key, code)
	if err != nil {
		return checkOut{}, classify(err, checkFields, "look up the discount code")
	}
	var best *PromotionCode
	var bestActive bool
	for i := range found {
		pc := &found[i]
		if !strings.EqualFold(pc.Code, code) || !visible(k, ex.PortalID, pc.Metadata) {
			// Another portal's code does not exist for this one.
			continue
		}
		if pc.Coupon == nil && pc.CouponID != "" {
			c, err := a.c.GetCoupon(ctx, key, pc.CouponID)
			switch {
			case isStatus(err, http.StatusNotFound):
				c = Coupon{ID: pc.CouponID} // deleted: not valid
			case err != nil:
				return checkOut{}, classify(err, checkFields, "read the discount code's coupon")
			}
			pc.Coupon = &c
		}
		active := a.usable(pc)
		if best == nil || active && !bestActive {
			best, bestActive = pc, active
		}
	}
	if best == nil {
		return checkOut{}, nil
	}
	out := checkOut{
		Found:         true,
		Active:        bestActive,
		TimesRedeemed: strconv.FormatInt(best.TimesRedeemed, 10),
		ExpiresAt:     isoTime(best.ExpiresAt),
	}
	if best.MaxRedemptions > 0 {
		out.MaxRedemptions = strconv.FormatInt(best.MaxRedemptions, 10)
	}
	if c := best.Coupon; c != nil {
		switch {
		case c.AmountOff > 0:
			out.AmountOff = formatAmount(c.AmountOff, c.Currency)
			out.Currency = strings.ToUpper(c.Currency)
		case c.PercentOff > 0:
			out.PercentOff = strconv.FormatFloat(c.PercentOff, 'f', -1, 64)
		}
	}
	return out, nil
}

// usable reports whether a customer could redeem pc now.
func (a *Provider) usable(pc *PromotionCode) bool {
	now := a.now().Unix()
	return pc.Active &&
		(pc.ExpiresAt == 0 || now < pc.ExpiresAt) &&
		(pc.MaxRedemptions == 0 || pc.TimesRedeemed < pc.MaxRedemptions) &&
		pc.Coupon != nil && pc.Coupon.Valid
}
