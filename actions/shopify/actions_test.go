package shopify

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/shopify/shopifytest"
)

// harness runs the Shopify actions behind the real runtime, with portal
// connected to testShop through the real flow.
type harness struct {
	*env
	h *actionstest.Harness
}

func newHarness(t *testing.T, opts shopifytest.Options) *harness {
	t.Helper()
	e := newEnv(t, opts)
	e.connect(t, portal, testShop)
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := e.p.Register(r); err != nil {
			t.Fatalf("Register() = %v", err)
		}
	}, actionstest.Options{Config: actions.Config{InlineBudget: 5 * time.Second}})
	return &harness{env: e, h: h}
}

func (h *harness) run(t *testing.T, key string, inputs map[string]any, props map[string]string) (actions.Request, map[string]string) {
	t.Helper()
	req := actionstest.NewRequest(portal, "CONTACT", inputs, props)
	return req, h.h.Run(t, key, req, 15*time.Second)
}

func (h *harness) ops(op string) int {
	n := 0
	for _, r := range h.fake.Requests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

func TestLookupCustomer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	h.fake.AddCustomer(testShop, shopifytest.Customer{ID: "gid://shopify/Customer/4242", Email: "Jane@Example.com", Orders: 3,
		Amount: "245.50", Currency: "EUR", LastOrderAt: "2025-02-14T10:30:00Z", Tags: []string{"vip", "newsletter"}})
	h.fake.AddCustomer("other.myshopify.com", shopifytest.Customer{Email: "bob@example.com", Orders: 9})
	_, got := h.run(t, ActionLookupCustomer, nil, map[string]string{"email": "jane@example.com"})
	want := map[string]string{OutFound: "true", OutCustomerID: "4242", OutOrdersCount: "3", OutAmountSpent: "245.50",
		OutCurrency: "EUR", OutLastOrderAt: "2025-02-14T10:30:00Z", OutTags: "vip, newsletter"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	// Another shop's customer is not this portal's.
	_, got = h.run(t, ActionLookupCustomer, map[string]any{InEmail: "bob@example.com"}, nil)
	if got[OutFound] != "false" || got[actions.OutputErrorCode] != "" {
		t.Errorf("lookup of another shop's customer = %v, want found false", got)
	}
	_, got = h.run(t, ActionLookupCustomer, map[string]any{InEmail: "not an email"}, nil)
	if got[actions.OutputErrorCode] != string(actions.CodeValidation) || got[OutFound] != "false" {
		t.Errorf("lookup of a bad email = %v, want VALIDATION_FAILED", got)
	}
}

func TestLookupNotConnected(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	req := actionstest.NewRequest(portal+5, "CONTACT", map[string]any{InEmail: "a@example.com"}, nil)
	got := h.h.Run(t, ActionLookupCustomer, req, 15*time.Second)
	if got[actions.OutputErrorCode] != string(actions.CodeNotConnected) {
		t.Errorf("lookup without a shop = %v, want NOT_CONNECTED", got)
	}
}

func TestSearchQueryEscaping(t *testing.T) {
	t.Parallel()
	tests := []string{
		"jane@example.com",
		`a"b@example.com`,
		`a\b@example.com`,
		`x@example.com" OR email:*`,
		`x@example.com\" OR tag:vip`,
		`"@example.com`,
		`\\"\@example.com`,
	}
	for _, email := range tests {
		q := SearchQuery(email)
		got, err := shopifytest.ParseEmailSearch(q)
		if err != nil || got != email {
			t.Errorf("ParseEmailSearch(SearchQuery(%q)) = %q, %v, want the email back", email, got, err)
		}
	}
}

func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"jane@example.com", `a"b\c`, `" OR *`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := shopifytest.ParseEmailSearch(SearchQuery(s))
		if err != nil || got != s {
			t.Fatalf("round trip of %q = %q, %v", s, got, err)
		}
	})
}

func TestLookupEscapesEmailEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	h.fake.AddCustomer(testShop, shopifytest.Customer{Email: "victim@example.com", Orders: 1})
	_, got := h.run(t, ActionLookupCustomer, map[string]any{InEmail: `x"OR"@example.com`}, nil)
	if got[OutFound] != "false" {
		t.Errorf("lookup of a quoting email = %v, want found false", got)
	}
	if v := h.fake.EscapingViolations(); len(v) > 0 {
		t.Errorf("the fake saw badly escaped searches: %v", v)
	}
}

func TestCreateDiscountCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	req, got := h.run(t, ActionCreateDiscountCode, map[string]any{InDiscountType: "percent", InPercentOff: "15", InUsageLimit: 1,
		InOncePerCustomer: "true", InExpiresInDays: 7, InCodePrefix: "spring"}, nil)
	if got[actions.OutputErrorCode] != "" {
		t.Fatalf("create = %v", got)
	}
	code := got[OutCode]
	if !strings.HasPrefix(code, "SPRING") || len(code) != len("SPRING")+suffixLen || got[OutDiscountID] == "" || got[OutExpiresAt] == "" {
		t.Fatalf("create = %v, want a SPRING code with id and expiry", got)
	}
	ds := h.fake.Discounts(testShop)
	if len(ds) != 1 {
		t.Fatalf("discounts = %d, want 1", len(ds))
	}
	in := ds[0].Input
	value := in["customerGets"].(map[string]any)["value"].(map[string]any)
	if value["percentage"] != 0.15 || in["usageLimit"] != float64(1) || in["appliesOncePerCustomer"] != true || in["endsAt"] != got[OutExpiresAt] {
		t.Errorf("discount input = %v", in)
	}
	// The same execution run again gets its code back and creates nothing.
	again := h.h.Execute(t, ActionCreateDiscountCode, req)
	if again[OutCode] != code || again[OutDiscountID] != got[OutDiscountID] {
		t.Errorf("re-run = %v, want %s again", again, code)
	}
	if n := h.ops("discountCodeBasicCreate"); n != 1 {
		t.Errorf("creates = %d, want 1", n)
	}
	// Another execution gets another code.
	_, other := h.run(t, ActionCreateDiscountCode, map[string]any{InDiscountType: "amount", InAmountOff: "10.5", InCodePrefix: "spring"}, nil)
	if other[OutCode] == code || other[OutCode] == "" {
		t.Errorf("second execution's code = %q, want a new one", other[OutCode])
	}
	ds = h.fake.Discounts(testShop)
	amt := ds[1].Input["customerGets"].(map[string]any)["value"].(map[string]any)["discountAmount"].(map[string]any)
	if amt["amount"] != "10.50" {
		t.Errorf("amount = %v, want 10.50", amt)
	}
}

func TestCreateRefusesCodeHeldByAnotherDiscount(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	req := actionstest.NewRequest(portal, "CONTACT", map[string]any{InDiscountType: "percent", InPercentOff: "20", InCodePrefix: "VIP"}, nil)
	// A discount with the execution's code but another title (not made
	// for this enrollment) holds the code.
	ex := &actions.Execution{CallbackID: req.CallbackID, PortalID: portal}
	first, err := h.p.create(context.Background(), ex, createIn{DiscountType: "percent", PercentOff: "20", CodePrefix: "VIP"})
	if err != nil {
		t.Fatalf("create() = %v", err)
	}
	got := h.h.Run(t, ActionCreateDiscountCode, req, 15*time.Second)
	if got[actions.OutputErrorCode] != string(actions.CodeRejected) {
		t.Errorf("run with a code held by another discount = %v, want UPSTREAM_REJECTED", got)
	}
	if n := h.ops("discountCodeBasicCreate"); n != 1 || first.Code == "" {
		t.Errorf("creates = %d, want 1", n)
	}
}

func TestCreateTakenRaceFindsOwn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	ex := &actions.Execution{CallbackID: "cb-race", PortalID: portal, Ref: "EX-RACE"}
	// Two runs of one execution at once: one creates, the other is told
	// TAKEN and finds the first's code.
	var wg sync.WaitGroup
	outs := make([]createOut, 4)
	errs := make([]error, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = h.p.create(context.Background(), ex, createIn{DiscountType: "percent", PercentOff: "5"})
		}()
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil || outs[i].Code != outs[0].Code || outs[i].DiscountID != outs[0].DiscountID {
			t.Errorf("run %d = %+v, %v, want %+v", i, outs[i], errs[i], outs[0])
		}
	}
	if n := len(h.fake.Discounts(testShop)); n != 1 {
		t.Errorf("discounts = %d, want 1", n)
	}
}

func TestCreateUserErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ue    shopifytest.UserError
		code  actions.Code
		field string
	}{
		{"percentage", shopifytest.UserError{Field: []string{"basicCodeDiscount", "customerGets", "value", "percentage"}, Code: "VALUE_OUTSIDE_RANGE", Message: "Value must be between 0.0 and 1.0"}, actions.CodeValidation, InPercentOff},
		{"ends at", shopifytest.UserError{Field: []string{"basicCodeDiscount", "endsAt"}, Code: "INVALID", Message: "Ends at needs to be after starts_at"}, actions.CodeValidation, InExpiresInDays},
		{"usage limit", shopifytest.UserError{Field: []string{"basicCodeDiscount", "usageLimit"}, Code: "GREATER_THAN", Message: "must be greater than 0"}, actions.CodeValidation, InUsageLimit},
		{"code", shopifytest.UserError{Field: []string{"basicCodeDiscount", "code"}, Code: "TOO_LONG", Message: "Code is too long"}, actions.CodeValidation, InCodePrefix},
		{"no field", shopifytest.UserError{Code: "INTERNAL_ERROR", Message: "Something went wrong"}, actions.CodeRejected, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, shopifytest.Options{})
			h.fake.FailNextCreate(tt.ue)
			_, got := h.run(t, ActionCreateDiscountCode, map[string]any{InDiscountType: "percent", InPercentOff: "10"}, nil)
			if got[actions.OutputErrorCode] != string(tt.code) || (tt.field != "" && !strings.HasPrefix(got[actions.OutputErrorMsg], tt.field+":")) {
				t.Errorf("create with %v = %v, want %s naming %q", tt.ue, got, tt.code, tt.field)
			}
		})
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    createIn
		field string
	}{
		{createIn{}, InDiscountType},
		{createIn{DiscountType: "free"}, InDiscountType},
		{createIn{DiscountType: "percent"}, InPercentOff},
		{createIn{DiscountType: "percent", PercentOff: "150"}, InPercentOff},
		{createIn{DiscountType: "percent", PercentOff: "10,5"}, InPercentOff},
		{createIn{DiscountType: "percent", PercentOff: "10", AmountOff: "5"}, InAmountOff},
		{createIn{DiscountType: "amount", AmountOff: "-5"}, InAmountOff},
		{createIn{DiscountType: "amount", AmountOff: "5.123"}, InAmountOff},
		{createIn{DiscountType: "percent", PercentOff: "10", UsageLimit: -1}, InUsageLimit},
		{createIn{DiscountType: "percent", PercentOff: "10", UsageLimit: 1 << 31}, InUsageLimit},
		{createIn{DiscountType: "amount", AmountOff: "1000000001"}, InAmountOff},
		{createIn{DiscountType: "percent", PercentOff: "10", OncePerCustomer: "maybe"}, InOncePerCustomer},
		{createIn{DiscountType: "percent", PercentOff: "10", ExpiresInDays: -1}, InExpiresInDays},
		{createIn{DiscountType: "percent", PercentOff: "10", CodePrefix: "SPR-ING"}, InCodePrefix},
		{createIn{DiscountType: "percent", PercentOff: "10", CodePrefix: strings.Repeat("A", 21)}, InCodePrefix},
		{createIn{DiscountType: "percent", PercentOff: "10", CustomerEmail: "nope"}, InCustomerEmail},
	}
	for _, tt := range tests {
		_, err := plan(tt.in)
		ae, ok := err.(*actions.Error)
		if !ok || ae.Code != actions.CodeValidation || ae.Field != tt.field {
			t.Errorf("plan(%+v) = %v, want VALIDATION_FAILED on %s", tt.in, err, tt.field)
		}
	}
}

func TestCreateForOneCustomer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	h.fake.AddCustomer(testShop, shopifytest.Customer{ID: "gid://shopify/Customer/77", Email: "jane@example.com"})
	_, got := h.run(t, ActionCreateDiscountCode, map[string]any{InDiscountType: "percent", InPercentOff: "10", InCustomerEmail: "jane@example.com"}, nil)
	if got[actions.OutputErrorCode] != "" {
		t.Fatalf("create = %v", got)
	}
	ctx := h.fake.Discounts(testShop)[0].Input["context"].(map[string]any)
	if add := ctx["customers"].(map[string]any)["add"].([]any); len(add) != 1 || add[0] != "gid://shopify/Customer/77" {
		t.Errorf("context = %v, want customer 77 only", ctx)
	}
	_, got = h.run(t, ActionCreateDiscountCode, map[string]any{InDiscountType: "percent", InPercentOff: "10", InCustomerEmail: "ghost@example.com"}, nil)
	if got[actions.OutputErrorCode] != string(actions.CodeNotFound) {
		t.Errorf("create for an unknown customer = %v, want NOT_FOUND", got)
	}
}

func TestThrottledIsRetriedAfterTheBucketRefills(t *testing.T) {
	t.Parallel()
	// 5 points a second: the lookup (2 points) and the create (10) find
	// the emptied bucket short unless the machine stalls for seconds
	// before the first call.
	h := newHarness(t, shopifytest.Options{RestoreRate: 5})
	var mu sync.Mutex
	var waits []time.Duration
	h.p.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return sleepCtx(ctx, d)
	}
	h.fake.SetBucket(testShop, 0)
	_, got := h.run(t, ActionCreateDiscountCode, map[string]any{InDiscountType: "percent", InPercentOff: "10"}, nil)
	if got[actions.OutputErrorCode] != "" || got[OutCode] == "" {
		t.Fatalf("create = %v, want a code after waiting", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) == 0 {
		t.Fatal("no wait for the bucket")
	}
	// The first THROTTLED answer comes with (almost) nothing available:
	// the lookup costs 2 points and the create 10, at 5 a second, so the
	// wait asked for is what is missing of at most 10 points: 2s.
	if waits[0] <= 0 || waits[0] > 2*time.Second {
		t.Errorf("first wait = %v, want (0, 2s] (at most 10 points at 5 points/s)", waits[0])
	}
	if n := len(h.fake.Discounts(testShop)); n != 1 {
		t.Errorf("discounts = %d, want 1", n)
	}
}

