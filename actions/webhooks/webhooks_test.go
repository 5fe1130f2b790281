package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/sandbox"
	"hubspot-actions/actions/webhooks"
	"hubspot-actions/store"
)

type env struct {
	*actionstest.Harness
	prom *prometheus.Registry
}

// newEnv runs the sandbox action and the receiver on one runtime.
func newEnv(t *testing.T, cfg actions.Config) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	prom := prometheus.NewRegistry()
	var recv *webhooks.Receiver
	h := actionstest.New(t, func(r *actions.Registry) {
		if err := sandbox.Register(r); err != nil {
			t.Fatal(err)
		}
	}, actionstest.Options{Config: cfg, Log: log,
		Jobs: func(db *store.DB) []actions.Jobs {
			recv = webhooks.New(db, log, prom)
			return []actions.Jobs{recv}
		},
		Routes: func(e *echo.Echo, rt *actions.Runtime, baseURL string, m *actions.Metrics) {
			recv.Routes(e, rt, actionstest.Secret, baseURL, m)
		}})
	return &env{Harness: h, prom: prom}
}

// post sends body to the webhooks route, signed v1 as HubSpot's webhooks
// are (sign false: unsigned).
func (e *env) post(t *testing.T, body []byte, sign bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+webhooks.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sign {
		req.Header.Set(actions.HeaderSignatureVersion, "v1")
		req.Header.Set(actions.HeaderSignature, actions.SignV1(actionstest.Secret, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// batch returns a batch of one event.
func batch(portalID int64, typ, objectID string, occurredAt int64, attempt int) []byte {
	return fmt.Appendf(nil, `[{"eventId":%d,"subscriptionId":77,"portalId":%d,"appId":5,"occurredAt":%d,"subscriptionType":%q,"attemptNumber":%d,"objectId":%s,"changeSource":"GDPR","changeFlag":"DELETED"}]`,
		900+occurredAt%7, portalID, occurredAt, typ, attempt, objectID)
}

// run executes sandbox-echo for a contact with message, and returns the
// request.
func (e *env) run(t *testing.T, portalID int64, contactID, message string, inputs map[string]any) actions.Request {
	t.Helper()
	in := map[string]any{sandbox.InputMessage: message}
	for k, v := range inputs {
		in[k] = v
	}
	req := actionstest.NewRequest(portalID, "CONTACT", in, map[string]string{"email": message})
	req.Object.ObjectID = actions.FlexString(contactID)
	e.Execute(t, sandbox.Key, req)
	return req
}

// waitErasures waits until portal has n erasure records.
func waitErasures(t *testing.T, db *store.DB, portalID int64, n int) []store.Erasure {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, err := db.ListErasures(context.Background(), portalID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("portal %d has %d erasures, want %d", portalID, len(list), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPrivacyDeletion: a signed privacy-deletion batch erases that
// contact's executions in that portal only; HubSpot's retry of the batch
// (attemptNumber 1) is acknowledged and erases nothing more.
func TestPrivacyDeletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	ctx := context.Background()
	gone := e.run(t, 42, "501", "gone.person@example.test", nil)
	kept := e.run(t, 42, "502", "kept.person@example.test", nil)
	stranger := e.run(t, 43, "501", "stranger@example.test", nil)

	body := batch(42, "contact.privacyDeletion", "501", 1764000000000, 0)
	if status, b := e.post(t, body, true); status != http.StatusNoContent {
		t.Fatalf("privacy batch: %d %s, want 204", status, b)
	}
	list := waitErasures(t, e.DB, 42, 1)
	if list[0].Reason != store.ErasePrivacyDeletion || list[0].Executions != 1 || list[0].ObjectType != "CONTACT" {
		t.Errorf("erasure = %+v, want one privacy deletion of 1 contact execution", list[0])
	}
	ex, err := e.DB.GetExecution(ctx, gone.CallbackID)
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Erased() || strings.Contains(ex.Request+ex.Outputs+ex.ErrorMessage+ex.ObjectID, "gone.person") || ex.ObjectID != "" {
		t.Errorf("erased execution still holds the contact: %+v", ex)
	}
	for _, r := range []actions.Request{kept, stranger} {
		ex, _ := e.DB.GetExecution(ctx, r.CallbackID)
		if ex.Erased() || ex.Request == "" {
			t.Errorf("execution %s of another contact or portal was erased", r.CallbackID)
		}
	}

	// The retry, and the contact.deletion HubSpot also sends.
	if status, b := e.post(t, batch(42, "contact.privacyDeletion", "501", 1764000000000, 1), true); status != http.StatusNoContent {
		t.Fatalf("repeated batch: %d %s", status, b)
	}
	if status, b := e.post(t, batch(42, "contact.deletion", "501", 1764000000001, 0), true); status != http.StatusNoContent {
		t.Fatalf("deletion batch: %d %s", status, b)
	}
	if got := (counter(t, e.prom, "hubspot_actions_webhook_events_total", "contact.privacyDeletion", "repeated")); got != 1 {
		t.Errorf("repeated privacy events counted %v, want 1", got)
	}
	waitFor(t, func() bool {
		return (counter(t, e.prom, "hubspot_actions_erasures_total", store.EraseDeletion)) == 1
	})
	// The deletion found nothing left, so left no record; the retry none.
	if list := waitErasures(t, e.DB, 42, 1); len(list) != 1 {
		t.Errorf("erasures = %+v, want only the privacy deletion's", list)
	}
	if list, _ := e.DB.ListErasures(ctx, 43, 10); len(list) != 0 {
		t.Errorf("portal 43 has erasures %+v", list)
	}
}

// TestDeletionOfOtherObjects: object.deletion (the generic form, naming
// the object by type id) and company.deletion erase those records'
// executions.
func TestDeletionOfOtherObjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	ctx := context.Background()
	req := actionstest.NewRequest(42, "DEAL", map[string]any{sandbox.InputMessage: "deal of pat@example.test"}, nil)
	req.Object.ObjectID = "900"
	e.Execute(t, sandbox.Key, req)
	body := []byte(`[{"eventId":1,"subscriptionId":8,"portalId":42,"occurredAt":1764000000000,"subscriptionType":"object.deletion","objectTypeId":"0-3","objectId":900}]`)
	if status, b := e.post(t, body, true); status != http.StatusNoContent {
		t.Fatalf("object.deletion: %d %s", status, b)
	}
	list := waitErasures(t, e.DB, 42, 1)
	if list[0].Reason != store.EraseDeletion || list[0].ObjectType != "DEAL" || list[0].Executions != 1 {
		t.Errorf("erasure = %+v, want a deletion of 1 deal execution", list[0])
	}
	if ex, _ := e.DB.GetExecution(ctx, req.CallbackID); !ex.Erased() {
		t.Errorf("the deal's execution was not erased")
	}
}

// TestErasureWhileRunning: an execution still running when its contact is
// erased finishes without writing the contact's data back, and its
// callback carries only the state and code.
func TestErasureWhileRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{InlineBudget: 50 * time.Millisecond})
	ctx := context.Background()
	req := actionstest.NewRequest(42, "CONTACT", map[string]any{sandbox.InputMessage: "late.person@example.test", sandbox.InputDelayMS: 1500}, nil)
	req.Object.ObjectID = "777"
	if out := e.Execute(t, sandbox.Key, req); out[actions.OutputState] != actions.StateBlock {
		t.Fatalf("answer = %v, want BLOCK", out)
	}
	if status, b := e.post(t, batch(42, "contact.privacyDeletion", "777", 1764000000000, 0), true); status != http.StatusNoContent {
		t.Fatalf("privacy batch: %d %s", status, b)
	}
	waitErasures(t, e.DB, 42, 1)
	got := e.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
	if got[actions.OutputState] != actions.StateSuccess || strings.Contains(fmt.Sprint(got), "late.person") {
		t.Errorf("completion after erasure = %v, want SUCCESS without the contact's data", got)
	}
	ex, _ := e.DB.GetExecution(ctx, req.CallbackID)
	if ex.Exec.Live() || strings.Contains(ex.Request+ex.Outputs+ex.ErrorMessage+ex.LastError, "late.person") {
		t.Errorf("execution after erasure = %+v, want finished with no personal data", ex)
	}
}

// TestErasureBeforeRetry: an execution waiting for its retry when erased
// is not run again (its inputs are gone): it fails NOT_FOUND by callback.
func TestErasureBeforeRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	req := actionstest.NewRequest(42, "CONTACT", map[string]any{sandbox.InputMessage: "retry.person@example.test", sandbox.InputPending: 1}, nil)
	req.Object.ObjectID = "778"
	if out := e.Execute(t, sandbox.Key, req); out[actions.OutputState] != actions.StateBlock {
		t.Fatalf("answer = %v, want BLOCK (retry scheduled)", out)
	}
	if status, b := e.post(t, batch(42, "contact.privacyDeletion", "778", 1764000000000, 0), true); status != http.StatusNoContent {
		t.Fatalf("privacy batch: %d %s", status, b)
	}
	got := e.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
	if got[actions.OutputState] != actions.StateFailContinue || got[actions.OutputErrorCode] != string(actions.CodeNotFound) {
		// The retry may have run before the erasure was processed; then it
		// succeeded, which is also correct. Only the data matters after.
		if got[actions.OutputState] != actions.StateSuccess {
			t.Errorf("completion = %v, want FAIL_CONTINUE NOT_FOUND", got)
		}
	}
	waitErasures(t, e.DB, 42, 1)
	ex, _ := e.DB.GetExecution(context.Background(), req.CallbackID)
	if strings.Contains(ex.Request+ex.Outputs+ex.ErrorMessage+ex.LastError, "retry.person") {
		t.Errorf("execution after erasure holds the contact's data: %+v", ex)
	}
}

// TestBadBatches: malformed bodies get a 400 naming the problem, unsigned
// or v2-signed ones a 401, an oversized one a 413; none is recorded.
func TestBadBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	many := "[" + strings.Repeat(`{"portalId":1,"occurredAt":1,"subscriptionType":"contact.creation","objectId":1},`, 101)
	many = strings.TrimSuffix(many, ",") + "]"
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"not JSON", `hello`, 400, "JSON array"},
		{"an object", `{"portalId":1}`, 400, "JSON array"},
		{"truncated", `[{"portalId":1,`, 400, "not a valid JSON array"},
		{"empty", `[]`, 400, "no events"},
		{"too many", many, 400, "at most 100"},
		{"no portal", `[{"occurredAt":1,"subscriptionType":"contact.deletion","objectId":3}]`, 400, "events[0].portalId"},
		{"no type", `[{"portalId":1,"occurredAt":1,"objectId":3}]`, 400, "events[0].subscriptionType"},
		{"no time", `[{"portalId":1,"subscriptionType":"contact.deletion","objectId":3}]`, 400, "events[0].occurredAt"},
		{"deletion without object", `[{"portalId":1,"occurredAt":1,"subscriptionType":"contact.creation","objectId":3},{"portalId":1,"occurredAt":1,"subscriptionType":"contact.privacyDeletion"}]`, 400, "events[1].objectId"},
		{"portal not a number", `[{"portalId":"x","occurredAt":1,"subscriptionType":"contact.deletion","objectId":3}]`, 400, "not a valid JSON array"},
		{"type not a string", `[{"portalId":1,"occurredAt":1,"subscriptionType":5,"objectId":3}]`, 400, "subscriptionType has the wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b := e.post(t, []byte(tt.body), true)
			if status != tt.status || !strings.Contains(b, tt.want) {
				t.Errorf("POST %s = %d %s, want %d naming %q", tt.name, status, b, tt.status, tt.want)
			}
		})
	}
	good := batch(1, "contact.privacyDeletion", "5", 1764000000000, 0)
	if status, _ := e.post(t, good, false); status != http.StatusUnauthorized {
		t.Errorf("unsigned batch = %d, want 401", status)
	}
	req, _ := http.NewRequest(http.MethodPost, e.URL+webhooks.Path, bytes.NewReader(good))
	req.Header.Set(actions.HeaderSignatureVersion, "v2")
	req.Header.Set(actions.HeaderSignature, actions.SignV2(actionstest.Secret, http.MethodPost, e.URL+webhooks.Path, good))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("v2-signed batch = %v %v, want 401", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	huge := append([]byte(`[{"portalId":1,"occurredAt":1,"subscriptionType":"contact.propertyChange","objectId":1,"propertyValue":"`), bytes.Repeat([]byte("x"), webhooks.MaxBodyBytes)...)
	huge = append(huge, `"}]`...)
	if status, _ := e.post(t, huge, true); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized batch = %d, want 413", status)
	}
	if list, _ := e.DB.ListErasures(context.Background(), 1, 10); len(list) != 0 {
		t.Errorf("refused batches erased: %+v", list)
	}
}

