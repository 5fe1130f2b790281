package clearbit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/clearbit"
	"hubspot-actions/actions/clearbit/clearbittest"
	"hubspot-actions/actions/upstream"
)

func TestClientRequests(t *testing.T) {
	t.Parallel()
	fake, url := clearbittest.Start(t, clearbittest.Options{})
	c := clearbit.NewClient(url+"/", http.DefaultClient)
	ctx := context.Background()
	const key = "sk_client_requests"

	combined, err := c.FindCombined(ctx, key, "jane.doe@acme.com")
	if err != nil {
		t.Fatalf("FindCombined() error: %v", err)
	}
	person, err := c.FindPerson(ctx, key, "jane.doe@acme.com")
	if err != nil {
		t.Fatalf("FindPerson() error: %v", err)
	}
	company, err := c.FindCompany(ctx, key, "acme.com")
	if err != nil {
		t.Fatalf("FindCompany() error: %v", err)
	}

	type seen struct{ Method, Path, Query, Auth, Key, Password, Accept string }
	var got []seen
	for _, r := range fake.Requests() {
		got = append(got, seen{r.Method, r.Path, r.Query.Encode(), r.Auth, r.Key, r.Password, r.Header.Get("Accept")})
	}
	want := []seen{
		{"GET", "/v2/combined/find", "email=jane.doe%40acme.com", "basic", key, "", "application/json"},
		{"GET", "/v2/people/find", "email=jane.doe%40acme.com", "basic", key, "", "application/json"},
		{"GET", "/v2/companies/find", "domain=acme.com", "basic", key, "", "application/json"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	if combined.Person == nil || combined.Company == nil {
		t.Fatalf("FindCombined() = %+v, want a person and a company", combined)
	}
	if combined.Person.Name.FullName != "Jane Doe" || combined.Person.Employment.Domain != "acme.com" || combined.Company.Name != "Acme" {
		t.Errorf("FindCombined() person %+v company %+v", combined.Person, combined.Company)
	}
	if diff := cmp.Diff(*combined.Person, person); diff != "" {
		t.Errorf("FindPerson() differs from the combined person (-combined +person):\n%s", diff)
	}
	if diff := cmp.Diff(*combined.Company, company); diff != "" {
		t.Errorf("FindCompany() differs from the combined company (-combined +company):\n%s", diff)
	}
	if company.Metrics.Employees <= 0 || company.Category.Industry == "" || company.LinkedIn.Handle != "company/acme" {
		t.Errorf("FindCompany() = %+v", company)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestClientUsesClearbitHostsWithoutBaseURL(t *testing.T) {
	t.Parallel()
	var hosts []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hosts = append(hosts, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	})}
	c := clearbit.NewClient("", hc)
	ctx := context.Background()
	c.FindCombined(ctx, "sk_x", "a@b.com")
	c.FindPerson(ctx, "sk_x", "a@b.com")
	c.FindCompany(ctx, "sk_x", "b.com")
	want := []string{
		"https://person.clearbit.com/v2/combined/find",
		"https://person.clearbit.com/v2/people/find",
		"https://company.clearbit.com/v2/companies/find",
	}
	if diff := cmp.Diff(want, hosts); diff != "" {
		t.Errorf("request URLs (-want +got):\n%s", diff)
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		key        string
		email      string
		array      bool
		force      int
		status     int // 0: ErrQueued
		body       string
		retryAfter time.Duration
		transient  bool
	}{
		{name: "queued", email: "queued@acme.com"},
		{name: "not found", email: "unknown@acme.com", status: 404, body: `"unknown_record"`},
		{name: "role address", email: "info@acme.com", status: 422, body: `"invalid_email"`},
		{name: "invalid key", key: "not_a_key", email: "jane@acme.com", status: 401, body: `"invalid_api_key"`},
		{name: "over quota", key: clearbittest.OverQuotaKey, email: "jane@acme.com", status: 402, body: `"over_quota"`},
		{name: "rate limited", email: "ratelimited@acme.com", status: 429, body: `"rate_limit"`, retryAfter: time.Second, transient: true},
		{name: "server error", email: "jane@acme.com", force: 503, status: 503, transient: true},
		{name: "array envelope", email: "unknown@acme.com", array: true, status: 404, body: `{"error":[{"type":"unknown_record"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, url := clearbittest.Start(t, clearbittest.Options{ArrayErrors: tt.array, Now: func() time.Time { return now }})
			if tt.force != 0 {
				fake.Force(tt.email, tt.force, 1)
			}
			c := clearbit.NewClient(url, http.DefaultClient)
			clearbit.SetNow(c, func() time.Time { return now })
			key := tt.key
			if key == "" {
				key = "sk_client_errors"
			}
			_, err := c.FindCombined(context.Background(), key, tt.email)
			if tt.status == 0 {
				if !errors.Is(err, clearbit.ErrQueued) {
					t.Fatalf("FindCombined() = %v, want ErrQueued", err)
				}
				return
			}
			var ae *upstream.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("FindCombined() = %v, want an *upstream.APIError", err)
			}
			if ae.Status != tt.status || !strings.Contains(ae.Body, tt.body) || ae.RetryAfter != tt.retryAfter {
				t.Errorf("FindCombined() = %d %q retry after %v, want %d with %s retry after %v", ae.Status, ae.Body, ae.RetryAfter, tt.status, tt.body, tt.retryAfter)
			}
			if actions.Transient(err) != tt.transient {
				t.Errorf("Transient(%v) = %v, want %v", err, !tt.transient, tt.transient)
			}
			if strings.Contains(err.Error(), tt.email) && tt.status >= 500 {
				t.Errorf("error %q repeats the email", err)
			}
		})
	}
}

// TestClientPausesKeyAfter429: once Clearbit says a key's window is used
// up, the client does not call again until it resets.
func TestClientPausesKeyAfter429(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	fake, url := clearbittest.Start(t, clearbittest.Options{ResetAfter: 30 * time.Second, Now: func() time.Time { return clock() }})
	c := clearbit.NewClient(url, http.DefaultClient)
	clearbit.SetNow(c, func() time.Time { return clock() })
	ctx := context.Background()
	const key = "sk_paused"

	if _, err := c.FindCompany(ctx, key, "ratelimited.example"); !actions.Transient(err) {
		t.Fatalf("FindCompany() = %v, want a 429", err)
	}
	_, err := c.FindCompany(ctx, key, "acme.com")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != 30*time.Second {
		t.Fatalf("FindCompany() while paused = %v, want a client-side 429 retrying after 30s", err)
	}
	fake.AssertKeyCalls(t, key, 1)
	// Another key is not paused.
	if _, err := c.FindCompany(ctx, "sk_other", "acme.com"); err != nil {
		t.Errorf("FindCompany() with another key: %v", err)
	}
	now = now.Add(31 * time.Second)
	if _, err := c.FindCompany(ctx, key, "acme.com"); err != nil {
		t.Errorf("FindCompany() after the reset: %v", err)
	}
	fake.AssertKeyCalls(t, key, 2)
}

// TestClientPausesKeyWhenWindowUsedUp: a success that says no requests are
// left in the key's window pauses the key until the window resets.
func TestClientPausesKeyWhenWindowUsedUp(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fake, url := clearbittest.Start(t, clearbittest.Options{Limit: 2, Now: func() time.Time { return now }})
	c := clearbit.NewClient(url, http.DefaultClient)
	clearbit.SetNow(c, func() time.Time { return now })
	ctx := context.Background()
	const key = "sk_window"
	for i := range 2 {
		if _, err := c.FindCompany(ctx, key, "acme.com"); err != nil {
			t.Fatalf("FindCompany() #%d: %v", i, err)
		}
	}
	_, err := c.FindCompany(ctx, key, "acme.com")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != time.Minute {
		t.Fatalf("FindCompany() with the window used up = %v, want a client-side 429 retrying after the reset, a minute on", err)
	}
	fake.AssertKeyCalls(t, key, 2)
}

func TestClientRateLimit(t *testing.T) {
	t.Parallel()
	fake, url := clearbittest.Start(t, clearbittest.Options{})
	ctx := context.Background()

	// One request a minute: the second must not reach Clearbit.
	slow := clearbit.NewClient(url, http.DefaultClient).WithRateLimit(1, 1)
	if _, err := slow.FindCompany(ctx, "sk_slow", "acme.com"); err != nil {
		t.Fatalf("first FindCompany(): %v", err)
	}
	_, err := slow.FindCompany(ctx, "sk_slow", "acme.com")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter < 50*time.Second || !actions.Transient(err) {
		t.Fatalf("second FindCompany() = %v, want a client-side 429 retrying after about a minute", err)
	}
	fake.AssertKeyCalls(t, "sk_slow", 1)

	// Ten a second with no burst: short waits are waited out.
	paced := clearbit.NewClient(url, http.DefaultClient).WithRateLimit(600, 1)
	for i := range 3 {
		if _, err := paced.FindCompany(ctx, "sk_paced", "acme.com"); err != nil {
			t.Fatalf("FindCompany() #%d: %v", i, err)
		}
	}
	fake.AssertKeyCalls(t, "sk_paced", 3)
}

// countingTransport answers every request with an empty company, ignoring
// the request's context, and counts the requests: one sent after its
// context ended shows a wait that did not end with it.
type countingTransport struct {
	mu sync.Mutex
	n  int
}

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"name":"Acme"}`))}, nil
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestClientRateLimitWaitEndsWithContext: a request waiting for its turn
// gives up when its context ends, and is never sent; one whose turn would
// come after its deadline is refused at once.
func TestClientRateLimitWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	tr := &countingTransport{}
	c := clearbit.NewClient("https://clearbit.invalid", &http.Client{Transport: tr})
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	clearbit.SetNow(c, func() time.Time { return now })
	c = c.WithRateLimit(30, 1) // the next turn is 2s after the first request: waited out, not refused
	ctx := context.Background()
	if _, err := c.FindCompany(ctx, "sk_wait", "acme.com"); err != nil {
		t.Fatalf("first FindCompany() = %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.FindCompany(wctx, "sk_wait", "acme.com")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("FindCompany() whose context ends while it waits = %v, want the context's error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("FindCompany() returned after %v, want it to stop waiting when its context ended", d)
	}

	dctx, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	_, err = c.FindCompany(dctx, "sk_wait", "acme.com")
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != 2*time.Second || !actions.Transient(err) {
		t.Errorf("FindCompany() whose turn comes after its deadline = %v, want a client-side 429 retrying after 2s", err)
	}
	if n := tr.count(); n != 1 {
		t.Errorf("requests sent = %d, want 1: the waiting ones must not be sent", n)
	}
}

func TestClientNetworkErrorKeepsInputOutOfMessage(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	c := clearbit.NewClient(url, http.DefaultClient)
	_, err := c.FindCombined(context.Background(), "sk_x", "jane.private@acme.com")
	if err == nil || !actions.Transient(err) {
		t.Fatalf("FindCombined() = %v, want a transient network error", err)
	}
	if strings.Contains(err.Error(), "jane.private") {
		t.Errorf("error %q repeats the email", err)
	}
}

func TestVerifyKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		key       string
		force     int
		code      actions.Code // "" for nil
		sentinel  error
		transient bool
		requests  int
	}{
		{name: "working key", key: "sk_good", requests: 1},
		{name: "working key, lookup queued", key: "sk_good", force: 202, requests: 1},
		{name: "working key, company unknown", key: "sk_good", force: 404, requests: 1},
		{name: "invalid key", key: "bad", code: actions.CodeRejected, sentinel: clearbit.ErrInvalidKey, requests: 1},
		{name: "over quota", key: clearbittest.OverQuotaKey, code: actions.CodeRejected, sentinel: clearbit.ErrOverQuota, requests: 1},
		{name: "empty", key: " ", code: actions.CodeValidation},
		{name: "clearbit down", key: "sk_good", force: 503, transient: true, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, url := clearbittest.Start(t, clearbittest.Options{})
			if tt.force != 0 {
				fake.Force("clearbit.com", tt.force, 1)
			}
			err := clearbit.NewClient(url, http.DefaultClient).VerifyKey(context.Background(), tt.key)
			var ce *actions.Error
			switch {
			case tt.code == "" && !tt.transient && err != nil:
				t.Errorf("VerifyKey() = %v, want nil", err)
			case tt.transient && !actions.Transient(err):
				t.Errorf("VerifyKey() = %v, want a transient error", err)
			case tt.code != "" && (!errors.As(err, &ce) || ce.Code != tt.code):
				t.Errorf("VerifyKey() = %v, want code %s", err, tt.code)
			case tt.sentinel != nil && !errors.Is(err, tt.sentinel):
				t.Errorf("VerifyKey() = %v, want it to wrap %v", err, tt.sentinel)
			}
			if ce != nil && (ce.Message == "" || strings.Contains(ce.Message, tt.key) && tt.key != " ") {
				t.Errorf("VerifyKey() message %q is empty or shows the key", ce.Message)
			}
			reqs := fake.Requests()
			if len(reqs) != tt.requests {
				t.Fatalf("requests = %d, want %d", len(reqs), tt.requests)
			}
			if len(reqs) == 1 && (reqs[0].Path != "/v2/companies/find" || reqs[0].Query.Get("domain") != "clearbit.com" || reqs[0].Key != tt.key) {
				t.Errorf("request = %+v", reqs[0])
			}
		})
	}
}

