package publish

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/actions/clearbit"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/actions/stripe"
)

// testRegistry holds the published app's actions, registered the way
// cmd's definitionRegistry does (cmd's TestAppDefinitionMatchesCode checks
// that one against the committed files).
func testRegistry(t testing.TB) *actions.Registry {
	t.Helper()
	reg := actions.NewRegistry()
	noKey := func(context.Context, int64) (string, error) { return "", nil }
	qb, err := quickbooks.New(quickbooks.Config{Environment: "sandbox", PublicBaseURL: "http://localhost"},
		nil, nil, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("quickbooks: %v", err)
	}
	if err := clearbit.Register(reg, clearbit.NewClient("", nil), noKey, clearbit.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := quickbooks.Register(reg, qb); err != nil {
		t.Fatal(err)
	}
	if err := stripe.Register(reg, stripe.NewClient("", nil), noKey, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	return reg
}

// run runs the definitions or publish command as hubspot-actions does, on
// testRegistry's actions.
func run(t testing.TB, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	t.Helper()
	reg := testRegistry(t)
	switch args[0] {
	case "definitions":
		return DefinitionsCommand(args[1:], reg, getenv, stdout, stderr)
	case "publish":
		return Command(context.Background(), args[1:], reg, getenv, stdout, stderr)
	}
	return fmt.Errorf("no command %q", args[0])
}
