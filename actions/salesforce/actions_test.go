package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/salesforce/salesforcetest"
)

const upsertPath = "/services/data/" + APIVersion + "/sobjects/Lead/" + DefaultExternalIDField + "/"

func TestUpsertLeadCreates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 21)
	ex := execution(21, "cb-new", "501", map[string]string{"firstname": "Jane", "lastname": "Rivera", "company": "Rivera Analytics", "phone": "+1 555 0100"})
	out, err := e.svc.upsertLead(context.Background(), ex, leadIn{Email: "jane@rivera.example", LeadSource: "Web", LeadStatus: "Open - Not Contacted"})
	if err != nil {
		t.Fatalf("upsertLead() = %v", err)
	}
	leads := e.fake.Leads()
	if len(leads) != 1 || !out.Created || out.LeadID != leads[0]["Id"] || out.LeadURL != e.fake.URL+"/"+out.LeadID {
		t.Fatalf("upsertLead() = %+v, leads %v, want one new lead and its link", out, leads)
	}
	want := salesforcetest.Lead{"Id": out.LeadID, "Email": "jane@rivera.example", "FirstName": "Jane", "LastName": "Rivera", "Company": "Rivera Analytics",
		"Phone": "+1 555 0100", "LeadSource": "Web", "Status": "Open - Not Contacted", DefaultExternalIDField: "501"}
	if got := leads[0]; !equalLead(got, want) {
		t.Errorf("lead = %v, want %v", got, want)
	}
	reqs := e.fake.RequestsTo(http.MethodPatch, "/sobjects/Lead/")
	if len(reqs) != 1 || reqs[0].Path != upsertPath+"501" || reqs[0].Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(reqs[0].Header.Get("Authorization"), "Bearer ") {
		t.Fatalf("upsert requests = %+v, want one PATCH to %s501", reqs, upsertPath)
	}
	var body map[string]any
	json.Unmarshal([]byte(reqs[0].Body), &body)
	if _, has := body["Id"]; has {
		t.Errorf("upsert body %s holds Id", reqs[0].Body)
	}
	if _, has := body[DefaultExternalIDField]; has {
		t.Errorf("upsert body %s holds the external id field", reqs[0].Body)
	}
}

func equalLead(a, b salesforcetest.Lead) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestUpsertLeadDefaultsOnlyForNewLeads: a new lead without last name or
// company gets the defaults; an existing lead keeps its own.
func TestUpsertLeadDefaultsOnlyForNewLeads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 22)
	ctx := context.Background()
	out, err := e.svc.upsertLead(ctx, execution(22, "cb-a", "601", nil), leadIn{Email: "nameless@example.com"})
	if err != nil || !out.Created {
		t.Fatalf("upsertLead() = %+v, %v", out, err)
	}
	l := e.fake.Leads()[0]
	if l["LastName"] != DefaultLastName || l["Company"] != DefaultCompany {
		t.Errorf("new lead = %v, want the defaults for LastName and Company", l)
	}
	existing := e.fake.AddLead(salesforcetest.Lead{"Email": "kept@example.com", "LastName": "Kept", "Company": "Kept Inc", DefaultExternalIDField: "602"})
	out, err = e.svc.upsertLead(ctx, execution(22, "cb-b", "602", nil), leadIn{Email: "kept@example.com", FirstName: "Kim"})
	if err != nil || out.Created || out.LeadID != existing {
		t.Fatalf("upsertLead() = %+v, %v, want lead %s updated", out, err, existing)
	}
	for _, l := range e.fake.Leads() {
		if l["Id"] == existing && (l["LastName"] != "Kept" || l["Company"] != "Kept Inc" || l["FirstName"] != "Kim") {
			t.Errorf("updated lead = %v, want its own last name and company kept", l)
		}
	}
}

// TestUpsertLeadRerunNeverDuplicates: running the same execution again
// (HubSpot's retry, a resumed job) updates the lead it created, by the
// external id and, in an org without that field, by email.
func TestUpsertLeadRerunNeverDuplicates(t *testing.T) {
	t.Parallel()
	for _, opts := range []salesforcetest.Options{{}, {NoExternalIDField: true}} {
		name := "external id"
		if opts.NoExternalIDField {
			name = "email"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, opts)
			e.connect(t, 23)
			ex := execution(23, "cb-same", "701", map[string]string{"lastname": "Doe"})
			in := leadIn{Email: "again@example.com", Company: "Again"}
			first, err := e.svc.upsertLead(context.Background(), ex, in)
			if err != nil || !first.Created {
				t.Fatalf("first run = %+v, %v", first, err)
			}
			second, err := e.svc.upsertLead(context.Background(), ex, in)
			if err != nil || second.LeadID != first.LeadID || second.Created {
				t.Fatalf("second run = %+v, %v, want lead %s updated", second, err, first.LeadID)
			}
			if got := len(e.fake.Leads()); got != 1 {
				t.Errorf("leads = %d, want 1", got)
			}
		})
	}
}

