package actions

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
)

// validate checks a bound input struct and returns a VALIDATION_FAILED
// *Error naming the first field at fault.
type validate func(in any) error

// newValidate adapts the service's one validator to input checking: field
// names in messages are the inputs' json names.
func newValidate(v *validator.Validate) validate {
	return func(in any) error {
		err := v.Struct(in)
		if err == nil {
			return nil
		}
		var ve validator.ValidationErrors
		if !errors.As(err, &ve) || len(ve) == 0 {
			return Fail(CodeInternal, "The app could not check this action's inputs.").With(err)
		}
		fe := ve[0]
		name := jsonName(reflect.TypeOf(in).Elem(), fe.StructField())
		return Invalid(name, "%s", ruleMessage(fe))
	}
}

func jsonName(t reflect.Type, field string) string {
	if f, ok := t.FieldByName(field); ok {
		if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n != "" && n != "-" {
			return n
		}
	}
	return field
}

// ruleMessage says in plain words what a failed validator rule wants.
func ruleMessage(fe validator.FieldError) string {
	p := fe.Param()
	switch fe.Tag() {
	case "required", "required_if", "required_unless", "required_with", "required_without":
		return "is required"
	case "gt":
		return "must be greater than " + p
	case "gte":
		return "must be at least " + p
	case "lt":
		return "must be less than " + p
	case "lte":
		return "must be at most " + p
	case "min":
		if fe.Kind() == reflect.String {
			return "must be at least " + p + " characters long"
		}
		return "must be at least " + p
	case "max":
		if fe.Kind() == reflect.String {
			return "must be at most " + p + " characters long"
		}
		return "must be at most " + p
	case "len":
		return "must be exactly " + p + " characters long"
	case "oneof":
		return "must be one of: " + strings.Join(strings.Fields(p), ", ")
	case "email":
		return "must be an email address such as jane@example.com"
	case "fqdn", "hostname":
		return "must be a domain name such as example.com"
	case "url", "http_url":
		return "must be a URL such as https://example.com"
	case "iso4217":
		return "must be a three-letter currency code such as USD"
	case "alphanum":
		return "may contain only letters and digits"
	case "uppercase":
		return "must be upper case"
	}
	return "is not valid (" + fe.Tag() + ")"
}

// bindInputs copies HubSpot's inputFields into the struct dst points to,
// converting strings to numbers and booleans as the fields need. A value
// that cannot be converted is a VALIDATION_FAILED error naming the input.
func bindInputs(dst any, inputs map[string]any) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		raw, ok := inputs[name]
		if !ok || raw == nil {
			continue
		}
		if err := setValue(v.Field(i), raw); err != nil {
			return Invalid(name, "%s", err.Error())
		}
	}
	return nil
}

func setValue(fv reflect.Value, raw any) error {
	s, isString := raw.(string)
	if isString {
		s = strings.TrimSpace(s)
	}
	switch fv.Kind() {
	case reflect.String:
		switch x := raw.(type) {
		case string:
			fv.SetString(strings.TrimSpace(x))
		case float64:
			fv.SetString(strconv.FormatFloat(x, 'f', -1, 64))
		case bool:
			fv.SetString(strconv.FormatBool(x))
		default:
			return errors.New("must be text")
		}
	case reflect.Bool:
		switch x := raw.(type) {
		case bool:
			fv.SetBool(x)
		case string:
			switch strings.ToLower(s) {
			case "true", "yes", "1", "on", "checked":
				fv.SetBool(true)
			case "false", "no", "0", "off", "":
				fv.SetBool(false)
			default:
				return fmt.Errorf("must be true or false, not %q", clip(s))
			}
		case float64:
			fv.SetBool(x != 0)
		default:
			return errors.New("must be true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, err := number(raw, s, isString)
		if err != nil {
			return err
		}
		if f != math.Trunc(f) {
			return fmt.Errorf("must be a whole number, not %s", strconv.FormatFloat(f, 'f', -1, 64))
		}
		if fv.OverflowInt(int64(f)) || math.Abs(f) > 1<<53 {
			return errors.New("is too large")
		}
		fv.SetInt(int64(f))
	case reflect.Float32, reflect.Float64:
		f, err := number(raw, s, isString)
		if err != nil {
			return err
		}
		fv.SetFloat(f)
	default:
		return fmt.Errorf("has an unsupported type %s", fv.Type())
	}
	return nil
}

func number(raw any, s string, isString bool) (float64, error) {
	switch x := raw.(type) {
	case float64:
		return x, nil
	case bool:
		return 0, errors.New("must be a number")
	}
	if !isString {
		return 0, errors.New("must be a number")
	}
	if s == "" {
		return 0, nil
	}
	if strings.Contains(s, ",") {
		// Only thousands separators: "1,234.50" is 1234.5, but "10,50"
		// could mean 10.50 or 1050, so it is refused rather than guessed.
		if !thousands.MatchString(s) {
			return 0, fmt.Errorf("must be a number with a dot for decimals (such as 10.50), not %q", clip(s))
		}
		s = strings.ReplaceAll(s, ",", "")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("must be a number, not %q", clip(s))
	}
	return f, nil
}

var thousands = regexp.MustCompile(`^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$`)

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// encodeOutputs turns a typed output struct into HubSpot's string map.
// Booleans become "true"/"false"; numbers their shortest decimal form; a
// zero number tagged omitempty becomes "" (unknown rather than 0).
func encodeOutputs(out any) map[string]string {
	v := reflect.ValueOf(out)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return map[string]string{}
		}
		v = v.Elem()
	}
	t := v.Type()
	m := make(map[string]string, t.NumField()+3)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fv := v.Field(i)
		omit := strings.Contains(opts, "omitempty") && fv.IsZero()
		switch fv.Kind() {
		case reflect.String:
			m[name] = fv.String()
		case reflect.Bool:
			m[name] = strconv.FormatBool(fv.Bool())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if !omit {
				m[name] = strconv.FormatInt(fv.Int(), 10)
			} else {
				m[name] = ""
			}
		case reflect.Float32, reflect.Float64:
			if !omit {
				m[name] = strconv.FormatFloat(fv.Float(), 'f', -1, 64)
			} else {
				m[name] = ""
			}
		default:
			m[name] = fmt.Sprint(fv.Interface())
		}
	}
	return m
}

// idempotencyKey derives a stable key from a callbackId and a purpose.
func idempotencyKey(callbackID, purpose string) string {
	sum := sha256.Sum256([]byte(callbackID + "\x00" + purpose))
	return "hs-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))[:40]
}

// reference returns the short reference a marketer quotes to find an
// execution in the history: EX- and 10 characters of Crockford-like base32.
func reference(callbackID string) string {
	sum := sha256.Sum256([]byte(callbackID))
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b strings.Builder
	b.WriteString("EX-")
	var acc uint64
	for _, c := range sum[:8] {
		acc = acc<<8 | uint64(c)
	}
	for i := 0; i < 10; i++ {
		b.WriteByte(alphabet[acc&31])
		acc >>= 5
	}
	return b.String()
}
