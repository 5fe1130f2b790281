package clearbit_test

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/clearbit"
	"hubspot-actions/actions/clearbit/clearbittest"
	"hubspot-actions/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// Portals of the tests, each with its own key so that rate-limit state of
// one test never leaks into another.
const (
	portalApp        = 8100001 // the app's default key
	portalOwn        = 8100002 // its own key
	portalNoKey      = 8100003
	portalBadOwn     = 8100004
	portalBadApp     = 8100005
	portalBadUnknown = 8100006
	portalOverQuota  = 8100007
	portalRate       = 8100008
	portalQueued     = 8100009
	portalRepeat     = 8100010
	portalReinstall  = 8100011 // must reinstall the app: the runtime refuses its executions
)

var portalKeys = map[int64]string{
	portalApp:        "sk_app_default",
	portalOwn:        "sk_portal_own",
	portalBadOwn:     "bad_portal_key",
	portalBadApp:     "bad_app_key",
	portalBadUnknown: "bad_key",
	portalOverQuota:  clearbittest.OverQuotaKey,
	portalRate:       "sk_rate",
	portalQueued:     "sk_queued",
	portalRepeat:     "sk_repeat",
}

var portalOwners = map[int64]clearbit.KeyOwner{
	portalApp: clearbit.OwnerApp, portalOwn: clearbit.OwnerPortal,
	portalBadOwn: clearbit.OwnerPortal, portalBadApp: clearbit.OwnerApp,
}

// keys stands in for the service's key lookup: the portal's key, else
// NOT_CONNECTED as actions.APIKeys words it.
func keys(ctx context.Context, ex *actions.Execution) (actions.Key, error) {
	if k, ok := portalKeys[ex.PortalID]; ok {
		return actions.Key{Secret: actions.Secret(k), Shared: portalOwners[ex.PortalID] == clearbit.OwnerApp}, nil
	}
	return actions.Key{}, actions.Fail(actions.CodeNotConnected, "No Clearbit API key is set up for this HubSpot account. An admin can enter one on the app's settings page: /settings")
}

type env struct {
	h    *actionstest.Harness
	fake *clearbittest.Server
}

func newEnv(t *testing.T, fakeOpts clearbittest.Options, opts clearbit.Options) env {
	t.Helper()
	fake, url := clearbittest.Start(t, fakeOpts)
	c := clearbit.NewClient(url, &http.Client{Timeout: 5 * time.Second})
	if opts.PendingEvery == 0 {
		opts.PendingEvery = 20 * time.Millisecond
	}
	opts.KeyOwner = func(ctx context.Context, portalID int64) clearbit.KeyOwner { return portalOwners[portalID] }
	p, err := clearbit.NewForTest(c, keys, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := p.Register(r); err != nil {
			t.Fatalf("Register() error: %v", err)
		}
	}, actionstest.Options{Config: actions.Config{InlineBudget: 3 * time.Second, MaxAttempts: 4}})
	return env{h: h, fake: fake}
}

// outcome is what a test expects of an execution's final outputs: fields
// that must match exactly, and text the error message must contain.
type outcome struct {
	state   string
	code    string
	message []string
	outputs map[string]string
}

