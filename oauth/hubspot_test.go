package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// clientEnv is a HubSpot client for testPortal against a fake HubSpot. Its
// limiter runs on a fake clock that only sleeps move, and records them.
type clientEnv struct {
	hs    *hubspottest.Server
	db    *store.DB
	flow  *Flow
	h     *HubSpot
	clock *fakeClock

	mu     sync.Mutex
	sleeps []time.Duration
}

func newClientEnv(t *testing.T, hcfg hubspottest.Config, sandbox bool) *clientEnv {
	t.Helper()
	hs, hsURL := fakeHubSpot(t, hcfg, 0)
	db := newTestDB(t)
	log, _ := newTestLogger(t)
	flow := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, TokenBaseURL: hsURL, Sandbox: sandbox},
		db, &http.Client{Timeout: 10 * time.Second}, log)
	if !sandbox {
		upsertPortal(t, db, testPortal)
		saveGrant(t, flow.Grants(), hs.Grant(testPortal), testPortal, time.Now().Add(time.Hour))
	}
	env := &clientEnv{hs: hs, db: db, flow: flow, h: NewHubSpot(hsURL, flow, log), clock: newFakeClock()}
	env.h.now = env.clock.Now
	env.h.sleep = func(ctx context.Context, d time.Duration) error {
		env.mu.Lock()
		env.sleeps = append(env.sleeps, d)
		env.mu.Unlock()
		env.clock.Advance(d)
		return ctx.Err()
	}
	return env
}

func (env *clientEnv) takeSleeps() []time.Duration {
	env.mu.Lock()
	defer env.mu.Unlock()
	s := env.sleeps
	env.sleeps = nil
	return s
}

func completion(id, state string) Completion {
	return Completion{CallbackID: id, OutputFields: map[string]string{"hs_execution_state": state, "error_code": ""}}
}

func TestCompleteCallbacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{}, false)

	if err := env.h.CompleteCallbacks(ctx, testPortal, []Completion{completion("ap-1-0", "SUCCESS")}); err != nil {
		t.Fatalf("CompleteCallbacks(1) = %v", err)
	}
	batch := []Completion{completion("ap-1-1", "SUCCESS"), completion("ap-1-2", "FAIL_CONTINUE"), {CallbackID: "ap-1-3"}}
	if err := env.h.CompleteCallbacks(ctx, testPortal, batch); err != nil {
		t.Fatalf("CompleteCallbacks(3) = %v", err)
	}
	want := []hubspottest.Completion{
		{PortalID: testPortal, CallbackID: "ap-1-0", OutputFields: map[string]string{"hs_execution_state": "SUCCESS", "error_code": ""}},
		{PortalID: testPortal, CallbackID: "ap-1-1", OutputFields: map[string]string{"hs_execution_state": "SUCCESS", "error_code": ""}, Batch: true},
		{PortalID: testPortal, CallbackID: "ap-1-2", OutputFields: map[string]string{"hs_execution_state": "FAIL_CONTINUE", "error_code": ""}, Batch: true},
		{PortalID: testPortal, CallbackID: "ap-1-3", OutputFields: map[string]string{}, Batch: true},
	}
	if diff := cmp.Diff(want, env.hs.Completions()); diff != "" {
		t.Errorf("completions mismatch (-want +got):\n%s", diff)
	}

	// More than 100 go in batches of at most 100.
	var many []Completion
	for i := range 150 {
		many = append(many, completion(fmt.Sprintf("ap-2-%d", i), "SUCCESS"))
	}
	before := env.hs.Calls(hubspottest.EndpointCallbacks)
	if err := env.h.CompleteCallbacks(ctx, testPortal, many); err != nil {
		t.Fatalf("CompleteCallbacks(150) = %v", err)
	}
	if n := env.hs.Calls(hubspottest.EndpointCallbacks) - before; n != 2 {
		t.Errorf("150 completions took %d calls, want 2", n)
	}
	if n := len(env.hs.Completions()); n != 154 || env.hs.Duplicates() != 0 {
		t.Errorf("HubSpot holds %d completions, %d duplicates; want 154, 0", n, env.hs.Duplicates())
	}
	c, err := env.hs.WaitCompletion(ctx, "ap-2-149")
	if err != nil || c.OutputFields["hs_execution_state"] != "SUCCESS" {
		t.Errorf("WaitCompletion(ap-2-149) = %+v, %v", c, err)
	}
}

func TestHubSpotRateLimitAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		faults    int
		status    int
		after     time.Duration
		wantCalls int
		wantErr   int // status of the returned *upstream.APIError, or 0
		wantRetry time.Duration
		wantSleep []time.Duration
	}{
		{name: "one 429 is retried after Retry-After", faults: 1, status: 429, after: 2 * time.Second, wantCalls: 2, wantSleep: []time.Duration{2 * time.Second}},
		{name: "429 that persists is returned", faults: 3, status: 429, after: time.Second, wantCalls: 3, wantErr: 429, wantRetry: time.Second,
			wantSleep: []time.Duration{time.Second, time.Second}},
		{name: "long Retry-After goes back to the caller", faults: 1, status: 429, after: 30 * time.Second, wantCalls: 1, wantErr: 429, wantRetry: 30 * time.Second},
		{name: "429 without Retry-After waits a default", faults: 1, status: 429, wantCalls: 2, wantSleep: []time.Duration{defaultRateWait}},
		{name: "5xx is returned at once", faults: 1, status: 503, wantCalls: 1, wantErr: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newClientEnv(t, hubspottest.Config{}, false)
			env.hs.Fail(hubspottest.EndpointCallbacks, tt.faults, tt.status, tt.after)
			err := env.h.CompleteCallbacks(context.Background(), testPortal, []Completion{completion("ap-9", "SUCCESS")})
			var ae *upstream.APIError
			switch {
			case tt.wantErr == 0 && err != nil:
				t.Errorf("CompleteCallbacks() = %v, want nil", err)
			case tt.wantErr != 0 && (!errors.As(err, &ae) || ae.Status != tt.wantErr || ae.RetryAfter != tt.wantRetry):
				t.Errorf("CompleteCallbacks() = %v, want *upstream.APIError %d with RetryAfter %v", err, tt.wantErr, tt.wantRetry)
			}
			if n := env.hs.Calls(hubspottest.EndpointCallbacks); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantSleep, env.takeSleeps()); diff != "" {
				t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHubSpotLimiterPerPortal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{}, false)
	env.h.every, env.h.burst = time.Second, 2
	saveGrant(t, env.flow.Grants(), env.hs.Grant(2), 2, time.Now().Add(time.Hour))
	for _, p := range []int64{testPortal, 2} {
		env.hs.SeedObject(p, "deals", "11", map[string]string{"dealname": "Deal"})
	}
	for range 5 {
		if _, err := env.h.GetObject(ctx, testPortal, "deals", "11", nil, nil); err != nil {
			t.Fatalf("GetObject: %v", err)
		}
	}
	want := []time.Duration{time.Second, time.Second, time.Second}
	if diff := cmp.Diff(want, env.takeSleeps()); diff != "" {
		t.Errorf("sleeps for 5 calls with a burst of 2 at 1/s mismatch (-want +got):\n%s", diff)
	}
	// Another portal has its own budget.
	for range 2 {
		if _, err := env.h.GetObject(ctx, 2, "deals", "11", nil, nil); err != nil {
			t.Fatalf("GetObject(portal 2): %v", err)
		}
	}
	if s := env.takeSleeps(); len(s) != 0 {
		t.Errorf("portal 2 slept %v, want no wait", s)
	}

	// A wait longer than the caller's deadline is handed back as a 429.
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	for range 2 {
		_, _ = env.h.GetObject(dctx, 2, "deals", "11", nil, nil)
	}
	_, err := env.h.GetObject(dctx, 2, "deals", "11", nil, nil)
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter <= 500*time.Millisecond {
		t.Errorf("GetObject() past the budget with a short deadline = %v, want *upstream.APIError 429 with RetryAfter", err)
	}
}

func TestHubSpotSlowsDownWhenFewRequestsRemain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{RateLimitMax: 12}, false)
	env.h.burst = 100 // only HubSpot's headers slow us down here
	env.hs.SeedObject(testPortal, "contacts", "21", map[string]string{"email": "a@example.com"})
	for range 4 {
		if _, err := env.h.GetObject(ctx, testPortal, "contacts", "21", []string{"email"}, nil); err != nil {
			t.Fatalf("GetObject: %v", err)
		}
	}
	// After the third call HubSpot says 9 are left of 12 in 10 s: the
	// fourth waits 10 s / 10.
	if diff := cmp.Diff([]time.Duration{time.Second}, env.takeSleeps()); diff != "" {
		t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
	}
}

func TestGetObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{}, false)
	env.hs.SeedObject(testPortal, "deals", "11", map[string]string{"dealname": "Big deal", "amount": "100"})
	env.hs.SeedObject(testPortal, "contacts", "21", map[string]string{"email": "buyer@example.com", "firstname": "Ada"})
	env.hs.SeedObject(testPortal, "contacts", "22", map[string]string{"firstname": "No email"})
	env.hs.SeedObject(testPortal, "deals", "12", map[string]string{"dealname": "Lonely deal"})
	env.hs.SeedObject(testPortal, "deals", "13", map[string]string{"dealname": "Deal of 22"})
	env.hs.Associate(testPortal, "deals", "11", "contacts", "21")
	env.hs.Associate(testPortal, "deals", "13", "0-1", "22")

	o, err := env.h.GetObject(ctx, testPortal, "deals", "11", []string{"dealname", "closedate"}, []string{"contacts"})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	want := Object{
		ID: "11",
		Properties: map[string]string{"dealname": "Big deal", "closedate": "", "hs_object_id": "11",
			"createdate": "2026-01-02T03:04:05Z", "lastmodifieddate": "2026-01-02T03:04:05Z"},
		CreatedAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		UpdatedAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Associations: map[string][]Association{"contacts": {{ID: "21", Types: []string{"deal_to_contact"}}}},
	}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("GetObject() mismatch (-want +got):\n%s", diff)
	}

	if c, err := env.h.DealContact(ctx, testPortal, "11"); err != nil || c.ID != "21" || c.Properties["email"] != "buyer@example.com" || c.Properties["firstname"] != "Ada" {
		t.Errorf("DealContact(11) = %+v, %v; want contact 21 buyer@example.com", c, err)
	}
	for _, deal := range []string{"12", "13", "404"} {
		if _, err := env.h.DealContact(ctx, testPortal, deal); !errors.Is(err, ErrNotFound) {
			t.Errorf("DealContact(%s) = %v, want ErrNotFound", deal, err)
		}
	}
	_, err = env.h.GetObject(ctx, testPortal, "deals", "404", nil, nil)
	var ae *upstream.APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("GetObject(unknown) = %v, want ErrNotFound and *upstream.APIError 404", err)
	}
}

func TestHubSpotNotConnected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{}, false)
	err := env.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.MarkTokenStatus(ctx, testPortal, ProviderHubSpot, 1, store.StatusNeedsReinstall, "invalid_grant")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env.flow.Grants().forget(testPortal)
	for _, p := range []int64{testPortal, 404} {
		if err := env.h.CompleteCallbacks(ctx, p, []Completion{completion("ap-1", "SUCCESS")}); !errors.Is(err, ErrNotConnected) {
			t.Errorf("CompleteCallbacks(portal %d) = %v, want ErrNotConnected", p, err)
		}
		if _, err := env.h.GetObject(ctx, p, "deals", "1", nil, nil); !errors.Is(err, ErrNotConnected) {
			t.Errorf("GetObject(portal %d) = %v, want ErrNotConnected", p, err)
		}
		if err := env.h.CheckPortal(ctx, p); !errors.Is(err, ErrNotConnected) {
			t.Errorf("CheckPortal(portal %d) = %v, want ErrNotConnected", p, err)
		}
	}
	if n := env.hs.Calls(hubspottest.EndpointCallbacks) + env.hs.Calls(hubspottest.EndpointCRM); n != 0 {
		t.Errorf("HubSpot got %d API calls, want none", n)
	}
}

func TestHubSpotSandbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClientEnv(t, hubspottest.Config{SandboxTokens: true}, true)
	if err := env.h.CheckPortal(ctx, 555); err != nil {
		t.Errorf("CheckPortal() in sandbox = %v, want nil", err)
	}
	if err := env.h.CompleteCallbacks(ctx, 555, []Completion{completion("ap-5", "SUCCESS")}); err != nil {
		t.Fatalf("CompleteCallbacks() in sandbox = %v", err)
	}
	if c := env.hs.Completions(); len(c) != 1 || c[0].PortalID != 555 {
		t.Errorf("completions = %+v, want one for portal 555", c)
	}
}
