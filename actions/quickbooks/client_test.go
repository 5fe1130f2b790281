package quickbooks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/actions/upstream"
)

const realm = quickbookstest.DefaultRealm

// newTestClient returns a client authorized for the fake's company.
func newTestClient(t *testing.T, opts quickbookstest.Options, lim actions.Limiter) (*Client, *env) {
	t.Helper()
	e := newEnv(t, opts, "")
	e.connect(t, 1)
	hc, err := e.grants.Client(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	e.fake.ResetRequests()
	return NewClient(e.fake.APIBaseURL(), hc, lim), e
}

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"jane@example.com", "'jane@example.com'"},
		{"o'hara@example.com", `'o\'hara@example.com'`},
		{`back\slash`, `'back\\slash'`},
		{`a\'b`, `'a\\\'b'`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestClientRequests(t *testing.T) {
	t.Parallel()
	c, e := newTestClient(t, quickbookstest.Options{}, nil)
	ctx := context.Background()
	tok, _ := e.grants.Token(ctx, 1)

	cu, err := c.CreateCustomer(ctx, realm, "req-cust-1", Customer{DisplayName: "Pat O'Hara", PrimaryEmailAddr: &EmailAddr{Address: "o'hara@example.com"}})
	if err != nil {
		t.Fatalf("CreateCustomer() = %v", err)
	}
	found, err := c.FindCustomerByEmail(ctx, realm, "o'hara@example.com")
	if err != nil || found == nil || found.ID != cu.ID {
		t.Fatalf("FindCustomerByEmail(o'hara) = %+v, %v, want customer %s", found, err, cu.ID)
	}
	inv, err := c.CreateInvoice(ctx, realm, "req-inv-1", Invoice{
		CustomerRef: &Ref{Value: cu.ID},
		Line:        []Line{{DetailType: "SalesItemLineDetail", Amount: 480, SalesItemLineDetail: &SalesItemLineDetail{ItemRef: Ref{Value: "7"}, Qty: 4, UnitPrice: 120}}},
	})
	if err != nil {
		t.Fatalf("CreateInvoice() = %v", err)
	}
	if inv.TotalAmt != 480 || inv.EmailStatus != "NotSet" || inv.DocNumber == "" {
		t.Errorf("CreateInvoice() = %+v, want total 480, NotSet, a DocNumber", inv)
	}
	sent, err := c.SendInvoice(ctx, realm, "req-send-1", inv.ID, "ap@example.com")
	if err != nil || sent.EmailStatus != "EmailSent" {
		t.Fatalf("SendInvoice() = %+v, %v, want EmailSent", sent, err)
	}
	info, err := c.CompanyInfo(ctx, realm)
	if err != nil || info.CompanyName != quickbookstest.DefaultCompanyName {
		t.Fatalf("CompanyInfo() = %+v, %v", info, err)
	}

	type seen struct {
		Method, Path, Query, Accept, ContentType, Auth, RequestID, MinorVersion string
	}
	var got []seen
	for _, r := range e.fake.APIRequests() {
		got = append(got, seen{r.Method, r.Path, r.Query.Get("query"), r.Header.Get("Accept"), r.Header.Get("Content-Type"),
			r.Header.Get("Authorization"), r.Query.Get("requestid"), r.Query.Get("minorversion")})
	}
	base := "/v3/company/" + realm
	bearer := "Bearer " + tok.AccessToken
	want := []seen{
		{"POST", base + "/customer", "", "application/json", "application/json", bearer, "req-cust-1", "75"},
		{"GET", base + "/query", `select * from Customer where PrimaryEmailAddr = 'o\'hara@example.com' maxresults 1`, "application/json", "", bearer, "", "75"},
		{"POST", base + "/invoice", "", "application/json", "application/json", bearer, "req-inv-1", "75"},
		{"POST", base + "/invoice/" + inv.ID + "/send", "", "application/json", "application/octet-stream", bearer, "req-send-1", "75"},
		{"GET", base + "/companyinfo/" + realm, "", "application/json", "", bearer, "", "75"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	reqs := e.fake.APIRequests()
	var body map[string]any
	if err := json.Unmarshal([]byte(reqs[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{"DisplayName": "Pat O'Hara", "PrimaryEmailAddr": map[string]any{"Address": "o'hara@example.com"}}
	if diff := cmp.Diff(wantBody, body); diff != "" {
		t.Errorf("customer body mismatch (-want +got):\n%s", diff)
	}
	body = nil
	if err := json.Unmarshal([]byte(reqs[2].Body), &body); err != nil {
		t.Fatal(err)
	}
	wantInv := map[string]any{
		"CustomerRef": map[string]any{"value": cu.ID},
		"Line": []any{map[string]any{"DetailType": "SalesItemLineDetail", "Amount": 480.0,
			"SalesItemLineDetail": map[string]any{"ItemRef": map[string]any{"value": "7"}, "Qty": 4.0, "UnitPrice": 120.0}}},
	}
	if diff := cmp.Diff(wantInv, body); diff != "" {
		t.Errorf("invoice body mismatch (-want +got):\n%s", diff)
	}
	if reqs[3].Body != "" || reqs[3].Query.Get("sendTo") != "ap@example.com" {
		t.Errorf("send request body %q sendTo %q, want no body and sendTo=ap@example.com", reqs[3].Body, reqs[3].Query.Get("sendTo"))
	}
}

func TestClientRequestIDReplays(t *testing.T) {
	t.Parallel()
	c, e := newTestClient(t, quickbookstest.Options{}, nil)
	ctx := context.Background()
	a, err := c.CreateCustomer(ctx, realm, "same-id", Customer{DisplayName: "Replay Me"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateCustomer(ctx, realm, "same-id", Customer{DisplayName: "Replay Me"})
	if err != nil {
		t.Fatalf("repeated CreateCustomer() = %v, want the original answer", err)
	}
	if a.ID != b.ID {
		t.Errorf("ids %s and %s, want one customer", a.ID, b.ID)
	}
	if n := len(e.fake.Customers(realm)); n != 3 {
		t.Errorf("customers = %d, want 3 (2 seeded + 1)", n)
	}
}

func TestClientItemsPagingAndSearch(t *testing.T) {
	t.Parallel()
	c, e := newTestClient(t, quickbookstest.Options{}, nil)
	ctx := context.Background()
	p1, err := c.Items(ctx, realm, "", 1, 20)
	if err != nil || len(p1) != 20 {
		t.Fatalf("Items(page 1) = %d items, %v, want 20", len(p1), err)
	}
	p2, err := c.Items(ctx, realm, "", 21, 20)
	if err != nil || len(p2) != 10 {
		t.Fatalf("Items(page 2) = %d items, %v, want the 10 other active items", len(p2), err)
	}
	for _, it := range append(p1, p2...) {
		if it.Name == "Retired Service" {
			t.Errorf("Items() returned the inactive item")
		}
	}
	hits, err := c.Items(ctx, realm, "licen%se", 1, 20) // % is not a wildcard in a search
	if err != nil || len(hits) != 3 {
		t.Fatalf("Items(license) = %v, %v, want the 3 licenses", hits, err)
	}
	reqs := e.fake.APIRequests()
	if q := reqs[len(reqs)-1].Query.Get("query"); q != "select * from Item where Name LIKE '%license%' orderby Name startposition 1 maxresults 20" {
		t.Errorf("query = %s", q)
	}
}

func TestClientFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(f *quickbookstest.Fake)
		call      func(c *Client) error
		status    int    // Fault.Status
		effective int    // the APIError status the runtime sees
		typ       string // Fault.Type
		code      string
		transient bool
	}{
		{"validation fault 6240", nil, func(c *Client) error {
			_, err := c.CreateCustomer(context.Background(), realm, "", Customer{DisplayName: "Jordan Lee"})
			return err
		}, 400, 400, "ValidationFault", "6240", false},
		{"fault inside a 200", func(f *quickbookstest.Fake) { f.SetFaultsIn200(true) }, func(c *Client) error {
			_, err := c.CreateCustomer(context.Background(), realm, "", Customer{DisplayName: "Jordan Lee"})
			return err
		}, 200, 400, "ValidationFault", "6240", false},
		{"lower-case 401", func(f *quickbookstest.Fake) { f.FailNext(401, 1) }, func(c *Client) error {
			_, err := c.CompanyInfo(context.Background(), realm)
			return err
		}, 401, 401, "AUTHENTICATION", "3200", false},
		{"XML 429", func(f *quickbookstest.Fake) { f.FailNext(429, 1) }, func(c *Client) error {
			_, err := c.CompanyInfo(context.Background(), realm)
			return err
		}, 429, 429, "SERVICE", "3001", true},
		{"XML 403 ThrottleExceeded", func(f *quickbookstest.Fake) { f.FailNext(403, 1) }, func(c *Client) error {
			_, err := c.CompanyInfo(context.Background(), realm)
			return err
		}, 403, 429, "SERVICE", "3001", true},
		{"503 SystemFault", func(f *quickbookstest.Fake) { f.FailNext(503, 1) }, func(c *Client) error {
			_, err := c.CompanyInfo(context.Background(), realm)
			return err
		}, 503, 503, "SystemFault", "10000", true},
		{"wrong realm: XML AuthenticationFault", nil, func(c *Client) error {
			_, err := c.CompanyInfo(context.Background(), "123")
			return err
		}, 401, 401, "AuthenticationFault", "100", false},
		{"610 inactive item", nil, func(c *Client) error {
			_, err := c.CreateInvoice(context.Background(), realm, "", Invoice{CustomerRef: &Ref{Value: "1"},
				Line: []Line{{DetailType: "SalesItemLineDetail", Amount: 5, SalesItemLineDetail: &SalesItemLineDetail{ItemRef: Ref{Value: "31"}, Qty: 1, UnitPrice: 5}}}})
			return err
		}, 400, 400, "ValidationFault", "610", false},
		{"6560 no CustomerRef", nil, func(c *Client) error {
			_, err := c.CreateInvoice(context.Background(), realm, "", Invoice{Line: []Line{{DetailType: "SalesItemLineDetail", Amount: 5}}})
			return err
		}, 400, 400, "ValidationFault", "6560", false},
		{"query not queryable", nil, func(c *Client) error {
			return c.Query(context.Background(), realm, "select * from Customer where Notes = 'x'", &struct{}{})
		}, 400, 400, "ValidationFault", "4001", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, e := newTestClient(t, quickbookstest.Options{}, nil)
			if tt.setup != nil {
				tt.setup(e.fake)
			}
			err := tt.call(c)
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("error = %v, want a *Fault", err)
			}
			var ae *upstream.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v does not unwrap to *upstream.APIError", err)
			}
			if f.Status != tt.status || ae.Status != tt.effective || f.Type != tt.typ || f.First().Code != tt.code {
				t.Errorf("fault = status %d (effective %d) %s %q, want %d (%d) %s %q", f.Status, ae.Status, f.Type, f.First().Code, tt.status, tt.effective, tt.typ, tt.code)
			}
			if f.IntuitTID == "" || !strings.Contains(err.Error(), "intuit_tid=") {
				t.Errorf("fault %q lacks the intuit_tid", err)
			}
			if got := actions.Transient(err); got != tt.transient {
				t.Errorf("Transient(%v) = %v, want %v", err, got, tt.transient)
			}
		})
	}
}

func TestParseFaultForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		typ  string
		want []FaultError
	}{
		{"json", `{"Fault":{"Error":[{"Message":"Duplicate Name Exists Error","Detail":"The name supplied already exists.","code":"6240","element":""}],"type":"ValidationFault"},"time":"2025-03-04T10:15:02.001-08:00"}`,
			"ValidationFault", []FaultError{{Code: "6240", Message: "Duplicate Name Exists Error", Detail: "The name supplied already exists."}}},
		{"lower-case", `{"warnings":null,"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"x","code":"3200","element":null}],"type":"AUTHENTICATION"},"time":1533811101733}`,
			"AUTHENTICATION", []FaultError{{Code: "3200", Message: "message=AuthenticationFailed; errorCode=003200; statusCode=401", Detail: "x"}}},
		{"bare XML", `<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.  Try again later</Detail></Error></Fault>`,
			"SERVICE", []FaultError{{Code: "3001", Message: "message=ThrottleExceeded; errorCode=003001; statusCode=429", Detail: "The request limit was reached.  Try again later"}}},
		{"XML in IntuitResponse", `<?xml version="1.0"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="t"><Fault type="AuthenticationFault"><Error code="100"><Message>General Authentication Error</Message></Error></Fault></IntuitResponse>`,
			"AuthenticationFault", []FaultError{{Code: "100", Message: "General Authentication Error"}}},
	}
	for _, tt := range tests {
		typ, errs, ok := parseFault([]byte(tt.body))
		if !ok || typ != tt.typ {
			t.Errorf("%s: parseFault() = %q, ok %v, want %q", tt.name, typ, ok, tt.typ)
		}
		if diff := cmp.Diff(tt.want, errs); diff != "" {
			t.Errorf("%s: errors mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, body := range []string{``, `{"QueryResponse":{}}`, `<html>bad gateway</html>`, `not json`} {
		if _, _, ok := parseFault([]byte(body)); ok {
			t.Errorf("parseFault(%q) found a fault", body)
		}
	}
}

// TestClientHTMLErrorBody: a gateway's HTML 502 is still a transient
// *Fault (without errors), and its body is kept short.
func TestClientHTMLErrorBody(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("intuit_tid", "tid-502")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>" + strings.Repeat("x", 10000) + "</html>"))
	}))
	defer ts.Close()
	_, err := NewClient(ts.URL, ts.Client(), nil).CompanyInfo(context.Background(), realm)
	var f *Fault
	if !errors.As(err, &f) || f.Status != 502 || !actions.Transient(err) || f.IntuitTID != "tid-502" {
		t.Fatalf("error = %v, want a transient 502 fault", err)
	}
	if len(f.api.Body) > 2048 {
		t.Errorf("kept %d bytes of body, want at most 2048", len(f.api.Body))
	}
}