func (o outcome) check(t *testing.T, got map[string]string) {
	t.Helper()
	if got["hs_execution_state"] != o.state || got["error_code"] != o.code {
		t.Fatalf("outputs = %v, want %s %s", got, o.state, o.code)
	}
	for _, m := range o.message {
		if !strings.Contains(got["error_message"], m) {
			t.Errorf("error_message = %q, want it to contain %q", got["error_message"], m)
		}
	}
	if o.code != "" && !strings.Contains(got["error_message"], "(ref EX-") {
		t.Errorf("error_message = %q, want a reference", got["error_message"])
	}
	for k, v := range o.outputs {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
}

func golden(t *testing.T, name string, got map[string]string) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestEnrichContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{}, clearbit.Options{})
	tests := []struct {
		name   string
		portal int64
		input  string
		prop   string
		want   outcome
		calls  map[string]int // Clearbit lookups per email
		golden string
	}{
		{name: "email input", portal: portalApp, input: "jane.doe@acme.com", golden: "enrich-contact",
			want:  outcome{state: "SUCCESS", outputs: map[string]string{"enriched": "true", "full_name": "Jane Doe", "company_domain": "acme.com"}},
			calls: map[string]int{"jane.doe@acme.com": 1}},
		{name: "falls back to the email property", portal: portalOwn, prop: "John.Smith@Globex.de",
			want:  outcome{state: "SUCCESS", outputs: map[string]string{"enriched": "true", "full_name": "John Smith", "company_name": "Globex", "company_domain": "globex.de"}},
			calls: map[string]int{"john.smith@globex.de": 1}},
		{name: "input wins over the property", portal: portalOwn, input: "Ada Lovelace <ada@initech.co.uk>", prop: "other@globex.de",
			want:  outcome{state: "SUCCESS", outputs: map[string]string{"company_domain": "initech.co.uk", "linkedin_url": "https://www.linkedin.com/in/ada-" + strings.ToLower(strings.Fields(mustPerson(t, "ada@initech.co.uk"))[1])}},
			calls: map[string]int{"ada@initech.co.uk": 1, "other@globex.de": 0}},
		{name: "free email provider: person without company", portal: portalApp, input: "sam.lee@gmail.com",
			want: outcome{state: "SUCCESS", outputs: map[string]string{"enriched": "true", "full_name": "Sam Lee", "company_name": "", "employee_count": "", "location": *clearbittest.GeneratePerson("sam.lee@gmail.com").Location}}},
		{name: "no email anywhere", portal: portalApp,
			want: outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{"email: is required"}, outputs: map[string]string{"enriched": "false"}}},
		{name: "property is not an email", portal: portalApp, prop: "n/a",
			want: outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{`email: the contact's Email property "n/a" is not an email address`}}},
		{name: "role address rejected by Clearbit", portal: portalApp, input: "info@acme.com",
			want:  outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{`email: Clearbit cannot look up "info@acme.com": Invalid email address`}, outputs: map[string]string{"enriched": "false"}},
			calls: map[string]int{"info@acme.com": 1}},
		{name: "unknown person", portal: portalApp, input: "unknown@acme.com",
			want:  outcome{state: "FAIL_CONTINUE", code: "NOT_FOUND", message: []string{"Clearbit has no data for unknown@acme.com."}, outputs: map[string]string{"enriched": "false", "full_name": ""}},
			calls: map[string]int{"unknown@acme.com": 1}},
		{name: "no key", portal: portalNoKey, input: "nokey@acme.com",
			want:  outcome{state: "FAIL_CONTINUE", code: "NOT_CONNECTED", message: []string{"No Clearbit API key", "settings page: /settings"}, outputs: map[string]string{"enriched": "false"}},
			calls: map[string]int{"nokey@acme.com": 0}},
		{name: "portal's own key invalid", portal: portalBadOwn, input: "badown@acme.com",
			want: outcome{state: "FAIL_CONTINUE", code: "UPSTREAM_REJECTED", message: []string{"this HubSpot account's own Clearbit API key (invalid API key)", "Enter a valid key on the app's settings page (/settings)"}}},
		{name: "app's default key invalid", portal: portalBadApp, input: "badapp@acme.com",
			want: outcome{state: "FAIL_CONTINUE", code: "UPSTREAM_REJECTED", message: []string{"the app's default Clearbit API key (invalid API key)", "Enter your own Clearbit key"}}},
		{name: "key of unknown owner invalid", portal: portalBadUnknown, input: "badkey@acme.com",
			want: outcome{state: "FAIL_CONTINUE", code: "UPSTREAM_REJECTED", message: []string{"the Clearbit API key in use (invalid API key)", "Check the key"}}},
		{name: "over quota", portal: portalOverQuota, input: "quota@acme.com",
			want: outcome{state: "FAIL_CONTINUE", code: "UPSTREAM_REJECTED", message: []string{"over its Clearbit quota"}, outputs: map[string]string{"enriched": "false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inputs := map[string]any{"email": tt.input}
			props := map[string]string{}
			if tt.prop != "" {
				props["email"] = tt.prop
			}
			req := actionstest.NewRequest(tt.portal, "CONTACT", inputs, props)
			got := e.h.Run(t, clearbit.KeyEnrichContact, req, 20*time.Second)
			tt.want.check(t, got)
			for email, n := range tt.calls {
				e.fake.AssertCalls(t, email, n)
			}
			if tt.golden != "" {
				golden(t, tt.golden, got)
			}
			if strings.Contains(got["error_message"], portalKeys[tt.portal]) && portalKeys[tt.portal] != "" {
				t.Errorf("error_message %q shows the API key", got["error_message"])
			}
		})
	}
}

