package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
)

// TestSimulateAgentAgainstSandbox plays one of HubSpot's agents against
// the real service: a tool runs from its inputs alone, a tool with nothing
// to go on answers which input it needs, and the history shows both as an
// agent's, without a workflow or a record.
func TestSimulateAgentAgainstSandbox(t *testing.T) {
	t.Parallel()
	s, cbAddr, env := sandboxWithSimulator(t, nil)
	common := []string{"--url", s.URL, "--callback-addr", cbAddr, "--wait", "30s"}

	out, err := runSimulate(t, env, append(common, "--agent", "--action", "clearbit-enrich-contact", "--input", "email=alex@example.com")...)
	if err != nil {
		t.Fatalf("simulate --agent: %v\n%s", err, out)
	}
	wantLines(t, out, "as an agent (source AGENTS), no object", "Final state: SUCCESS", "Enriched (enriched):")
	if !regexp.MustCompile(`Enriched \(enriched\):\s+true`).MatchString(out) {
		t.Errorf("not enriched:\n%s", out)
	}

	out, err = runSimulate(t, env, append(common, "--agent", "--action", "clearbit-enrich-company")...)
	if err != nil {
		t.Fatalf("simulate --agent without inputs: %v\n%s", err, out)
	}
	wantLines(t, out, "Final state: FAIL_CONTINUE", "VALIDATION_FAILED", "domain: is required: the request names no company")

	out, err = runSimulate(t, env, append(common, "--agent", "--action", "stripe-create-promotion-code", "--input", "percent_off=10")...)
	if err == nil || !strings.Contains(err.Error(), "is not an agent tool") {
		t.Errorf("simulate --agent with a code minter = %v, want a refusal\n%s", err, out)
	}

	// The history, as the portal's admin sees it.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := hc.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d:\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	get("/oauth/hubspot/install")
	history := get("/settings/history")
	if n := strings.Count(history, "None (run by an agent)"); n != 2 {
		t.Errorf("history shows %d executions run by an agent, want 2:\n%s", n, history)
	}
	ref := regexp.MustCompile(`href="(/settings/history/EX-[0-9A-Z]{10})"`).FindStringSubmatch(history)
	if ref == nil {
		t.Fatalf("no execution link in the history:\n%s", history)
	}
	detail := get(ref[1])
	for _, want := range []string{"None (run by an agent)", "None: the agent named no record", "AGENTS: one of HubSpot's agents used this action as a tool"} {
		if !strings.Contains(detail, want) {
			t.Errorf("execution page lacks %q:\n%s", want, detail)
		}
	}
}
