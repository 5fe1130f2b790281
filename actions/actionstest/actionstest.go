// Package actionstest runs actions the way HubSpot does, for tests: a real
// runtime on a SQLite file, served over HTTP behind the signature check, with
// signed execution and options requests and a recorder standing in for
// HubSpot's callbacks API.
package actionstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"hubspot-actions/actions"
	"hubspot-actions/actions/hubspot"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// Secret is the client secret the harness signs with.
const Secret = "actionstest-client-secret"

// Harness is a running runtime behind an HTTP server.
type Harness struct {
	URL      string
	DB       *store.DB
	Runtime  *actions.Runtime
	HubSpot  *HubSpot
	Registry *actions.Registry
	Metrics  *prometheus.Registry
}

// Options tune a harness.
type Options struct {
	Config actions.Config
	// Log receives the runtime's logs; by default they are discarded.
	Log *slog.Logger
	// Jobs returns features' background work for the runtime to run, built
	// on the harness's database.
	Jobs func(db *store.DB) []actions.Jobs
	// Routes adds routes beside the actions' before the runtime starts;
	// baseURL is the server's.
	Routes func(e *echo.Echo, rt *actions.Runtime, baseURL string, m *actions.Metrics)
	// DatabaseURL is the database to open (storetest.URL's); by default a
	// new one. Two harnesses given one URL are two replicas of the service.
	DatabaseURL string
	// HubSpot is the fake HubSpot to complete callbacks with; by default a
	// new one. Replicas share one, as they share HubSpot.
	HubSpot *HubSpot
	// Records writes results on records (a *hubspot.Client against a fake
	// HubSpot, say); by default saving on records is not available.
	Records actions.RecordWriter
}

// New starts a harness serving the actions register adds. It stops when the
// test ends.
func New(t testing.TB, register func(r *actions.Registry), opts Options) *Harness {
	t.Helper()
	ctx := context.Background()
	url := opts.DatabaseURL
	if url == "" {
		url = storetest.URL(t)
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	reg := actions.NewRegistry()
	register(reg)
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	promReg := prometheus.NewRegistry()
	m := actions.NewMetrics(promReg)
	hs := opts.HubSpot
	if hs == nil {
		hs = &HubSpot{}
	}
	cfg := opts.Config
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = 100 * time.Millisecond
	}
	v := actions.NewValidator()
	var jobs []actions.Jobs
	if opts.Jobs != nil {
		jobs = opts.Jobs(db)
	}
	var rhs actions.HubSpot = hs
	if opts.Records != nil {
		rhs = withRecords{hs, opts.Records}
	}
	rt, err := actions.NewRuntime(cfg, db, reg, rhs, v, log, m, promReg, jobs...)
	if err != nil {
		t.Fatalf("new runtime: %v", err)
	}
	e := actions.NewServer(log, v)
	srv := httptest.NewServer(e)
	g := e.Group("/hubspot/actions", actions.VerifySignature(Secret, srv.URL, time.Now, log, m))
	g.POST("/:action", rt.HandleExecute())
	g.POST("/:action/options/:field", rt.HandleOptions())
	if opts.Routes != nil {
		opts.Routes(e, rt, srv.URL, m)
	}
	if err := rt.Start(ctx); err != nil {
		t.Fatalf("start runtime: %v", err)
	}
	t.Cleanup(func() {
		srv.Close()
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Stop(stopCtx); err != nil {
			t.Errorf("stop runtime: %v", err)
		}
		db.Close()
	})
	return &Harness{URL: srv.URL, DB: db, Runtime: rt, HubSpot: hs, Registry: reg, Metrics: promReg}
}

var seq atomic.Int64

// NewRequest returns an execution request with a fresh callbackId.
func NewRequest(portalID int64, objectType string, inputs map[string]any, properties map[string]string) actions.Request {
	n := seq.Add(1)
	props := map[string]actions.FlexString{}
	for k, v := range properties {
		props[k] = actions.FlexString(v)
	}
	if inputs == nil {
		inputs = map[string]any{}
	}
	return actions.Request{
		CallbackID:  fmt.Sprintf("ap-%d-%d-%d-0", portalID, time.Now().UnixNano(), n),
		Origin:      actions.Origin{PortalID: actions.FlexInt(portalID), ActionDefinitionID: 4400001, ActionDefinitionVersion: 1},
		Context:     actions.Context{Source: "WORKFLOWS", WorkflowID: 5550001},
		Object:      actions.Object{ObjectID: actions.FlexString(fmt.Sprint(1000 + n)), ObjectType: objectType, Properties: props},
		InputFields: inputs,
	}
}

// NewAgentRequest returns an execution request as one of HubSpot's agents
// sends it: context source AGENTS, no workflow and no enrolled object.
func NewAgentRequest(portalID int64, inputs map[string]any) actions.Request {
	req := NewRequest(portalID, "", inputs, nil)
	req.Context = actions.Context{Source: actions.SourceAgents}
	req.Object = actions.Object{}
	return req
}

