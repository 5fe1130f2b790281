package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/hubspot"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// probe is a test-only action whose behaviour its inputs choose, and which
// counts its side effects per callbackId.
type probe struct {
	mu    sync.Mutex
	runs  map[string]int
	gates map[string]chan struct{}
}

type probeIn struct {
	Message string  `json:"message" validate:"required,max=40"`
	DelayMS int     `json:"delay_ms" validate:"gte=0,lte=60000"`
	Fail    string  `json:"fail"`
	Flaky   int     `json:"flaky" validate:"gte=0"`
	Pending int     `json:"pending" validate:"gte=0"`
	AfterMS int     `json:"pending_after_ms" validate:"gte=0"`
	Amount  float64 `json:"amount" validate:"gte=0"`
	Loud    bool    `json:"loud"`
	Gate    string  `json:"gate"`
}

type probeOut struct {
	Echo    string  `json:"echo"`
	Attempt int     `json:"attempt"`
	Amount  float64 `json:"amount"`
	Loud    bool    `json:"loud"`
}

func newProbe() *probe {
	return &probe{runs: map[string]int{}, gates: map[string]chan struct{}{}}
}

func (p *probe) register(r *actions.Registry) {
	actions.MustRegister(r, actions.Spec[probeIn, probeOut]{
		Key:         "probe",
		Name:        "Probe",
		Description: "Test action",
		CardContent: "Probe {{message}}",
		ObjectTypes: []string{"CONTACT"},
		Errors:      map[actions.Code]string{actions.CodeNotFound: "fail asked for NOT_FOUND."},
		Inputs: []actions.InputField{
			{Name: "message", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Message", Required: true},
			{Name: "delay_ms", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Delay"},
			{Name: "fail", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Fail with"},
			{Name: "flaky", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Transient failures"},
			{Name: "pending", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Pending answers"},
			{Name: "pending_after_ms", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Ask again after"},
			{Name: "amount", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Amount"},
			{Name: "loud", Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Loud"},
			{Name: "gate", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Gate", Dynamic: true},
		},
		Outputs: []actions.OutputField{
			{Name: "echo", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Echo"},
			{Name: "attempt", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Attempt"},
			{Name: "amount", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Amount"},
			{Name: "loud", Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Loud"},
		},
		FailOutputs: map[string]string{"echo": "-"},
		Run:         p.run,
		Options: map[string]actions.OptionsFunc{
			"gate": func(ctx context.Context, req *actions.OptionsRequest) (actions.OptionsPage, error) {
				var all []actions.Option
				for i := range 25 {
					all = append(all, actions.Option{Label: fmt.Sprintf("Gate %02d", i), Value: fmt.Sprint(i)})
				}
				if req.FetchOptions.Q != "" {
					var hits []actions.Option
					for _, o := range all {
						if strings.Contains(o.Label, req.FetchOptions.Q) {
							hits = append(hits, o)
						}
					}
					return actions.OptionsPage{Options: hits, Searchable: true}, nil
				}
				start := 0
				fmt.Sscan(req.FetchOptions.After, &start)
				end := min(start+10, len(all))
				page := actions.OptionsPage{Options: all[start:end], Searchable: true}
				if end < len(all) {
					page.After = fmt.Sprint(end)
				}
				return page, nil
			},
		},
	})
}

// hold makes runs of callbackID wait until release is called.
func (p *probe) hold(callbackID string) (release func()) {
	ch := make(chan struct{})
	p.mu.Lock()
	p.gates[callbackID] = ch
	p.mu.Unlock()
	return func() { close(ch) }
}

func (p *probe) run(ctx context.Context, ex *actions.Execution, in probeIn) (probeOut, error) {
	p.mu.Lock()
	p.runs[ex.CallbackID]++
	n := p.runs[ex.CallbackID]
	gate := p.gates[ex.CallbackID]
	p.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if in.DelayMS > 0 {
		time.Sleep(time.Duration(in.DelayMS) * time.Millisecond)
	}
	if n <= in.Pending {
		after := 20 * time.Millisecond
		if in.AfterMS > 0 {
			after = time.Duration(in.AfterMS) * time.Millisecond
		}
		return probeOut{}, actions.Pending(after, "not ready")
	}
	if n <= in.Pending+in.Flaky {
		return probeOut{}, &upstream.APIError{Status: http.StatusServiceUnavailable, RetryAfter: 20 * time.Millisecond}
	}
	switch in.Fail {
	case "":
	case "panic":
		panic("probe asked to panic")
	case "internal":
		return probeOut{}, errors.New("some bug")
	case "rate":
		return probeOut{}, &upstream.APIError{Status: http.StatusTooManyRequests, RetryAfter: 10 * time.Millisecond}
	default:
		return probeOut{Echo: "partial"}, actions.Fail(actions.Code(in.Fail), "probe failed as asked")
	}
	msg := in.Message
	if in.Loud {
		msg = strings.ToUpper(msg)
	}
	return probeOut{Echo: msg, Attempt: ex.Attempt, Amount: in.Amount, Loud: in.Loud}, nil
}

func (p *probe) count(callbackID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runs[callbackID]
}

func newHarness(t *testing.T, cfg actions.Config) (*actionstest.Harness, *probe) {
	t.Helper()
	p := newProbe()
	if cfg.InlineBudget == 0 {
		cfg.InlineBudget = 2 * time.Second
	}
	h := actionstest.New(t, p.register, actionstest.Options{Config: cfg})
	return h, p
}

func TestExecuteInline(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{})
	req := actionstest.NewRequest(7000001, "CONTACT", map[string]any{"message": "hello", "amount": "12.50", "loud": "true"}, nil)
	got := h.Execute(t, "probe", req)
	want := map[string]string{
		"hs_execution_state": "SUCCESS", "echo": "HELLO", "attempt": "1", "amount": "12.5", "loud": "true",
		"error_code": "", "error_message": "", "test_mode": "false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Execute() mismatch (-want +got):\n%s", diff)
	}
	e, err := h.DB.GetExecution(context.Background(), req.CallbackID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Exec != store.ExecAnswered || e.FinalState != "SUCCESS" || e.PortalID != 7000001 || e.Action != "probe" {
		t.Errorf("ledger row = %+v, want done/inline/SUCCESS", e)
	}
	if p.count(req.CallbackID) != 1 {
		t.Errorf("runs = %d, want 1", p.count(req.CallbackID))
	}
}

func TestExecuteFailures(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{MaxAttempts: 2})
	tests := []struct {
		name      string
		inputs    map[string]any
		code      string
		message   string // prefix of error_message
		echo      string
		ranAction bool
	}{
		{"missing required input", map[string]any{}, "VALIDATION_FAILED", "message: is required", "-", false},
		{"too long", map[string]any{"message": strings.Repeat("x", 41)}, "VALIDATION_FAILED", "message: must be at most 40 characters long", "-", false},
		{"not a number", map[string]any{"message": "m", "delay_ms": "soon"}, "VALIDATION_FAILED", `delay_ms: must be a number, not "soon"`, "-", false},
		{"negative", map[string]any{"message": "m", "amount": -1}, "VALIDATION_FAILED", "amount: must be at least 0", "-", false},
		{"action error keeps its outputs", map[string]any{"message": "m", "fail": "NOT_FOUND"}, "NOT_FOUND", "probe failed as asked", "partial", true},
		{"panic", map[string]any{"message": "m", "fail": "panic"}, "INTERNAL_ERROR", "An unexpected error occurred in the app.", "-", true},
		{"unclassified error", map[string]any{"message": "m", "fail": "internal"}, "INTERNAL_ERROR", "An unexpected error occurred in the app.", "-", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := actionstest.NewRequest(7000001, "CONTACT", tt.inputs, nil)
			got := h.Execute(t, "probe", req)
			if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != tt.code {
				t.Fatalf("Execute() = %v, want FAIL_CONTINUE %s", got, tt.code)
			}
			if !strings.HasPrefix(got["error_message"], tt.message) || !strings.Contains(got["error_message"], "(ref EX-") {
				t.Errorf("error_message = %q, want %q… with a reference", got["error_message"], tt.message)
			}
			if got["echo"] != tt.echo {
				t.Errorf("echo = %q, want %q", got["echo"], tt.echo)
			}
			if _, ok := got["attempt"]; !ok {
				t.Errorf("outputs %v lack a declared output", got)
			}
			if ran := p.count(req.CallbackID) > 0; ran != tt.ranAction {
				t.Errorf("action ran = %v, want %v", ran, tt.ranAction)
			}
		})
	}
}

func TestRepeatedDeliveryRunsOnce(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{})
	req := actionstest.NewRequest(7000001, "CONTACT", map[string]any{"message": "once"}, nil)
	first := h.Execute(t, "probe", req)
	for range 3 {
		if again := h.Execute(t, "probe", req); !cmp.Equal(first, again) {
			t.Errorf("repeated answer = %v, want %v", again, first)
		}
	}
	if n := p.count(req.CallbackID); n != 1 {
		t.Errorf("runs = %d, want 1", n)
	}
}

func TestConcurrentDeliveriesRunOnce(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{InlineBudget: time.Second})
	req := actionstest.NewRequest(7000001, "CONTACT", map[string]any{"message": "race", "delay_ms": 100}, nil)
	var wg sync.WaitGroup
	answers := make([]map[string]string, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = h.Execute(t, "probe", req)
		}()
	}
	wg.Wait()
	if n := p.count(req.CallbackID); n != 1 {
		t.Fatalf("runs = %d, want 1", n)
	}
	blocked := 0
	for _, a := range answers {
		switch a["hs_execution_state"] {
		case "BLOCK":
			blocked++
		case "SUCCESS":
			if a["echo"] != "race" {
				t.Errorf("answer = %v", a)
			}
		default:
			t.Errorf("answer = %v, want SUCCESS or BLOCK", a)
		}
	}
	if blocked > 0 {
		// Once anyone was told BLOCK, the outcome must come by callback,
		// once, and nobody may have been answered inline.
		got := h.HubSpot.Wait(t, req.CallbackID, 10*time.Second)
		if got["hs_execution_state"] != "SUCCESS" || got["echo"] != "race" {
			t.Errorf("completion = %v", got)
		}
		if blocked != len(answers) {
			t.Errorf("%d of %d deliveries answered BLOCK; the rest were answered inline as well as by callback", blocked, len(answers))
		}
	}
	time.Sleep(300 * time.Millisecond)
	if c := h.HubSpot.Completions(req.CallbackID); len(c) > 1 || (blocked == 0 && len(c) != 0) {
		t.Errorf("completions = %d (blocked answers %d)", len(c), blocked)
	}
}

func TestSlowActionBlocksThenCompletes(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{InlineBudget: 50 * time.Millisecond})
	req := actionstest.NewRequest(7000002, "CONTACT", map[string]any{"message": "slow", "delay_ms": 300, "amount": 3}, nil)
	got := h.Execute(t, "probe", req)
	if got["hs_execution_state"] != "BLOCK" || got["hs_expiration_duration"] != "P1D" {
		t.Fatalf("Execute() = %v, want BLOCK for P1D", got)
	}
	done := h.HubSpot.Wait(t, req.CallbackID, 10*time.Second)
	want := map[string]string{"hs_execution_state": "SUCCESS", "echo": "slow", "attempt": "1", "amount": "3", "loud": "false", "error_code": "", "error_message": "", "test_mode": "false"}
	if diff := cmp.Diff(want, done); diff != "" {
		t.Errorf("completion mismatch (-want +got):\n%s", diff)
	}
	// A repeated delivery now gets BLOCK again, not a second answer.
	if again := h.Execute(t, "probe", req); again["hs_execution_state"] != "BLOCK" {
		t.Errorf("repeat after callback = %v, want BLOCK", again)
	}
	if n := p.count(req.CallbackID); n != 1 {
		t.Errorf("runs = %d, want 1", n)
	}
	waitDelivered(t, h, req.CallbackID)
}

func waitDelivered(t *testing.T, h *actionstest.Harness, callbackID string) store.Execution {
	t.Helper()
	for range 200 {
		e, err := h.DB.GetExecution(context.Background(), callbackID)
		if err != nil {
			t.Fatal(err)
		}
		if !e.DeliveredAt.IsZero() || e.DeliveryError != "" {
			return e
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never settled its delivery", callbackID)
	return store.Execution{}
}

// TestBudgetBoundary runs executions that finish right as the inline budget
// runs out: each outcome must reach HubSpot exactly one way.
func TestBudgetBoundary(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{InlineBudget: 15 * time.Millisecond})
	const n = 60
	inline := map[string]map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var reqs []actions.Request
	for i := range n {
		req := actionstest.NewRequest(7000003, "CONTACT", map[string]any{"message": fmt.Sprint("m", i), "delay_ms": 10 + i%10}, nil)
		reqs = append(reqs, req)
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := h.Execute(t, "probe", req)
			mu.Lock()
			defer mu.Unlock()
			if got["hs_execution_state"] != "BLOCK" {
				inline[req.CallbackID] = got
			}
		}()
	}
	wg.Wait()
	for _, req := range reqs {
		e := func() store.Execution {
			for range 400 {
				e, _ := h.DB.GetExecution(context.Background(), req.CallbackID)
				if !e.Exec.Live() && (e.Exec.Delivery() == store.DeliveryInline || !e.DeliveredAt.IsZero()) {
					return e
				}
				time.Sleep(25 * time.Millisecond)
			}
			t.Fatalf("%s not settled", req.CallbackID)
			return store.Execution{}
		}()
		_, wasInline := inline[req.CallbackID]
		completions := h.HubSpot.Completions(req.CallbackID)
		switch {
		case wasInline && len(completions) != 0:
			t.Errorf("%s answered inline and completed by callback", req.CallbackID)
		case !wasInline && len(completions) != 1:
			t.Errorf("%s answered BLOCK and completed %d times", req.CallbackID, len(completions))
		case wasInline != (e.Exec.Delivery() == store.DeliveryInline):
			t.Errorf("%s: ledger delivery %q disagrees with the answer", req.CallbackID, e.Exec.Delivery())
		}
	}
	t.Logf("%d of %d answered inline", len(inline), n)
}

func TestPendingAndTransientRetries(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{MaxAttempts: 5})
	tests := []struct {
		name   string
		inputs map[string]any
		state  string
		code   string
		runs   int
	}{
		{"pending then ready", map[string]any{"message": "p", "pending": 2}, "SUCCESS", "", 3},
		{"transient then ok", map[string]any{"message": "f", "flaky": 2}, "SUCCESS", "", 3},
		{"pending then transient then ok", map[string]any{"message": "pf", "pending": 1, "flaky": 1}, "SUCCESS", "", 3},
		{"rate limited until retries run out", map[string]any{"message": "r", "fail": "rate"}, "FAIL_CONTINUE", "RATE_LIMITED", 5},
		{"unavailable until retries run out", map[string]any{"message": "u", "flaky": 99}, "FAIL_CONTINUE", "UPSTREAM_UNAVAILABLE", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := actionstest.NewRequest(7000004, "CONTACT", tt.inputs, nil)
			got := h.Execute(t, "probe", req)
			if got["hs_execution_state"] != "BLOCK" {
				t.Fatalf("Execute() = %v, want BLOCK", got)
			}
			done := h.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
			if done["hs_execution_state"] != tt.state || done["error_code"] != tt.code {
				t.Errorf("completion = %v, want %s %s", done, tt.state, tt.code)
			}
			if tt.state == "SUCCESS" && done["attempt"] != fmt.Sprint(tt.runs) {
				t.Errorf("attempt output = %s, want %d", done["attempt"], tt.runs)
			}
			if n := p.count(req.CallbackID); n != tt.runs {
				t.Errorf("runs = %d, want %d", n, tt.runs)
			}
		})
	}
}

func TestNotConnectedPortalFailsAtOnce(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{})
	h.HubSpot.SetNotConnected(7000009)
	req := actionstest.NewRequest(7000009, "CONTACT", map[string]any{"message": "m"}, nil)
	got := h.Execute(t, "probe", req)
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "NOT_CONNECTED" || !strings.Contains(got["error_message"], "reinstall") {
		t.Errorf("Execute() = %v, want FAIL_CONTINUE NOT_CONNECTED telling to reinstall", got)
	}
	if p.count(req.CallbackID) != 0 {
		t.Errorf("action ran for a portal that must reinstall")
	}
}

func TestCallbackDeliveryRetriesAndBatches(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{InlineBudget: 5 * time.Millisecond})
	var mu sync.Mutex
	failures := 2
	h.HubSpot.SetFail(func(batch []hubspot.Completion) error {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return &upstream.APIError{Status: http.StatusTooManyRequests, RetryAfter: 50 * time.Millisecond}
		}
		return nil
	})
	const n = 150
	var reqs []actions.Request
	var wg sync.WaitGroup
	var inline sync.Map
	for i := range n {
		req := actionstest.NewRequest(7000005, "CONTACT", map[string]any{"message": fmt.Sprint("b", i), "delay_ms": 30}, nil)
		reqs = append(reqs, req)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Under load the outcome may be recorded before the BLOCK is:
			// then it is answered inline, and must not be completed too.
			if got := h.Execute(t, "probe", req); got["hs_execution_state"] != "BLOCK" {
				inline.Store(req.CallbackID, true)
			}
		}()
	}
	wg.Wait()
	blocked := 0
	for _, req := range reqs {
		if _, ok := inline.Load(req.CallbackID); ok {
			continue
		}
		blocked++
		got := h.HubSpot.Wait(t, req.CallbackID, 30*time.Second)
		if got["hs_execution_state"] != "SUCCESS" {
			t.Errorf("completion %v", got)
		}
	}
	completed, dup := h.HubSpot.Count()
	if completed != blocked || dup != 0 {
		t.Errorf("completed %d (duplicated %d), want the %d BLOCKed ones exactly once", completed, dup, blocked)
	}
	sizes := h.HubSpot.BatchSizes()
	largest := 0
	for _, s := range sizes {
		if s > 100 {
			t.Errorf("batch of %d, want at most 100", s)
		}
		largest = max(largest, s)
	}
	if largest < 2 {
		t.Errorf("batch sizes %v: outcomes were never batched", sizes)
	}
}