// TestLimiterKeepsUnderIntuitConcurrency fires 40 concurrent requests at a
// fake that throttles above 10 in flight: paced by the limiter, none is
// throttled; unpaced, some are.
func TestLimiterKeepsUnderIntuitConcurrency(t *testing.T) {
	t.Parallel()
	run := func(lim actions.Limiter) (throttled, maxInFlight int) {
		c, e := newTestClient(t, quickbookstest.Options{Latency: 30 * time.Millisecond}, lim)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.CompanyInfo(context.Background(), realm)
				var f *Fault
				if errors.As(err, &f) && f.Throttled() {
					mu.Lock()
					throttled++
					mu.Unlock()
				} else if err != nil {
					t.Errorf("CompanyInfo() = %v", err)
				}
			}()
		}
		wg.Wait()
		return throttled, e.fake.MaxInFlight(realm)
	}
	if n, most := run(actions.NewLimiter(limit(0, 0))); n != 0 || most > 10 {
		t.Errorf("with the limiter: %d throttled, %d in flight at most; want 0 and ≤10", n, most)
	}
	if n, _ := run(nil); n == 0 {
		t.Errorf("without the limiter: nothing throttled; the test no longer shows the limiter matters")
	}
}

func TestLimiterRate(t *testing.T) {
	t.Parallel()
	l := actions.NewLimiter(limit(60, 10)) // burst 6, then 0.9 per second
	ctx := context.Background()
	for i := range 6 {
		release, err := l.Acquire(ctx, "r1")
		if err != nil {
			t.Fatalf("acquire %d = %v, want immediate", i, err)
		}
		release()
	}
	// The 7th request's turn is over a second away: with a shorter
	// deadline it is refused at once, reserving nothing.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	for range 200 {
		_, err := l.Acquire(short, "r1")
		var ae *upstream.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter <= 0 {
			t.Fatalf("acquire past the deadline = %v, want a 429 with RetryAfter", err)
		}
	}
	// Refused requests took nothing: the next turn is still about a second
	// away, not minutes.
	_, err := l.Acquire(short, "r1")
	var ae *upstream.APIError
	if errors.As(err, &ae) && ae.RetryAfter > 3*time.Second {
		t.Errorf("after 200 refused requests the wait is %v; refusals must not reserve", ae.RetryAfter)
	}
	// A reservation abandoned while waiting is handed back.
	waiting, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := l.Acquire(waiting, "r1"); done <- err }()
	time.Sleep(20 * time.Millisecond)
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire = %v", err)
	}
	if _, err := l.Acquire(short, "r1"); !errors.As(err, &ae) || ae.RetryAfter > 3*time.Second {
		t.Errorf("after a cancelled wait the next turn is %v away, want about a second", ae.RetryAfter)
	}
	// Another realm has its own budget.
	if release, err := l.Acquire(ctx, "r2"); err != nil {
		t.Errorf("acquire(r2) = %v, want immediate", err)
	} else {
		release()
	}
}

