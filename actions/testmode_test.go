package actions_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
)

// modal is a test action registered twice, as the live action and as its
// test-mode twin: each answers with its own side's name (in "side" and in
// the choices of its dropdown) and counts its runs, so a test sees which
// registry served an execution.
type modal struct {
	side string
	mu   sync.Mutex
	runs map[string]int
}

type modalIn struct {
	Message string `json:"message" validate:"required"`
	DelayMS int    `json:"delay_ms" validate:"gte=0,lte=60000"`
	Flaky   int    `json:"flaky" validate:"gte=0"`
	Fail    string `json:"fail"`
	Choice  string `json:"choice"`
}

type modalOut struct {
	Side string `json:"side"`
	Echo string `json:"echo"`
}

func (m *modal) register(r *actions.Registry) {
	actions.MustRegister(r, actions.Spec[modalIn, modalOut]{
		Key:    "modal",
		Name:   "Modal",
		Errors: map[actions.Code]string{actions.CodeNotFound: "fail asked for NOT_FOUND."},
		Inputs: []actions.InputField{
			{Name: "message", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Message", Required: true},
			{Name: "delay_ms", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Delay"},
			{Name: "flaky", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Transient failures"},
			{Name: "fail", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Fail with"},
			{Name: "choice", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Choice", Dynamic: true},
		},
		Outputs: []actions.OutputField{
			{Name: "side", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Side"},
			{Name: "echo", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Echo"},
		},
		Run: m.run,
		Options: map[string]actions.OptionsFunc{
			"choice": func(context.Context, *actions.OptionsRequest) (actions.OptionsPage, error) {
				return actions.OptionsPage{Options: []actions.Option{{Label: m.side + " choice", Value: m.side}}}, nil
			},
		},
	})
}

func (m *modal) run(ctx context.Context, ex *actions.Execution, in modalIn) (modalOut, error) {
	m.mu.Lock()
	m.runs[ex.CallbackID]++
	n := m.runs[ex.CallbackID]
	m.mu.Unlock()
	if want := m.side == "fake"; ex.TestMode != want {
		return modalOut{}, fmt.Errorf("Execution.TestMode = %v on the %s side", ex.TestMode, m.side)
	}
	if in.DelayMS > 0 {
		time.Sleep(time.Duration(in.DelayMS) * time.Millisecond)
	}
	if n <= in.Flaky {
		return modalOut{}, &upstream.APIError{Status: http.StatusServiceUnavailable, RetryAfter: 20 * time.Millisecond}
	}
	if in.Fail != "" {
		return modalOut{Side: m.side}, actions.Fail(actions.Code(in.Fail), "failed as asked")
	}
	return modalOut{Side: m.side, Echo: in.Message}, nil
}

func (m *modal) count(callbackID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runs[callbackID]
}

// newModeHarness serves modal live, with its fake twin as the test-mode
// registry (or none when twin is false).
func newModeHarness(t *testing.T, cfg actions.Config, twin bool) (h *actionstest.Harness, live, fake *modal) {
	t.Helper()
	live = &modal{side: "live", runs: map[string]int{}}
	fake = &modal{side: "fake", runs: map[string]int{}}
	if twin {
		cfg.TestActions = actions.NewRegistry()
		fake.register(cfg.TestActions)
	}
	if cfg.InlineBudget == 0 {
		cfg.InlineBudget = 2 * time.Second
	}
	h = actionstest.New(t, live.register, actionstest.Options{Config: cfg})
	return h, live, fake
}

func setTestMode(t *testing.T, db *store.DB, portalID int64, on bool) {
	t.Helper()
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		return tx.SetTestMode(context.Background(), portalID, on, 1, "admin@example.test")
	}); err != nil {
		t.Fatalf("SetTestMode(%d, %v): %v", portalID, on, err)
	}
}

func recorded(t *testing.T, h *actionstest.Harness, callbackID string) store.Execution {
	t.Helper()
	e, err := h.DB.GetExecution(context.Background(), callbackID)
	if err != nil {
		t.Fatalf("GetExecution(%s): %v", callbackID, err)
	}
	return e
}

// TestTestModeDispatchAtStart: a portal in test mode runs the twin, and
// answers test_mode "true", with successes and failures alike; another
// portal, at the same time, runs live and answers "false".
func TestTestModeDispatchAtStart(t *testing.T) {
	t.Parallel()
	h, live, fake := newModeHarness(t, actions.Config{}, true)
	const inTest, other = 7100001, 7100002
	setTestMode(t, h.DB, inTest, true)

	tests := []struct {
		name      string
		portal    int64
		inputs    map[string]any
		wantState string
		wantSide  string
		wantMode  string
	}{
		{"test mode success", inTest, map[string]any{"message": "hi"}, "SUCCESS", "fake", "true"},
		{"test mode failure", inTest, map[string]any{"message": "hi", "fail": "NOT_FOUND"}, "FAIL_CONTINUE", "fake", "true"},
		{"test mode invalid input", inTest, map[string]any{}, "FAIL_CONTINUE", "", "true"},
		{"live success", other, map[string]any{"message": "hi"}, "SUCCESS", "live", "false"},
		{"live failure", other, map[string]any{"message": "hi", "fail": "NOT_FOUND"}, "FAIL_CONTINUE", "live", "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := actionstest.NewRequest(tt.portal, "CONTACT", tt.inputs, nil)
			got := h.Execute(t, "modal", req)
			if got[actions.OutputState] != tt.wantState || got["side"] != tt.wantSide || got[actions.OutputTestMode] != tt.wantMode {
				t.Errorf("Execute() = %v, want %s from side %q with test_mode %s", got, tt.wantState, tt.wantSide, tt.wantMode)
			}
			if e := recorded(t, h, req.CallbackID); e.TestMode != (tt.wantMode == "true") {
				t.Errorf("ledger TestMode = %v, want %s", e.TestMode, tt.wantMode)
			}
			if tt.wantSide == "fake" && (fake.count(req.CallbackID) != 1 || live.count(req.CallbackID) != 0) {
				t.Errorf("runs: fake %d, live %d; want 1 and 0", fake.count(req.CallbackID), live.count(req.CallbackID))
			}
			if tt.wantSide == "live" && (live.count(req.CallbackID) != 1 || fake.count(req.CallbackID) != 0) {
				t.Errorf("runs: live %d, fake %d; want 1 and 0", live.count(req.CallbackID), fake.count(req.CallbackID))
			}
		})
	}
}

// TestTestModeSwitchAffectsOnlyNewExecutions: an execution keeps the mode
// it started in when the setting changes while it runs (its outcome then
// goes by callback); the executions after the change use the new mode.
// Both directions.
func TestTestModeSwitchAffectsOnlyNewExecutions(t *testing.T) {
	t.Parallel()
	for _, startOn := range []bool{true, false} {
		t.Run(fmt.Sprintf("started in test mode %v", startOn), func(t *testing.T) {
			t.Parallel()
			h, live, fake := newModeHarness(t, actions.Config{InlineBudget: 50 * time.Millisecond}, true)
			const portal = 7100003
			setTestMode(t, h.DB, portal, startOn)
			old := actionstest.NewRequest(portal, "CONTACT", map[string]any{"message": "old", "delay_ms": 400}, nil)
			if got := h.Execute(t, "modal", old); got[actions.OutputState] != actions.StateBlock {
				t.Fatalf("Execute(old) = %v, want BLOCK", got)
			}
			setTestMode(t, h.DB, portal, !startOn)
			fresh := actionstest.NewRequest(portal, "CONTACT", map[string]any{"message": "new"}, nil)
			got := h.Execute(t, "modal", fresh)
			if want := fmt.Sprint(!startOn); got[actions.OutputTestMode] != want {
				t.Errorf("Execute(new) = %v, want test_mode %s", got, want)
			}
			done := h.HubSpot.Wait(t, old.CallbackID, 10*time.Second)
			if want := fmt.Sprint(startOn); done[actions.OutputState] != "SUCCESS" || done[actions.OutputTestMode] != want {
				t.Errorf("completion of the old execution = %v, want SUCCESS with test_mode %s", done, want)
			}
			oldSide, newSide := live, fake
			if startOn {
				oldSide, newSide = fake, live
			}
			if oldSide.count(old.CallbackID) != 1 || newSide.count(old.CallbackID) != 0 {
				t.Errorf("old execution ran %d times on the %s side, %d on the %s side; want 1 and 0",
					oldSide.count(old.CallbackID), oldSide.side, newSide.count(old.CallbackID), newSide.side)
			}
			if newSide.count(fresh.CallbackID) != 1 || oldSide.count(fresh.CallbackID) != 0 {
				t.Errorf("new execution ran %d times on the %s side, %d on the %s side; want 1 and 0",
					newSide.count(fresh.CallbackID), newSide.side, oldSide.count(fresh.CallbackID), oldSide.side)
			}
		})
	}
}

// TestTestModeRetryKeepsMode: a test-mode execution whose first run fails
// transiently is retried by a job after its portal left test mode; the
// retry still runs the twin, and the completion says test_mode "true".
func TestTestModeRetryKeepsMode(t *testing.T) {
	t.Parallel()
	h, live, fake := newModeHarness(t, actions.Config{}, true)
	const portal = 7100004
	setTestMode(t, h.DB, portal, true)
	req := actionstest.NewRequest(portal, "CONTACT", map[string]any{"message": "again", "flaky": 1}, nil)
	if got := h.Execute(t, "modal", req); got[actions.OutputState] != actions.StateBlock {
		t.Fatalf("Execute() = %v, want BLOCK (a retry is scheduled)", got)
	}
	setTestMode(t, h.DB, portal, false)
	done := h.HubSpot.Wait(t, req.CallbackID, 10*time.Second)
	if done[actions.OutputState] != "SUCCESS" || done["side"] != "fake" || done[actions.OutputTestMode] != "true" {
		t.Errorf("completion = %v, want SUCCESS from the fake with test_mode true", done)
	}
	if fake.count(req.CallbackID) != 2 || live.count(req.CallbackID) != 0 {
		t.Errorf("runs: fake %d, live %d; want 2 and 0", fake.count(req.CallbackID), live.count(req.CallbackID))
	}
	if e := recorded(t, h, req.CallbackID); !e.TestMode || e.Attempt != 2 {
		t.Errorf("ledger: TestMode %v, attempt %d; want true, 2", e.TestMode, e.Attempt)
	}
}

// TestTestModeRepeatedRequestKeepsMode: HubSpot repeating the request of
// a test-mode execution after the portal left test mode gets the recorded
// answer, and nothing runs again.
func TestTestModeRepeatedRequestKeepsMode(t *testing.T) {
	t.Parallel()
	h, live, fake := newModeHarness(t, actions.Config{}, true)
	const portal = 7100005
	setTestMode(t, h.DB, portal, true)
	req := actionstest.NewRequest(portal, "CONTACT", map[string]any{"message": "once"}, nil)
	first := h.Execute(t, "modal", req)
	setTestMode(t, h.DB, portal, false)
	again := h.Execute(t, "modal", req)
	if again[actions.OutputTestMode] != "true" || again["side"] != "fake" || first["side"] != "fake" {
		t.Errorf("first answer %v, repeated %v; want both from the fake with test_mode true", first, again)
	}
	if fake.count(req.CallbackID) != 1 || live.count(req.CallbackID) != 0 {
		t.Errorf("runs: fake %d, live %d; want 1 and 0", fake.count(req.CallbackID), live.count(req.CallbackID))
	}
}

// TestTestModeNotConnectedSaysTestMode: a portal that must reinstall is
// refused without running anything, and the refusal says its mode too.
func TestTestModeNotConnectedSaysTestMode(t *testing.T) {
	t.Parallel()
	h, live, fake := newModeHarness(t, actions.Config{}, true)
	const portal = 7100006
	setTestMode(t, h.DB, portal, true)
	h.HubSpot.SetNotConnected(portal)
	req := actionstest.NewRequest(portal, "CONTACT", map[string]any{"message": "x"}, nil)
	got := h.Execute(t, "modal", req)
	if got[actions.OutputErrorCode] != string(actions.CodeNotConnected) || got[actions.OutputTestMode] != "true" {
		t.Errorf("Execute() = %v, want NOT_CONNECTED with test_mode true", got)
	}
	if fake.count(req.CallbackID)+live.count(req.CallbackID) != 0 {
		t.Errorf("the action ran for a portal that must reinstall")
	}
}

// TestTestModeWithoutTwins: a portal whose setting is on, served by a
// runtime that has no test-mode actions (test mode then cannot be
// switched on, but a setting made elsewhere may be), never runs the live
// action: it fails, saying why.
func TestTestModeWithoutTwins(t *testing.T) {
	t.Parallel()
	h, live, _ := newModeHarness(t, actions.Config{}, false)
	if h.Runtime.TestModeAvailable() {
		t.Fatalf("TestModeAvailable() = true without TestActions")
	}
	const portal = 7100007
	setTestMode(t, h.DB, portal, true)
	req := actionstest.NewRequest(portal, "CONTACT", map[string]any{"message": "x"}, nil)
	got := h.Execute(t, "modal", req)
	if got[actions.OutputErrorCode] != string(actions.CodeUnavailable) || got[actions.OutputTestMode] != "true" {
		t.Errorf("Execute() = %v, want UPSTREAM_UNAVAILABLE with test_mode true", got)
	}
	if live.count(req.CallbackID) != 0 {
		t.Errorf("the live action ran for a portal in test mode")
	}
	page := h.Options(t, "modal", "choice", actions.OptionsRequest{Origin: actions.Origin{PortalID: portal}})
	if len(page.Options) != 1 || page.Options[0].Value != "" {
		t.Errorf("options in test mode without twins = %+v, want one explanatory option", page.Options)
	}
}

// TestTestModeOptions: a portal's dropdowns come from the twin while it is
// in test mode, from the live action otherwise.
func TestTestModeOptions(t *testing.T) {
	t.Parallel()
	h, _, _ := newModeHarness(t, actions.Config{}, true)
	const portal = 7100008
	ask := func() string {
		page := h.Options(t, "modal", "choice", actions.OptionsRequest{Origin: actions.Origin{PortalID: portal}})
		if len(page.Options) != 1 {
			t.Fatalf("options = %+v, want one", page.Options)
		}
		return page.Options[0].Value
	}
	if got := ask(); got != "live" {
		t.Errorf("options before test mode come from %q, want live", got)
	}
	setTestMode(t, h.DB, portal, true)
	if got := ask(); got != "fake" {
		t.Errorf("options in test mode come from %q, want fake", got)
	}
	setTestMode(t, h.DB, portal, false)
	if got := ask(); got != "live" {
		t.Errorf("options after test mode come from %q, want live", got)
	}
}

// TestTestActionsMustMatchLive: a test-mode registry with an action the
// live one lacks, or whose outputs differ, is refused at start.
func TestTestActionsMustMatchLive(t *testing.T) {
	t.Parallel()
	live := actions.NewRegistry()
	(&modal{side: "live"}).register(live)
	extra := actions.NewRegistry()
	(&modal{side: "fake"}).register(extra)
	newProbe().register(extra)
	if _, err := actions.NewRuntime(actions.Config{TestActions: extra}, nil, live, nil, actions.NewValidator(), nil, nil, nil); err == nil {
		t.Errorf("NewRuntime with a test-mode action the live registry lacks: no error")
	}
}
