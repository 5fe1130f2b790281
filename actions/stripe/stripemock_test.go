package stripe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// stripe-mock (github.com/stripe/stripe-mock, a go tool dependency of the
// module) serves Stripe's OpenAPI spec for APIVersion and refuses unknown
// or ill-typed parameters, so requests that pass here have the shape
// Stripe expects. It is stateless and answers canned objects; behaviour is
// tested against stripetest.
//
// One stripe-mock process serves the whole test binary: built (or found
// in the build cache) with `go tool -n stripe-mock`, started on a port the
// system picks, and killed by TestMain. When it cannot be built or
// started, the tests that need it fail.
var mock struct {
	once sync.Once
	url  string
	err  error
	cmd  *exec.Cmd
}

func TestMain(m *testing.M) {
	code := m.Run()
	if mock.cmd != nil && mock.cmd.Process != nil {
		mock.cmd.Process.Kill()
		mock.cmd.Wait()
	}
	os.Exit(code)
}

// stripeMockURL returns the base URL of the running stripe-mock, starting
// it on first use. It fails the test when stripe-mock is unavailable.
func stripeMockURL(t *testing.T) string {
	t.Helper()
	mock.once.Do(func() {
		// A loaded machine has seen stripe-mock print its address and
		// then never answer there: such a start is stopped and tried
		// again, a few times, before the tests give up.
		for attempt := 1; attempt <= 3; attempt++ {
			if mock.url, mock.err = startStripeMock(); mock.err == nil {
				return
			}
			mock.err = fmt.Errorf("attempt %d: %w", attempt, mock.err)
			if mock.cmd != nil && mock.cmd.Process != nil {
				mock.cmd.Process.Kill()
				mock.cmd.Wait()
				mock.cmd = nil
			}
		}
	})
	if mock.err != nil {
		t.Fatalf("stripe-mock is required for this test and could not be started: %v", mock.err)
	}
	return mock.url
}

func startStripeMock() (string, error) {
	// go test puts the go command that runs it first on PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command: %w", err)
	}
	out, err := exec.Command(goBin, "tool", "-n", "stripe-mock").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go tool -n stripe-mock: %v: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("go tool -n stripe-mock: %w", err)
	}
	bin := strings.TrimSpace(string(out))
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-strict-version-check")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	mock.cmd = cmd

	// stripe-mock prints "Listening for HTTP at address: 127.0.0.1:PORT".
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- strings.TrimSpace(a)
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("stripe-mock did not start listening within 60s; stderr: %s", stderr.String())
	}
	// Ready when it answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("stripe-mock at %s is not answering: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const mockKey = "sk_test_123"

func newMockClient(t *testing.T) *Client {
	t.Helper()
	return NewClient(stripeMockURL(t), &http.Client{Timeout: 10 * time.Second})
}

// TestStripeMockAcceptsRequests sends every request the client can make to
// stripe-mock, which validates it against Stripe's OpenAPI spec (and, with
// -strict-version-check, the pinned Stripe-Version).
func TestStripeMockAcceptsRequests(t *testing.T) {
	t.Parallel()
	c := newMockClient(t)
	ctx := context.Background()
	const idem = "hs-test-key"

	if err := c.VerifyKey(ctx, mockKey); err != nil {
		t.Errorf("VerifyKey() = %v", err)
	}
	customers, err := c.FindCustomersByEmail(ctx, mockKey, "Jane.Doe+promo@example.com")
	if err != nil || len(customers) == 0 || customers[0].ID == "" {
		t.Errorf("FindCustomersByEmail() = %+v, %v", customers, err)
	}
	for _, after := range []string{"", "cus_123"} {
		page, _, err := c.ListCustomersByEmail(ctx, mockKey, "Jane.Doe+promo@example.com", after)
		if err != nil || len(page) == 0 || page[0].ID == "" {
			t.Errorf("ListCustomersByEmail(after %q) = %+v, %v", after, page, err)
		}
	}
	cu, err := c.CreateCustomer(ctx, mockKey, idem, CustomerParams{Email: "jane@example.com", Metadata: map[string]string{"hubspot_portal_id": "123"}})
	if err != nil || cu.ID == "" {
		t.Errorf("CreateCustomer() = %+v, %v", cu, err)
	}
	for _, p := range []CouponParams{
		{ID: "hubspot_abc", Name: "15% off", PercentOff: 15, Duration: "once", Metadata: map[string]string{"created_by": "hubspot-actions"}},
		{ID: "hubspot_def", Name: "12.5% off for 3 months", PercentOff: 12.5, Duration: "repeating", DurationInMonths: 3},
		{ID: "hubspot_ghi", Name: "10.50 USD off forever", AmountOff: 1050, Currency: "usd", Duration: "forever"},
	} {
		cp, err := c.CreateCoupon(ctx, mockKey, idem, p)
		if err != nil || cp.ID == "" {
			t.Errorf("CreateCoupon(%+v) = %+v, %v", p, cp, err)
		}
	}
	cp, err := c.GetCoupon(ctx, mockKey, "hubspot_abc")
	if err != nil || cp.ID != "hubspot_abc" {
		t.Errorf("GetCoupon() = %+v, %v", cp, err)
	}
	pc, err := c.CreatePromotionCode(ctx, mockKey, idem, PromotionCodeParams{
		CouponID: "hubspot_abc", Code: "SPRING7KQ2M9XHTA", Customer: "cus_123", ExpiresAt: 1900000000, MaxRedemptions: 1,
		Metadata: map[string]string{"hubspot_ref": "EX-ABC", "hubspot_portal_id": "123"},
	})
	if err != nil || pc.ID == "" || pc.CouponID != "hubspot_abc" {
		t.Errorf("CreatePromotionCode() = %+v, %v", pc, err)
	}
	codes, err := c.ListPromotionCodes(ctx, mockKey, "SPRING7KQ2M9XHTA")
	if err != nil || len(codes) == 0 {
		t.Fatalf("ListPromotionCodes() = %+v, %v", codes, err)
	}
	if codes[0].Coupon == nil || codes[0].Coupon.ID == "" || codes[0].CouponID != codes[0].Coupon.ID {
		t.Errorf("ListPromotionCodes() did not expand promotion.coupon: %+v", codes[0])
	}
}

// TestStripeMockRefusesOldShapes makes sure the mock really validates: a
// promotion code with the pre-clover top-level coupon, an unknown
// parameter and a wrong API version are refused, and the client reports
// them as *Error.
func TestStripeMockRefusesOldShapes(t *testing.T) {
	t.Parallel()
	base := stripeMockURL(t)
	c := newMockClient(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		path    string
		body    string
		version string
	}{
		{"top-level coupon", "/v1/promotion_codes", "coupon=hubspot_abc&code=ABC", APIVersion},
		{"unknown param", "/v1/coupons", "percent_off=10&bogus=1", APIVersion},
		{"ill-typed param", "/v1/coupons", "percent_off=ten", APIVersion},
		{"other API version", "/v1/coupons", "percent_off=10", "2024-06-20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+mockKey)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Stripe-Version", tt.version)
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("POST %s %q (version %s) = %d, want 400", tt.path, tt.body, tt.version, resp.StatusCode)
			}
		})
	}
	// Through the client, an error answer becomes *Error.
	_, err := c.GetCoupon(ctx, "not-a-key", "x")
	var se *Error
	if !errors.As(err, &se) || se.API.Status != http.StatusUnauthorized || se.Type != "invalid_request_error" {
		t.Errorf("GetCoupon(bad key) = %v, want a 401 *Error", err)
	}
}
