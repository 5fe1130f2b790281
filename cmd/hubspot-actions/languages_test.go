package main

import (
	"os"
	"strings"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/providers"
)

// TestReadmeNamesTheLabelLanguages: README's Languages section names the
// language of every locale the published actions' labels come in, so a
// new translation fails until the README says so.
func TestReadmeNamesTheLabelLanguages(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Languages\n")
	if !ok {
		t.Fatal("README has no Languages section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	reg, err := providers.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range reg.All() {
		for _, l := range a.Locales() {
			if name := actions.LocaleName(l); !strings.Contains(section, name) {
				t.Errorf("README's Languages section does not name %s, which %s's labels come in", name, a.Key)
			}
		}
	}
}