func mustPerson(t *testing.T, email string) string {
	t.Helper()
	p := clearbittest.GeneratePerson(email)
	if p == nil {
		t.Fatalf("no person for %s", email)
	}
	return *p.Name.FullName
}

func TestEnrichCompany(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{}, clearbit.Options{})
	tests := []struct {
		name   string
		portal int64
		input  string
		prop   string
		want   outcome
		calls  map[string]int // Clearbit lookups per domain
		golden string
	}{
		{name: "domain input", portal: portalApp, input: "acme.com", golden: "enrich-company",
			want:  outcome{state: "SUCCESS", outputs: map[string]string{"enriched": "true", "company_name": "Acme", "legal_name": "Acme Inc.", "country": "United States"}},
			calls: map[string]int{"acme.com": 1}},
		{name: "website URL reduced to its domain", portal: portalApp, input: "https://WWW.Globex-Systems.de:443/ueber-uns?ref=hs",
			want:  outcome{state: "SUCCESS", outputs: map[string]string{"company_name": "Globex Systems", "legal_name": "Globex Systems GmbH", "country": "Germany", "linkedin_url": "https://www.linkedin.com/company/globex-systems"}},
			calls: map[string]int{"globex-systems.de": 1}},
		{name: "email reduced to its domain", portal: portalOwn, input: "ceo@initech.co.uk",
			want:  outcome{state: "SUCCESS", outputs: map[string]string{"company_name": "Initech", "country": "United Kingdom"}},
			calls: map[string]int{"initech.co.uk": 1}},
		{name: "falls back to the domain property", portal: portalOwn, prop: "www.umbrella.fr",
			want:  outcome{state: "SUCCESS", outputs: map[string]string{"company_name": "Umbrella", "country": "France"}},
			calls: map[string]int{"umbrella.fr": 1}},
		{name: "no domain anywhere", portal: portalApp,
			want: outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{"domain: is required"}, outputs: map[string]string{"enriched": "false"}}},
		{name: "no top-level domain: refused before asking Clearbit", portal: portalApp, input: "hooli",
			want:  outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{`domain: "hooli" has no top-level domain such as .com`}},
			calls: map[string]int{"hooli": 0}},
		{name: "unresolvable domain rejected by Clearbit", portal: portalApp, input: "acme.invalid",
			want:  outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{`domain: Clearbit cannot look up "acme.invalid": Invalid domain`}},
			calls: map[string]int{"acme.invalid": 1}},
		{name: "unknown company", portal: portalApp, input: "unknown.example",
			want:  outcome{state: "FAIL_CONTINUE", code: "NOT_FOUND", message: []string{"Clearbit has no data for unknown.example."}, outputs: map[string]string{"enriched": "false", "company_name": "", "founded_year": ""}},
			calls: map[string]int{"unknown.example": 1}},
		{name: "no key", portal: portalNoKey, input: "nokey.com",
			want:  outcome{state: "FAIL_CONTINUE", code: "NOT_CONNECTED", message: []string{"/settings"}},
			calls: map[string]int{"nokey.com": 0}},
		{name: "invalid key", portal: portalBadOwn, input: "badkey.com",
			want: outcome{state: "FAIL_CONTINUE", code: "UPSTREAM_REJECTED", message: []string{"invalid API key"}}},
		{name: "over quota", portal: portalOverQuota, input: "quota.com",
			want: outcome{state: "FAIL_CONTINUE", code: "UPSTREAM_REJECTED", message: []string{"is over its Clearbit quota"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			props := map[string]string{}
			if tt.prop != "" {
				props["domain"] = tt.prop
			}
			req := actionstest.NewRequest(tt.portal, "COMPANY", map[string]any{"domain": tt.input}, props)
			got := e.h.Run(t, clearbit.KeyEnrichCompany, req, 20*time.Second)
			tt.want.check(t, got)
			for domain, n := range tt.calls {
				e.fake.AssertCalls(t, domain, n)
			}
			if tt.golden != "" {
				golden(t, tt.golden, got)
			}
		})
	}
}

