package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadmeListsScopes: README's table of scopes lists exactly the scopes
// the app asks for, in the same order, so adding or dropping one in the
// code fails until the README says why.
func TestReadmeListsScopes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Scopes\n")
	if !ok {
		t.Fatal("README has no Scopes section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9._-]+)` \\| (.+) \\|$")
	var listed []string
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		listed = append(listed, m[1])
		if strings.TrimSpace(m[2]) == "" {
			t.Errorf("README gives no reason for scope %s", m[1])
		}
	}
	if diff := cmp.Diff(defaultScopes, listed); diff != "" {
		t.Errorf("README's scopes differ from those the code declares (-code +README):\n%s", diff)
	}
}