// TestDeliveryToPortalThatMustReinstall: a portal whose token HubSpot no
// longer accepts may still be reinstalled while HubSpot waits, so delivery
// goes on until the wait would run out, and then records why it stopped.
func TestDeliveryToPortalThatMustReinstall(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{InlineBudget: 5 * time.Millisecond, BlockExpiry: 2 * time.Minute})
	h.HubSpot.SetFail(func([]hubspot.Completion) error { return fmt.Errorf("refresh: %w", oauth.ErrNotConnected) })
	req := actionstest.NewRequest(7000006, "CONTACT", map[string]any{"message": "m", "delay_ms": 50}, nil)
	if got := h.Execute(t, "probe", req); got["hs_execution_state"] != "BLOCK" {
		t.Fatalf("Execute() = %v", got)
	}
	e := waitDelivered(t, h, req.CallbackID)
	if e.DeliveryError == "" || !strings.Contains(e.DeliveryError, "reinstall") {
		t.Errorf("delivery error = %q, want it to say the app must be reinstalled", e.DeliveryError)
	}
	// If HubSpot asks again for an execution whose callback failed, the
	// outcome goes in the answer instead of another BLOCK nobody will end.
	if got := h.Execute(t, "probe", req); got["hs_execution_state"] != "SUCCESS" || got["echo"] != "m" {
		t.Errorf("HubSpot's retry after a failed callback = %v, want the outcome", got)
	}
}