// TestQueuedLookupBlocksThenCompletes: Clearbit's 202 answers BLOCK, and
// the runtime asks again until the data is ready, then completes the
// callback.
func TestQueuedLookupBlocksThenCompletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{QueuedCalls: 3}, clearbit.Options{BlockExpiry: 30 * time.Minute})
	tests := []struct {
		action, objectType, input, field, lookup string
		want                                     map[string]string
	}{
		{clearbit.KeyEnrichContact, "CONTACT", "queued@acme.com", "email", "queued@acme.com", map[string]string{"company_name": "Acme", "full_name": mustPerson(t, "queued@acme.com")}},
		{clearbit.KeyEnrichCompany, "COMPANY", "https://queued.example/", "domain", "queued.example", map[string]string{"company_name": "Queued"}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			t.Parallel()
			req := actionstest.NewRequest(portalQueued, tt.objectType, map[string]any{tt.field: tt.input}, nil)
			first := e.h.Execute(t, tt.action, req)
			if first["hs_execution_state"] != "BLOCK" || first["hs_expiration_duration"] != "PT30M" {
				t.Fatalf("Execute() = %v, want BLOCK for PT30M", first)
			}
			done := e.h.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
			outcome{state: "SUCCESS", outputs: tt.want}.check(t, done)
			if done["enriched"] != "true" {
				t.Errorf("enriched = %q", done["enriched"])
			}
			e.fake.AssertCalls(t, tt.lookup, 4)
		})
	}
}

// TestQueuedTooLongGivesUp: a lookup Clearbit never finishes ends with
// UPSTREAM_UNAVAILABLE once the next ask would come after the action's
// block expiry. (Repeated asks are TestQueuedLookupBlocksThenCompletes's.)
func TestQueuedTooLongGivesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{}, clearbit.Options{BlockExpiry: time.Minute + 300*time.Millisecond, PendingEvery: time.Second})
	e.fake.Force("slow@acme.com", http.StatusAccepted, 0)
	req := actionstest.NewRequest(portalQueued, "CONTACT", map[string]any{"email": "slow@acme.com"}, nil)
	got := e.h.Execute(t, clearbit.KeyEnrichContact, req)
	outcome{state: "FAIL_CONTINUE", code: "UPSTREAM_UNAVAILABLE", message: []string{"Clearbit is looking this up"}, outputs: map[string]string{"enriched": "false"}}.check(t, got)
	e.fake.AssertCalls(t, "slow@acme.com", 1)
}

// TestTransientFailuresAreRetried: a 429 (retried when x-ratelimit-reset
// says) and a 503 end in success on a later attempt.
func TestTransientFailuresAreRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{}, clearbit.Options{})
	e.fake.Force("flaky.com", http.StatusServiceUnavailable, 1)
	tests := []struct {
		action, objectType, field, input string
		portal                           int64
	}{
		{clearbit.KeyEnrichContact, "CONTACT", "email", "ratelimited@acme.com", portalRate},
		{clearbit.KeyEnrichCompany, "COMPANY", "domain", "flaky.com", portalApp},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			t.Parallel()
			req := actionstest.NewRequest(tt.portal, tt.objectType, map[string]any{tt.field: tt.input}, nil)
			if first := e.h.Execute(t, tt.action, req); first["hs_execution_state"] != "BLOCK" {
				t.Fatalf("Execute() = %v, want BLOCK while retrying", first)
			}
			done := e.h.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
			outcome{state: "SUCCESS", outputs: map[string]string{"enriched": "true"}}.check(t, done)
			e.fake.AssertCalls(t, tt.input, 2)
		})
	}
}

func TestRateLimitedUntilRetriesRunOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{RateLimitedCalls: 99, ResetAfter: 10 * time.Millisecond}, clearbit.Options{})
	req := actionstest.NewRequest(portalRate, "COMPANY", map[string]any{"domain": "ratelimited.example"}, nil)
	got := e.h.Run(t, clearbit.KeyEnrichCompany, req, 30*time.Second)
	outcome{state: "FAIL_CONTINUE", code: "RATE_LIMITED", outputs: map[string]string{"enriched": "false"}}.check(t, got)
	e.fake.AssertCalls(t, "ratelimited.example", 4) // MaxAttempts
}

// TestArrayErrorEnvelope: the array form of Clearbit's errors is read too.
func TestArrayErrorEnvelope(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{ArrayErrors: true}, clearbit.Options{})
	got := e.h.Run(t, clearbit.KeyEnrichContact, actionstest.NewRequest(portalApp, "CONTACT", map[string]any{"email": "info@acme.com"}, nil), 10*time.Second)
	outcome{state: "FAIL_CONTINUE", code: "VALIDATION_FAILED", message: []string{"Invalid email address"}}.check(t, got)
	got = e.h.Run(t, clearbit.KeyEnrichCompany, actionstest.NewRequest(portalApp, "COMPANY", map[string]any{"domain": "unknown.example"}, nil), 10*time.Second)
	outcome{state: "FAIL_CONTINUE", code: "NOT_FOUND"}.check(t, got)
}

// TestRepeatedDeliveryDoesNotAskAgain: HubSpot's retry of a callbackId is
// answered from the ledger, without a second lookup.
func TestRepeatedDeliveryDoesNotAskAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{}, clearbit.Options{})
	req := actionstest.NewRequest(portalRepeat, "CONTACT", map[string]any{"email": "repeat@acme.com"}, nil)
	first := e.h.Execute(t, clearbit.KeyEnrichContact, req)
	second := e.h.Execute(t, clearbit.KeyEnrichContact, req)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("repeated delivery answered differently (-first +second):\n%s", diff)
	}
	e.fake.AssertCalls(t, "repeat@acme.com", 1)
}

// TestRunAfterCrash: an execution whose run died before answering is taken
// over by HubSpot's retry; the lookup runs again (it has no side effect)
// and answers the same outputs once.
func TestRunAfterCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{}, clearbit.Options{})
	ctx := context.Background()
	req := actionstest.NewRequest(portalRepeat, "COMPANY", map[string]any{"domain": "crash.com"}, nil)
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	err = e.h.DB.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.InsertExecution(ctx, store.NewExecution{
			CallbackID: req.CallbackID, Ref: "EX-CRASH", PortalID: portalRepeat, Action: clearbit.KeyEnrichCompany,
			Request: string(body), LeaseUntil: time.Now().Add(-time.Hour), ExpiresAt: time.Now().Add(time.Hour),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.h.Execute(t, clearbit.KeyEnrichCompany, req)
	outcome{state: "SUCCESS", outputs: map[string]string{"enriched": "true", "company_name": "Crash"}}.check(t, got)
	again := e.h.Execute(t, clearbit.KeyEnrichCompany, req)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("delivery after the take-over answered differently (-first +second):\n%s", diff)
	}
	e.fake.AssertCalls(t, "crash.com", 1)
	if c := e.h.HubSpot.Completions(req.CallbackID); len(c) != 0 {
		t.Errorf("answered inline and by callback: %v", c)
	}
}