// Post sends a v2-signed POST of body to path and returns the status and
// the response body.
func (h *Harness) Post(t testing.TB, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(actions.HeaderSignatureVersion, "v2")
	req.Header.Set(actions.HeaderSignature, actions.SignV2(Secret, http.MethodPost, h.URL+path, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp.StatusCode, b
}

// Execute sends a signed execution request for action key and returns its
// outputFields. It fails the test unless the answer is 200.
func (h *Harness) Execute(t testing.TB, key string, req actions.Request) map[string]string {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("encode request: %v", err)
	}
	status, b := h.Post(t, "/hubspot/actions/"+key, body)
	if status != http.StatusOK {
		t.Fatalf("execute %s: status %d: %s", key, status, b)
	}
	var res actions.Response
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode answer %s: %v", b, err)
	}
	h.checkDeclared(t, key, res.OutputFields)
	return res.OutputFields
}

// checkDeclared fails the test when an action answers an error code it
// does not declare (actions.Action.Returns): the setup guide lists each
// action's codes from the declarations, so they must not drift from what
// the action does.
func (h *Harness) checkDeclared(t testing.TB, key string, out map[string]string) {
	t.Helper()
	code := out[actions.OutputErrorCode]
	if code == "" {
		return
	}
	if a, ok := h.Registry.Get(key); ok && !a.Returns(actions.Code(code)) {
		t.Errorf("%s answered error code %s, which its Spec.Errors does not declare (the setup guide would not list it)", key, code)
	}
}

// Run executes and, when the answer is BLOCK, waits for the callback
// completion: it returns what the workflow finally receives.
func (h *Harness) Run(t testing.TB, key string, req actions.Request, wait time.Duration) map[string]string {
	t.Helper()
	out := h.Execute(t, key, req)
	if out[actions.OutputState] != actions.StateBlock {
		return out
	}
	out = h.HubSpot.Wait(t, req.CallbackID, wait)
	h.checkDeclared(t, key, out)
	return out
}

// Options sends a signed options request for field of action key.
func (h *Harness) Options(t testing.TB, key, field string, req actions.OptionsRequest) actions.OptionsPage {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("encode options request: %v", err)
	}
	status, b := h.Post(t, "/hubspot/actions/"+key+"/options/"+field, body)
	if status != http.StatusOK {
		t.Fatalf("options %s/%s: status %d: %s", key, field, status, b)
	}
	var page actions.OptionsPage
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatalf("decode options %s: %v", b, err)
	}
	return page
}

// HubSpot records callback completions in place of HubSpot's API.
// SetFail makes completions fail; SetNotConnected marks portals that must
// reinstall.
type HubSpot struct {
	mu           sync.Mutex
	completions  map[string][]map[string]string
	calls        int
	batchSizes   []int
	fail         func(batch []hubspot.Completion) error
	notConnected map[int64]bool
	changed      chan struct{}
}

// SetFail makes CompleteCallbacks return fail's answer (nil: accept).
func (h *HubSpot) SetFail(fail func(batch []hubspot.Completion) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = fail
}

// SetNotConnected marks portals as needing a reinstall.
func (h *HubSpot) SetNotConnected(portalIDs ...int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.notConnected == nil {
		h.notConnected = map[int64]bool{}
	}
	for _, p := range portalIDs {
		h.notConnected[p] = true
	}
}

// CompleteCallbacks records a batch.
func (h *HubSpot) CompleteCallbacks(ctx context.Context, portalID int64, batch []hubspot.Completion) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.fail != nil {
		if err := h.fail(batch); err != nil {
			return err
		}
	}
	if h.notConnected[portalID] {
		return fmt.Errorf("portal %d: %w", portalID, oauth.ErrNotConnected)
	}
	if h.completions == nil {
		h.completions = map[string][]map[string]string{}
	}
	h.batchSizes = append(h.batchSizes, len(batch))
	for _, c := range batch {
		h.completions[c.CallbackID] = append(h.completions[c.CallbackID], c.OutputFields)
	}
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
	return nil
}

// CheckPortal fails for portals in NotConnected.
func (h *HubSpot) CheckPortal(ctx context.Context, portalID int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.notConnected[portalID] {
		return fmt.Errorf("portal %d must reinstall: %w", portalID, oauth.ErrNotConnected)
	}
	return nil
}

// Completions returns every completion recorded for a callbackId.
func (h *HubSpot) Completions(callbackID string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]string(nil), h.completions[callbackID]...)
}

// Count returns how many callbackIds were completed and how many of them
// more than once.
func (h *HubSpot) Count() (completed, duplicated int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.completions {
		completed++
		if len(c) > 1 {
			duplicated++
		}
	}
	return completed, duplicated
}

// BatchSizes returns the size of every batch recorded.
func (h *HubSpot) BatchSizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.batchSizes...)
}

// Wait waits up to d for the completion of callbackID and returns it.
func (h *HubSpot) Wait(t testing.TB, callbackID string, d time.Duration) map[string]string {
	t.Helper()
	deadline := time.After(d)
	for {
		h.mu.Lock()
		if c := h.completions[callbackID]; len(c) > 0 {
			h.mu.Unlock()
			return c[0]
		}
		if h.changed == nil {
			h.changed = make(chan struct{})
		}
		ch := h.changed
		h.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no callback completion for %s within %v", callbackID, d)
			return nil
		}
	}
}

// withRecords is the harness's HubSpot with a RecordWriter.
type withRecords struct {
	*HubSpot
	actions.RecordWriter
}
