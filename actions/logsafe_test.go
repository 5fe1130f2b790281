package actions

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"hubspot-actions/actions/upstream"
)

// TestLogErrWithholdsWhatExecutionsCarry: a provider's answer and a
// message for the marketer may quote an execution's personal data; the
// logged text keeps the codes and statuses and withholds those.
func TestLogErrWithholdsWhatExecutionsCarry(t *testing.T) {
	t.Parallel()
	api := &upstream.APIError{Status: 400, Body: `{"error":"Duplicate Name Exists Error: Jane Roe <jane.roe@example.test>"}`}
	tests := []error{
		fmt.Errorf("create customer: %w", api),
		&Error{Code: CodeNotFound, Message: "No QuickBooks customer has the email jane.roe@example.test.", Err: api},
		errors.Join(errors.New("first"), fmt.Errorf("second: %w", &Error{Code: CodeRejected, Message: "Jane Roe is not accepted"})),
	}
	for _, err := range tests {
		got := logErr(err)
		if strings.Contains(got, "jane.roe") || strings.Contains(got, "Jane Roe") {
			t.Errorf("logErr(%v) = %q, still quotes the execution's data", err, got)
		}
		if !strings.Contains(got, "[withheld]") {
			t.Errorf("logErr(%v) = %q, want the withheld part marked", err, got)
		}
	}
	if got := logErr(fmt.Errorf("create customer: %w", api)); !strings.Contains(got, "http 400") {
		t.Errorf("logErr kept no status: %q", got)
	}
	if got := logErr(&Error{Code: CodeNotFound, Message: "gone"}); !strings.Contains(got, "NOT_FOUND") {
		t.Errorf("logErr kept no code: %q", got)
	}
}

type texter struct{ words string }

func (t texter) Error() string          { return "acme: http 400: " + t.words }
func (t texter) ProviderText() []string { return []string{t.words} }

// TestLogErrWithholdsProviderWords: a provider's client error that quotes
// the provider's message (Stripe's, Intuit's) has those words withheld,
// wrapped however deep.
func TestLogErrWithholdsProviderWords(t *testing.T) {
	t.Parallel()
	err := (&Error{Code: CodeRejected, Message: "Acme refused the customer."}).With(fmt.Errorf("acme: POST /customers: %w", texter{"Invalid email address: jane.roe@example.test"}))
	if got := logErr(err); strings.Contains(got, "jane.roe") || !strings.Contains(got, "http 400") {
		t.Errorf("logErr = %q, want the status kept and the provider's words withheld", got)
	}
}