// TestDefinitions pins the public contract: keys, object types, requested
// properties, input and output names and types.
func TestDefinitions(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	c := clearbit.NewClient("", http.DefaultClient)
	p, err := clearbit.NewForTest(c, keys, clearbit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Register(r); err != nil {
		t.Fatalf("Register() error: %v", err)
	}
	if err := p.Register(r); err == nil {
		t.Errorf("Register() twice: no error")
	}
	if _, err := clearbit.NewForTest(nil, keys, clearbit.Options{}); err == nil {
		t.Errorf("a provider without a client was built")
	}
	type field struct{ Name, Type string }
	type def struct {
		ObjectTypes, Properties []string
		Inputs, Outputs         []field
		BlockExpiry             time.Duration
	}
	describe := func(a *actions.Action) def {
		d := def{ObjectTypes: a.ObjectTypes, Properties: a.ObjectProperties, BlockExpiry: a.BlockExpiry}
		for _, f := range a.Inputs {
			d.Inputs = append(d.Inputs, field{f.Name, f.Type})
		}
		for _, f := range a.Outputs {
			d.Outputs = append(d.Outputs, field{f.Name, f.Type})
		}
		return d
	}
	want := map[string]def{
		"clearbit-enrich-contact": {
			ObjectTypes: []string{"CONTACT"}, Properties: []string{"email"},
			Inputs: []field{{"email", "string"}, {"save_to_record", "bool"}},
			Outputs: []field{{"enriched", "bool"}, {"full_name", "string"}, {"job_title", "string"}, {"seniority", "string"},
				{"role", "string"}, {"company_name", "string"}, {"company_domain", "string"}, {"industry", "string"},
				{"employee_count", "number"}, {"linkedin_url", "string"}, {"location", "string"},
				{"error_code", "enumeration"}, {"error_message", "string"}, {"test_mode", "bool"}},
			BlockExpiry: time.Hour,
		},
		"clearbit-enrich-company": {
			ObjectTypes: []string{"COMPANY"}, Properties: []string{"domain"},
			Inputs: []field{{"domain", "string"}, {"save_to_record", "bool"}},
			Outputs: []field{{"enriched", "bool"}, {"company_name", "string"}, {"legal_name", "string"}, {"industry", "string"},
				{"sector", "string"}, {"employee_count", "number"}, {"estimated_annual_revenue", "string"}, {"founded_year", "number"},
				{"city", "string"}, {"country", "string"}, {"linkedin_url", "string"},
				{"error_code", "enumeration"}, {"error_message", "string"}, {"test_mode", "bool"}},
			BlockExpiry: time.Hour,
		},
	}
	got := map[string]def{}
	for _, a := range r.All() {
		got[a.Key] = describe(a)
		if a.Name == "" || a.Description == "" || !strings.Contains(a.CardContent, "{{") {
			t.Errorf("%s: Name %q, Description %q, CardContent %q", a.Key, a.Name, a.Description, a.CardContent)
		}
		if !strings.HasPrefix(a.Message(actions.CodeNotFound), "Clearbit has no data for this ") {
			t.Errorf("%s: NOT_FOUND message %q", a.Key, a.Message(actions.CodeNotFound))
		}
		for _, f := range a.Inputs {
			if f.Label == "" || f.Description == "" || f.Required {
				t.Errorf("%s: input %s: label %q, description %q, required %v (it falls back to a property)", a.Key, f.Name, f.Label, f.Description, f.Required)
			}
		}
		for _, f := range a.Outputs {
			if f.Label == "" {
				t.Errorf("%s: output %s has no label", a.Key, f.Name)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("definitions (-want +got):\n%s", diff)
	}
}

// TestRuntimeFailuresAnswerNotEnriched: failures the runtime produces
// without running the action (here: the portal must reinstall the app, so
// NOT_CONNECTED) still answer enriched "false" for workflows to branch on.
func TestRuntimeFailuresAnswerNotEnriched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clearbittest.Options{}, clearbit.Options{})
	e.h.HubSpot.SetNotConnected(portalReinstall)
	tests := []struct {
		action, objectType, field, input string
	}{
		{clearbit.KeyEnrichContact, "CONTACT", "email", "reinstall@acme.com"},
		{clearbit.KeyEnrichCompany, "COMPANY", "domain", "acme.com"},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			t.Parallel()
			req := actionstest.NewRequest(portalReinstall, tt.objectType, map[string]any{tt.field: tt.input}, nil)
			got := e.h.Execute(t, tt.action, req)
			outcome{state: "FAIL_CONTINUE", code: "NOT_CONNECTED", outputs: map[string]string{"enriched": "false"}}.check(t, got)
		})
	}
}
