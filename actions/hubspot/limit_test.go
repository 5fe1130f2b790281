package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/hubspot"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth/hubspottest"
)

// The HubSpot client paced by actions' limiter, as cmd wires it.

// limitEnv is a HubSpot client for testPortal (and portal 2) against a
// fake HubSpot. The limiter and the fake run on a fake clock that only the
// limiter's waits move, and the waits are recorded.
type limitEnv struct {
	h     *hubspot.Client
	hs    *hubspottest.Server
	clock *fakeClock

	mu     sync.Mutex
	sleeps []time.Duration
}

// hubspotLimit is the limit cmd gives the HubSpot client.
var hubspotLimit = actions.Limit{Every: hubspot.Every, Burst: hubspot.Burst}

func newLimitEnv(t *testing.T, hcfg hubspottest.Config, lim actions.Limit) *limitEnv {
	t.Helper()
	env := &limitEnv{clock: newFakeClock()}
	l := actions.NewLimiter(lim)
	l.SetClock(env.clock.Now, env.sleep)
	hcfg.Now = env.clock.Now
	c := newClientEnv(t, hcfg, false, l)
	c.saveGrant(t, 2)
	c.h.SetNow(env.clock.Now)
	env.h, env.hs = c.h, c.hs
	return env
}

func (env *limitEnv) sleep(ctx context.Context, d time.Duration) error {
	env.mu.Lock()
	env.sleeps = append(env.sleeps, d)
	env.mu.Unlock()
	env.clock.Advance(d)
	return ctx.Err()
}

func (env *limitEnv) takeSleeps() []time.Duration {
	env.mu.Lock()
	defer env.mu.Unlock()
	s := env.sleeps
	env.sleeps = nil
	return s
}

func TestHubSpotRateLimitAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		faults    int
		status    int
		after     time.Duration
		wantCalls int
		wantErr   int // status of the returned *APIError, or 0
		wantRetry time.Duration
		wantSleep []time.Duration
	}{
		{name: "one 429 is retried after Retry-After", faults: 1, status: 429, after: 2 * time.Second, wantCalls: 2, wantSleep: []time.Duration{2 * time.Second}},
		{name: "429 that persists is returned", faults: 3, status: 429, after: time.Second, wantCalls: 3, wantErr: 429, wantRetry: time.Second,
			wantSleep: []time.Duration{time.Second, time.Second}},
		{name: "long Retry-After goes back to the caller", faults: 1, status: 429, after: 30 * time.Second, wantCalls: 1, wantErr: 429, wantRetry: 30 * time.Second},
		{name: "429 without Retry-After waits a default", faults: 1, status: 429, wantCalls: 2, wantSleep: []time.Duration{hubspot.DefaultRateWait}},
		{name: "5xx is returned at once", faults: 1, status: 503, wantCalls: 1, wantErr: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newLimitEnv(t, hubspottest.Config{}, hubspotLimit)
			env.hs.Fail(hubspottest.EndpointCallbacks, tt.faults, tt.status, tt.after)
			err := env.h.CompleteCallbacks(context.Background(), testPortal, []hubspot.Completion{{CallbackID: "ap-9"}})
			var ae *upstream.APIError
			switch {
			case tt.wantErr == 0 && err != nil:
				t.Errorf("CompleteCallbacks() = %v, want nil", err)
			case tt.wantErr != 0 && (!errors.As(err, &ae) || ae.Status != tt.wantErr || ae.RetryAfter != tt.wantRetry):
				t.Errorf("CompleteCallbacks() = %v, want *APIError %d with RetryAfter %v", err, tt.wantErr, tt.wantRetry)
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

// TestHubSpotLongPauseIsHandedBack: after a 429 whose Retry-After is too
// long to wait inside the client, the portal's next request (from another
// execution) is not sent either: it fails at once, retrying after what is
// left of the pause.
func TestHubSpotLongPauseIsHandedBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newLimitEnv(t, hubspottest.Config{}, hubspotLimit)
	env.hs.Fail(hubspottest.EndpointCallbacks, 1, 429, 30*time.Second)
	if err := env.h.CompleteCallbacks(ctx, testPortal, []hubspot.Completion{{CallbackID: "ap-1"}}); err == nil {
		t.Fatal("CompleteCallbacks() = nil, want the 429")
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := env.h.CompleteCallbacks(dctx, testPortal, []hubspot.Completion{{CallbackID: "ap-2"}})
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter != 30*time.Second {
		t.Errorf("CompleteCallbacks() during the pause = %v, want a 429 retrying after 30s", err)
	}
	if n := env.hs.Calls(hubspottest.EndpointCallbacks); n != 1 {
		t.Errorf("calls = %d, want 1: the paused request must not be sent", n)
	}
}

func TestHubSpotLimiterPerPortal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newLimitEnv(t, hubspottest.Config{}, actions.Limit{Every: time.Second, Burst: 2})
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
	before := env.hs.Calls(hubspottest.EndpointCRM)
	_, err := env.h.GetObject(dctx, 2, "deals", "11", nil, nil)
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter <= 500*time.Millisecond {
		t.Errorf("GetObject() past the budget with a short deadline = %v, want *APIError 429 with RetryAfter", err)
	}
	if n := env.hs.Calls(hubspottest.EndpointCRM) - before; n != 0 {
		t.Errorf("refused GetObject() sent %d requests, want none", n)
	}
}

func TestHubSpotSlowsDownWhenFewRequestsRemain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Only HubSpot's headers slow us down here.
	env := newLimitEnv(t, hubspottest.Config{RateLimitMax: 12}, actions.Limit{Every: hubspot.Every, Burst: 100})
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

// TestHubSpotStaysUnderItsLimit sends 400 requests for one portal to a
// fake HubSpot that enforces 110 per 10 s on the same clock: none is
// answered 429 (each call reaches HubSpot once), and the client takes no
// longer than the limit makes it.
func TestHubSpotStaysUnderItsLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newLimitEnv(t, hubspottest.Config{EnforceRateLimit: true}, hubspotLimit)
	env.hs.SeedObject(testPortal, "deals", "11", map[string]string{"dealname": "Deal"})
	start := env.clock.Now()
	const n = 400
	for i := range n {
		if _, err := env.h.GetObject(ctx, testPortal, "deals", "11", nil, nil); err != nil {
			t.Fatalf("GetObject() #%d: %v", i, err)
		}
	}
	if calls := env.hs.Calls(hubspottest.EndpointCRM); calls != n {
		t.Errorf("HubSpot got %d calls for %d requests, want one each (no 429)", calls, n)
	}
	// 105 in the first 10 s, then 10 a second, with some slack for the
	// slow-down near the end of each window.
	took := env.clock.Now().Sub(start)
	if least, most := 29*time.Second, 45*time.Second; took < least || took > most {
		t.Errorf("%d requests took %v of the fake clock, want between %v and %v", n, took, least, most)
	}
}

// TestHubSpotLimitWindow: the limit cmd gives the HubSpot client never lets
// more than 105 requests of one portal into any 10-second window (HubSpot
// allows 110: 5 are left for jitter on the way), and lets close to that
// many in.
func TestHubSpotLimitWindow(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := actions.NewLimiter(hubspotLimit)
	l.SetClock(clock.Now, func(_ context.Context, d time.Duration) error {
		clock.Advance(d)
		return nil
	})
	ctx := context.Background()
	var sent []time.Time
	for range 500 {
		release, err := l.Acquire(ctx, "7000001")
		if err != nil {
			t.Fatal(err)
		}
		release()
		sent = append(sent, clock.Now())
	}
	most := 0
	for i, at := range sent {
		n := 0
		for _, before := range sent[:i+1] {
			if before.After(at.Add(-10 * time.Second)) {
				n++
			}
		}
		most = max(most, n)
	}
	if most > 105 || most < 100 {
		t.Errorf("at most %d requests in a 10-second window, want 100 to 105", most)
	}
}
