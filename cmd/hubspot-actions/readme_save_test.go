package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/cmd/internal/providers"
)

// readmeSection returns README's text from heading to the next heading.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q section", heading)
	}
	section, _, _ = strings.Cut(section, "\n#")
	return section
}

// TestReadmeListsOptionalScopes: README's table of optional scopes lists
// exactly those the install asks for by default, in order.
func TestReadmeListsOptionalScopes(t *testing.T) {
	t.Parallel()
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9._-]+)` \\| (.+) \\|$")
	var listed []string
	for _, m := range row.FindAllStringSubmatch(readmeSection(t, "### Optional scopes"), -1) {
		listed = append(listed, m[1])
	}
	if diff := cmp.Diff(defaultOptionalScopes, listed); diff != "" {
		t.Errorf("README's optional scopes differ from the code's (-code +README):\n%s", diff)
	}
}

// TestReadmeListsSavedProperties: README's table of what each action can
// save on the record is the registry's.
func TestReadmeListsSavedProperties(t *testing.T) {
	t.Parallel()
	reg, err := providers.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range reg.All() {
		for _, s := range a.Save {
			want = append(want, "| `"+a.Key+"` | "+s.Label+" | `"+s.Property+"` | `"+s.Output+"` |")
		}
	}
	var listed []string
	for _, line := range strings.Split(readmeSection(t, "## Saving results on the record"), "\n") {
		if strings.HasPrefix(line, "| `") {
			listed = append(listed, line)
		}
	}
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("README's saved properties differ from the registry's (-code +README):\n%s", diff)
	}
}
