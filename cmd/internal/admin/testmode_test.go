package admin

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// testModePages serves the settings and history pages of portal 5 with
// test mode available or not, and returns a browser signed in as admin 77
// and the CSRF token its forms carry.
func testModePages(t *testing.T, available bool) (base string, hc *http.Client, csrf string, db *store.DB) {
	t.Helper()
	db = portalDB(t, store.Portal{PortalID: 5, HubDomain: "acme.hubspot.test", Status: oauth.StatusActive})
	log := slog.New(slog.DiscardHandler)
	sessions := NewSessions(db, false)
	flow := oauth.New(oauth.Config{}, db, &http.Client{}, log)
	w := New(flow, sessions, []byte("csrf key, csrf key, csrf key, 32"), log, WithTestMode(db, available))
	reg := actions.NewRegistry()
	e := actions.NewServer(log, actions.NewValidator())
	settings := e.Group("/settings", w.Secure, w.RequireSession, w.CheckCSRF)
	settings.GET("", HandleSettings(w, flow, nil, 30*24*time.Hour))
	settings.POST("/test-mode", HandleTestMode(w, flow))
	settings.GET("/history", HandleHistory(w, db, reg, 30*24*time.Hour))
	settings.GET("/history/:id", HandleExecution(w, db, reg))
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)

	cookie, csrf := signIn(t, e, w, sessions, Session{PortalID: 5, UserID: 77, UserEmail: "admin@acme.test"})
	return ts.URL, browser(ts.URL, cookie), csrf, db
}

func getPage(t *testing.T, hc *http.Client, u string) (body, text string) {
	t.Helper()
	status, _, body := send(t, hc, http.MethodGet, u, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d: %s", u, status, body)
	}
	return body, admintest.PageText(t, body)
}

func testModeOf(t *testing.T, db *store.DB) store.TestMode {
	t.Helper()
	tm, err := db.GetTestMode(context.Background(), 5)
	if err != nil {
		t.Fatalf("GetTestMode(5): %v", err)
	}
	return tm
}