// TestRecoveryOfDeadRuns plants ledger rows that a killed process would
// leave and checks that they are finished exactly once.
func TestRecoveryOfDeadRuns(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{RecoveryGrace: 50 * time.Millisecond})
	ctx := context.Background()
	plant := func(message string, blocked bool) actions.Request {
		req := actionstest.NewRequest(7000007, "CONTACT", map[string]any{"message": message}, nil)
		body, _ := json.Marshal(req)
		past := time.Now().Add(-time.Hour)
		err := h.DB.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertExecution(ctx, store.NewExecution{
				CallbackID: req.CallbackID, Ref: "EX-TEST", PortalID: 7000007, Action: "probe", Request: string(body),
				LeaseUntil: past, Blocked: blocked, ExpiresAt: time.Now().Add(time.Hour),
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	blocked := plant("was blocked", true)
	got := h.HubSpot.Wait(t, blocked.CallbackID, 20*time.Second)
	if got["hs_execution_state"] != "SUCCESS" || got["echo"] != "was blocked" || got["attempt"] != "2" {
		t.Errorf("recovered completion = %v", got)
	}

	// Not blocked: HubSpot will retry the request; its retry takes over and
	// is answered inline.
	inline := plant("was inline", false)
	again := h.Execute(t, "probe", inline)
	if again["hs_execution_state"] != "SUCCESS" || again["echo"] != "was inline" || again["attempt"] != "2" {
		t.Errorf("retried delivery after a crash = %v", again)
	}
	if n := p.count(inline.CallbackID); n != 1 {
		t.Errorf("runs = %d, want 1", n)
	}
	time.Sleep(500 * time.Millisecond)
	if c := h.HubSpot.Completions(inline.CallbackID); len(c) != 0 {
		t.Errorf("an execution answered inline was also completed by callback: %v", c)
	}

	// Not blocked and HubSpot never retries: recovery finishes it by
	// callback after the grace period.
	quiet := plant("nobody asked again", false)
	got = h.HubSpot.Wait(t, quiet.CallbackID, 20*time.Second)
	if got["echo"] != "nobody asked again" {
		t.Errorf("recovered completion = %v", got)
	}
	waitDelivered(t, h, quiet.CallbackID)
	for _, r := range []actions.Request{blocked, quiet} {
		if c := h.HubSpot.Completions(r.CallbackID); len(c) != 1 {
			t.Errorf("%s completed %d times, want 1", r.CallbackID, len(c))
		}
	}
	// If HubSpot does ask again for an execution it was never told BLOCK
	// about, it gets the outcome itself rather than a BLOCK nobody will end.
	late := h.Execute(t, "probe", quiet)
	if late["hs_execution_state"] != "SUCCESS" || late["echo"] != "nobody asked again" {
		t.Errorf("HubSpot's late retry of a recovered execution = %v, want its outcome", late)
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{})
	tests := []struct {
		name   string
		path   string
		body   []byte
		status int
		want   string
	}{
		{"malformed JSON", "/hubspot/actions/probe", []byte(`{"callbackId":`), 400, "empty or cut short"},
		{"not an execution", "/hubspot/actions/probe", []byte(`{"hello":"world"}`), 400, "callbackId is missing"},
		{"unknown action", "/hubspot/actions/nope", []byte(`{}`), 404, "unknown action nope"},
		{"too large", "/hubspot/actions/probe", []byte(`{"callbackId":"` + strings.Repeat("x", actions.MaxBodyBytes) + `"}`), 413, "larger than 1 MiB"},
		{"options of unknown field", "/hubspot/actions/probe/options/nope", []byte(`{}`), 404, "no options for field nope"},
		{"bad options request", "/hubspot/actions/probe/options/gate", []byte(`[`), 400, "not a valid options request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.Post(t, tt.path, tt.body)
			if status != tt.status || !strings.Contains(string(body), tt.want) {
				t.Errorf("POST %s = %d %s, want %d mentioning %q", tt.path, status, body, tt.status, tt.want)
			}
		})
	}
}

func TestUnsignedRequestsAreRejected(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{})
	req := actionstest.NewRequest(7000001, "CONTACT", map[string]any{"message": "m"}, nil)
	body, _ := json.Marshal(req)
	post := func(mod func(*http.Request)) (int, map[string]string) {
		r, _ := http.NewRequest(http.MethodPost, h.URL+"/hubspot/actions/probe", strings.NewReader(string(body)))
		mod(r)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	sigV2 := actions.SignV2(actionstest.Secret, "POST", h.URL+"/hubspot/actions/probe", body)
	tests := []struct {
		name  string
		mod   func(*http.Request)
		check string
	}{
		{"no signature", func(r *http.Request) {}, "missing_signature"},
		{"wrong secret", func(r *http.Request) {
			r.Header.Set("X-HubSpot-Signature-Version", "v2")
			r.Header.Set("X-HubSpot-Signature", actions.SignV2("other", "POST", h.URL+"/hubspot/actions/probe", body))
		}, "signature_mismatch"},
		{"stale v3", func(r *http.Request) {
			ts := fmt.Sprint(time.Now().Add(-10 * time.Minute).UnixMilli())
			r.Header.Set("X-HubSpot-Signature-v3", actions.SignV3(actionstest.Secret, "POST", h.URL+"/hubspot/actions/probe", body, ts))
			r.Header.Set("X-HubSpot-Request-Timestamp", ts)
		}, "stale_timestamp"},
		{"signed for another path", func(r *http.Request) {
			r.Header.Set("X-HubSpot-Signature-Version", "v2")
			r.Header.Set("X-HubSpot-Signature", actions.SignV2(actionstest.Secret, "POST", h.URL+"/hubspot/actions/other", body))
		}, "signature_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := post(tt.mod)
			if status != http.StatusUnauthorized || m["check"] != tt.check {
				t.Errorf("status %d %v, want 401 check %s", status, m, tt.check)
			}
			if strings.Contains(fmt.Sprint(m), sigV2) {
				t.Errorf("the answer reveals the expected signature")
			}
		})
	}
	// A correct v3 signature is accepted.
	status, m := post(func(r *http.Request) {
		ts := fmt.Sprint(time.Now().UnixMilli())
		r.Header.Set("X-HubSpot-Signature-v3", actions.SignV3(actionstest.Secret, "POST", h.URL+"/hubspot/actions/probe", body, ts))
		r.Header.Set("X-HubSpot-Request-Timestamp", ts)
	})
	if status != http.StatusOK || p.count(req.CallbackID) != 1 {
		t.Errorf("v3-signed request: status %d %v", status, m)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{})
	req := actions.OptionsRequest{Origin: actions.Origin{PortalID: 7000001}, InputFieldName: "gate"}
	first := h.Options(t, "probe", "gate", req)
	if len(first.Options) != 10 || first.After != "10" || !first.Searchable || first.Options[0].Label != "Gate 00" {
		t.Fatalf("first page = %+v", first)
	}
	req.FetchOptions.After = first.After
	second := h.Options(t, "probe", "gate", req)
	if second.Options[0].Label != "Gate 10" || second.After != "20" {
		t.Errorf("second page = %+v", second)
	}
	req.FetchOptions.After = ""
	req.FetchOptions.Q = "2"
	hits := h.Options(t, "probe", "gate", req)
	var labels []string
	for _, o := range hits.Options {
		labels = append(labels, o.Label)
	}
	if diff := cmp.Diff([]string{"Gate 02", "Gate 12", "Gate 20", "Gate 21", "Gate 22", "Gate 23", "Gate 24"}, labels); diff != "" {
		t.Errorf("search results (-want +got):\n%s", diff)
	}
}

