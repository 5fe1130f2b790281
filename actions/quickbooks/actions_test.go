package quickbooks

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/quickbooks/quickbookstest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const portal = 7000001

// harness runs the QuickBooks actions behind the real runtime, with portal
// connected to a fresh fake company.
type harness struct {
	*env
	h *actionstest.Harness
}

func newHarness(t *testing.T, opts quickbookstest.Options, cfg actions.Config) *harness {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	if opts.RetryAfter == "" {
		opts.RetryAfter = "0.05" // keep retried tests fast
	}
	e := newEnv(t, opts, "")
	e.connect(t, portal)
	if cfg.InlineBudget == 0 {
		cfg.InlineBudget = 3 * time.Second
	}
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := e.svc.Register(r); err != nil {
			t.Fatalf("Register() = %v", err)
		}
	}, actionstest.Options{Config: cfg})
	return &harness{env: e, h: h}
}

func (h *harness) run(t *testing.T, key, objectType string, inputs map[string]any, props map[string]string) (actions.Request, map[string]string) {
	t.Helper()
	req := actionstest.NewRequest(portal, objectType, inputs, props)
	return req, h.h.Run(t, key, req, 15*time.Second)
}

func golden(t *testing.T, name string, got map[string]string) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(b)+"\n"); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func wantFailure(t *testing.T, got map[string]string, code actions.Code, contains string) {
	t.Helper()
	if got[actions.OutputState] != actions.StateFailContinue || got[actions.OutputErrorCode] != string(code) {
		t.Fatalf("outputs = %v, want FAIL_CONTINUE %s", got, code)
	}
	if !strings.Contains(got[actions.OutputErrorMsg], contains) || !strings.Contains(got[actions.OutputErrorMsg], "(ref EX-") {
		t.Errorf("error_message = %q, want it to contain %q and a reference", got[actions.OutputErrorMsg], contains)
	}
}

func TestFindOrCreateCustomer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	tests := []struct {
		name        string
		objectType  string
		inputs      map[string]any
		props       map[string]string
		id          string
		created     bool
		displayName string // of the customer in QuickBooks, when created
	}{
		{"found by email", "CONTACT", map[string]any{"email": "jordan.lee@example.com"}, nil, "1", false, ""},
		{"created from contact properties", "CONTACT", nil,
			map[string]string{"email": "sam.park@example.com", "firstname": "Sam", "lastname": "Park", "company": "Park & Co", "phone": "+1 555 0100"},
			"101", true, "Sam Park"},
		{"apostrophe in email", "CONTACT", map[string]any{"email": "o'hara@example.com", "display_name": "Pat O'Hara"}, nil, "102", true, "Pat O'Hara"},
		{"apostrophe email found again", "CONTACT", map[string]any{"email": "o'hara@example.com"}, nil, "102", false, ""},
		{"name taken by another email gets a suffix", "CONTACT", map[string]any{"email": "jordan@other.example", "display_name": "Jordan Lee"}, nil,
			"103", true, "Jordan Lee (jordan@other.example)"},
		{"company without email found by name", "COMPANY", nil, map[string]string{"name": "Rivera Analytics", "domain": "rivera.example"}, "2", false, ""},
		{"company name taken by a vendor", "COMPANY", nil, map[string]string{"name": "Acme Supplies"}, "104", true, "Acme Supplies (HubSpot "},
		{"colon in name", "CONTACT", map[string]any{"email": "kim@example.com", "display_name": "Kim: VIP"}, nil, "105", true, "Kim - VIP"},
	}
	for _, tt := range tests { // in order: later cases see earlier customers
		t.Run(tt.name, func(t *testing.T) {
			_, got := h.run(t, KeyFindOrCreateCustomer, tt.objectType, tt.inputs, tt.props)
			want := map[string]string{"hs_execution_state": "SUCCESS", "customer_id": tt.id, "created": map[bool]string{true: "true", false: "false"}[tt.created], "error_code": "", "error_message": "", "test_mode": "false"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("outputs mismatch (-want +got):\n%s", diff)
			}
			if tt.created {
				var found bool
				for _, cu := range h.fake.Customers(realm) {
					if cu.ID == tt.id {
						found = true
						if !strings.HasPrefix(cu.DisplayName, tt.displayName) {
							t.Errorf("DisplayName = %q, want %q…", cu.DisplayName, tt.displayName)
						}
					}
				}
				if !found {
					t.Errorf("customer %s not in QuickBooks", tt.id)
				}
			}
		})
	}
	sam := h.fake.Customers(realm)[2]
	if sam.GivenName != "Sam" || sam.FamilyName != "Park" || sam.CompanyName != "Park & Co" || sam.PrimaryPhone == nil || sam.PrimaryPhone.FreeFormNumber != "+1 555 0100" {
		t.Errorf("created customer = %+v, want the contact's properties", sam)
	}
}