func TestBucketPacesBeforeSending(t *testing.T) {
	t.Parallel()
	b := newBuckets()
	now := time.Unix(1000, 0)
	b.update(testShop, "op", 10, throttleStatus{MaximumAvailable: 100, CurrentlyAvailable: 15, RestoreRate: 5}, now)
	if w := b.take(testShop, "op", now); w != 0 {
		t.Errorf("take with 15 available = %v, want 0", w)
	}
	if w := b.take(testShop, "op", now); w != time.Second {
		t.Errorf("take with 5 available = %v, want 1s (5 more points at 5/s)", w)
	}
	if w := b.take("other.myshopify.com", "op", now); w != 0 {
		t.Errorf("take for an unknown shop = %v, want 0", w)
	}
}

func TestLongThrottleGoesBackToTheRuntime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shopifytest.Options{RestoreRate: 0.1})
	e.connect(t, portal, testShop)
	e.fake.SetBucket(testShop, 0)
	s, err := e.p.shopFor(context.Background(), portal)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.findCustomer(context.Background(), "a@example.com")
	if !actions.Transient(err) {
		t.Fatalf("findCustomer() = %v, want a transient 429", err)
	}
	if !strings.Contains(err.Error(), "429") {
		t.Errorf("err = %v, want a 429", err)
	}
}

func TestTokenRevokedAtShopifyAsksReconnect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	row, _ := h.stored(t, portal)
	// The merchant uninstalled the app in Shopify.
	if err := h.p.revoke(context.Background(), testShop, row.AccessToken); err != nil {
		t.Fatal(err)
	}
	_, got := h.run(t, ActionLookupCustomer, map[string]any{InEmail: "a@example.com"}, nil)
	if got[actions.OutputErrorCode] != string(actions.CodeNotConnected) {
		t.Errorf("lookup with a revoked token = %v, want NOT_CONNECTED", got)
	}
	card, err := h.p.Card(context.Background(), portal)
	if err != nil || card.Status != actions.CardNeedsReconnect {
		t.Errorf("Card() = %+v, %v, want needs reconnecting", card, err)
	}
}

func TestSandboxFake(t *testing.T) {
	t.Parallel()
	cfg := Config{}
	fake := sandbox(&cfg)
	if fake == nil {
		t.Fatal("sandbox() = nil without credentials")
	}
	e := newEnv(t, shopifytest.Options{})
	_ = fake.Use(e.fake.URL)
	if cfg.APIBaseURL != e.fake.URL || cfg.ClientID == "" {
		t.Errorf("sandbox config = %+v", cfg)
	}
	if sandbox(&Config{ClientID: "real", ClientSecret: "s"}) != nil {
		t.Error("sandbox() with real credentials is not nil")
	}
	// The sandbox fake serves the whole flow and its customer.
	srv := shopifytest.Start(t, shopifytest.Options{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(), Sandbox: true})
	e.p.cfg = Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, APIBaseURL: srv.URL}
	e.fake = srv
	e.connect(t, portal, "sandbox.myshopify.com")
	s, err := e.p.shopFor(context.Background(), portal)
	if err != nil {
		t.Fatal(err)
	}
	c, ok, err := s.findCustomer(context.Background(), shopifytest.SandboxCustomerEmail)
	if err != nil || !ok || c.NumberOfOrders != "3" {
		t.Errorf("sandbox customer = %+v, %v, %v", c, ok, err)
	}
}

// TestCreateIgnoresHiddenStaleInputs: a percent left from before the
// marketer switched to a fixed amount is hidden, so it is ignored.
func TestCreateIgnoresHiddenStaleInputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shopifytest.Options{})
	_, got := h.run(t, ActionCreateDiscountCode, map[string]any{InDiscountType: "amount", InAmountOff: "5", InPercentOff: "150"}, nil)
	if got[actions.OutputErrorCode] != "" {
		t.Fatalf("amount with a stale percent = %v, want success", got)
	}
	ds := h.fake.Discounts(testShop)
	if len(ds) != 1 {
		t.Fatalf("discounts = %d, want 1", len(ds))
	}
	value := ds[0].Input["customerGets"].(map[string]any)["value"].(map[string]any)
	if _, ok := value["percentage"]; ok || value["discountAmount"] == nil {
		t.Errorf("discount value = %v, want the amount only", value)
	}
}
