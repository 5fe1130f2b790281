package publish

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"hubspot-actions/actions"
)

const (
	testAppID  = "4242"
	testDevKey = "dev-key-0123456789abcdef"
	// testToken is an access token with the developers-write scope.
	testToken = "dev-token-fedcba9876543210"
	// testBaseURL is a deployment's public base URL: publish refuses the
	// committed files' placeholder.
	testBaseURL = "https://actions.yourco.test"
)

// automationFake is HubSpot's Automation Actions API for one app, with
// state. It checks every request (method, path, one credential as the
// spec's security schemes take it: the developer key in hapikey, or an
// access token as a bearer token, never both; content type, body shape),
// pages its lists two at a time, and adds server fields to what it stores,
// as HubSpot does.
type automationFake struct {
	t  *testing.T
	ts *httptest.Server

	mu      sync.Mutex
	defs    []map[string]any
	nextID  int
	calls   []string
	auths   []string // "hapikey" or "bearer", per request
	failGET []int    // statuses to answer the next GETs with
}

func newAutomationFake(t *testing.T) *automationFake {
	t.Helper()
	f := &automationFake{t: t, nextID: 900}
	f.ts = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.ts.Close)
	return f
}

// seed stores a definition as if created earlier; it returns its id.
func (f *automationFake) seed(d actions.Definition) string {
	b, _ := json.Marshal(d)
	var m map[string]any
	json.Unmarshal(b, &m)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.storeLocked(m)
}

func (f *automationFake) storeLocked(m map[string]any) string {
	f.nextID++
	id := strconv.Itoa(f.nextID)
	m["id"] = id
	m["revisionId"] = "1"
	m["functions"] = []any{}
	// HubSpot returns output types with server-model fields.
	if outs, ok := m["outputFields"].([]any); ok {
		for _, o := range outs {
			td := o.(map[string]any)["typeDefinition"].(map[string]any)
			td["externalOptions"] = false
			td["useChirp"] = false
			td["schema"] = map[string]any{"type": "STRING"}
		}
	}
	f.defs = append(f.defs, m)
	return id
}

// writes returns the POST and PATCH calls seen so far.
func (f *automationFake) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

func (f *automationFake) get(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.defs {
		if d["id"] == id {
			return d
		}
	}
	return nil
}

var definitionKeys = []string{"actionUrl", "published", "objectTypes", "objectRequestOptions", "inputFields", "outputFields",
	"executionRules", "labels", "functions", "inputFieldDependencies", "archivedAt"}

