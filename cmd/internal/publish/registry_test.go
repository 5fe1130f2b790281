package publish

import (
	"context"
	"fmt"
	"io"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/providers"
)

// testRegistry holds the published app's actions, from the one list of
// providers (cmd's TestAppDefinitionMatchesCode checks them against the
// committed files).
func testRegistry(t testing.TB) *actions.Registry {
	t.Helper()
	reg, err := providers.Definitions()
	if err != nil {
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
