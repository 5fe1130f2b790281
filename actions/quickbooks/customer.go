package quickbooks

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"

	"hubspot-actions/actions"
)

// customerWant is the customer an action needs, from its inputs and the
// enrolled object.
type customerWant struct {
	Email       string
	DisplayName string
	GivenName   string
	FamilyName  string
	CompanyName string
	Phone       string
	// Suffix disambiguates the display name when another record uses it
	// (e.g. "HubSpot 1234").
	Suffix string
}

// maxDisplayName is Intuit's DisplayName limit, in characters.
const maxDisplayName = 500

// name returns the display name to create: the one asked for, else the
// person's name, the company's, or the email. Colons are not allowed.
func (w customerWant) name() string {
	n := w.DisplayName
	if n == "" {
		n = strings.TrimSpace(w.GivenName + " " + w.FamilyName)
	}
	if n == "" {
		n = w.CompanyName
	}
	if n == "" {
		n = w.Email
	}
	return cleanName(n, maxDisplayName)
}

func cleanName(n string, limit int) string {
	n = strings.Join(strings.Fields(strings.ReplaceAll(n, ":", " -")), " ")
	if utf8.RuneCountInString(n) > limit {
		n = strings.TrimSpace(string([]rune(n)[:limit]))
	}
	return n
}

// validEmail reports whether s is one plain address (no display name).
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

// findOrCreateCustomer returns the customer with w's email, else the one
// it creates (created is true). It is idempotent on the execution: creates
// carry requestids derived from the callbackId, and a display name already
// in use is resolved by reusing that customer when its email matches (or it
// has none) or else by creating once more with a suffixed name. A customer
// the execution created carries its reference in Notes, so created stays
// true when a re-run finds it.
func findOrCreateCustomer(ctx context.Context, c *Client, realm string, ex *actions.Execution, w customerWant) (cu Customer, created bool, err error) {
	if w.Email != "" {
		found, err := c.FindCustomerByEmail(ctx, realm, w.Email)
		if err != nil || found != nil {
			return deref(found), createdBy(found, ex), err
		}
	}
	name := w.name()
	if name == "" {
		return Customer{}, false, errors.New("quickbooks: no name for the customer") // callers validate first
	}
	if w.Email == "" {
		// Without an email the name is the only identity there is.
		found, err := c.FindCustomerByName(ctx, realm, name)
		if err != nil || found != nil {
			return deref(found), createdBy(found, ex), err
		}
	}
	in := Customer{
		DisplayName: name,
		GivenName:   cleanName(w.GivenName, 100),
		FamilyName:  cleanName(w.FamilyName, 100),
		CompanyName: cleanName(w.CompanyName, 100),
		Notes:       refNote(ex),
	}
	if w.Email != "" {
		in.PrimaryEmailAddr = &EmailAddr{Address: w.Email}
	}
	if w.Phone != "" {
		in.PrimaryPhone = &Phone{FreeFormNumber: w.Phone}
	}
	out, err := c.CreateCustomer(ctx, realm, ex.IdempotencyKey("qbo-customer"), in)
	if err == nil {
		return out, true, nil
	}
	if !duplicateName(err) {
		return Customer{}, false, err
	}
	if found, ferr := c.FindCustomerByName(ctx, realm, name); ferr != nil {
		return Customer{}, false, ferr
	} else if found != nil && (found.Email() == "" || strings.EqualFold(found.Email(), w.Email)) {
		return *found, createdBy(found, ex), nil
	}
	suffix := w.Email
	if suffix == "" || strings.EqualFold(suffix, name) {
		suffix = w.Suffix
	}
	in.DisplayName = cleanName(cleanName(name, maxDisplayName-len(suffix)-3)+" ("+suffix+")", maxDisplayName)
	out, err = c.CreateCustomer(ctx, realm, ex.IdempotencyKey("qbo-customer-2"), in)
	if err == nil {
		return out, true, nil
	}
	if !duplicateName(err) {
		return Customer{}, false, err
	}
	if found, ferr := c.FindCustomerByName(ctx, realm, in.DisplayName); ferr == nil && found != nil && (found.Email() == "" || strings.EqualFold(found.Email(), w.Email)) {
		return *found, createdBy(found, ex), nil
	}
	return Customer{}, false, actions.Fail(actions.CodeRejected,
		"QuickBooks already has another customer, vendor or employee named %q (and %q); set a different display name.", name, in.DisplayName).With(err)
}

// refNote is the Notes of a customer an execution creates: the
// execution's reference, which finds it in the workflow history.
func refNote(ex *actions.Execution) string {
	if ex.Ref == "" {
		return ""
	}
	return "Created by a HubSpot workflow (ref " + ex.Ref + ")"
}

// createdBy reports whether cu was created by ex: a run whose create
// succeeded but whose answer was lost finds it by email or name.
func createdBy(cu *Customer, ex *actions.Execution) bool {
	return cu != nil && ex.Ref != "" && strings.Contains(cu.Notes, refNote(ex))
}

func duplicateName(err error) bool {
	var f *Fault
	return errors.As(err, &f) && f.Has("6240")
}

func deref(c *Customer) Customer {
	if c == nil {
		return Customer{}
	}
	return *c
}