func (f *automationFake) serve(w http.ResponseWriter, r *http.Request) {
	t := f.t
	fail := func(status int, format string, args ...any) {
		t.Errorf("automation fake: %s %s: %s", r.Method, r.URL.Path, fmt.Sprintf(format, args...))
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"status": "error", "message": fmt.Sprintf(format, args...), "category": "VALIDATION_ERROR"})
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	auth, hapikey := r.Header.Get("Authorization"), r.URL.Query().Get("hapikey")
	if auth != "" && hapikey != "" {
		fail(http.StatusBadRequest, "both a bearer token and hapikey sent")
		return
	}
	if strings.HasPrefix(auth, "Bearer ") && strings.TrimPrefix(auth, "Bearer ") == testDevKey {
		fail(http.StatusBadRequest, "the developer API key sent as a bearer token; the spec takes it as hapikey")
		return
	}
	f.mu.Lock()
	f.auths = append(f.auths, map[bool]string{true: "hapikey", false: "bearer"}[hapikey != ""])
	f.mu.Unlock()
	if hapikey != testDevKey && auth != "Bearer "+testToken {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"status":"error","message":"The API key provided is invalid.","category":"INVALID_AUTHENTICATION"}`)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/automation/actions/2026-03/"+testAppID)
	if !ok {
		fail(http.StatusNotFound, "unexpected path")
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	switch {
	case r.Method == http.MethodGet && rest == "":
		f.list(w, r)
	case r.Method == http.MethodPost && rest == "":
		body, ok := f.body(r, true)
		if !ok {
			fail(http.StatusBadRequest, "bad create body")
			return
		}
		f.mu.Lock()
		id := f.storeLocked(body)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(f.get(id))
	case r.Method == http.MethodPatch && strings.HasPrefix(rest, "/"):
		body, ok := f.body(r, false)
		if !ok {
			fail(http.StatusBadRequest, "bad patch body")
			return
		}
		d := f.get(rest[1:])
		if d == nil {
			fail(http.StatusNotFound, "no definition %s", rest[1:])
			return
		}
		f.mu.Lock()
		for k, v := range body {
			d[k] = v
		}
		rev, _ := strconv.Atoi(d["revisionId"].(string))
		d["revisionId"] = strconv.Itoa(rev + 1)
		f.mu.Unlock()
		json.NewEncoder(w).Encode(d)
	default:
		fail(http.StatusMethodNotAllowed, "unexpected method")
	}
}

func (f *automationFake) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failGET) > 0 {
		status := f.failGET[0]
		f.failGET = f.failGET[1:]
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(status)
		io.WriteString(w, `{"status":"error","message":"try later","category":"INTERNAL_ERROR"}`)
		return
	}
	q := r.URL.Query()
	if limit, err := strconv.Atoi(q.Get("limit")); err != nil || limit < 1 || limit > 100 {
		f.t.Errorf("automation fake: list limit %q", q.Get("limit"))
	}
	from, _ := strconv.Atoi(q.Get("after"))
	to := min(from+2, len(f.defs))
	page := map[string]any{"results": f.defs[from:to]}
	if to < len(f.defs) {
		page["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(to), "link": "?after=" + strconv.Itoa(to)}}
	}
	json.NewEncoder(w).Encode(page)
}

// body decodes and checks a create (or patch) body.
func (f *automationFake) body(r *http.Request, create bool) (map[string]any, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Errorf("automation fake: content type %q", ct)
		return nil, false
	}
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		f.t.Errorf("automation fake: body: %v", err)
		return nil, false
	}
	for k := range m {
		if !slices.Contains(definitionKeys, k) {
			f.t.Errorf("automation fake: unknown field %q", k)
			return nil, false
		}
	}
	if create {
		for _, k := range []string{"actionUrl", "published", "objectTypes", "inputFields", "labels", "functions"} {
			if _, ok := m[k]; !ok {
				f.t.Errorf("automation fake: create body lacks %q", k)
				return nil, false
			}
		}
	}
	var d actions.Definition
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &d); err != nil {
		f.t.Errorf("automation fake: body is not a definition: %v", err)
		return nil, false
	}
	if err := actions.CheckDefinition(d); err != nil {
		f.t.Errorf("automation fake: body breaks the protocol's rules: %v", err)
		return nil, false
	}
	return m, true
}

// publish runs the publish command against the fake.
func (f *automationFake) publish(t *testing.T, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{
		"HUBSPOT_APP_ID":            testAppID,
		"HUBSPOT_DEVELOPER_API_KEY": testDevKey,
		"HUBSPOT_API_BASE_URL":      f.ts.URL,
		"PUBLIC_BASE_URL":           testBaseURL,
	}
	var out, errb bytes.Buffer
	args = append([]string{"publish"}, args...)
	err := run(t, args, func(k string) string { return env[k] }, &out, &errb)
	s := out.String() + errb.String()
	if err != nil {
		s += err.Error()
	}
	if strings.Contains(s, testDevKey) {
		t.Errorf("publish printed the developer API key:\n%s", s)
	}
	return out.String(), err
}

// codeDefinition returns the code's definition of an action as publish
// writes it (with its mark).
func codeDefinition(t *testing.T, key string) actions.Definition {
	t.Helper()
	return markPublished(projectDefinition(t, key))
}

// projectDefinition returns the code's definition of an action as a
// project build of the generated app-definition creates it.
func projectDefinition(t *testing.T, key string) actions.Definition {
	t.Helper()
	reg := testRegistry(t)
	a, ok := reg.Get(key)
	if !ok {
		t.Fatalf("no action %s", key)
	}
	return a.Component(actions.DefinitionParams{PublicBaseURL: testBaseURL, AppDisplayName: AppName, Published: true}).Definition()
}

func TestPublishCreatesThenChangesNothing(t *testing.T) {
	t.Parallel()
	f := newAutomationFake(t)
	out, err := f.publish(t)
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	n := publishedActions(t)
	if got := len(f.writes()); got != n {
		t.Errorf("first run made %d writes, want %d creates: %v", got, n, f.writes())
	}
	for _, want := range []string{fmt.Sprintf("%d created, 0 changed, 0 unchanged, 0 left alone", publishedActions(t)), "created       clearbit-enrich-company"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run output lacks %q:\n%s", want, out)
		}
	}

	out, err = f.publish(t)
	if err != nil {
		t.Fatalf("second publish: %v\n%s", err, out)
	}
	if got := len(f.writes()); got != n {
		t.Errorf("second run wrote: %v", f.writes()[n:])
	}
	if !strings.Contains(out, fmt.Sprintf("0 created, 0 changed, %d unchanged, 0 left alone", publishedActions(t))) {
		t.Errorf("second run output:\n%s", out)
	}
}

func TestPublishUpdatesWhatChangedAndLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	f := newAutomationFake(t)
	old := codeDefinition(t, "clearbit-enrich-contact")
	l := old.Labels["en"]
	l.ActionName = "Old name"
	old.Labels = map[string]actions.Labels{"en": l}
	id := f.seed(old)
	other := codeDefinition(t, "clearbit-enrich-company")
	other.ActionURL = "https://elsewhere.example.com/hubspot/actions/x"
	otherID := f.seed(other)

	out, err := f.publish(t)
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	wantWrites := []string{"POST /automation/actions/2026-03/4242", "PATCH /automation/actions/2026-03/4242/" + id}
	for _, w := range wantWrites {
		if !slices.Contains(f.writes(), w) {
			t.Errorf("writes %v lack %s", f.writes(), w)
		}
	}
	if got := f.get(id)["labels"].(map[string]any)["en"].(map[string]any)["actionName"]; got != "Enrich contact with Clearbit" {
		t.Errorf("after PATCH actionName = %v", got)
	}
	for _, want := range []string{
		"changed       clearbit-enrich-contact              id " + id,
		"(labels)",
		"left alone    -                                    id " + otherID,
		fmt.Sprintf("%d created, 1 changed, 0 unchanged, 1 left alone", publishedActions(t)-1),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	n := len(f.writes())
	if out, err := f.publish(t); err != nil || len(f.writes()) != n {
		t.Errorf("second run: %v, writes %v\n%s", err, f.writes()[n:], out)
	}
}

// TestPublishRefusesBreakingChanges seeds HubSpot with a definition the
// code changes in a way that breaks the workflows using it. Unpublished
// definitions are guarded too: accounts that added one keep executing it.
func TestPublishRefusesBreakingChanges(t *testing.T) {
	t.Parallel()
	input := func(d *actions.Definition, name string) *actions.InputFieldDefinition {
		for i := range d.InputFields {
			if d.InputFields[i].TypeDefinition.Name == name {
				return &d.InputFields[i]
			}
		}
		t.Fatalf("no input %s", name)
		return nil
	}
	removed := func(d *actions.Definition) {
		d.InputFields = append(d.InputFields, actions.InputFieldDefinition{
			TypeDefinition: actions.TypeDefinition{Name: "po_number", Type: "string", FieldType: "text"}, SupportedValueTypes: []string{"STATIC_VALUE"}})
		d.OutputFields = append(d.OutputFields, actions.OutputFieldDefinition{
			TypeDefinition: actions.TypeDefinition{Name: "invoice_pdf_url", Type: "string", FieldType: "text"}})
	}
	tests := []struct {
		name      string
		published bool
		old       func(d *actions.Definition) // HubSpot's definition, from the code's
		args      []string
		want      []string // the breaking changes; none: publish goes ahead
	}{
		{"removed fields", true, removed, nil,
			[]string{`input "po_number" would be removed or renamed`, `output "invoice_pdf_url" would be removed or renamed`}},
		{"removed fields, allowed", true, removed, []string{"--allow-breaking"}, nil},
		{"removed fields of an unpublished action", false, removed, nil,
			[]string{`input "po_number" would be removed or renamed`, `output "invoice_pdf_url" would be removed or renamed`}},
		{"input type", false, func(d *actions.Definition) { input(d, "due_in_days").TypeDefinition.Type = "string" }, nil,
			[]string{`input "due_in_days" would change type from string to number`}},
		{"output type", true, func(d *actions.Definition) { d.OutputFields[2].TypeDefinition.Type = "string" }, nil,
			[]string{`output "total_amount" would change type from string to number`}},
		{"input becomes required", true, func(d *actions.Definition) { input(d, "amount").IsRequired = false }, nil,
			[]string{`input "amount" would become required`}},
		{"required input added", true, func(d *actions.Definition) {
			d.InputFields = slices.DeleteFunc(d.InputFields, func(f actions.InputFieldDefinition) bool { return f.TypeDefinition.Name == "amount" })
		}, nil, []string{`input "amount" would be added as required`}},
		{"object type removed", true, func(d *actions.Definition) { d.ObjectTypes = append(d.ObjectTypes, "COMPANY") }, nil,
			[]string{"object type COMPANY would be removed"}},
		{"input no longer required", true, func(d *actions.Definition) { input(d, "description").IsRequired = true }, nil, nil},
		{"object type added", true, func(d *actions.Definition) { d.ObjectTypes = nil }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newAutomationFake(t)
			old := codeDefinition(t, "quickbooks-create-invoice")
			old.Published = tt.published
			tt.old(&old)
			id := f.seed(old)

			out, err := f.publish(t, tt.args...)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("publish: %v\n%s", err, out)
				}
				if !slices.Contains(f.writes(), "PATCH /automation/actions/2026-03/4242/"+id) {
					t.Errorf("writes = %v, want the PATCH", f.writes())
				}
				return
			}
			if err == nil {
				t.Fatalf("publish succeeded:\n%s", out)
			}
			for _, want := range append(tt.want, "--allow-breaking", "nothing was changed") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
			if !strings.Contains(out, "BREAKING: "+tt.want[0]) {
				t.Errorf("plan does not show the breaking change:\n%s", out)
			}
			if w := f.writes(); len(w) != 0 {
				t.Errorf("a refused publish wrote %v", w)
			}
		})
	}
}

// TestPublishNeedsADeploymentBaseURL: publish builds every actionUrl from
// the public base URL, so it must be given and must not be the committed
// placeholder, which would create a second set of actions pointing nowhere.
func TestPublishNeedsADeploymentBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		flag    string
		env     string
		wantErr string
	}{
		{"none", "", "", "no public base URL: pass --public-base-url"},
		{"placeholder from the environment", "", PlaceholderBaseURL, "is the placeholder of the committed app-definition"},
		{"placeholder flag, other spelling", "https://HubSpot-Actions.example.com/", "", "is the placeholder of the committed app-definition"},
		{"placeholder with a port", "https://hubspot-actions.example.com:443", "", "is the placeholder of the committed app-definition"},
		{"the flag wins over the environment", testBaseURL, PlaceholderBaseURL, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newAutomationFake(t)
			env := map[string]string{"HUBSPOT_APP_ID": testAppID, "HUBSPOT_DEVELOPER_API_KEY": testDevKey, "HUBSPOT_API_BASE_URL": f.ts.URL, "PUBLIC_BASE_URL": tt.env}
			args := []string{"publish", "--dry-run"}
			if tt.flag != "" {
				args = append(args, "--public-base-url", tt.flag)
			}
			var out bytes.Buffer
			err := run(t, args, func(k string) string { return env[k] }, &out, &out)
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out.String(), "would create  clearbit-enrich-company") || !strings.Contains(out.String(), testBaseURL+"/hubspot/actions/") {
					t.Errorf("publish = %v\n%s", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("publish = %v, want an error containing %q\n%s", err, tt.wantErr, out.String())
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.calls) != 0 {
				t.Errorf("publish without a deployment's base URL called HubSpot: %v", f.calls)
			}
		})
	}
}

func TestPublishDryRun(t *testing.T) {
	t.Parallel()
	f := newAutomationFake(t)
	f.seed(codeDefinition(t, "clearbit-enrich-contact"))
	out, err := f.publish(t, "--dry-run")
	if err != nil {
		t.Fatalf("publish --dry-run: %v", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("dry run wrote %v", w)
	}
	for _, want := range []string{"would create  clearbit-enrich-company", "unchanged     clearbit-enrich-contact", fmt.Sprintf("%d would create, 0 would change, 1 unchanged", publishedActions(t)-1), "dry run: nothing was changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	t.Run("configuration", func(t *testing.T) {
		t.Parallel()
		err := run(t, []string{"publish", "--public-base-url", testBaseURL}, noEnv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "HUBSPOT_APP_ID is required") || !strings.Contains(err.Error(), "HUBSPOT_DEVELOPER_API_KEY is required") {
			t.Errorf("publish without configuration = %v", err)
		}
	})
	t.Run("bad key", func(t *testing.T) {
		t.Parallel()
		f := newAutomationFake(t)
		env := map[string]string{"HUBSPOT_APP_ID": testAppID, "HUBSPOT_DEVELOPER_API_KEY": "wrong-key-secret", "HUBSPOT_API_BASE_URL": f.ts.URL, "PUBLIC_BASE_URL": testBaseURL}
		var out bytes.Buffer
		err := run(t, []string{"publish"}, func(k string) string { return env[k] }, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "http 401") {
			t.Errorf("publish with a bad key = %v", err)
		}
		if err != nil && strings.Contains(err.Error()+out.String(), "wrong-key-secret") {
			t.Errorf("the key was printed: %v %s", err, out.String())
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{"HUBSPOT_APP_ID": testAppID, "HUBSPOT_DEVELOPER_API_KEY": testDevKey, "HUBSPOT_API_BASE_URL": "http://127.0.0.1:1", "PUBLIC_BASE_URL": testBaseURL}
		err := run(t, []string{"publish"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
		if err == nil || strings.Contains(err.Error(), testDevKey) {
			t.Errorf("publish to a closed port = %v", err)
		}
	})
	t.Run("transient list failure is retried", func(t *testing.T) {
		t.Parallel()
		f := newAutomationFake(t)
		f.failGET = []int{http.StatusServiceUnavailable}
		if out, err := f.publish(t, "--dry-run"); err != nil {
			t.Errorf("publish after a 503: %v\n%s", err, out)
		}
	})
}

func TestChangedFieldsIgnoresServerNoise(t *testing.T) {
	t.Parallel()
	want := codeDefinition(t, "quickbooks-create-invoice")
	b, _ := json.Marshal(want)
	var m map[string]any
	json.Unmarshal(b, &m)
	m["id"], m["revisionId"], m["functions"] = "1", "7", []any{map[string]any{"functionType": "PRE_ACTION_EXECUTION", "id": "0"}}
	m["labels"].(map[string]any)["fr"] = map[string]any{"actionName": "Créer une facture"}
	for _, in := range m["inputFields"].([]any) {
		td := in.(map[string]any)["typeDefinition"].(map[string]any)
		if td["options"] == nil {
			td["options"] = []any{}
		}
		td["helpText"] = nil
	}
	b, _ = json.Marshal(m)
	var have remoteDefinition
	if err := json.Unmarshal(b, &have); err != nil {
		t.Fatal(err)
	}
	if got := changedFields(want, have.Definition); len(got) != 0 {
		t.Errorf("changedFields() = %v, want none", got)
	}
	have.Published = false
	have.ObjectRequestOptions = nil
	if got, wantFields := changedFields(want, have.Definition), []string{"published", "objectRequestOptions"}; !slices.Equal(got, wantFields) {
		t.Errorf("changedFields() = %v, want %v", got, wantFields)
	}
}

// publishedActions is how many actions the published app has.
func publishedActions(t *testing.T) int {
	t.Helper()
	reg := testRegistry(t)
	return len(reg.All())
}