func TestFindOrCreateCustomerGolden(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	_, got := h.run(t, KeyFindOrCreateCustomer, "CONTACT", map[string]any{"email": "new.person@example.com", "display_name": "New Person"}, nil)
	golden(t, "find_or_create_customer_created", got)
}

func TestFindOrCreateCustomerFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{MaxAttempts: 2})
	tests := []struct {
		name     string
		portal   int64
		inputs   map[string]any
		props    map[string]string
		code     actions.Code
		contains string
	}{
		{"invalid email input", portal, map[string]any{"email": "not-an-email"}, nil, actions.CodeValidation, "email: must be an email address"},
		{"invalid email property", portal, nil, map[string]string{"email": "jane at example"}, actions.CodeValidation, "email: \"jane at example\" is not an email address"},
		{"nothing to name the customer", portal, nil, nil, actions.CodeValidation, "display_name: is required"},
		{"QuickBooks rejects the email (2210)", portal, map[string]any{"email": "a@" + quickbookstest.BadEmailDomain, "display_name": "A"}, nil,
			actions.CodeValidation, "email: QuickBooks does not accept this email address"},
		{"books closed (6210)", portal, map[string]any{"email": "b@example.com", "display_name": "B [qbo-closed-books]"}, nil,
			actions.CodeRejected, "QuickBooks rejected the request: Account Period Closed"},
		{"fault inside a 200", portal, map[string]any{"email": "c@example.com", "display_name": "C [qbo-fault200]"}, nil,
			actions.CodeRejected, "A business validation error"},
		{"portal never connected", 999, map[string]any{"email": "d@example.com"}, nil,
			actions.CodeNotConnected, "An admin can connect it on the app's settings page: https://actions.example.test/settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := actionstest.NewRequest(tt.portal, "CONTACT", tt.inputs, tt.props)
			got := h.h.Run(t, KeyFindOrCreateCustomer, req, 15*time.Second)
			wantFailure(t, got, tt.code, tt.contains)
		})
	}
}

func TestCreateInvoice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	h.crm.contacts["5001"] = Contact{ID: "201", Email: "ap@rivera.example", FirstName: "Ana", LastName: "Rivera", Company: "Rivera Retail"}
	req := actionstest.NewRequest(portal, "DEAL", map[string]any{
		"amount": "480", "item_id": "7", "due_in_days": "14", "send_email": "true",
	}, map[string]string{"dealname": "Rivera onboarding"})
	req.Object.ObjectID = "5001"
	got := h.h.Run(t, KeyCreateInvoice, req, 15*time.Second)
	golden(t, "create_invoice_sent", got)

	invs := h.fake.Invoices(realm)
	if len(invs) != 1 {
		t.Fatalf("invoices = %d, want 1", len(invs))
	}
	inv := invs[0]
	line := inv.Line[0]
	if inv.CustomerRef.Value != got["customer_id"] || inv.BillEmail.Address != "ap@rivera.example" || inv.DueDate != "2025-03-18" ||
		line.Description != "Rivera onboarding" || line.SalesItemLineDetail.ItemRef.Value != "7" || *line.Amount != 480 ||
		!strings.Contains(inv.PrivateNote, "deal 5001") || inv.EmailStatus != "EmailSent" {
		t.Errorf("invoice = %+v", inv)
	}
	var cust *quickbookstest.Customer
	for _, cu := range h.fake.Customers(realm) {
		if cu.ID == got["customer_id"] {
			cust = &cu
		}
	}
	if cust == nil || cust.DisplayName != "Ana Rivera" || cust.CompanyName != "Rivera Retail" {
		t.Errorf("customer = %+v, want Ana Rivera from the deal's contact", cust)
	}

	// A repeated delivery answers the same and creates nothing.
	again := h.h.Execute(t, KeyCreateInvoice, req)
	if !cmp.Equal(got, again) {
		t.Errorf("repeated delivery = %v, want %v", again, got)
	}
	if n := len(h.fake.Invoices(realm)); n != 1 {
		t.Errorf("invoices after a repeated delivery = %d, want 1", n)
	}
}

func TestCreateInvoiceDefaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	_, got := h.run(t, KeyCreateInvoice, "DEAL", map[string]any{
		"customer_email": "jordan.lee@example.com", "amount": "99.999", "item_id": "3", "description": "Advisory",
	}, nil)
	want := map[string]string{
		"hs_execution_state": "SUCCESS", "invoice_id": "101", "invoice_number": "1001", "total_amount": "100",
		"invoice_url": "https://sandbox.qbo.intuit.com/app/invoice?txnId=101", "customer_id": "1", "due_date": "2025-04-03", "email_status": "NotSet", "error_code": "", "error_message": "", "test_mode": "false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs mismatch (-want +got):\n%s", diff)
	}
	if h.crm.calls != 0 {
		t.Errorf("CRM read %d times, want none when customer_email is set", h.crm.calls)
	}
}

// TestCreateInvoiceRerunAfterCrash runs the action's side effects twice for
// one callbackId, as a resumed execution would: QuickBooks' requestid
// replays mean one customer and one invoice.
func TestCreateInvoiceRerunAfterCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quickbookstest.Options{Now: func() time.Time { return testNow }}, "")
	e.connect(t, portal)
	ex := &actions.Execution{CallbackID: "ap-7000001-crash-1", PortalID: portal, Ref: "EX-TEST",
		Object: actions.Object{ObjectID: "77", ObjectType: "DEAL"}}
	in := invoiceIn{CustomerEmail: "new.buyer@example.com", CustomerName: "New Buyer", Amount: 250, ItemID: "7", SendEmail: true}
	first, err := e.svc.createInvoice(context.Background(), ex, in)
	if err != nil {
		t.Fatalf("first run = %v", err)
	}
	second, err := e.svc.createInvoice(context.Background(), ex, in)
	if err != nil {
		t.Fatalf("second run = %v", err)
	}
	if first != second {
		t.Errorf("runs answered %+v and %+v, want the same invoice", first, second)
	}
	if n := len(e.fake.Invoices(realm)); n != 1 {
		t.Errorf("invoices = %d, want 1", n)
	}
	if n := len(e.fake.Customers(realm)); n != 3 {
		t.Errorf("customers = %d, want 3 (2 seeded + 1)", n)
	}
	var writes []string
	for _, r := range e.fake.APIRequests() {
		if r.Method == "POST" {
			writes = append(writes, r.Path+" requestid="+r.Query.Get("requestid"))
			if rid := r.Query.Get("requestid"); rid == "" || len(rid) > 50 {
				t.Errorf("write %s has requestid %q, want 1–50 characters", r.Path, rid)
			}
		}
	}
	if len(writes) != 5 { // customer, invoice, send; then invoice and send replayed (the customer is found by email)
		t.Errorf("writes = %v", writes)
	}
}

func TestCreateInvoiceFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{MaxAttempts: 2})
	h.crm.contacts["9001"] = Contact{ID: "1", FirstName: "No", LastName: "Email"}
	h.crm.contacts["9002"] = Contact{ID: "2", Email: "broken@"}
	tests := []struct {
		name     string
		dealID   string
		inputs   map[string]any
		code     actions.Code
		contains string
	}{
		{"deal without a contact email", "9001", map[string]any{"amount": "10", "item_id": "7"}, actions.CodeValidation, "customer_email: is empty and the deal has no associated contact"},
		{"deal contact with a broken email", "9002", map[string]any{"amount": "10", "item_id": "7"}, actions.CodeValidation, `customer_email: the deal's contact email "broken@"`},
		{"amount missing", "1", map[string]any{"customer_email": "a@example.com", "item_id": "7"}, actions.CodeValidation, "amount: must be greater than 0"},
		{"amount negative", "1", map[string]any{"customer_email": "a@example.com", "amount": "-5", "item_id": "7"}, actions.CodeValidation, "amount: must be greater than 0"},
		{"amount rounds to zero", "1", map[string]any{"customer_email": "a@example.com", "amount": "0.001", "item_id": "7"}, actions.CodeValidation, "amount: must be at least 0.01"},
		{"item missing", "1", map[string]any{"customer_email": "a@example.com", "amount": "10"}, actions.CodeValidation, "item_id: is required"},
		{"item not an id", "1", map[string]any{"customer_email": "a@example.com", "amount": "10", "item_id": "Consulting"}, actions.CodeValidation, "item_id: must be a QuickBooks product or service id"},
		{"inactive item (610)", "1", map[string]any{"customer_email": "a@example.com", "amount": "10", "item_id": "31"}, actions.CodeNotFound, `item_id: the QuickBooks product or service "31" does not exist or is inactive`},
		{"unknown item (610)", "1", map[string]any{"customer_email": "a@example.com", "amount": "10", "item_id": "999"}, actions.CodeNotFound, `"999" does not exist`},
		{"QuickBooks rejects the email (2210)", "1", map[string]any{"customer_email": "x@" + quickbookstest.BadEmailDomain, "amount": "10", "item_id": "7"}, actions.CodeValidation, "customer_email: QuickBooks does not accept"},
		{"throttled until retries run out", "1", map[string]any{"customer_email": "a@example.com", "amount": "10", "item_id": "7", "description": "[qbo-throttle]"}, actions.CodeRateLimited, "rate limiting"},
		{"unavailable until retries run out", "1", map[string]any{"customer_email": "a@example.com", "amount": "10", "item_id": "7", "description": "[qbo-unavailable]"}, actions.CodeUnavailable, "kept failing"},
		{"token rejected even after a refresh", "1", map[string]any{"customer_email": "a@example.com", "amount": "10", "item_id": "7", "description": "[qbo-auth]"}, actions.CodeNotConnected, "An admin must reconnect QuickBooks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := actionstest.NewRequest(portal, "DEAL", tt.inputs, nil)
			req.Object.ObjectID = actions.FlexString(tt.dealID)
			got := h.h.Run(t, KeyCreateInvoice, req, 20*time.Second)
			wantFailure(t, got, tt.code, tt.contains)
		})
	}
	t.Cleanup(func() {
		if invs := h.fake.Invoices(realm); len(invs) != 0 {
			t.Errorf("failed executions left %d invoices", len(invs))
		}
	})
}

func TestCreateInvoiceSendRejectedKeepsInvoice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	h.fake.RejectNext("/send", "6000", "A business validation error has occurred while processing your request")
	_, got := h.run(t, KeyCreateInvoice, "DEAL", map[string]any{"customer_email": "jordan.lee@example.com", "amount": "10", "item_id": "7", "send_email": "true"}, nil)
	wantFailure(t, got, actions.CodeRejected, "Invoice 1001 exists but was not emailed: QuickBooks rejected the request")
	if got["invoice_id"] == "" || got["invoice_number"] != "1001" || got["email_status"] != "NotSet" {
		t.Errorf("outputs = %v, want the created invoice with email_status NotSet", got)
	}
}

func TestCreateInvoiceTransientRecovers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(f *quickbookstest.Fake)
		marker string
	}{
		{"XML 429 once", nil, "[qbo-throttle-once]"},
		{"403 ThrottleExceeded once", func(f *quickbookstest.Fake) { f.FailNext(403, 1) }, ""},
		{"503 once", nil, "[qbo-unavailable-once]"},
		{"500 twice", func(f *quickbookstest.Fake) { f.FailNext(500, 2) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, quickbookstest.Options{}, actions.Config{})
			if tt.setup != nil {
				tt.setup(h.fake)
			}
			req := actionstest.NewRequest(portal, "DEAL", map[string]any{"customer_email": "jordan.lee@example.com", "amount": "10", "item_id": "7", "description": "Retainer " + tt.marker}, nil)
			first := h.h.Execute(t, KeyCreateInvoice, req)
			if first[actions.OutputState] != actions.StateBlock {
				t.Fatalf("first answer = %v, want BLOCK while the retry waits", first)
			}
			got := h.h.HubSpot.Wait(t, req.CallbackID, 15*time.Second)
			if got[actions.OutputState] != actions.StateSuccess || got["invoice_number"] != "1001" {
				t.Fatalf("completion = %v, want SUCCESS", got)
			}
			if n := len(h.fake.Invoices(realm)); n != 1 {
				t.Errorf("invoices = %d, want 1", n)
			}
		})
	}
}

func TestCreateInvoiceRefreshesOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	before := h.fake.Refreshes()
	h.fake.ExpireAccessTokens() // Intuit rejects the token our clock still thinks valid
	_, got := h.run(t, KeyCreateInvoice, "DEAL", map[string]any{"customer_email": "jordan.lee@example.com", "amount": "10", "item_id": "7"}, nil)
	if got[actions.OutputState] != actions.StateSuccess {
		t.Fatalf("outputs = %v, want SUCCESS after one refresh", got)
	}
	if n := h.fake.Refreshes() - before; n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	// The rotated refresh token was kept: the old one is now invalid_grant.
	h.fake.RevokeGrants()
	_, got = h.run(t, KeyCreateInvoice, "DEAL", map[string]any{"customer_email": "jordan.lee@example.com", "amount": "10", "item_id": "7"}, nil)
	wantFailure(t, got, actions.CodeNotConnected, "https://actions.example.test/settings")
}

func TestItemOptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	req := actions.OptionsRequest{Origin: actions.Origin{PortalID: portal}, ObjectTypeID: "0-3", InputFieldName: InItemID}
	p1 := h.h.Options(t, KeyCreateInvoice, InItemID, req)
	if len(p1.Options) != 20 || p1.After != "21" || !p1.Searchable {
		t.Fatalf("page 1 = %d options, after %q, searchable %v; want 20, 21, true", len(p1.Options), p1.After, p1.Searchable)
	}
	if first := p1.Options[0]; first != (actions.Option{Label: "Annual Review", Value: "25", Description: "Service, 290.00"}) {
		t.Errorf("first option = %+v", first)
	}
	req.FetchOptions.After = p1.After
	p2 := h.h.Options(t, KeyCreateInvoice, InItemID, req)
	if len(p2.Options) != 9 || p2.After != "" {
		t.Errorf("page 2 = %d options, after %q; want the 9 other sellable items and no more pages", len(p2.Options), p2.After)
	}
	seen := map[string]bool{}
	for _, o := range append(p1.Options, p2.Options...) {
		if seen[o.Value] || o.Label == "Retired Service" || o.Label == "Professional Services" {
			t.Errorf("option %+v is repeated, inactive or a category", o)
		}
		seen[o.Value] = true
	}

	search := actions.OptionsRequest{Origin: actions.Origin{PortalID: portal}, InputFieldName: InItemID}
	search.FetchOptions.Q = "support"
	got := h.h.Options(t, KeyCreateInvoice, InItemID, search)
	var labels []string
	for _, o := range got.Options {
		labels = append(labels, o.Label)
	}
	if diff := cmp.Diff([]string{"Premium Support", "Support Plan"}, labels); diff != "" {
		t.Errorf("search mismatch (-want +got):\n%s", diff)
	}
	search.FetchOptions.Q = "it's"
	if got := h.h.Options(t, KeyCreateInvoice, InItemID, search); len(got.Options) != 0 {
		t.Errorf("search with a quote = %+v, want no items and no error", got.Options)
	}

	notConnected := actions.OptionsRequest{Origin: actions.Origin{PortalID: 999}, InputFieldName: InItemID}
	got = h.h.Options(t, KeyCreateInvoice, InItemID, notConnected)
	if len(got.Options) != 1 || got.Options[0].Value != "" || got.Options[0].Description != string(actions.CodeNotConnected) ||
		!strings.Contains(got.Options[0].Label, "settings page") {
		t.Errorf("options for a portal without QuickBooks = %+v, want one explanatory option", got.Options)
	}
}

