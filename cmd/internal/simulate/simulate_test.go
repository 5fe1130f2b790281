package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/sandbox"
	"hubspot-actions/cmd/internal/providers"
)

// freeAddr returns a loopback address that was free a moment ago, for a
// simulator and a server that must know it before either starts. It picks
// ports below Linux's ephemeral range (32768 and up), so the client side of
// some other test's connection cannot take the port in the meantime; this
// package's range (26000-32000) is its own, so packages tested in parallel do not
// pick each other's ports, and no port is handed out twice.
func freeAddr(t testing.TB) string {
	t.Helper()
	for range 200 {
		port := 26000 + rand.IntN(6000)
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
	t.Fatal("no free port between 26000 and 32000")
	return ""
}

// handedOut holds the ports freeAddr returned in this test binary.
var handedOut sync.Map

// testPortal is the portal the simulator plays by default in these tests.
const testPortal = 1000001

// simulate runs the simulator as `hubspot-actions simulate args…` does,
// with the sandbox and every provider's actions, signing with env's
// HUBSPOT_CLIENT_SECRET, and returns what it printed (stdout, then stderr).
func simulate(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	reg, err := providers.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	if err := sandbox.Register(reg); err != nil {
		t.Fatal(err)
	}
	secret := func() (string, string, error) {
		if s := env["HUBSPOT_CLIENT_SECRET"]; s != "" {
			return s, "HUBSPOT_CLIENT_SECRET", nil
		}
		return "", "", errors.New("no client secret")
	}
	var out, errb bytes.Buffer
	err = Command(context.Background(), args, reg, secret, testPortal, &out, &errb)
	return out.String() + errb.String(), err
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

type fakeBackend struct {
	t        *testing.T
	ts       *httptest.Server
	secret   string
	public   string // the URL signatures cover, when not the fake's own
	cbURL    string
	answer   func(attempt int, req map[string]any) (int, http.Header, string)
	complete int             // completions to send per execution before answering
	late     []time.Duration // delays after answering of the completions sent then

	pending  sync.WaitGroup // late completions in flight
	mu       sync.Mutex
	attempts map[string]int
	bodies   map[string][]string
}

func newFakeBackend(t *testing.T, cbAddr string, answer func(attempt int, req map[string]any) (int, http.Header, string)) *fakeBackend {
	t.Helper()
	f := &fakeBackend{t: t, secret: "fake-secret-xyz", cbURL: "http://" + cbAddr, answer: answer, attempts: map[string]int{}, bodies: map[string][]string{}}
	f.ts = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.ts.Close)
	t.Cleanup(f.pending.Wait) // runs first: no completion outlives the test
	return f
}

func (f *fakeBackend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	public := f.ts.URL
	if f.public != "" {
		public = f.public
	}
	if err := actions.CheckSignature(f.secret, r.Header, r.Method, public+r.URL.RequestURI(), body, time.Now()); err != nil {
		f.t.Errorf("fake backend: %s %s: %v", r.Method, r.URL.Path, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("fake backend: body: %v", err)
	}
	cb, _ := req["callbackId"].(string)
	f.mu.Lock()
	f.attempts[cb]++
	attempt := f.attempts[cb]
	f.bodies[cb] = append(f.bodies[cb], string(body))
	f.mu.Unlock()
	for range f.complete {
		f.completeCallback(cb)
	}
	status, h, answer := f.answer(attempt, req)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, answer)
	for _, d := range f.late {
		f.pending.Go(func() {
			time.Sleep(d)
			f.completeCallback(cb)
		})
	}
}

func (f *fakeBackend) completeCallback(cb string) {
	req, _ := http.NewRequest(http.MethodPost, f.cbURL+"/automation/actions/callbacks/2026-03/"+cb+"/complete",
		strings.NewReader(`{"outputFields":{"hs_execution_state":"SUCCESS"},"typedOutputs":{}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", fmt.Sprintf("Bearer sandbox-%d", testPortal))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Errorf("fake backend: complete %s: %v", cb, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		f.t.Errorf("fake backend: complete %s = %d", cb, resp.StatusCode)
	}
}

func (f *fakeBackend) env() map[string]string {
	return map[string]string{"HUBSPOT_CLIENT_SECRET": f.secret}
}

const success = `{"outputFields":{"hs_execution_state":"SUCCESS"}}`
const block = `{"outputFields":{"hs_execution_state":"BLOCK","hs_expiration_duration":"PT1H"}}`

func TestSimulateLoadDetectsDoubleAndLostOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answer   string
		complete int
		late     []time.Duration
		settle   string
		wantErr  string
		want     []string
	}{
		{"inline answer and a completion", success, 1, nil, "200ms", "0 executions lost, 20 completed twice",
			[]string{"Completed twice: 20", "completed twice, for example: ap-", "(answered SUCCESS, 1 completions)"}},
		{"two completions", block, 2, nil, "200ms", "0 executions lost, 20 completed twice", []string{"Completed twice: 20", "(answered BLOCK, 2 completions)"}},
		// The first completion ends the wait; the duplicate comes during
		// the settle, which must still be listening.
		{"a duplicate completion after the BLOCK answer", block, 0, []time.Duration{20 * time.Millisecond, 400 * time.Millisecond}, "1500ms",
			"0 executions lost, 20 completed twice", []string{"Completed twice: 20", "(answered BLOCK, 2 completions)", "Listened 1.5s more for duplicate completions: "}},
		{"blocked and never completed", block, 0, nil, "200ms", "20 executions lost, 0 completed twice",
			[]string{"Lost: 20", "answered BLOCK, never completed"}},
		{"all well", block, 1, nil, "200ms", "", []string{"Lost: 0   Completed twice: 0", "Final states:\n  SUCCESS "}},
		{"all well, completed after the answer", block, 0, []time.Duration{20 * time.Millisecond}, "200ms", "",
			[]string{"Lost: 0   Completed twice: 0", "Final states:\n  SUCCESS ", "Listened 200ms more for duplicate completions: 0 arrived"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cbAddr := freeAddr(t)
			f := newFakeBackend(t, cbAddr, func(int, map[string]any) (int, http.Header, string) { return 200, nil, tt.answer })
			f.complete, f.late = tt.complete, tt.late
			out, err := simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", cbAddr, "--wait", "5s", "--settle", tt.settle,
				"--action", "sandbox-echo", "--input", "message=hi", "--load", "20", "--concurrency", "4")
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("simulate --load = %v, want %q\n%s", err, tt.wantErr, out)
			}
			wantLines(t, out, tt.want...)
		})
	}
}

// TestSimulateLoadSpreadsOverReplicas plays HubSpot behind a load balancer
// in front of two replicas: executions alternate between them, a retry
// goes to the other one, signatures cover the shared public URL, and lost
// and doubled outcomes are counted over both, whichever replica sent the
// completion.
func TestSimulateLoadSpreadsOverReplicas(t *testing.T) {
	t.Parallel()
	const public = "https://actions.example.test"
	replicas := func(t *testing.T, cbAddr string, a, b func(attempt int, req map[string]any) (int, http.Header, string)) (*fakeBackend, *fakeBackend) {
		t.Helper()
		fa, fb := newFakeBackend(t, cbAddr, a), newFakeBackend(t, cbAddr, b)
		fa.public, fb.public = public, public
		return fa, fb
	}
	callbackIDs := func(f *fakeBackend) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.attempts)
	}
	t.Run("each replica gets half, one answers inline, the other BLOCKs", func(t *testing.T) {
		t.Parallel()
		cbAddr := freeAddr(t)
		fa, fb := replicas(t, cbAddr,
			func(int, map[string]any) (int, http.Header, string) { return 200, nil, success },
			func(int, map[string]any) (int, http.Header, string) { return 200, nil, block })
		fb.late = []time.Duration{20 * time.Millisecond}
		out, err := simulate(t, fa.env(), "--url", fa.ts.URL, "--url", fb.ts.URL+"/", "--public-url", public, "--callback-addr", cbAddr,
			"--wait", "5s", "--settle", "200ms", "--action", "sandbox-echo", "--input", "message=hi", "--load", "20", "--concurrency", "4")
		if err != nil {
			t.Fatalf("simulate --load over two replicas: %v\n%s", err, out)
		}
		if a, b := callbackIDs(fa), callbackIDs(fb); a != 10 || b != 10 {
			t.Errorf("replicas got %d and %d executions, want 10 each", a, b)
		}
		wantLines(t, out, "against 2 replicas ("+fa.ts.URL+", "+fb.ts.URL+")", "(10 final inline, 10 BLOCK;",
			"Answered by replica 1 ("+fa.ts.URL+"): 10", "Answered by replica 2 ("+fb.ts.URL+"): 10", "Lost: 0   Completed twice: 0")
		wantState(t, out, "SUCCESS", 20)
	})
	t.Run("a retry on the other replica that completes again is doubled", func(t *testing.T) {
		t.Parallel()
		cbAddr := freeAddr(t)
		// Replica 1 completes each execution, then fails its answer; the
		// retry goes to replica 2, which does the work again.
		fa, fb := replicas(t, cbAddr,
			func(int, map[string]any) (int, http.Header, string) {
				return http.StatusBadGateway, http.Header{"Retry-After": {"0"}}, ""
			},
			func(int, map[string]any) (int, http.Header, string) { return 200, nil, block })
		fa.complete = 1
		fb.late = []time.Duration{20 * time.Millisecond}
		out, err := simulate(t, fa.env(), "--url", fa.ts.URL+","+fb.ts.URL, "--public-url", public, "--callback-addr", cbAddr,
			"--wait", "5s", "--settle", "300ms", "--action", "sandbox-echo", "--input", "message=hi", "--load", "20", "--concurrency", "4")
		if want := "0 executions lost, 10 completed twice"; err == nil || err.Error() != want {
			t.Errorf("simulate --load = %v, want %q\n%s", err, want, out)
		}
		if a, b := callbackIDs(fa), callbackIDs(fb); a != 10 || b != 20 {
			t.Errorf("replicas saw %d and %d callbackIds, want 10 (first attempts) and 20 (10 first attempts, 10 retries)", a, b)
		}
		wantLines(t, out, "10 retried attempts", "Answered by replica 1 ("+fa.ts.URL+"): 0", "Answered by replica 2 ("+fb.ts.URL+"): 20",
			"Completed twice: 10", "(answered BLOCK, 2 completions)")
	})
	t.Run("several URLs need the shared public URL", func(t *testing.T) {
		t.Parallel()
		out, err := simulate(t, map[string]string{"HUBSPOT_CLIENT_SECRET": "s"}, "--url", "http://127.0.0.1:1,http://127.0.0.1:2",
			"--callback-addr", "", "--action", "sandbox-echo", "--load", "2")
		if err == nil || !strings.Contains(err.Error(), "with several --url, --public-url is required") {
			t.Errorf("simulate with two URLs and no --public-url = %v\n%s", err, out)
		}
	})
	t.Run("an empty URL in the list", func(t *testing.T) {
		t.Parallel()
		out, err := simulate(t, map[string]string{"HUBSPOT_CLIENT_SECRET": "s"}, "--url", "http://127.0.0.1:1,,http://127.0.0.1:2",
			"--callback-addr", "", "--action", "sandbox-echo")
		if !errors.Is(err, ErrUsage) || !strings.Contains(out, "holds an empty URL") {
			t.Errorf("simulate --url with an empty element = %v\n%s", err, out)
		}
	})
}

// TestSimulateFailsOnRejections: a 4xx answer is not an outcome to report
// and move on from; with a wrong secret every execution is rejected, and
// simulate must exit non-zero, in a single run and under load.
func TestSimulateFailsOnRejections(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			f := newFakeBackend(t, "127.0.0.1:1", func(int, map[string]any) (int, http.Header, string) { return status, nil, `{"message":"no"}` })
			out, err := simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", "", "--action", "sandbox-echo", "--input", "message=hi")
			if want := fmt.Sprintf("the backend rejected the execution with HTTP %d", status); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("simulate = %v, want an error containing %q\n%s", err, want, out)
			}
			wantLines(t, out, fmt.Sprintf("Final state: FAILED (HTTP %d)", status))
		})
	}
	t.Run("load", func(t *testing.T) {
		t.Parallel()
		f := newFakeBackend(t, "127.0.0.1:1", func(attempt int, req map[string]any) (int, http.Header, string) {
			if strings.HasSuffix(req["callbackId"].(string), "7-0") {
				return http.StatusRequestEntityTooLarge, nil, ""
			}
			return http.StatusUnauthorized, nil, `{"message":"invalid signature"}`
		})
		out, err := simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", "", "--action", "sandbox-echo", "--input", "message=hi", "--load", "20", "--concurrency", "4")
		if want := "20 executions rejected with HTTP 401 ×18, HTTP 413 ×2"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("simulate --load = %v, want an error containing %q\n%s", err, want, out)
		}
		wantLines(t, out, "Rejected: 20 (HTTP 401 ×18, HTTP 413 ×2)", "Lost: 0")
		wantState(t, out, "FAILED (HTTP 401)", 18)
	})
}

// TestSimulateWrongSecretAgainstSandbox plays HubSpot with a secret the
// sandbox does not have: the real signature check answers 401.
func TestSimulateRetriesLikeHubSpot(t *testing.T) {
	t.Parallel()
	answer := func(attempt int, _ map[string]any) (int, http.Header, string) {
		switch attempt {
		case 1:
			return http.StatusServiceUnavailable, http.Header{"Retry-After": {"0"}}, `{"error":"busy"}`
		case 2:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, `{"error":"slow down"}`
		}
		return 200, nil, `{"outputFields":{"hs_execution_state":"SUCCESS","echo":"hi"}}`
	}
	for _, sig := range []string{"v2", "v3"} {
		t.Run(sig, func(t *testing.T) {
			t.Parallel()
			f := newFakeBackend(t, "127.0.0.1:1", answer)
			start := time.Now()
			out, err := simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", "", "--signature", sig,
				"--action", "sandbox-echo", "--input", "message=hi", "--callback-id", "ap-1-2-3-0")
			if err != nil {
				t.Fatalf("simulate: %v\n%s", err, out)
			}
			if time.Since(start) < time.Second {
				t.Errorf("Retry-After: 1 was not honoured (took %s)", time.Since(start))
			}
			wantLines(t, out, "attempt 1: HTTP 503; HubSpot retries", "attempt 2: HTTP 429; HubSpot retries in 1s", "after 3 attempts: SUCCESS")
			f.mu.Lock()
			defer f.mu.Unlock()
			if b := f.bodies["ap-1-2-3-0"]; len(b) != 3 || b[0] != b[1] || b[1] != b[2] {
				t.Errorf("retries did not resend the same body: %q", b)
			}
		})
	}
	t.Run("load counts retries", func(t *testing.T) {
		t.Parallel()
		f := newFakeBackend(t, "127.0.0.1:1", func(attempt int, req map[string]any) (int, http.Header, string) {
			if attempt == 1 {
				return http.StatusBadGateway, http.Header{"Retry-After": {"0"}}, ""
			}
			return 200, nil, success
		})
		out, err := simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", "", "--action", "sandbox-echo", "--input", "message=hi", "--load", "30", "--concurrency", "5")
		if err != nil {
			t.Fatalf("simulate: %v\n%s", err, out)
		}
		wantLines(t, out, "30 final inline, 0 BLOCK; 30 retried attempts; 0 without an answer", "Lost: 0")
	})
	t.Run("gives up", func(t *testing.T) {
		t.Parallel()
		f := newFakeBackend(t, "127.0.0.1:1", func(int, map[string]any) (int, http.Header, string) {
			return http.StatusInternalServerError, http.Header{"Retry-After": {"0"}}, ""
		})
		out, err := simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", "", "--action", "sandbox-echo", "--input", "message=hi", "--max-attempts", "2")
		if err == nil || !strings.Contains(err.Error(), "no answer after 2 attempts: HTTP 500") {
			t.Errorf("simulate against a failing backend = %v\n%s", err, out)
		}
	})
}

func TestSimulateBuildsTheRequestFromFileFlagsAndCRM(t *testing.T) {
	t.Parallel()
	cbAddr := freeAddr(t)
	var got map[string]any
	var crmSeen string
	var f *fakeBackend
	f = newFakeBackend(t, cbAddr, func(_ int, req map[string]any) (int, http.Header, string) {
		got = req
		// The backend reads the deal's contact from the local HubSpot.
		r, _ := http.NewRequest(http.MethodGet, f.cbURL+"/crm/objects/2026-03/deals/501?associations=contacts", nil)
		r.Header.Set("Authorization", "Bearer sandbox-42")
		resp, err := http.DefaultClient.Do(r)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			crmSeen = string(b)
		}
		return 200, nil, success
	})
	dir := t.TempDir()
	reqFile := filepath.Join(dir, "request.json")
	os.WriteFile(reqFile, []byte(`{
		"callbackId": "ap-42-9-9-0",
		"origin": {"portalId": 42, "actionDefinitionId": 7, "actionDefinitionVersion": 3},
		"context": {"source": "WORKFLOWS", "workflowId": 99},
		"object": {"objectId": "501", "objectType": "DEAL"},
		"inputFields": {"amount": "10", "item_id": "3"}
	}`), 0o644)
	crm := filepath.Join(dir, "crm.json")
	os.WriteFile(crm, []byte(`{"objects":[{"portal":42,"type":"deals","id":"501","properties":{"dealname":"Big deal","amount":"900"}},{"portal":42,"type":"contacts","id":"601","properties":{"email":"pat@example.com"}}],"associations":[{"portal":42,"from":"deals/501","to":"contacts/601"}]}`), 0o644)

	out, err := simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", cbAddr, "--request", reqFile, "--crm", crm,
		"--action", "quickbooks-create-invoice", "--input", "amount=1200", "--property", "pipeline=default")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	want := map[string]any{
		"callbackId":  "ap-42-9-9-0",
		"origin":      map[string]any{"portalId": 42.0, "actionDefinitionId": 7.0, "actionDefinitionVersion": 3.0, "extensionDefinitionId": 7.0, "extensionDefinitionVersionId": 3.0},
		"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 99.0, "actionId": 1.0},
		"object":      map[string]any{"objectId": "501", "objectType": "DEAL", "properties": map[string]any{"dealname": "Big deal", "pipeline": "default"}},
		"inputFields": map[string]any{"amount": "1200", "item_id": "3"},
		"fields":      map[string]any{"amount": "1200", "item_id": "3"},
	}
	if g, w := mustJSONText(t, got), mustJSONText(t, want); g != w {
		t.Errorf("request body =\n%s\nwant\n%s", g, w)
	}
	if !strings.Contains(crmSeen, `"contacts":{"results":[{"id":"601"`) {
		t.Errorf("CRM read of the deal = %s", crmSeen)
	}
}

func mustJSONText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSimulateOptions(t *testing.T) {
	t.Parallel()
	var f *fakeBackend
	f = newFakeBackend(t, "127.0.0.1:1", func(_ int, req map[string]any) (int, http.Header, string) {
		want := `{"fetchOptions":{"after":"c1","q":"con"},"inputFieldName":"item_id","inputFields":{"amount":{"type":"STATIC_VALUE","value":"5"}},"objectTypeId":"0-3","origin":{"actionDefinitionId":` +
			fmt.Sprint(definitionID("quickbooks-create-invoice")) + `,"actionDefinitionVersion":1,"portalId":1000001}}`
		if b, _ := json.Marshal(req); string(b) != want {
			f.t.Errorf("options request = %s\nwant %s", b, want)
		}
		return 200, nil, `{"options":[{"label":"Consulting","value":"7","description":"Hourly"}],"after":"c2","searchable":true}`
	})
	out, err := simulate(t, f.env(), "--url", f.ts.URL, "--action", "quickbooks-create-invoice", "--options", "item_id", "--q", "con", "--after", "c1", "--input", "amount=5")
	if err != nil {
		t.Fatalf("simulate --options: %v\n%s", err, out)
	}
	wantLines(t, out, `Options of Product or service (item_id) for quickbooks-create-invoice, search "con", after "c1": 1`,
		"  7            Consulting — Hourly", "More: --after c2", "Searchable: yes")
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.attempts) != 1 {
		t.Errorf("options requests = %v", f.attempts)
	}
}