// TestUpsertLeadByEmailWhenNoExternalIDField: an org without the field
// answers the upsert 404; the lead is then found by email.
func TestUpsertLeadByEmailWhenNoExternalIDField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{NoExternalIDField: true})
	e.connect(t, 24)
	id := e.fake.AddLead(salesforcetest.Lead{"Email": "Found@Example.com", "LastName": "F", "Company": "C"})
	out, err := e.svc.upsertLead(context.Background(), execution(24, "cb", "801", nil), leadIn{Email: "found@example.com", Phone: "123"})
	if err != nil || out.Created || out.LeadID != id {
		t.Fatalf("upsertLead() = %+v, %v, want lead %s updated", out, err, id)
	}
	q := e.fake.RequestsTo(http.MethodGet, "/query")
	if len(q) != 1 || q[0].Query.Get("q") != "SELECT Id, Email FROM Lead WHERE Email = 'found@example.com' LIMIT 2" {
		t.Errorf("queries = %+v", q)
	}
	if l := e.fake.Leads()[0]; l["Phone"] != "123" {
		t.Errorf("lead = %v, want its phone updated", l)
	}
}

func TestUpsertLeadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  salesforcetest.Options
		setup func(e *env)
		in    leadIn
		props map[string]string
		code  actions.Code
		field string
		text  string
	}{
		{name: "several leads with the contact id", setup: func(e *env) {
			e.fake.AddLead(salesforcetest.Lead{"LastName": "A", "Company": "C", DefaultExternalIDField: "900"})
			e.fake.AddLead(salesforcetest.Lead{"LastName": "B", "Company": "C", DefaultExternalIDField: "900"})
		}, code: actions.CodeRejected, text: "Several Salesforce leads have HubSpot contact ID 900"},
		{name: "several leads with the email", opts: salesforcetest.Options{NoExternalIDField: true}, setup: func(e *env) {
			e.fake.AddLead(salesforcetest.Lead{"Email": "x@example.com", "LastName": "A", "Company": "C"})
			e.fake.AddLead(salesforcetest.Lead{"Email": "X@example.com", "LastName": "B", "Company": "C"})
		}, code: actions.CodeRejected, text: "Several Salesforce leads have the email x@example.com"},
		{name: "duplicate rule", opts: salesforcetest.Options{DuplicateRule: true}, setup: func(e *env) {
			e.fake.AddLead(salesforcetest.Lead{"Email": "x@example.com", "LastName": "A", "Company": "C"})
		}, code: actions.CodeRejected, text: "duplicate rules"},
		{name: "another required field", setup: func(e *env) {
			e.fake.FailNext(salesforcetest.Failure{Status: 400, ErrorCode: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [Industry]", Fields: []string{"Industry"}})
		}, code: actions.CodeRejected, text: "field Industry"},
		{name: "required field of an input", setup: func(e *env) {
			e.fake.FailNext(salesforcetest.Failure{Status: 400, ErrorCode: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [Phone]", Fields: []string{"Phone"}})
		}, code: actions.CodeValidation, field: InPhone, text: "phone: Salesforce refused it"},
		{name: "restricted picklist", in: leadIn{LeadStatus: "Hot"}, code: actions.CodeValidation, field: InLeadStatus, text: "restricted picklist"},
		{name: "name too long from the contact", props: map[string]string{"firstname": strings.Repeat("n", 41)}, code: actions.CodeValidation, field: InFirstName, text: "too large"},
		{name: "email refused", setup: func(e *env) {
			e.fake.FailNext(salesforcetest.Failure{Status: 400, ErrorCode: "INVALID_EMAIL_ADDRESS", Message: "Email: invalid email address", Fields: []string{"Email"}})
		}, code: actions.CodeValidation, field: InEmail},
		{name: "validation rule", setup: func(e *env) {
			e.fake.FailNext(salesforcetest.Failure{Status: 400, ErrorCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Leads need a region"})
		}, code: actions.CodeRejected, text: "Leads need a region"},
		{name: "no permission", setup: func(e *env) {
			e.fake.FailNext(salesforcetest.Failure{Status: 403, ErrorCode: "INSUFFICIENT_ACCESS_OR_READONLY", Message: "insufficient access rights"})
		}, code: actions.CodeRejected, text: "lack permission"},
		{name: "daily allocation spent", setup: func(e *env) { e.fake.SetUsage(15000, 15000) },
			code: actions.CodeRateLimited, text: "15001 of its 15000 API requests"},
		{name: "bad email input", in: leadIn{Email: "not an email"}, code: actions.CodeValidation, field: InEmail, text: "not an email address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.opts)
			e.connect(t, 31)
			if tt.setup != nil {
				tt.setup(e)
			}
			in := tt.in
			if in.Email == "" {
				in.Email = "x@example.com"
			}
			if in.LastName == "" {
				in.LastName = "Last"
			}
			if in.Company == "" {
				in.Company = "Company"
			}
			before := len(e.fake.Leads())
			_, err := e.svc.upsertLead(context.Background(), execution(31, "cb", "900", tt.props), in)
			var ae *actions.Error
			if !errors.As(err, &ae) || ae.Code != tt.code || ae.Field != tt.field || !strings.Contains(ae.Message, tt.text) {
				t.Fatalf("upsertLead() = %v, want %s (field %q) with %q", err, tt.code, tt.field, tt.text)
			}
			if got := len(e.fake.Leads()); got != before {
				t.Errorf("leads = %d, want %d: nothing written", got, before)
			}
		})
	}
}

// TestUpsertLeadOutageIsTransient: Salesforce's 5xx stays a transient
// error, for the runtime to retry with backoff.
func TestUpsertLeadOutageIsTransient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 32)
	e.fake.FailNext(salesforcetest.Failure{Status: 503, ErrorCode: "SERVER_UNAVAILABLE", Message: "try later"})
	_, err := e.svc.upsertLead(context.Background(), execution(32, "cb", "1", nil), leadIn{Email: "x@example.com"})
	if err == nil || !actions.Transient(err) {
		t.Fatalf("upsertLead() = %v, want a transient error", err)
	}
}

// TestLimitInfoWatched: every answer's Sforce-Limit-Info is read; past 90%
// the settings card says how much of the org's allocation is spent.
func TestLimitInfoWatched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{DailyLimit: 1000, Used: 940})
	e.connect(t, 33)
	ctx := context.Background()
	if _, err := e.svc.upsertLead(ctx, execution(33, "cb", "1", nil), leadIn{Email: "x@example.com", LastName: "L", Company: "C"}); err != nil {
		t.Fatal(err)
	}
	u, ok := e.svc.lastUsage(salesforcetest.DefaultOrgID)
	if !ok || u.Limit != 1000 || u.Used != 941 || !u.NearlySpent() {
		t.Fatalf("lastUsage() = %+v, %v, want 941/1000, nearly spent", u, ok)
	}
	card, err := e.svc.Card(ctx, 33)
	if err != nil || card.Status != actions.CardConnected || !strings.Contains(card.Detail, "used 942 of its 1000 API requests") {
		t.Errorf("Card() = %+v, %v, want the usage in its detail", card, err)
	}
}

func TestParseUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Usage
		ok   bool
	}{
		{"api-usage=25/15000", Usage{25, 15000}, true},
		{"api-usage=18/5000; per-app-api-usage=17/250(appName=sample-app)", Usage{18, 5000}, true},
		{"per-app-api-usage=17/250(appName=x); api-usage=3/100", Usage{3, 100}, true},
		{"", Usage{}, false},
		{"api-usage=x/100", Usage{}, false},
		{"api-usage=5/0", Usage{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseUsage(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseUsage(%q) = %+v, %v, want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNotConnected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	ctx := context.Background()
	_, err := e.svc.upsertLead(ctx, execution(41, "cb", "1", nil), leadIn{Email: "x@example.com"})
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Code != actions.CodeNotConnected || !strings.Contains(ae.Message, e.url+actions.SettingsPath) {
		t.Fatalf("upsertLead() = %v, want NOT_CONNECTED naming the settings page", err)
	}
	card, err := e.svc.Card(ctx, 41)
	if err != nil || card.Status != actions.CardNotConnected || card.Connect.ConnectURL != ConnectPath {
		t.Errorf("Card() = %+v, %v", card, err)
	}
	unconfigured, err := New(Config{}, actions.Deps{PublicBaseURL: "https://actions.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = unconfigured.upsertLead(ctx, execution(41, "cb", "1", nil), leadIn{Email: "x@example.com"})
	if !errors.As(err, &ae) || ae.Code != actions.CodeNotConnected {
		t.Errorf("unconfigured upsertLead() = %v, want NOT_CONNECTED", err)
	}
	if card, _ := unconfigured.Card(ctx, 41); card.Status != actions.CardUnavailable {
		t.Errorf("unconfigured Card() = %+v", card)
	}
}

// TestMissingExternalIDFieldIsRemembered: once an org answered that the
// field does not exist, later executions go straight to the email lookup
// (one call fewer each) until fieldMissingFor has passed.
func TestMissingExternalIDFieldIsRemembered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{NoExternalIDField: true})
	e.connect(t, 25)
	now := time.Now()
	e.svc.now = func() time.Time { return now }
	ctx := context.Background()
	for i, id := range []string{"1", "2", "3"} {
		if i == 2 {
			now = now.Add(fieldMissingFor + time.Second)
		}
		if _, err := e.svc.upsertLead(ctx, execution(25, "cb"+id, id, nil), leadIn{Email: "m" + id + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(e.fake.RequestsTo(http.MethodPatch, "/sobjects/Lead/"+DefaultExternalIDField+"/")); got != 2 {
		t.Errorf("upserts by external id = %d, want 2 (the first run, and the third after the wait)", got)
	}
	if got := len(e.fake.Leads()); got != 3 {
		t.Errorf("leads = %d, want 3", got)
	}
}