// TestFindOrCreateCustomerRerunAfterCrash re-runs a creation whose answer
// was lost: found by its email, or (without one) through a duplicate-name
// fault and a suffixed retry whose replayed requestids give back the same
// customer. Nothing is created twice, and both runs answer created.
func TestFindOrCreateCustomerRerunAfterCrash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		objectType  string
		props       map[string]actions.FlexString
		displayName string
	}{
		{"with an email", "CONTACT", map[string]actions.FlexString{"email": "lost.answer@example.com", "firstname": "Lost", "lastname": "Answer"}, "Lost Answer"},
		{"without an email", "COMPANY", map[string]actions.FlexString{"name": "Acme Supplies"}, "Acme Supplies (HubSpot 88)"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, quickbookstest.Options{}, "")
			e.connect(t, portal)
			ex := &actions.Execution{CallbackID: fmt.Sprintf("ap-7000001-crash-2-%d", i), PortalID: portal, Ref: "EX-TEST",
				Object: actions.Object{ObjectID: "88", ObjectType: tt.objectType, Properties: tt.props}}
			first, err := e.svc.findOrCreateCustomer(context.Background(), ex, customerIn{})
			if err != nil {
				t.Fatal(err)
			}
			second, err := e.svc.findOrCreateCustomer(context.Background(), ex, customerIn{})
			if err != nil {
				t.Fatal(err)
			}
			if first != second || !first.Created {
				t.Errorf("runs answered %+v and %+v, want one created customer", first, second)
			}
			cs := e.fake.Customers(realm)
			if len(cs) != 3 || cs[2].DisplayName != tt.displayName {
				t.Errorf("customers = %+v, want one new %q", cs, tt.displayName)
			}
			// Another execution finds the customer; it did not create it.
			other := *ex
			other.CallbackID, other.Ref = ex.CallbackID+"-other", "EX-OTHER"
			if got, err := e.svc.findOrCreateCustomer(context.Background(), &other, customerIn{}); err != nil || got.Created || got.CustomerID != first.CustomerID {
				t.Errorf("another execution = %+v, %v, want customer %s found, not created", got, err, first.CustomerID)
			}
		})
	}
}

// TestEmptyAnswersAreNotSuccess: a 200 without the Customer or Invoice is
// retried and, when it persists, ends UPSTREAM_UNAVAILABLE: never SUCCESS
// with an empty id, and never a send to /invoice//send.
func TestEmptyAnswersAreNotSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		key    string
		path   string
		inputs map[string]any
	}{
		{"customer create", KeyFindOrCreateCustomer, "/customer", map[string]any{"email": "empty.answer@example.com", "display_name": "Empty Answer"}},
		{"invoice create", KeyCreateInvoice, "/invoice", map[string]any{"customer_email": "jordan.lee@example.com", "amount": "10", "item_id": "7", "send_email": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, quickbookstest.Options{}, actions.Config{MaxAttempts: 2})
			h.fake.AnswerEmptyNext(tt.path)
			_, got := h.run(t, tt.key, "DEAL", tt.inputs, nil)
			wantFailure(t, got, actions.CodeUnavailable, "kept failing")
			for _, r := range h.fake.APIRequests() {
				if strings.HasSuffix(r.Path, "/send") {
					t.Errorf("request to %s, want no send of an invoice never seen", r.Path)
				}
			}
		})
	}
}

// TestCreateInvoiceSendKeepsFailing: an invoice created but never emailed
// because QuickBooks kept failing ends with the invoice's outputs and a
// history message saying it exists, whether the action stops trying to
// send or the runtime's retries run out first.
func TestCreateInvoiceSendKeepsFailing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		maxAttempts int
		code        actions.Code
		says        string
	}{
		{"throttled", 429, 0, actions.CodeRateLimited, "Invoice 1001 exists but was not emailed: QuickBooks kept limiting requests"},
		{"unavailable", 503, 0, actions.CodeUnavailable, "Invoice 1001 exists but was not emailed: QuickBooks kept failing"},
		{"runtime gives up first", 429, 2, actions.CodeRateLimited, "rate limiting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, quickbookstest.Options{}, actions.Config{MaxAttempts: tt.maxAttempts})
			h.fake.FailNextOn("/send", tt.status, 20)
			req := actionstest.NewRequest(portal, "DEAL", map[string]any{"customer_email": "jordan.lee@example.com", "amount": "10", "item_id": "7", "send_email": "true"}, nil)
			if first := h.h.Execute(t, KeyCreateInvoice, req); first[actions.OutputState] != actions.StateBlock {
				t.Fatalf("first answer = %v, want BLOCK while the send is retried", first)
			}
			got := h.h.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
			wantFailure(t, got, tt.code, tt.says)
			for k, v := range map[string]string{"invoice_id": "101", "invoice_number": "1001", "customer_id": "1", "total_amount": "10", "email_status": "NotSet"} {
				if got[k] != v {
					t.Errorf("output %s = %q, want %q", k, got[k], v)
				}
			}
			a, _ := h.h.Registry.Get(KeyCreateInvoice)
			msg, _ := a.Definition(actions.DefinitionParams{PublicBaseURL: "https://actions.example.test"}).HistoryMessage(got)
			if strings.Contains(msg, "no invoice") || strings.Contains(msg, "not created") {
				t.Errorf("history message = %q, want nothing saying there is no invoice", msg)
			}
			if n := len(h.fake.Invoices(realm)); n != 1 {
				t.Errorf("invoices = %d, want 1", n)
			}
		})
	}
}