// TestTestModeToggle switches test mode on and off from the settings page:
// the form, the banner while it is on, the confirmation, and who did it.
func TestTestModeToggle(t *testing.T) {
	t.Parallel()
	base, hc, csrf, db := testModePages(t, true)

	body, text := getPage(t, hc, base+"/settings")
	admintest.CheckAccessible(t, "settings, test mode off", body)
	if strings.Contains(body, `id="test-mode-banner"`) {
		t.Errorf("settings page shows the test-mode banner while test mode is off")
	}
	for _, want := range []string{"Test mode", "nothing is created or changed there", "Off", "Switch test mode on", "executions that start afterwards"} {
		if !strings.Contains(text, want) {
			t.Errorf("settings page lacks %q:\n%s", want, text)
		}
	}

	status, loc, _ := send(t, hc, http.MethodPost, base+"/settings/test-mode", url.Values{csrfField: {csrf}, "test_mode": {"on"}})
	if status != http.StatusSeeOther || loc != "/settings?notice=test-mode-on" {
		t.Fatalf("POST test_mode=on = %d to %q, want 303 to the settings page's confirmation", status, loc)
	}
	if tm := testModeOf(t, db); !tm.Enabled || tm.ChangedByID != 77 || tm.ChangedByEmail != "admin@acme.test" || tm.ChangedAt.IsZero() {
		t.Errorf("after switching on, the setting is %+v, want on by admin 77", tm)
	}
	body, text = getPage(t, hc, base+loc)
	admintest.CheckAccessible(t, "settings, test mode on", body)
	banner := strings.Index(body, `id="test-mode-banner"`)
	if banner < 0 || banner > strings.Index(body, `id="account-title"`) {
		t.Errorf("settings page in test mode has no banner above its first card:\n%s", text)
	}
	for _, want := range []string{"Test mode is on. This account's workflow actions run against test versions", "Test mode switched on: workflow actions that start from now on", "Switched on by admin@acme.test at", "Switch test mode off"} {
		if !strings.Contains(text, want) {
			t.Errorf("settings page in test mode lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Switch test mode on") {
		t.Errorf("settings page in test mode still offers to switch it on")
	}

	status, loc, _ = send(t, hc, http.MethodPost, base+"/settings/test-mode", url.Values{csrfField: {csrf}, "test_mode": {"off"}})
	if status != http.StatusSeeOther || loc != "/settings?notice=test-mode-off" {
		t.Fatalf("POST test_mode=off = %d to %q", status, loc)
	}
	if tm := testModeOf(t, db); tm.Enabled {
		t.Errorf("after switching off, the setting is still on")
	}
	body, text = getPage(t, hc, base+loc)
	if strings.Contains(body, `id="test-mode-banner"`) || !strings.Contains(text, "Test mode switched off: workflow actions that start from now on call the real services again.") {
		t.Errorf("settings page after switching off:\n%s", text)
	}
}

// TestTestModeFormRefusals: without the session's CSRF token, from another
// site, or with a value that is neither on nor off, the form changes
// nothing and is answered 4xx.
func TestTestModeFormRefusals(t *testing.T) {
	t.Parallel()
	base, hc, csrf, db := testModePages(t, true)
	tests := []struct {
		name   string
		form   url.Values
		header map[string]string
		status int
	}{
		{"no CSRF token", url.Values{"test_mode": {"on"}}, nil, http.StatusForbidden},
		{"wrong CSRF token", url.Values{csrfField: {"forged"}, "test_mode": {"on"}}, nil, http.StatusForbidden},
		{"from another site", url.Values{csrfField: {csrf}, "test_mode": {"on"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"no value", url.Values{csrfField: {csrf}}, nil, http.StatusBadRequest},
		{"not on or off", url.Values{csrfField: {csrf}, "test_mode": {"yes please"}}, nil, http.StatusBadRequest},
		{"repeated values", url.Values{csrfField: {csrf}, "test_mode": {strings.Repeat("on", 5000)}}, nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, base+"/settings/test-mode", strings.NewReader(tt.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("POST /settings/test-mode = %d, want %d", resp.StatusCode, tt.status)
			}
			if tm := testModeOf(t, db); tm.Enabled || !tm.ChangedAt.IsZero() {
				t.Errorf("the setting changed: %+v", tm)
			}
		})
	}
}

// TestTestModeNotAvailable: an app without test-mode actions says so and
// cannot be switched on, but a portal left in test mode can switch off.
func TestTestModeNotAvailable(t *testing.T) {
	t.Parallel()
	base, hc, csrf, db := testModePages(t, false)
	_, text := getPage(t, hc, base+"/settings")
	if !strings.Contains(text, "Test mode is not available in this app") || strings.Contains(text, "Switch test mode on") {
		t.Errorf("settings page without test-mode actions:\n%s", text)
	}
	status, _, _ := send(t, hc, http.MethodPost, base+"/settings/test-mode", url.Values{csrfField: {csrf}, "test_mode": {"on"}})
	if status != http.StatusConflict || testModeOf(t, db).Enabled {
		t.Errorf("POST test_mode=on without test-mode actions = %d (on: %v), want 409 and off", status, testModeOf(t, db).Enabled)
	}
	if err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.SetTestMode(context.Background(), 5, true, 1, "") }); err != nil {
		t.Fatal(err)
	}
	_, text = getPage(t, hc, base+"/settings")
	if !strings.Contains(text, "Test mode is on.") || !strings.Contains(text, "Switch test mode off") {
		t.Errorf("settings page of a portal left in test mode:\n%s", text)
	}
	status, _, _ = send(t, hc, http.MethodPost, base+"/settings/test-mode", url.Values{csrfField: {csrf}, "test_mode": {"off"}})
	if status != http.StatusSeeOther || testModeOf(t, db).Enabled {
		t.Errorf("POST test_mode=off = %d (on: %v), want 303 and off", status, testModeOf(t, db).Enabled)
	}
}

// TestTestModeUninstalledPortal: a session outliving its portal's install
// cannot switch test mode (the uninstall deleted the setting).
func TestTestModeUninstalledPortal(t *testing.T) {
	t.Parallel()
	base, hc, csrf, db := testModePages(t, true)
	if err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.MarkPortalUninstalled(context.Background(), 5, "test") }); err != nil {
		t.Fatal(err)
	}
	status, _, _ := send(t, hc, http.MethodPost, base+"/settings/test-mode", url.Values{csrfField: {csrf}, "test_mode": {"on"}})
	if status == http.StatusSeeOther || status >= 500 || testModeOf(t, db).Enabled {
		t.Errorf("POST test_mode=on for an uninstalled portal = %d (on: %v), want a refusal and off", status, testModeOf(t, db).Enabled)
	}
}