// TestClientEmptyAnswers: a 200 without the entity written is a transient
// failure, never a zero entity taken for success.
func TestClientEmptyAnswers(t *testing.T) {
	t.Parallel()
	c, e := newTestClient(t, quickbookstest.Options{}, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		path string
		call func() (id string, err error)
	}{
		{"create customer", "/customer", func() (string, error) {
			cu, err := c.CreateCustomer(ctx, realm, "req-empty-cust", Customer{DisplayName: "Empty Answer"})
			return cu.ID, err
		}},
		{"create invoice", "/invoice", func() (string, error) {
			inv, err := c.CreateInvoice(ctx, realm, "req-empty-inv", Invoice{
				CustomerRef: &Ref{Value: "1"},
				Line:        []Line{{DetailType: "SalesItemLineDetail", Amount: 1, SalesItemLineDetail: &SalesItemLineDetail{ItemRef: Ref{Value: "7"}, Qty: 1, UnitPrice: 1}}},
			})
			return inv.ID, err
		}},
		{"send invoice", "/send", func() (string, error) {
			inv, err := c.SendInvoice(ctx, realm, "req-empty-send", "1", "ap@example.com")
			return inv.ID, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.AnswerEmptyNext(tt.path)
			id, err := tt.call()
			if err == nil || !actions.Transient(err) {
				t.Errorf("%s with an empty 200 = id %q, %v; want a transient error", tt.name, id, err)
			}
		})
	}
	if _, err := c.SendInvoice(ctx, realm, "", "", "ap@example.com"); err == nil {
		t.Errorf("SendInvoice() without an invoice id = nil error, want one")
	}
	for _, r := range e.fake.APIRequests() {
		if strings.Contains(r.Path, "//") {
			t.Errorf("request to %s, want no empty path segment", r.Path)
		}
	}
}

// TestClientNetworkErrorKeepsInputOutOfMessage: a failed request's error
// (logged, and kept as the execution's last error) leaves out the query,
// which holds the customer's email or name.
func TestClientNetworkErrorKeepsInputOutOfMessage(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close()
	c := NewClient(ts.URL, &http.Client{Timeout: 5 * time.Second}, nil)
	ctx := context.Background()
	_, findErr := c.FindCustomerByEmail(ctx, realm, "jane.private@example.com")
	_, sendErr := c.SendInvoice(ctx, realm, "req-1", "101", "jane.private@example.com")
	for _, err := range []error{findErr, sendErr} {
		if err == nil || !actions.Transient(err) {
			t.Fatalf("call to a closed server = %v, want a transient network error", err)
		}
		if strings.Contains(err.Error(), "jane.private") {
			t.Errorf("error %q repeats the email", err)
		}
	}
}
