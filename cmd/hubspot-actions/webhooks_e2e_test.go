package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/oauth/hubspottest"
)

// executeFor sends an execution of sandbox-echo enrolled with a contact
// whose email is email, with message as input, and returns its outputs.
func (s *testServer) executeFor(t *testing.T, callbackID string, portalID, contactID int64, email string, inputs map[string]any) map[string]string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"callbackId":  callbackID,
		"origin":      map[string]any{"portalId": portalID, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
		"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 77},
		"object":      map[string]any{"objectId": contactID, "objectType": "CONTACT", "properties": map[string]any{"email": email}},
		"inputFields": inputs,
	})
	status, b := s.post(t, "/hubspot/actions/sandbox-echo", body)
	if status != http.StatusOK {
		t.Fatalf("execute: %d %s", status, b)
	}
	var res actions.Response
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return res.OutputFields
}

// postWebhooks sends a batch to /hubspot/webhooks signed v1, as HubSpot's
// webhooks are.
func (s *testServer) postWebhooks(t *testing.T, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/hubspot/webhooks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(actions.HeaderSignatureVersion, "v1")
	req.Header.Set(actions.HeaderSignature, actions.SignV1(s.Secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /hubspot/webhooks: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dbBytes returns the bytes of the server's database file and its
// write-ahead log.
func (s *testServer) dbBytes(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(s.Dir, "data", "hubspot-actions.db")
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestPrivacyDeletionEndToEnd runs actions for two contacts of a portal,
// sends HubSpot's signed privacy-deletion batch for one, and finds nothing
// of that contact (its email, its name, the error text that named it) left
// in the database file or its log while the service runs, the other
// contact's data intact, and neither in the logs.
func TestPrivacyDeletionEndToEnd(t *testing.T) {
	t.Parallel()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{SandboxTokens: true})
	// On SQLite whatever TEST_DATABASE_URL says: the test reads the file.
	dir := t.TempDir()
	s := startServerIn(t, dir, map[string]string{"HUBSPOT_API_BASE_URL": hs.URL(), "INLINE_BUDGET": "1s",
		"DATABASE_URL": filepath.Join(dir, "data", "hubspot-actions.db")})
	const (
		portal     = 3101
		goneEmail  = "zebulon.quixote-marchetti@example.test"
		goneName   = "Zebulon Quixote-Marchetti"
		keptEmail  = "ottoline.brackenridge@example.test"
		keptName   = "Ottoline Brackenridge"
		goneID     = 4101
		keptID     = 4102
		otherPorta = 3102
	)
	if got := s.executeFor(t, "ap-3101-1-1-0", portal, goneID, goneEmail, map[string]any{"message": "Hello " + goneName}); got["echo"] != "Hello "+goneName {
		t.Fatalf("execution = %v", got)
	}
	s.executeFor(t, "ap-3101-1-2-0", portal, goneID, goneEmail, map[string]any{"message": goneName, "fail_with": "NOT_FOUND"})
	s.executeFor(t, "ap-3101-1-3-0", portal, keptID, keptEmail, map[string]any{"message": "Hello " + keptName})
	// The same contact id in another portal is another person.
	s.executeFor(t, "ap-3102-1-1-0", otherPorta, goneID, keptEmail, map[string]any{"message": "Hi " + keptName})
	if raw := s.dbBytes(t); !bytes.Contains(raw, []byte(goneEmail)) || !bytes.Contains(raw, []byte(goneName)) {
		t.Fatal("the contact's data is not in the database files before the erasure (the check reads the wrong bytes)")
	}

	batch := fmt.Appendf(nil, `[{"eventId":11,"subscriptionId":801,"portalId":%d,"appId":9,"occurredAt":%d,"subscriptionType":"contact.privacyDeletion","attemptNumber":0,"objectId":%d,"changeSource":"GDPR","changeFlag":"DELETED"},
		{"eventId":12,"subscriptionId":802,"portalId":%d,"appId":9,"occurredAt":%d,"subscriptionType":"object.deletion","objectTypeId":"0-1","attemptNumber":0,"objectId":%d,"changeSource":"CRM"}]`,
		portal, time.Now().UnixMilli(), goneID, portal, time.Now().UnixMilli(), goneID)
	if status, b := s.postWebhooks(t, batch); status != http.StatusNoContent {
		t.Fatalf("privacy batch = %d %s, want 204", status, b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw := s.dbBytes(t)
		if !bytes.Contains(raw, []byte(goneEmail)) && !bytes.Contains(raw, []byte(goneName)) && !bytes.Contains(raw, []byte("Quixote")) {
			if !bytes.Contains(raw, []byte(keptEmail)) || !bytes.Contains(raw, []byte(keptName)) {
				t.Fatal("the other contact's data went too")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after the privacy deletion the database files still hold the contact (email %v, name %v)",
				bytes.Contains(raw, []byte(goneEmail)), bytes.Contains(raw, []byte(goneName)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// HubSpot retries the batch: acknowledged, nothing more to do.
	if status, b := s.postWebhooks(t, batch); status != http.StatusNoContent {
		t.Fatalf("repeated batch = %d %s, want 204", status, b)
	}
	// The portal's admins see the tombstones and the erasure record; the
	// other portal's see neither.
	wc := withSession(t, s, portal, "admin@example.test")
	r := wc.get("/settings/history")
	if r.Status != http.StatusOK || strings.Count(r.Body, `badge-erased`) != 2 || !strings.Contains(r.Body, `id="erasures"`) ||
		!strings.Contains(r.Body, "Privacy deletion of the contact") || strings.Contains(r.Body, goneName) {
		t.Errorf("history = %d, want two erased executions and the erasure record:\n%s", r.Status, r.Body)
	}
	if strings.Contains(r.Body, goneEmail) || strings.Contains(r.Body, goneName) {
		t.Errorf("the history shows the erased contact")
	}
	if r := wc.get("/settings/history/ap-3101-1-1-0"); r.Status != http.StatusOK || !strings.Contains(r.Body, `id="erased"`) || strings.Contains(r.Body, "Quixote") {
		t.Errorf("erased execution's page = %d:\n%s", r.Status, r.Body)
	}
	if r := withSession(t, s, otherPorta, "admin@example.test").get("/settings/history"); strings.Contains(r.Body, `id="erasures"`) || strings.Contains(r.Body, "badge-erased") {
		t.Errorf("another portal's history shows the erasure:\n%s", r.Body)
	}

	logs := s.logs.String()
	for _, pii := range []string{goneEmail, goneName, keptEmail, keptName} {
		if strings.Contains(logs, pii) {
			t.Errorf("the logs hold %q", pii)
		}
	}
	if !strings.Contains(logs, `"msg":"erased a deleted record's executions"`) {
		t.Errorf("no erasure in the logs")
	}
}