// TestUnknownAndIgnoredTypes: events the app does not act on, and types
// HubSpot does not document, are acknowledged and counted.
func TestUnknownAndIgnoredTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, actions.Config{})
	body := []byte(`[{"portalId":1,"occurredAt":1,"subscriptionType":"contact.creation","objectId":3},
		{"portalId":1,"occurredAt":2,"subscriptionType":"spaceship.launch","objectId":4},
		{"portalId":1,"occurredAt":3,"eventType":"deal.propertyChange","objectId":5,"propertyName":"amount"}]`)
	if status, b := e.post(t, body, true); status != http.StatusNoContent {
		t.Fatalf("batch = %d %s, want 204", status, b)
	}
	for _, c := range []struct{ typ, result string }{{"contact.creation", "ignored"}, {"unknown", "unknown"}, {"deal.propertyChange", "ignored"}} {
		if got := (counter(t, e.prom, "hubspot_actions_webhook_events_total", c.typ, c.result)); got != 1 {
			t.Errorf("events{%s,%s} = %v, want 1", c.typ, c.result, got)
		}
	}
}

// counter finds a registered counter by name and label values.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				found := false
				for _, want := range labels {
					if l.GetValue() == want {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			v = m.GetCounter().GetValue()
		}
	}
	return v
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
