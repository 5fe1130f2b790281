package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// codeAlphabet holds the characters of a code's suffix: digits and
// upper-case letters without the look-alikes 0/O and 1/I/L, so a customer
// can read a code off a screen and type it.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// suffixLen characters of a 31-letter alphabet carry 49 bits: guessing a
// live code takes on the order of 10^14 tries, far beyond what Stripe's
// rate limits allow.
const suffixLen = 10

// minSecretLen is the shortest code secret Register accepts.
const minSecretLen = 16

// minter derives codes and coupon IDs from the app's code secret.
type minter struct{ secret []byte }

func (m minter) mac(parts ...string) []byte {
	h := hmac.New(sha256.New, m.secret)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// suffix returns the unguessable part of the code for an execution: the
// same for every run of the execution, different for every execution.
func (m minter) suffix(callbackID string) string {
	sum := m.mac("promotion-code", callbackID)
	n := binary.BigEndian.Uint64(sum[:8])
	var b [suffixLen]byte
	for i := range b {
		b[i] = codeAlphabet[n%uint64(len(codeAlphabet))]
		n /= uint64(len(codeAlphabet))
	}
	return string(b[:])
}

// couponID returns the ID of the coupon shared by every code of a portal
// with terms t: each portal has its own. It is unguessable too, because
// some checkouts accept coupon IDs.
func (m minter) couponID(portalID int64, t terms) string {
	sum := m.mac("coupon", portalMark(portalID), t.canonical())
	return "hubspot_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// terms are the discount a coupon gives, validated.
type terms struct {
	percentOff float64 // set for percent discounts
	amountOff  int64   // set for amount discounts, in the currency's minor unit
	currency   string  // lower case, with amountOff
	duration   string
	months     int64
}

func (t terms) canonical() string {
	if t.amountOff > 0 {
		return fmt.Sprintf("v1|amount|%d|%s|%s|%d", t.amountOff, t.currency, t.duration, t.months)
	}
	return fmt.Sprintf("v1|percent|%s|%s|%d", strconv.FormatFloat(t.percentOff, 'f', -1, 64), t.duration, t.months)
}

// name is the coupon's name, which customers see on invoices and receipts
// (at most 40 characters).
func (t terms) name() string {
	var off string
	if t.amountOff > 0 {
		off = formatAmount(t.amountOff, t.currency) + " " + strings.ToUpper(t.currency) + " off"
	} else {
		off = strconv.FormatFloat(t.percentOff, 'f', -1, 64) + "% off"
	}
	full := off
	switch t.duration {
	case durationRepeating:
		if t.months == 1 {
			full += " for 1 month"
		} else {
			full += fmt.Sprintf(" for %d months", t.months)
		}
	case durationForever:
		full += " forever"
	}
	if len(full) > 40 {
		return off
	}
	return full
}

// matches reports whether coupon c gives exactly the discount t.
func (t terms) matches(c Coupon) bool {
	months := c.DurationInMonths
	if c.Duration != durationRepeating {
		months = 0
	}
	if c.Duration != t.duration || months != t.months {
		return false
	}
	if t.amountOff > 0 {
		return c.AmountOff == t.amountOff && strings.EqualFold(c.Currency, t.currency)
	}
	return c.AmountOff == 0 && math.Abs(c.PercentOff-t.percentOff) < 1e-9
}