func BenchmarkFindCombined(b *testing.B) {
	_, url := clearbittest.Start(b, clearbittest.Options{Limit: 1 << 30})
	c := clearbit.NewClient(url, http.DefaultClient).WithRateLimit(1<<30, 1<<20)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FindCombined(ctx, "sk_bench", "jane.doe@acme.com"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestClientLimiterBounded: the keys the client's limiter tracks are
// bounded; past the bound a new key is refused before anything is sent,
// and the keys it holds keep their spent budgets.
func TestClientLimiterBounded(t *testing.T) {
	t.Parallel()
	fake, url := clearbittest.Start(t, clearbittest.Options{})
	lim := clearbit.Limit(clearbit.RequestsPerMinute, 1)
	if lim.MaxKeys != clearbit.MaxKeys || clearbit.MaxKeys <= 0 {
		t.Fatalf("Limit().MaxKeys = %d, want %d", lim.MaxKeys, clearbit.MaxKeys)
	}
	lim.MaxKeys = 3
	l := actions.NewLimiter(lim)
	frozen := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	l.SetClock(func() time.Time { return frozen }, nil) // no bucket refills
	c := clearbit.NewClient(url, http.DefaultClient).WithLimiter(l)
	ctx := context.Background()
	for i := range 6 {
		key := "sk_tried_" + string(rune('a'+i))
		err := c.VerifyKey(ctx, key)
		var ae *upstream.APIError
		switch {
		case i < 3 && err != nil:
			t.Errorf("VerifyKey(key %d) = %v, want nil", i, err)
		case i >= 3 && (!errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || !actions.Transient(err)):
			t.Errorf("VerifyKey(key %d, limiter full) = %v, want a transient 429", i, err)
		}
		if i >= 3 && fake.KeyCalls(key) != 0 {
			t.Errorf("key %d reached Clearbit past the limiter's bound", i)
		}
	}
	// A key it holds is still out of budget: its next turn is 100 ms away
	// (refused under a shorter deadline), not refreshed.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.VerifyKey(short, "sk_tried_a"); !actions.Transient(err) || fake.KeyCalls("sk_tried_a") != 1 {
		t.Errorf("VerifyKey(held key, budget spent) = %v, want a transient 429", err)
	}
}