// TestHistoryIsPrunedAfterRetention: pruning at the shortest retention
// deletes what is older, and keeps undelivered outcomes and what is younger,
// so a HubSpot retry of an execution almost 3 days old is still recognised:
// it gets the recorded outcome and the action does not run again.
func TestHistoryIsPrunedAfterRetention(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{Retention: actions.MinRetention, PruneEvery: 100 * time.Millisecond})
	ctx := context.Background()
	h.HubSpot.SetFail(func([]hubspot.Completion) error { return &upstream.APIError{Status: 503, RetryAfter: time.Hour} })
	plant := func(message string, blocked bool, age time.Duration) actions.Request {
		r := actionstest.NewRequest(7000010, "CONTACT", map[string]any{"message": message}, nil)
		err := h.DB.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.InsertExecution(ctx, store.NewExecution{CallbackID: r.CallbackID, Ref: "EX-OLD", PortalID: 7000010,
				Action: "probe", Request: "{}", LeaseUntil: time.Now().Add(time.Hour), Blocked: blocked, ReceivedAt: time.Now().Add(-age)}); err != nil {
				return err
			}
			_, _, err := tx.Finish(ctx, r.CallbackID, 1, store.Outcome{FinalState: "SUCCESS", Outputs: `{"hs_execution_state":"SUCCESS","echo":"` + message + `"}`})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	old := plant("old", false, actions.MinRetention+time.Hour).CallbackID
	undelivered := plant("old but undelivered", true, actions.MinRetention+time.Hour).CallbackID
	recent := plant("recent", false, actions.MinRetention-time.Minute)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := h.DB.GetExecution(ctx, old); errors.Is(err, store.ErrNotFound) {
			break
		}
	}
	if _, err := h.DB.GetExecution(ctx, old); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("execution older than the retention was not pruned (err %v)", err)
	}
	for _, id := range []string{undelivered, recent.CallbackID} {
		if _, err := h.DB.GetExecution(ctx, id); err != nil {
			t.Errorf("GetExecution(%s) = %v; it must be kept", id, err)
		}
	}
	if got := h.Execute(t, "probe", recent); got["echo"] != "recent" {
		t.Errorf("HubSpot's retry of an execution 3 days less a minute old = %v, want the recorded outcome", got)
	}
	if n := p.count(recent.CallbackID); n != 0 {
		t.Errorf("the retry ran the action %d times, want 0", n)
	}
}

