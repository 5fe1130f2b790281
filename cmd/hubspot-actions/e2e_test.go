package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store/storetest"
)

// testServer is the real service, started through run.
type testServer struct {
	URL        string // public base URL (http://localhost:port)
	MetricsURL string // the metrics listener's /metrics, "" when off
	Secret     string
	Dir        string
	// DatabaseURL is the server's database: dir/data/hubspot-actions.db,
	// or with TEST_DATABASE_URL a PostgreSQL schema (see testDatabaseURL).
	DatabaseURL string
	logs        *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs `serve` with env (a sandbox unless env says otherwise)
// on a free port, and stops it when the test ends.
func startServer(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	return startServerIn(t, t.TempDir(), env)
}

// startServerIn is startServer with the data (its database at
// testDatabaseURL(t, dir), unless env names one, and the sandbox secrets in
// dir/data) kept in dir, which a test may seed first.
func startServerIn(t testing.TB, dir string, env map[string]string) *testServer {
	t.Helper()
	full := map[string]string{
		"LISTEN_ADDR":  "127.0.0.1:0",
		"METRICS_ADDR": "127.0.0.1:0",
		"DATA_DIR":     filepath.Join(dir, "data"),
	}
	if env["DATABASE_URL"] == "" {
		full["DATABASE_URL"] = testDatabaseURL(t, dir)
	}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"serve"}, func(k string) string { return full[k] }, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	type addrs struct{ public, metrics string }
	addr := make(chan addrs, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Bytes()
			logs.Write(append(line, '\n'))
			if found || !bytes.Contains(line, []byte(`"msg":"listening"`)) {
				continue
			}
			var m map[string]any
			if json.Unmarshal(line, &m) == nil {
				found = true
				a := addrs{public: fmt.Sprint(m["public_base_url"])}
				if ma := fmt.Sprint(m["metrics_addr"]); ma != "off" {
					a.metrics = "http://" + ma + "/metrics"
				}
				addr <- a
			}
		}
	}()
	var url addrs
	select {
	case url = <-addr:
	case err := <-done:
		t.Fatalf("serve exited early: %v\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start\n%s", logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("serve did not stop")
		}
	})
	s := &testServer{URL: url.public, MetricsURL: url.metrics, Dir: dir, DatabaseURL: full["DATABASE_URL"], logs: logs}
	if env["HUBSPOT_CLIENT_SECRET"] != "" {
		s.Secret = env["HUBSPOT_CLIENT_SECRET"]
	} else {
		sec, err := loadSandboxSecrets(filepath.Join(dir, "data"), false)
		if err != nil {
			t.Fatalf("sandbox secrets: %v", err)
		}
		s.Secret = sec.ClientSecret
	}
	return s
}

// testDatabaseURL returns the database of the server whose data is in dir:
// the SQLite file dir/data/hubspot-actions.db, or, when TEST_DATABASE_URL
// is set, a PostgreSQL schema made for dir on the first call (its URL kept
// in dir/data/database-url, so every later call names the same one).
// Tests that read or write the SQLite file itself name it in DATABASE_URL.
func testDatabaseURL(t testing.TB, dir string) string {
	t.Helper()
	if !storetest.Postgres() {
		return filepath.Join(dir, "data", "hubspot-actions.db")
	}
	file := filepath.Join(dir, "data", "database-url")
	if b, err := os.ReadFile(file); err == nil {
		return string(b)
	}
	u := storetest.URL(t)
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(u), 0o600); err != nil {
		t.Fatal(err)
	}
	return u
}

// post sends a v2-signed POST and returns the status and body.
func (s *testServer) post(t *testing.T, path string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(actions.HeaderSignatureVersion, "v2")
	req.Header.Set(actions.HeaderSignature, actions.SignV2(s.Secret, http.MethodPost, s.URL+path, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *testServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return getURL(t, s.URL+path)
}

func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// execute sends an execution of action with inputs and returns its
// outputFields.
func (s *testServer) execute(t *testing.T, action, callbackID string, portalID int64, inputs map[string]any) map[string]string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"callbackId":  callbackID,
		"origin":      map[string]any{"portalId": portalID, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
		"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 77},
		"object":      map[string]any{"objectId": 901, "objectType": "CONTACT", "properties": map[string]any{"email": "pat@example.com"}},
		"inputFields": inputs,
	})
	status, b := s.post(t, "/hubspot/actions/"+action, body)
	if status != http.StatusOK {
		t.Fatalf("execute %s: %d %s", action, status, b)
	}
	var res actions.Response
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return res.OutputFields
}

