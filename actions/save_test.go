package actions_test

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/hubspot"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

const (
	savePortal    = int64(7100001)
	saveClientID  = "client-save"
	saveSecret    = "secret-save-3f1a"
	saveKey       = "acme-enrich"
	saveContactID = "901"
)

type enrichIn struct {
	Email string `json:"email"`
}

type enrichOut struct {
	Title string `json:"title"`
	Size  int    `json:"size,omitempty"`
	Note  string `json:"note"`
}

// saveSpec is an action that can save two of its three outputs on the
// enrolled contact; runs counts its runs.
func saveSpec(runs *atomic.Int64) actions.Spec[enrichIn, enrichOut] {
	return actions.Spec[enrichIn, enrichOut]{
		Key: saveKey, Name: "Enrich with Acme", ObjectTypes: []string{"CONTACT"},
		Inputs: []actions.InputField{{Name: "email", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Email"}},
		Outputs: []actions.OutputField{
			{Name: "title", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Title"},
			{Name: "size", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Size"},
			{Name: "note", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Note"},
		},
		Save: []actions.SavedProperty{
			{Output: "title", Property: "hsa_acme_title", Label: "Acme: title"},
			{Output: "size", Property: "hsa_acme_size", Label: "Acme: size", Type: actions.TypeNumber, FieldType: actions.FieldNumber},
		},
		Run: func(ctx context.Context, ex *actions.Execution, in enrichIn) (enrichOut, error) {
			runs.Add(1)
			return enrichOut{Title: "CTO", Size: 42, Note: "not saved"}, nil
		},
	}
}

// countingLimiter is the HubSpot client's rate governor, counting turns.
type countingLimiter struct{ turns atomic.Int64 }

func (l *countingLimiter) Acquire(context.Context, string) (func(), error) {
	l.turns.Add(1)
	return func() {}, nil
}
func (l *countingLimiter) Pause(string, time.Time) {}

type saveEnv struct {
	h    *actionstest.Harness
	hs   *hubspottest.Server
	lim  *countingLimiter
	runs *atomic.Int64
}

// newSaveEnv runs saveSpec against a fake HubSpot through the real
// HubSpot client: the portal installed with scopes (stored, as at
// install) and its token granted tokenScopes.
func newSaveEnv(t *testing.T, scopes, tokenScopes []string, cfg actions.Config) *saveEnv {
	t.Helper()
	ctx := context.Background()
	hs := hubspottest.NewServer(hubspottest.Config{ClientID: saveClientID, ClientSecret: saveSecret})
	ts := httptest.NewServer(hs)
	t.Cleanup(func() {
		ts.Close()
		for _, v := range hs.Violations() {
			t.Errorf("hubspottest: %s", v)
		}
	})
	url := storetest.URL(t)
	k := sha256.Sum256([]byte("save test key"))
	db, err := store.Open(ctx, url, store.WithKeys(k[:], nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.UpsertPortal(ctx, store.Portal{PortalID: savePortal, HubDomain: "acme.hubspot.com", Scopes: scopes})
	}); err != nil {
		t.Fatalf("UpsertPortal: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	flow := oauth.New(oauth.Config{ClientID: saveClientID, ClientSecret: saveSecret, TokenBaseURL: ts.URL}, db, &http.Client{Timeout: 10 * time.Second}, log)
	tok := hs.Grant(savePortal, tokenScopes...)
	if err := flow.Grants().Save(ctx, savePortal, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(time.Hour)}, "", ""); err != nil {
		t.Fatalf("save grant: %v", err)
	}
	hs.SeedObject(savePortal, "contacts", saveContactID, map[string]string{"email": "kim@acme.test"})
	env := &saveEnv{hs: hs, lim: &countingLimiter{}, runs: &atomic.Int64{}}
	client := hubspot.New(ts.URL, flow, env.lim, log)
	env.h = actionstest.New(t, func(r *actions.Registry) { actions.MustRegister(r, saveSpec(env.runs)) },
		actionstest.Options{DatabaseURL: url, Records: client, Config: cfg})
	return env
}

var (
	readScopes  = []string{"oauth", "automation", "crm.objects.contacts.read"}
	writeScopes = append(append([]string(nil), readScopes...), "crm.objects.contacts.write", "crm.schemas.contacts.write")
)

// run executes saveSpec for the seeded contact with save_to_record set
// to save, and returns what the workflow finally receives.
func (env *saveEnv) run(t *testing.T, save any, objectID string) (actions.Request, map[string]string) {
	t.Helper()
	req := actionstest.NewRequest(savePortal, "CONTACT", map[string]any{"email": "kim@acme.test", actions.InputSaveToRecord: save}, nil)
	req.Object.ObjectID = actions.FlexString(objectID)
	return req, env.h.Run(t, saveKey, req, 30*time.Second)
}

func (env *saveEnv) updates() int { return len(env.hs.Updates()) }

func TestSaveOnRecordRegistry(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	var runs atomic.Int64
	actions.MustRegister(r, saveSpec(&runs))
	a, _ := r.Get(saveKey)
	last := a.Inputs[len(a.Inputs)-1]
	want := actions.InputField{Name: actions.InputSaveToRecord, Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Save to the record",
		Description: last.Description, ValueTypes: []string{actions.StaticValue}}
	if diff := cmp.Diff(want, last); diff != "" || last.Description == "" {
		t.Errorf("the added input (-want +got):\n%s", diff)
	}
	if !a.Returns(actions.CodeNotFound) {
		t.Errorf("an action that saves does not declare NOT_FOUND (the enrolled record was deleted)")
	}
	if diff := cmp.Diff([]string{"crm.objects.contacts.write", "crm.schemas.contacts.write"}, r.OptionalScopeNames()); diff != "" {
		t.Errorf("OptionalScopeNames (-want +got):\n%s", diff)
	}
	for _, s := range r.Scopes() {
		if strings.HasSuffix(s.Name, ".write") {
			t.Errorf("Scopes() requires %s; saving's scopes are optional", s.Name)
		}
	}

	bad := []struct {
		name string
		edit func(s *actions.Spec[enrichIn, enrichOut])
		want string
	}{
		{"unknown output", func(s *actions.Spec[enrichIn, enrichOut]) { s.Save[0].Output = "nope" }, "not an output"},
		{"no prefix", func(s *actions.Spec[enrichIn, enrichOut]) { s.Save[0].Property = "title" }, "starting with hsa_"},
		{"duplicate property", func(s *actions.Spec[enrichIn, enrichOut]) { s.Save[1].Property = s.Save[0].Property }, "unique"},
		{"no label", func(s *actions.Spec[enrichIn, enrichOut]) { s.Save[0].Label = " " }, "no label"},
		{"bad type", func(s *actions.Spec[enrichIn, enrichOut]) {
			s.Save[0].Type, s.Save[0].FieldType = "bool", "booleancheckbox"
		}, "must be string"},
		{"no object types", func(s *actions.Spec[enrichIn, enrichOut]) { s.ObjectTypes = nil }, "needs ObjectTypes"},
		{"tickets", func(s *actions.Spec[enrichIn, enrichOut]) { s.ObjectTypes = []string{"TICKET"} }, "cannot be saved on"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s := saveSpec(&runs)
			s.Save = append([]actions.SavedProperty(nil), s.Save...)
			tt.edit(&s)
			err := actions.Register(actions.NewRegistry(), s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Register() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestSaveOnRecord: the first save creates the app's group and properties
// and writes the outputs with one PATCH, all through the rate governor;
// the second does not create them again; outputs are answered as before.
func TestSaveOnRecord(t *testing.T) {
	t.Parallel()
	env := newSaveEnv(t, writeScopes, writeScopes, actions.Config{})
	_, out := env.run(t, "true", saveContactID)
	want := map[string]string{"title": "CTO", "size": "42", "note": "not saved", actions.OutputState: actions.StateSuccess,
		actions.OutputErrorCode: "", actions.OutputErrorMsg: "", actions.OutputTestMode: "false"}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if !env.hs.HasGroup(savePortal, "contacts", actions.PropertyGroupName) {
		t.Errorf("the group %s was not created", actions.PropertyGroupName)
	}
	wantProps := []hubspottest.PropertyDef{
		{Name: "hsa_acme_size", Label: "Acme: size", Type: "number", FieldType: "number", GroupName: actions.PropertyGroupName, Description: "Saved by the Enrich with Acme workflow action."},
		{Name: "hsa_acme_title", Label: "Acme: title", Type: "string", FieldType: "text", GroupName: actions.PropertyGroupName, Description: "Saved by the Enrich with Acme workflow action."},
	}
	if diff := cmp.Diff(wantProps, env.hs.Properties(savePortal, "contacts")); diff != "" {
		t.Errorf("properties created (-want +got):\n%s", diff)
	}
	wantUpdate := []hubspottest.Update{{PortalID: savePortal, ObjectType: "contacts", ObjectID: saveContactID,
		Properties: map[string]string{"hsa_acme_title": "CTO", "hsa_acme_size": "42"}}}
	if diff := cmp.Diff(wantUpdate, env.hs.Updates()); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	rec, _ := env.hs.Object(savePortal, "contacts", saveContactID)
	if rec["hsa_acme_title"] != "CTO" || rec["hsa_acme_size"] != "42" || rec["email"] != "kim@acme.test" {
		t.Errorf("record after the save = %v", rec)
	}
	firstCalls := env.hs.Calls(hubspottest.EndpointProperties) + env.hs.Calls(hubspottest.EndpointUpdate)
	if firstCalls != 4 || env.lim.turns.Load() != int64(firstCalls) {
		t.Errorf("first save: %d calls (group, 2 properties, update: want 4), %d governor turns (want one a call)", firstCalls, env.lim.turns.Load())
	}

	props := env.hs.Calls(hubspottest.EndpointProperties)
	env.run(t, true, saveContactID)
	if got := env.hs.Calls(hubspottest.EndpointProperties); got != props {
		t.Errorf("second save made %d properties API calls, want none", got-props)
	}
	if env.updates() != 2 {
		t.Errorf("updates after the second save = %d, want 2", env.updates())
	}
	if env.lim.turns.Load() != 5 {
		t.Errorf("governor turns after the second save = %d, want 5", env.lim.turns.Load())
	}

	// Unticked (or absent), nothing is written.
	env.run(t, "false", saveContactID)
	env.run(t, nil, saveContactID)
	if env.updates() != 2 {
		t.Errorf("updates after runs without the box = %d, want 2", env.updates())
	}
}

// TestSaveOnRecordRecreatesDeletedProperties: an admin deleted one of the
// app's properties; the next save makes it again and writes.
func TestSaveOnRecordRecreatesDeletedProperties(t *testing.T) {
	t.Parallel()
	env := newSaveEnv(t, writeScopes, writeScopes, actions.Config{})
	env.run(t, true, saveContactID)
	if !env.hs.DeleteProperty(savePortal, "contacts", "hsa_acme_title") {
		t.Fatal("DeleteProperty: the property was not there")
	}
	_, out := env.run(t, true, saveContactID)
	if out[actions.OutputState] != actions.StateSuccess {
		t.Fatalf("save after the property was deleted = %v, want SUCCESS", out)
	}
	if n := len(env.hs.Properties(savePortal, "contacts")); n != 2 {
		t.Errorf("properties after the recovery = %d, want 2", n)
	}
	ups := env.hs.Updates()
	if len(ups) != 2 || ups[1].Properties["hsa_acme_title"] != "CTO" {
		t.Errorf("updates = %+v, want the second one to write hsa_acme_title", ups)
	}
}

// TestSaveOnRecordIdempotent: a retry that finds the properties made (the
// record of them lost) and a write that failed transiently both end in
// one SUCCESS with the same values written.
func TestSaveOnRecordIdempotent(t *testing.T) {
	t.Parallel()
	env := newSaveEnv(t, writeScopes, writeScopes, actions.Config{})
	env.run(t, true, saveContactID)
	ctx := context.Background()
	if err := env.h.DB.Write(ctx, func(tx *store.Tx) error { return tx.ForgetRecordProperties(ctx, savePortal, "contacts") }); err != nil {
		t.Fatal(err)
	}
	_, out := env.run(t, true, saveContactID)
	if out[actions.OutputState] != actions.StateSuccess {
		t.Fatalf("save whose properties exist already = %v, want SUCCESS (409 is success)", out)
	}
	// The write fails with a 503 once: the attempt is retried, the action
	// runs again, and the same values are written.
	runs := env.runs.Load()
	env.hs.Fail(hubspottest.EndpointCRM, 1, http.StatusServiceUnavailable, 0)
	_, out = env.run(t, true, saveContactID)
	if out[actions.OutputState] != actions.StateSuccess || out["title"] != "CTO" {
		t.Fatalf("save after a 503 = %v, want SUCCESS", out)
	}
	if got := env.runs.Load() - runs; got != 2 {
		t.Errorf("runs for the execution whose write failed once = %d, want 2", got)
	}
	ups := env.hs.Updates()
	if len(ups) != 3 || !cmp.Equal(ups[2].Properties, ups[0].Properties) {
		t.Errorf("updates = %+v, want 3 with the same values", ups)
	}
}

// TestSaveOnRecordWithoutScopes: a portal that did not grant the write
// scopes gets FAIL_CONTINUE NOT_CONNECTED telling the admin to reinstall,
// with the outputs, and nothing is called; a 403 from HubSpot (the token
// lacks a scope the install recorded) gives the same answer.
func TestSaveOnRecordWithoutScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		stored, token     []string
		wantPropertyCalls int
	}{
		{name: "not granted", stored: readScopes, token: readScopes},
		{name: "403 from HubSpot", stored: writeScopes, token: readScopes, wantPropertyCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newSaveEnv(t, tt.stored, tt.token, actions.Config{})
			req, out := env.run(t, true, saveContactID)
			if out[actions.OutputState] != actions.StateFailContinue || out[actions.OutputErrorCode] != string(actions.CodeNotConnected) {
				t.Fatalf("outputs = %v, want FAIL_CONTINUE NOT_CONNECTED", out)
			}
			if msg := out[actions.OutputErrorMsg]; !strings.Contains(msg, "reinstall the app") || !strings.Contains(msg, "not saved") {
				t.Errorf("error_message = %q, want it to say the results were not saved and to reinstall", msg)
			}
			if out["title"] != "CTO" || out["size"] != "42" {
				t.Errorf("outputs = %v, want them answered anyway", out)
			}
			if n := env.updates(); n != 0 {
				t.Errorf("updates = %d, want none", n)
			}
			if n := env.hs.Calls(hubspottest.EndpointUpdate); n != 0 {
				t.Errorf("update calls = %d, want none", n)
			}
			if n := env.hs.Calls(hubspottest.EndpointProperties); n != tt.wantPropertyCalls {
				t.Errorf("properties API calls = %d, want %d", n, tt.wantPropertyCalls)
			}
			e, err := env.h.DB.GetExecution(context.Background(), req.CallbackID)
			if err != nil {
				t.Fatal(err)
			}
			if e.ErrorCode != string(actions.CodeNotConnected) || !strings.Contains(e.ErrorMessage, "reinstall") {
				t.Errorf("history: error %q %q, want NOT_CONNECTED and the reinstall message", e.ErrorCode, e.ErrorMessage)
			}
		})
	}
}

// TestSaveOnRecordDeletedRecord: the enrolled record is gone.
func TestSaveOnRecordDeletedRecord(t *testing.T) {
	t.Parallel()
	env := newSaveEnv(t, writeScopes, writeScopes, actions.Config{})
	_, out := env.run(t, true, "404404")
	if out[actions.OutputErrorCode] != string(actions.CodeNotFound) || out["title"] != "CTO" {
		t.Errorf("outputs = %v, want NOT_FOUND with the outputs", out)
	}
}
