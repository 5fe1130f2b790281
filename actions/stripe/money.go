package stripe

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// currencyScale says how Stripe's API writes amounts of a currency:
// exponent is the power of ten between the major unit and the API's
// integer amount, decimals how many decimal places an amount may have.
// Most currencies are 2/2. Source: docs.stripe.com/currencies.
type currencyScale struct {
	exponent int
	decimals int
}

var specialScales = map[string]currencyScale{
	// Zero-decimal currencies: the API amount is the major unit.
	"bif": {0, 0}, "clp": {0, 0}, "djf": {0, 0}, "gnf": {0, 0}, "jpy": {0, 0},
	"kmf": {0, 0}, "krw": {0, 0}, "mga": {0, 0}, "pyg": {0, 0}, "rwf": {0, 0},
	"ugx": {0, 0}, "vnd": {0, 0}, "vuv": {0, 0}, "xaf": {0, 0}, "xof": {0, 0},
	"xpf": {0, 0},
	// Three-decimal currencies: Stripe wants the last digit to be 0.
	"bhd": {3, 2}, "jod": {3, 2}, "kwd": {3, 2}, "omr": {3, 2}, "tnd": {3, 2},
	// ISK is written with two decimals in the API for compatibility, but
	// amounts must be whole krónur.
	"isk": {2, 0},
}

// isoCurrencies are the lower-case ISO 4217 codes of currencies (not of
// funds, precious metals, special drawing rights or testing), the codes
// Stripe takes. Stripe supports fewer; it refuses the others itself.
var isoCurrencies = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`aed afn all amd aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd
		btn bwp byn bzd cad cdf chf clp cny cop crc cup cve czk djf dkk dop dzd egp ern etb eur fjd fkp gbp gel ghs gip
		gmd gnf gtq gyd hkd hnl htg huf idr ils inr iqd irr isk jmd jod jpy kes kgs khr kmf kpw krw kwd kyd kzt lak lbp
		lkr lrd lsl lyd mad mdl mga mkd mmk mnt mop mru mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk
		php pkr pln pyg qar ron rsd rub rwf sar sbd scr sdg sek sgd shp sle sos srd ssp stn svc syp szl thb tjs tmt tnd
		top try ttd twd tzs uah ugx usd uyu uzs ved ves vnd vuv wst xaf xcd xcg xof xpf yer zar zmw zwg`) {
		m[c] = true
	}
	return m
}()

func scaleOf(currency string) currencyScale {
	if s, ok := specialScales[strings.ToLower(currency)]; ok {
		return s
	}
	return currencyScale{exponent: 2, decimals: 2}
}

var (
	plainAmount   = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	groupedAmount = regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$`)
)

// parseAmount reads a marketer's amount in the currency's major unit
// ("10", "10.50", "1,250.00", and "500" yen) and returns it in the minor
// unit Stripe's API uses (1050 cents, 500 yen). Commas are only accepted
// as thousands separators, so a European "10,50" is refused rather than
// read as 1050.
func parseAmount(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "-"):
		return 0, errors.New("must be more than 0")
	case groupedAmount.MatchString(s):
		s = strings.ReplaceAll(s, ",", "")
	case strings.Contains(s, ","):
		return 0, errors.New("must be a number such as 10 or 10.50 (use a dot for decimals)")
	case !plainAmount.MatchString(s):
		return 0, fmt.Errorf("must be a number such as 10 or 10.50, not %q", clip(s))
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	sc := scaleOf(currency)
	if len(frac) > sc.decimals {
		if sc.decimals == 0 {
			return 0, fmt.Errorf("must be a whole number in %s, which has no minor unit", strings.ToUpper(currency))
		}
		return 0, fmt.Errorf("may have at most %d decimal places in %s", sc.decimals, strings.ToUpper(currency))
	}
	frac += strings.Repeat("0", sc.exponent-len(frac))
	whole = strings.TrimLeft(whole, "0")
	if len(whole)+len(frac) > 15 {
		return 0, errors.New("is too large")
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		if whole+frac == "" {
			return 0, errors.New("must be more than 0")
		}
		return 0, errors.New("is too large")
	}
	if n <= 0 {
		return 0, errors.New("must be more than 0")
	}
	return n, nil
}

// formatAmount writes a minor-unit amount in the major unit with the
// currency's decimals: 1050 USD → "10.50", 500 JPY → "500".
func formatAmount(minor int64, currency string) string {
	sc := scaleOf(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	if sc.exponent > 0 {
		if len(s) <= sc.exponent {
			s = strings.Repeat("0", sc.exponent-len(s)+1) + s
		}
		whole, frac := s[:len(s)-sc.exponent], s[len(s)-sc.exponent:]
		if strings.Trim(frac[sc.decimals:], "0") == "" {
			frac = frac[:sc.decimals] // three-decimal currencies end in 0
		}
		s = whole
		if frac != "" {
			s += "." + frac
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}

func clip(s string) string {
	if r := []rune(s); len(r) > 30 {
		return string(r[:30]) + "…"
	}
	return s
}