// TestHistoryMarksTestMode: test-mode executions carry a Test badge in the
// history and on their own page; live ones do not; while test mode is on,
// the history says so.
func TestHistoryMarksTestMode(t *testing.T) {
	t.Parallel()
	base, hc, _, db := testModePages(t, true)
	ctx := context.Background()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		for _, e := range []store.NewExecution{
			{CallbackID: "cb-live", Ref: "EX-LIVE000001", PortalID: 5, Action: "probe", Request: "{}", LeaseUntil: tx.Now(), ReceivedAt: tx.Now().Add(-2 * time.Minute)},
			{CallbackID: "cb-test", Ref: "EX-TEST000001", PortalID: 5, Action: "probe", Request: "{}", LeaseUntil: tx.Now(), ReceivedAt: tx.Now().Add(-time.Minute), TestMode: true},
		} {
			if _, err := tx.InsertExecution(ctx, e); err != nil {
				return err
			}
			if _, _, err := tx.Finish(ctx, e.CallbackID, 1, store.Outcome{FinalState: "SUCCESS",
				Outputs: `{"hs_execution_state":"SUCCESS","test_mode":"` + map[bool]string{true: "true", false: "false"}[e.TestMode] + `"}`}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	body, text := getPage(t, hc, base+"/settings/history")
	admintest.CheckAccessible(t, "history", body)
	rowOf := func(ref string) string {
		i := strings.Index(text, ref)
		if i < 0 {
			t.Fatalf("history lacks %s:\n%s", ref, text)
		}
		row := text[i:]
		if j := strings.Index(row[len(ref):], "EX-"); j >= 0 {
			row = row[:len(ref)+j]
		}
		return row
	}
	if row := rowOf("EX-TEST000001"); !strings.Contains(row, "probe Test") {
		t.Errorf("history row of a test-mode execution has no Test badge: %q", row)
	}
	if row := rowOf("EX-LIVE000001"); strings.Contains(row, "Test") {
		t.Errorf("history row of a live execution is marked Test: %q", row)
	}
	if strings.Contains(body, `id="test-mode-banner"`) {
		t.Errorf("history shows the test-mode banner while test mode is off")
	}

	_, text = getPage(t, hc, base+"/settings/history/EX-TEST000001")
	if !strings.Contains(text, "Mode Test mode: ran against the test version") {
		t.Errorf("page of a test-mode execution does not say so:\n%s", text)
	}
	_, text = getPage(t, hc, base+"/settings/history/EX-LIVE000001")
	if !strings.Contains(text, "Mode Live") {
		t.Errorf("page of a live execution does not say Live:\n%s", text)
	}

	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.SetTestMode(ctx, 5, true, 77, "admin@acme.test") }); err != nil {
		t.Fatal(err)
	}
	body, text = getPage(t, hc, base+"/settings/history")
	if !strings.Contains(body, `id="test-mode-banner"`) || !strings.Contains(text, "Test mode is on.") {
		t.Errorf("history in test mode has no banner:\n%s", text)
	}
}
