package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// freeAddr returns a loopback address that was free a moment ago, for a
// simulator and a server that must know it before either starts. It picks
// ports below Linux's ephemeral range (32768 and up), so the client side of
// some other test's connection cannot take the port in the meantime; this
// package's range (20000-26000) is its own, so packages tested in parallel do not
// pick each other's ports, and no port is handed out twice.
func freeAddr(t testing.TB) string {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(6000)
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	t.Fatal("no free port between 20000 and 26000")
	return ""
}

// handedOut holds the ports freeAddr returned in this test binary.
var handedOut sync.Map

// runSimulate runs `hubspot-actions simulate args…` with env and returns what
// it printed (stdout, then stderr).
func runSimulate(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"simulate"}, args...), func(k string) string { return env[k] }, &out, &errb)
	return out.String() + errb.String(), err
}

// sandboxWithSimulator starts the real service in sandbox mode with its
// HubSpot API at a free address for the simulator's local HubSpot.
func sandboxWithSimulator(t *testing.T, env map[string]string) (*testServer, string, map[string]string) {
	t.Helper()
	cbAddr := freeAddr(t)
	full := map[string]string{"HUBSPOT_API_BASE_URL": "http://" + cbAddr}
	for k, v := range env {
		full[k] = v
	}
	s := startServer(t, full)
	simEnv := map[string]string{"DATABASE_URL": filepath.Join(s.Dir, "data", "hubspot-actions.db")}
	return s, cbAddr, simEnv
}

// wantState checks a load report's count of a final state.
func wantState(t *testing.T, out, state string, n int) {
	t.Helper()
	if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(state) + `\s+` + fmt.Sprint(n) + `$`).MatchString(out) {
		t.Errorf("output lacks final state %s × %d:\n%s", state, n, out)
	}
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestSimulateAgainstSandbox(t *testing.T) {
	t.Parallel()
	s, cbAddr, env := sandboxWithSimulator(t, map[string]string{"INLINE_BUDGET": "300ms"})
	common := []string{"--url", s.URL, "--callback-addr", cbAddr, "--wait", "30s"}
	sim := func(args ...string) string {
		t.Helper()
		out, err := runSimulate(t, env, append(common, args...)...)
		if err != nil {
			t.Fatalf("simulate %v: %v\n%s", args, err, out)
		}
		if strings.Contains(out, s.Secret) {
			t.Errorf("simulate printed the client secret")
		}
		return out
	}

	out := sim("--action", "sandbox-echo", "--input", "message=hello")
	wantLines(t, out,
		"Action:   Sandbox: echo a message (sandbox-echo)",
		"Card:     Echo hello",
		"signature v2",
		"Final state: SUCCESS (answered inline)",
		"Echo (echo):",
		"hello",
		"History:     (no execution rule matches; HubSpot shows its default message)",
		"client secret from "+filepath.Join(s.Dir, "data", sandboxSecretsFile),
	)

	out = sim("--action", "sandbox-echo", "--signature", "v3", "--input", "message=slow", "--input", "delay_ms=800")
	wantLines(t, out, "signature v3", ": BLOCK (expires after", "Final state: SUCCESS (completed by callback", "slow")

	out = sim("--action", "sandbox-echo", "--input", "message=x", "--input", "fail_with=UPSTREAM_REJECTED")
	wantLines(t, out,
		"Final state: FAIL_CONTINUE (answered inline)",
		"History:     The service refused the request: The sandbox was asked to fail with UPSTREAM_REJECTED. (ref EX-",
	)

	// A slow failure: BLOCK, then a FAIL_CONTINUE completion whose message
	// is rendered from the completion's outputs.
	out = sim("--action", "sandbox-echo", "--input", "message=x", "--input", "delay_ms=600", "--input", "fail_with=NOT_FOUND")
	wantLines(t, out, "Final state: FAIL_CONTINUE (completed by callback", "History:     Nothing found: The sandbox was asked to fail with NOT_FOUND.")

	out = sim("--action", "quickbooks-create-invoice", "--options", "item_id", "--q", "cons")
	wantLines(t, out, `Options of Product or service (item_id) for quickbooks-create-invoice, search "cons": 1`, "QuickBooks is not connected", "NOT_CONNECTED")
}

// TestSimulateInvoiceReadsTheDealsContact connects the sandbox's fake
// QuickBooks and runs quickbooks-create-invoice on a deal whose contact
// only the simulator's CRM (--crm) knows.
func TestSimulateInvoiceReadsTheDealsContact(t *testing.T) {
	t.Parallel()
	s, cbAddr, env := sandboxWithSimulator(t, nil)

	// Install (a settings session) and connect QuickBooks, as an admin would.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	for _, path := range []string{"/oauth/hubspot/install", "/oauth/quickbooks/connect"} {
		resp, err := hc.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The settings page itself may not be served; landing there is what counts.
		if resp.Request.URL.Path != "/settings" {
			t.Fatalf("GET %s ended at %s with %d:\n%s", path, resp.Request.URL.Path, resp.StatusCode, body)
		}
	}

	crm := filepath.Join(t.TempDir(), "crm.json")
	os.WriteFile(crm, []byte(`{
		"objects": [
			{"type": "deals", "id": "501", "properties": {"dealname": "Website redesign"}},
			{"type": "contacts", "id": "601", "properties": {"email": "pat@example.com", "firstname": "Pat", "lastname": "Lee"}}
		],
		"associations": [{"from": "deals/501", "to": "contacts/601"}]
	}`), 0o644)
	out, err := runSimulate(t, env, "--url", s.URL, "--callback-addr", cbAddr, "--crm", crm,
		"--action", "quickbooks-create-invoice", "--object-id", "501", "--input", "amount=1200", "--input", "item_id=7")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	wantLines(t, out, "Card:     Create a QuickBooks invoice for 1200", "DEAL 501", "Final state: SUCCESS", "Invoice total (total_amount):")
	if !regexp.MustCompile(`QuickBooks invoice ID \(invoice_id\):\s+\d+`).MatchString(out) {
		t.Errorf("no invoice id in:\n%s", out)
	}
}

func TestSimulateLoadAgainstSandbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		budget string
		args   []string
		want   []string
		state  string
		n      int
	}{
		{"inline", "5s", []string{"--load", "400", "--concurrency", "16", "--input", "message=hi"},
			[]string{"Answered 400 requests", "(400 final inline, 0 BLOCK;"}, "SUCCESS", 400},
		// Under -race a run may finish just as its budget ends; the runtime
		// then answers inline, so only most executions need to BLOCK.
		{"block heavy", "50ms", []string{"--load", "150", "--concurrency", "16", "--input", "message=hi", "--input", "delay_ms=300", "--signature", "v3"},
			[]string{"Completion latency:"}, "SUCCESS", 150},
		{"failures", "5s", []string{"--load", "50", "--concurrency", "8", "--input", "message=hi", "--input", "fail_with=RATE_LIMITED"},
			nil, "FAIL_CONTINUE RATE_LIMITED", 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, cbAddr, env := sandboxWithSimulator(t, map[string]string{"INLINE_BUDGET": tt.budget})
			out, err := runSimulate(t, env, append([]string{"--url", s.URL, "--callback-addr", cbAddr, "--wait", "60s", "--settle", "300ms", "--action", "sandbox-echo"}, tt.args...)...)
			if err != nil {
				t.Fatalf("simulate: %v\n%s", err, out)
			}
			wantLines(t, out, append(tt.want, "Answer latency:      p50 ", " p90 ", " p99 ", "Lost: 0   Completed twice: 0   Completions of unknown callbackIds: 0")...)
			wantState(t, out, tt.state, tt.n)
			if m := regexp.MustCompile(`(\d+) final inline, (\d+) BLOCK`).FindStringSubmatch(out); m == nil {
				t.Errorf("no inline/BLOCK counts in:\n%s", out)
			} else if blocks, _ := strconv.Atoi(m[2]); (tt.budget == "50ms") != (blocks > tt.n/2) {
				t.Errorf("%s executions answered BLOCK with a %s budget:\n%s", m[2], tt.budget, out)
			}
		})
	}
}

// fakeBackend is a tiny backend that checks HubSpot's signature and
// answers as told; complete, when set, sends callback completions to the
// simulator's local HubSpot before answering, and late sends one after
// answering per delay, as a backend that BLOCKs (and then completes twice)
// does.
func TestSimulateWrongSecretAgainstSandbox(t *testing.T) {
	t.Parallel()
	s, cbAddr, env := sandboxWithSimulator(t, nil)
	env["HUBSPOT_CLIENT_SECRET"] = "not-the-sandbox-secret"
	out, err := runSimulate(t, env, "--url", s.URL, "--callback-addr", cbAddr, "--settle", "0s", "--action", "sandbox-echo", "--input", "message=hi", "--load", "10")
	if err == nil || !strings.Contains(err.Error(), "10 executions rejected with HTTP 401 ×10") {
		t.Errorf("simulate --load with a wrong secret = %v\n%s", err, out)
	}
	out, err = runSimulate(t, env, "--url", s.URL, "--callback-addr", "", "--action", "sandbox-echo", "--input", "message=hi")
	if err == nil || !strings.Contains(err.Error(), "rejected the execution with HTTP 401") {
		t.Errorf("simulate with a wrong secret = %v\n%s", err, out)
	}
}

func TestSimulatorSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "x.db")
	if _, _, err := simulatorSecret(func(k string) string { return map[string]string{"DATABASE_URL": db}[k] }); err == nil || !strings.Contains(err.Error(), "set HUBSPOT_CLIENT_SECRET") {
		t.Errorf("simulatorSecret without secrets = %v", err)
	}
	s, err := loadSandboxSecrets(filepath.Join(dir, "data"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := simulatorSecret(func(k string) string { return map[string]string{"DATABASE_URL": db}[k] }); err != nil || got != s.ClientSecret {
		t.Errorf("simulatorSecret from the sandbox file = %q, %v", got, err)
	}
	if got, src, _ := simulatorSecret(func(k string) string {
		return map[string]string{"DATABASE_URL": db, "HUBSPOT_CLIENT_SECRET": "real"}[k]
	}); got != "real" || src != "HUBSPOT_CLIENT_SECRET" {
		t.Errorf("simulatorSecret with HUBSPOT_CLIENT_SECRET = %q from %s", got, src)
	}
}