// TestRetentionShorterThanHubSpotsRetriesIsRefused: a runtime that would
// forget a callbackId while HubSpot may still retry it is not built.
func TestRetentionShorterThanHubSpotsRetriesIsRefused(t *testing.T) {
	t.Parallel()
	db, err := store.Open(context.Background(), storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	_, err = actions.NewRuntime(actions.Config{Retention: actions.MinRetention - time.Minute}, db, actions.NewRegistry(), nil,
		actions.NewValidator(), slog.New(slog.DiscardHandler), actions.NewMetrics(prometheus.NewRegistry()), nil)
	if err == nil || !strings.Contains(err.Error(), "3 days") {
		t.Errorf("NewRuntime(retention 72h-1m) = %v, want an error saying HubSpot retries for 3 days", err)
	}
}

// TestGiveUpBeforeHubSpotsWaitExpires plants a BLOCKed execution whose
// provider kept answering "not ready" and whose wait is about to expire:
// it must be completed FAIL_CONTINUE with a reason, not left to expire.
func TestGiveUpBeforeHubSpotsWaitExpires(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{})
	ctx := context.Background()
	req := actionstest.NewRequest(7000011, "CONTACT", map[string]any{"message": "late"}, nil)
	body, _ := json.Marshal(req)
	err := h.DB.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.InsertExecution(ctx, store.NewExecution{CallbackID: req.CallbackID, Ref: "EX-LATE", PortalID: 7000011,
			Action: "probe", Request: string(body), LeaseUntil: time.Now().Add(time.Minute), Blocked: true, ExpiresAt: time.Now().Add(50 * time.Second)})
		if err != nil {
			return err
		}
		_, err = tx.Release(ctx, req.CallbackID, 1, time.Now(), store.Failure{Reason: "pending: the provider is looking this up", Pending: true}, time.Time{}, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := h.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "UPSTREAM_UNAVAILABLE" ||
		!strings.Contains(got["error_message"], "did not have an answer ready in time (the provider is looking this up)") {
		t.Errorf("completion = %v", got)
	}
	if got["echo"] != "-" {
		t.Errorf("echo = %q, want the action's failure output \"-\"", got["echo"])
	}
	if n := p.count(req.CallbackID); n != 0 {
		t.Errorf("the action ran %d times after its wait ran out", n)
	}
}

// TestDeliveriesSurviveAJobLeftRunning: a process killed while delivering
// leaves River's job row "running"; the portal's later outcomes must still
// be delivered (before River's stuck-job rescue, which takes minutes). The
// outcomes are planted in the ledger, as a dead process leaves them, so
// that the sweeper's River jobs deliver them, not this process's wake-up.
func TestDeliveriesSurviveAJobLeftRunning(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{})
	ctx := context.Background()
	plant := func(message string) string {
		t.Helper()
		r := actionstest.NewRequest(7000012, "CONTACT", map[string]any{"message": message}, nil)
		err := h.DB.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.InsertExecution(ctx, store.NewExecution{CallbackID: r.CallbackID, Ref: "EX-DEAD", PortalID: 7000012,
				Action: "probe", Request: "{}", LeaseUntil: time.Now().Add(time.Minute), Blocked: true, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				return err
			}
			_, _, err := tx.Finish(ctx, r.CallbackID, 1, store.Outcome{FinalState: "SUCCESS", Outputs: `{"echo":"` + message + `"}`})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return r.CallbackID
	}
	first := plant("first")
	h.HubSpot.Wait(t, first, 20*time.Second)
	waitDelivered(t, h, first)
	// Once River has recorded the delivery job as completed, make it look
	// like a dead process's: running, forever.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var state string
		err := h.DB.SQL().QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = (SELECT max(id) FROM river_job WHERE kind = 'hubspot_actions.deliver')`).Scan(&state)
		if err == nil && state == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery job never completed (state %q, %v)", state, err)
		}
	}
	_, err := h.DB.SQL().ExecContext(ctx, `UPDATE river_job SET state = 'running', finalized_at = NULL
		WHERE id = (SELECT max(id) FROM river_job WHERE kind = 'hubspot_actions.deliver')`)
	if err != nil {
		t.Fatalf("leave a delivery running: %v", err)
	}
	second := plant("second")
	if got := h.HubSpot.Wait(t, second, 20*time.Second); got["echo"] != "second" {
		t.Errorf("completion = %v", got)
	}
}

// TestExpiredSessionsArePruned: the periodic prune job deletes expired
// admin sessions and keeps live ones.
func TestExpiredSessionsArePruned(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{PruneEvery: 100 * time.Millisecond})
	ctx := context.Background()
	for id, exp := range map[string]time.Duration{"expired-1": -time.Hour, "expired-2": -time.Second, "live": time.Hour} {
		err := h.DB.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertSession(ctx, id, store.AdminSession{PortalID: 7000012, ExpiresAt: time.Now().Add(exp)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if n, err = h.DB.CountSessions(ctx, 7000012); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
	}
	if n != 1 {
		t.Errorf("%d session rows left, want the live one alone", n)
	}
	if _, err := h.DB.GetSession(ctx, "live", time.Now()); err != nil {
		t.Errorf("the live session was pruned: %v", err)
	}
}

// TestErasedExecutionIsNotRunAgain: an execution whose data was erased
// while its run was dead is never run again (its inputs are gone): HubSpot's
// retry of the request, or the recovery job, finishes it FAIL_CONTINUE
// NOT_FOUND without calling the action or writing the contact back.
func TestErasedExecutionIsNotRunAgain(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{RecoveryGrace: time.Hour})
	ctx := context.Background()
	plant := func(contact string, blocked bool) actions.Request {
		req := actionstest.NewRequest(7000008, "CONTACT", map[string]any{"message": "for erased.person@example.test"}, nil)
		req.Object.ObjectID = actions.FlexString(contact)
		body, _ := json.Marshal(req)
		err := h.DB.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertExecution(ctx, store.NewExecution{
				CallbackID: req.CallbackID, Ref: "EX-ERASED", PortalID: 7000008, Action: "probe", Request: string(body),
				ObjectType: "CONTACT", ObjectID: contact, LeaseUntil: time.Now().Add(-time.Hour), Blocked: blocked, ExpiresAt: time.Now().Add(time.Hour),
			})
			if err != nil {
				return err
			}
			_, err = tx.EraseObject(ctx, 7000008, []string{"CONTACT"}, contact)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	inline := plant("61", false)
	got := h.Execute(t, "probe", inline)
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "NOT_FOUND" {
		t.Errorf("HubSpot's retry of an erased execution = %v, want FAIL_CONTINUE NOT_FOUND", got)
	}
	blocked := plant("62", true)
	got = h.HubSpot.Wait(t, blocked.CallbackID, 20*time.Second)
	if got["hs_execution_state"] != "FAIL_CONTINUE" || got["error_code"] != "NOT_FOUND" {
		t.Errorf("recovery of an erased execution = %v, want FAIL_CONTINUE NOT_FOUND", got)
	}
	for _, r := range []actions.Request{inline, blocked} {
		if n := p.count(r.CallbackID); n != 0 {
			t.Errorf("%s ran %d times, want 0", r.CallbackID, n)
		}
		e, err := h.DB.GetExecution(ctx, r.CallbackID)
		if err != nil || e.Exec.Live() || strings.Contains(e.Request+e.Outputs+e.ErrorMessage, "erased.person") {
			t.Errorf("%s after erasure = %+v, %v; want finished without the contact", r.CallbackID, e, err)
		}
	}
}