// TestCreateInvoiceChecksConnectionFirst: a portal without QuickBooks gets
// NOT_CONNECTED without the deal's contact being read from HubSpot.
func TestCreateInvoiceChecksConnectionFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t, quickbookstest.Options{}, actions.Config{})
	h.crm.contacts["9001"] = Contact{ID: "1", FirstName: "No", LastName: "Email"}
	req := actionstest.NewRequest(999, "DEAL", map[string]any{"amount": "10", "item_id": "7"}, nil)
	req.Object.ObjectID = "9001"
	got := h.h.Run(t, KeyCreateInvoice, req, 15*time.Second)
	wantFailure(t, got, actions.CodeNotConnected, "https://actions.example.test/settings")
	h.crm.mu.Lock()
	defer h.crm.mu.Unlock()
	if h.crm.calls != 0 {
		t.Errorf("CRM read %d times, want none for a portal without QuickBooks", h.crm.calls)
	}
}

// TestCreateInvoiceCustomerFromInvoice: customer_id is the invoice's
// customer, even when a re-run finds another customer for the email than
// the run that created the invoice (here: it was made inactive between).
func TestCreateInvoiceCustomerFromInvoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quickbookstest.Options{Now: func() time.Time { return testNow }}, "")
	e.connect(t, portal)
	ctx := context.Background()
	ex := &actions.Execution{CallbackID: "ap-7000001-customer-ref", PortalID: portal, Ref: "EX-TEST",
		Object: actions.Object{ObjectID: "78", ObjectType: "DEAL"}}
	in := invoiceIn{CustomerEmail: "jordan.lee@example.com", Amount: 10, ItemID: "7"}
	first, err := e.svc.createInvoice(ctx, ex, in)
	if err != nil || first.CustomerID != "1" {
		t.Fatalf("first run = %+v, %v, want customer 1", first, err)
	}
	hc, err := e.grants.Client(ctx, portal)
	if err != nil {
		t.Fatal(err)
	}
	inactive := false
	if _, err := NewClient(e.fake.APIBaseURL(), hc, nil).CreateCustomer(ctx, realm, "", Customer{ID: "1", SyncToken: "0", DisplayName: "Jordan Lee",
		PrimaryEmailAddr: &EmailAddr{Address: "jordan.lee@example.com"}, Active: &inactive}); err != nil {
		t.Fatalf("deactivate customer 1: %v", err)
	}
	second, err := e.svc.createInvoice(ctx, ex, in)
	if err != nil {
		t.Fatalf("second run = %v", err)
	}
	if second != first {
		t.Errorf("second run = %+v, want %+v (the invoice's customer)", second, first)
	}
}

// TestCutsOnRuneBoundaries: text shortened for QuickBooks or for messages
// stays valid UTF-8.
func TestCutsOnRuneBoundaries(t *testing.T) {
	t.Parallel()
	long := "x" + strings.Repeat("€", 400) // 3 bytes a rune, off by one byte
	tests := []struct {
		name  string
		got   string
		runes int // at most
	}{
		{"plain", plain(FaultError{Message: long}), 301},
		{"clip", clip(long), 61},
	}
	w, _, err := customerFromRecord(&actions.Execution{Object: actions.Object{ObjectType: "CONTACT",
		Properties: map[string]actions.FlexString{"email": "a@example.com", "phone": actions.FlexString(long)}}}, customerIn{})
	if err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		name  string
		got   string
		runes int
	}{"phone", w.Phone, 30})
	for _, tt := range tests {
		if !utf8.ValidString(tt.got) || utf8.RuneCountInString(tt.got) > tt.runes || !strings.HasPrefix(tt.got, "x€€") {
			t.Errorf("%s = %q (%d runes), want valid UTF-8, at most %d runes, the start kept", tt.name, tt.got, utf8.RuneCountInString(tt.got), tt.runes)
		}
	}
}