func TestServeSandbox(t *testing.T) {
	t.Parallel()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{SandboxTokens: true})
	s := startServer(t, map[string]string{"HUBSPOT_API_BASE_URL": hs.URL(), "INLINE_BUDGET": "1s"})

	if status, body := s.get(t, "/healthz"); status != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %s", status, body)
	}
	if status, body := s.get(t, "/readyz"); status != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz = %d %s", status, body)
	}

	got := s.execute(t, "sandbox-echo", "ap-1-1-1-0", 101, map[string]any{"message": "hello"})
	if got["hs_execution_state"] != "SUCCESS" || got["echo"] != "hello" || got["length"] != "5" {
		t.Errorf("inline execution = %v", got)
	}
	got = s.execute(t, "sandbox-echo", "ap-1-1-2-0", 101, map[string]any{"message": "slow", "delay_ms": "2500"})
	if got["hs_execution_state"] != "BLOCK" {
		t.Fatalf("slow execution = %v, want BLOCK", got)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done, err := hs.WaitCompletion(wctx, "ap-1-1-2-0")
	if err != nil {
		t.Fatalf("wait for completion: %v", err)
	}
	if done.OutputFields["hs_execution_state"] != "SUCCESS" || done.OutputFields["echo"] != "slow" {
		t.Errorf("completion = %v", done)
	}
	got = s.execute(t, "sandbox-echo", "ap-1-1-4-0", 101, map[string]any{"message": "m", "fail_with": "NOT_FOUND"})
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "NOT_FOUND" || !strings.Contains(got["error_message"], "(ref EX-") {
		t.Errorf("sandbox-echo fail_with = %v", got)
	}
	got = s.execute(t, "sandbox-echo", "ap-1-1-5-0", 101, map[string]any{"message": "m", "fail_with": "SOMETHING"})
	if got["error_code"] != "VALIDATION_FAILED" || !strings.HasPrefix(got["error_message"], "fail_with: must be one of") {
		t.Errorf("sandbox-echo with an unknown fail_with = %v", got)
	}
	got = s.execute(t, "sandbox-echo", "ap-1-1-3-0", 101, map[string]any{})
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "VALIDATION_FAILED" || !strings.HasPrefix(got["error_message"], "message: is required") {
		t.Errorf("invalid execution = %v", got)
	}

	wantMetrics := []string{
		`hubspot_actions_executions_total{action="sandbox-echo",error_code="",final_state="SUCCESS"} 2`,
		`hubspot_actions_executions_total{action="sandbox-echo",error_code="VALIDATION_FAILED",final_state="FAIL_CONTINUE"} 2`,
		`hubspot_actions_executions_total{action="sandbox-echo",error_code="NOT_FOUND",final_state="FAIL_CONTINUE"} 1`,
		`hubspot_actions_block_answers_total{action="sandbox-echo"} 1`,
		`hubspot_actions_callback_completions_total{result="delivered"} 1`,
		`hubspot_actions_execution_duration_seconds_bucket`,
		`hubspot_actions_jobs{state="queued"}`,
		`hubspot_actions_upstream_requests_total{provider="hubspot",status="204"} 1`,
	}
	// The fake records a completion before its 204 reaches the service,
	// which counts the delivery after that: on a busy machine a scrape can
	// come first, so look again for a moment.
	var missing []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		status, metrics := getURL(t, s.MetricsURL)
		missing = missing[:0]
		for _, want := range wantMetrics {
			if status != 200 || !strings.Contains(metrics, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing {
		t.Errorf("/metrics lacks %s", m)
	}
	logs := s.logs.String()
	for _, want := range []string{`"callback_id":"ap-1-1-1-0"`, `"portal_id":101`, `"action":"sandbox-echo"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	if strings.Contains(logs, s.Secret) {
		t.Errorf("logs contain the client secret")
	}
}

func TestSandboxInstall(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	jar, _ := cookiejar.New(nil)
	var landed string
	hc := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		landed = req.URL.Path
		return nil
	}}
	resp, err := hc.Get(s.URL + "/oauth/hubspot/install")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if landed != "/settings" {
		t.Fatalf("install landed on %q, want /settings", landed)
	}
	u, _ := url.Parse(s.URL)
	var session bool
	for _, c := range jar.Cookies(u) {
		if strings.Contains(strings.ToLower(c.Name), "session") {
			session = true
		}
	}
	if !session {
		t.Errorf("no session cookie after install: %v", jar.Cookies(u))
	}
}

// TestSandboxProviders runs every provider action through the real server
// in sandbox mode, against the providers' fakes.
func TestSandboxProviders(t *testing.T) {
	t.Parallel()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{SandboxTokens: true})
	s := startServer(t, map[string]string{"HUBSPOT_API_BASE_URL": hs.URL()})
	const portal = sandboxPortalID

	got := s.execute(t, "clearbit-enrich-contact", "ap-p-1", portal, map[string]any{"email": "alex@stripe.com"})
	if got["hs_execution_state"] != "SUCCESS" || got["enriched"] != "true" || got["full_name"] == "" {
		t.Errorf("clearbit-enrich-contact = %v", got)
	}
	got = s.execute(t, "clearbit-enrich-company", "ap-p-2", portal, map[string]any{"domain": "https://www.example.org/about"})
	if got["hs_execution_state"] != "SUCCESS" || got["enriched"] != "true" || got["company_name"] == "" {
		t.Errorf("clearbit-enrich-company = %v", got)
	}
	got = s.execute(t, "clearbit-enrich-contact", "ap-p-3", portal, map[string]any{"email": "unknown@example.com"})
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "NOT_FOUND" || got["enriched"] != "false" {
		t.Errorf("clearbit-enrich-contact (unknown) = %v", got)
	}

	got = s.execute(t, "stripe-create-promotion-code", "ap-p-4", portal, map[string]any{
		"discount_type": "percent", "percent_off": "15", "duration": "once", "expires_in_days": "30", "max_redemptions": "1", "code_prefix": "spring"})
	if got["hs_execution_state"] != "SUCCESS" || !strings.HasPrefix(got["code"], "SPRING") || got["promotion_code_id"] == "" {
		t.Errorf("stripe-create-promotion-code = %v", got)
	}
	again := s.execute(t, "stripe-check-promotion-code", "ap-p-5", portal, map[string]any{"code": got["code"]})
	if again["hs_execution_state"] != "SUCCESS" || again["found"] != "true" || again["active"] != "true" || again["percent_off"] != "15" {
		t.Errorf("stripe-check-promotion-code(%s) = %v", got["code"], again)
	}
	got = s.execute(t, "stripe-create-promotion-code", "ap-p-6", portal, map[string]any{"discount_type": "amount", "amount_off": "10"})
	if got["error_code"] != "VALIDATION_FAILED" || !strings.Contains(got["error_message"], "currency") {
		t.Errorf("stripe-create-promotion-code without currency = %v", got)
	}

	// QuickBooks needs the portal's admin to connect a company first.
	got = s.execute(t, "quickbooks-find-or-create-customer", "ap-p-7", portal, map[string]any{"email": "o'hara@example.com", "display_name": "Pat O'Hara"})
	if got["error_code"] != "NOT_CONNECTED" || !strings.Contains(got["error_message"], "/settings") {
		t.Errorf("quickbooks before connecting = %v", got)
	}
	wc := signIn(t, s)
	follow := &http.Client{Jar: wc.hc.Jar}
	resp, err := follow.Get(s.URL + "/oauth/quickbooks/connect")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/settings" {
		t.Fatalf("QuickBooks connect landed on %s", resp.Request.URL)
	}
	got = s.execute(t, "quickbooks-find-or-create-customer", "ap-p-8", portal, map[string]any{"email": "o'hara@example.com", "display_name": "Pat O'Hara"})
	if got["hs_execution_state"] != "SUCCESS" || got["customer_id"] == "" || got["created"] != "true" {
		t.Errorf("quickbooks-find-or-create-customer = %v", got)
	}
	body, _ := json.Marshal(map[string]any{"origin": map[string]any{"portalId": portal}, "inputFieldName": "item_id", "fetchOptions": map[string]any{"q": "Onboard"}})
	status, b := s.post(t, "/hubspot/actions/quickbooks-create-invoice/options/item_id", body)
	if status != 200 || !strings.Contains(string(b), "Onboarding") {
		t.Errorf("item_id options = %d %s", status, b)
	}
	got = s.execute(t, "quickbooks-create-invoice", "ap-p-9", portal, map[string]any{
		"customer_email": "o'hara@example.com", "amount": "480", "item_id": "7", "description": "Onboarding", "due_in_days": "30", "send_email": "true"})
	if got["hs_execution_state"] != "SUCCESS" || got["invoice_id"] == "" || got["total_amount"] != "480" || got["email_status"] != "EmailSent" {
		t.Errorf("quickbooks-create-invoice = %v", got)
	}
}
