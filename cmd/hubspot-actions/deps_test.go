package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestCode: the service binary serves the sandbox fakes
// as plain handlers, so neither package testing nor httptest may reach it
// through them (or through anything else).
func TestBinaryLinksNoTestCode(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps .: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || deps[len(deps)-1] != "hubspot-actions/cmd/hubspot-actions" {
		t.Fatalf("go list -deps . = %q, want the binary's dependencies, itself last", deps)
	}
	for _, p := range deps {
		if p == "testing" || strings.HasPrefix(p, "testing/") || p == "net/http/httptest" {
			t.Errorf("the binary depends on %s; sandbox fakes must not import it (go list -deps ./cmd/hubspot-actions)", p)
		}
	}
}
