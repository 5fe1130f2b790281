package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/cmd/internal/admin/admintest"
	"hubspot-actions/oauth"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, field, value string
		secret             bool
		want               string
	}{
		{"plain", "message", "hello", false, "hello"},
		{"marked secret", "webhook", "https://example.com/hook", true, redactedValue},
		{"api key", "api_key", "anything", false, redactedValue},
		{"key in camel case", "apiKey", "anything", false, redactedValue},
		{"token", "access_token", "abc", false, redactedValue},
		{"secret", "client_secret", "abc", false, redactedValue},
		{"password", "Password", "abc", false, redactedValue},
		{"authorization", "authorization", "abc", false, redactedValue},
		{"stripe secret value", "note", "sk_live_51Habcdef", false, redactedValue},
		{"restricted key value", "note", "rk_test_51Habcdef", false, redactedValue},
		{"bearer value", "header", "Bearer abc", false, redactedValue},
		{"jwt value", "note", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", false, redactedValue},
		{"hubspot private app token", "note", "pat-na1-11111111-2222", false, redactedValue},
		{"short sk_ text", "note", "sk_a", false, "sk_a"},
		{"email", "email", "pat@example.com", false, "pat@example.com"},
		{"basic credentials", "header", "Basic dXNlcjpwYXNz", false, redactedValue},
		{"stripe key in a sentence", "message", "use sk_live_abcdefghijkl please", false, "use [redacted] please"},
		{"secrets in JSON", "payload", `{"password":"hunter2","stripe":"sk_live_abcdefghijkl"}`, false, `{"password":"[redacted]","stripe":"[redacted]"}`},
		{"secret-named JSON members", "body", `{"name": "Ada", "api_key": "k-123", "Authorization": "x", "client_secret":"s", "access_token": 12345, "ok": true}`, false,
			`{"name": "Ada", "api_key": "[redacted]", "Authorization": "[redacted]", "client_secret":"[redacted]", "access_token": "[redacted]", "ok": true}`},
		{"basic credentials in a sentence", "message", "sent Authorization: Basic dXNlcjpwYXNz to the API", false, "sent Authorization: [redacted] to the API"},
		{"bearer token in a sentence", "message", "HubSpot refused Bearer CJTx9a8yEhIAAQAAAA today", false, "HubSpot refused [redacted] today"},
		{"jwt in a sentence", "message", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln expired", false, "token [redacted] expired"},
		{"query parameters", "url", "https://api.example.com/v1?api_key=abc123&q=acme&token=t0k", false, "https://api.example.com/v1?api_key=[redacted]&q=acme&token=[redacted]"},
		{"prose about credentials", "message", "The basic plan needs a bearer token and an api key.", false, "The basic plan needs a bearer token and an api key."},
		{"words ending in sk_", "message", "task_list_complete", false, "task_list_complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, hidden := redact(tt.field, tt.value, tt.secret)
			if got != tt.want || hidden != (tt.want == redactedValue) {
				t.Errorf("redact(%q, %q, %v) = %q, %v; want %q", tt.field, tt.value, tt.secret, got, hidden, tt.want)
			}
		})
	}
}

// TestInputFieldsSecret checks that an input the action marks Secret is
// redacted whatever its name and value, and that inputs come in the
// action's order with their labels.
func TestInputFieldsSecret(t *testing.T) {
	t.Parallel()
	type in struct {
		Webhook string `json:"webhook"`
		Name    string `json:"name"`
	}
	type out struct {
		Done string `json:"done"`
	}
	reg := actions.NewRegistry()
	err := actions.Register(reg, actions.Spec[in, out]{
		Key: "test-secret-input", Name: "Test", ObjectTypes: []string{"CONTACT"},
		Inputs: []actions.InputField{
			{Name: "webhook", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Webhook URL", Secret: true},
			{Name: "name", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Name"},
		},
		Outputs: []actions.OutputField{{Name: "done", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Done"}},
		Run:     func(context.Context, *actions.Execution, in) (out, error) { return out{}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := reg.Get("test-secret-input")
	got := inputFields(a, map[string]any{"name": "Ada", "webhook": "https://hooks.example.com/T0/B0/abc", "extra": 3.5, "z_password": "x"})
	want := []field{
		{Name: "webhook", Label: "Webhook URL", Value: redactedValue, Redacted: true},
		{Name: "name", Label: "Name", Value: "Ada"},
		{Name: "extra", Value: "3.5"},
		{Name: "z_password", Value: redactedValue, Redacted: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inputFields mismatch (-want +got):\n%s", diff)
	}
	outs := outputFields(a, map[string]any{"done": "yes", "error_code": "", "hs_execution_state": "SUCCESS"})
	if len(outs) != 3 || outs[0].Name != "done" || outs[0].Label != "Done" {
		t.Errorf("outputFields = %+v, want the declared output first", outs)
	}
	// Outputs follow the same rules as inputs.
	outs = outputFields(a, map[string]any{"done": "use sk_live_abcdefghijkl please", "raw": map[string]any{"password": "hunter2"}, "auth": "Basic dXNlcjpwYXNz"})
	wantOuts := []field{
		{Name: "done", Label: "Done", Value: "use [redacted] please"},
		{Name: "auth", Value: redactedValue, Redacted: true},
		{Name: "raw", Value: `{"password":"[redacted]"}`},
	}
	if diff := cmp.Diff(wantOuts, outs); diff != "" {
		t.Errorf("outputFields mismatch (-want +got):\n%s", diff)
	}
}

func TestSearchTerm(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"EX-7K2M9QJ4RT", "EX-7K2M9QJ4RT"},
		{" ex-7k2m9qj4rt ", "EX-7K2M9QJ4RT"},
		{"The sandbox was asked to fail with NOT_FOUND. (ref EX-7K2M9QJ4RT)", "EX-7K2M9QJ4RT"},
		{"Not found: nothing matched (ref ex-7k2m9qj4rt).", "EX-7K2M9QJ4RT"},
		{"ap-1-1-1-0", "ap-1-1-1-0"},
		{" 901 ", "901"},
		{"EX-SHORT", "EX-SHORT"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := searchTerm(tt.in); got != tt.want {
			t.Errorf("searchTerm(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	periods := []struct {
		d    time.Duration
		want string
	}{
		{30 * 24 * time.Hour, "30 days"},
		{24 * time.Hour, "1 day"},
		{36 * time.Hour, "1 day 12 hours"},
		{48 * time.Hour, "2 days"},
		{2 * time.Hour, "2 hours"},
		{90 * time.Minute, "90 minutes"},
		{90 * time.Second, "1m30s"},
	}
	for _, tt := range periods {
		if got := fmtPeriod(tt.d); got != tt.want {
			t.Errorf("fmtPeriod(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	durations := []struct {
		d    time.Duration
		want string
	}{
		{42 * time.Millisecond, "42 ms"},
		{1500 * time.Millisecond, "1.5 s"},
		{125 * time.Second, "2 min 5 s"},
		{3*time.Hour + 20*time.Minute, "3 h 20 min"},
	}
	for _, tt := range durations {
		if got := fmtDuration(tt.d); got != tt.want {
			t.Errorf("fmtDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestSettingsStates renders the settings page for each state of the
// HubSpot connection and of QuickBooks.
func TestSettingsStates(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	w := New(oauth.New(oauth.Config{}, nil, &http.Client{}, log), NewSessions(nil, false), make([]byte, 32), log)
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	unconfigured, err := quickbooks.New(quickbooks.Config{}, actions.Deps{PublicBaseURL: "https://actions.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	unavailable, err := unconfigured.Card(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	qb := func(st actions.CardStatus, badge, detail string, cc actions.ConnectCard) actions.Card {
		return actions.Card{Provider: "quickbooks", Label: "QuickBooks Online", Short: "QuickBooks", Status: st, Badge: badge, Detail: detail, Connect: &cc}
	}
	tests := []struct {
		name   string
		portal oauth.PortalInfo
		qb     actions.Card
		want   []string
		link   bool // a reinstall link
	}{
		{
			name:   "active",
			portal: oauth.PortalInfo{PortalID: 5, Status: oauth.StatusActive, TokenExpiresAt: now.Add(20 * time.Minute)},
			qb:     qb(actions.CardConnected, "Connected", "", actions.ConnectCard{AccountLabel: "Company", Connected: true, Account: "Acme Ltd"}),
			want:   []string{"Connection to HubSpot Active", "expires at 2026-05-04 12:20:00 UTC", "QuickBooks Online Connected Company: Acme Ltd.", "Disconnect QuickBooks"},
		},
		{
			name:   "needs reinstall",
			portal: oauth.PortalInfo{PortalID: 5, Status: oauth.StatusNeedsReinstall, StatusReason: "the refresh token was rejected (invalid_grant)"},
			qb: qb(actions.CardNeedsReconnect, "Needs reconnecting", "QuickBooks no longer accepts the app's access to this company.",
				actions.ConnectCard{AccountLabel: "Company", Connected: true, Account: "Acme Ltd", ConnectURL: quickbooks.ConnectPath, ConnectLabel: "Reconnect QuickBooks"}),
			want: []string{"Needs reinstall HubSpot no longer accepts the app's access to this account (the refresh token was rejected (invalid_grant)).", "Reinstall the app", "Needs reconnecting Company: Acme Ltd.", "Reconnect QuickBooks", "Disconnect QuickBooks"},
			link: true,
		},
		{
			name: "uninstalled in HubSpot",
			portal: oauth.PortalInfo{PortalID: 5, Status: oauth.StatusUninstalled, StatusReason: "HubSpot rejected the refresh token (invalid_grant)",
				UninstalledAt: now.Add(-time.Hour)},
			qb:   unavailable,
			want: []string{"Uninstalled The app is no longer installed in this HubSpot account (HubSpot rejected the refresh token (invalid_grant)).", "do not run", "Since 2026-05-04 11:00:00 UTC.", "Reinstall the app"},
			link: true,
		},
		{
			name:   "uninstalling",
			portal: oauth.PortalInfo{PortalID: 5, Status: oauth.StatusUninstalling},
			qb:     unavailable,
			want:   []string{"Uninstalling The app is being uninstalled", "Uninstall from HubSpot"},
		},
		{
			name:   "removed",
			portal: oauth.PortalInfo{PortalID: 5, Status: oauth.StatusRemoved},
			qb:     unavailable,
			want:   []string{"Removed", "Reinstall the app", "QuickBooks Online Not available QuickBooks is not available in this installation of the app"},
			link:   true,
		},
		{
			name:   "not connected",
			portal: oauth.PortalInfo{PortalID: 5, Status: oauth.StatusNotConnected},
			qb: qb(actions.CardNotConnected, "Not connected", "QuickBooks actions fail with NOT_CONNECTED until you connect a QuickBooks company.",
				actions.ConnectCard{AccountLabel: "Company", ConnectURL: quickbooks.ConnectPath, ConnectLabel: "Connect QuickBooks"}),
			want: []string{"Not connected No HubSpot access token is stored", "QuickBooks Online Not connected", "Connect QuickBooks"},
			link: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/settings", nil), rec)
			c.Set(ctxSession, Session{PortalID: 5, UserEmail: "a@example.com"})
			p := settingsPage{page: w.newPage(c, "Settings", "settings"), Portal: newPortalView(tt.portal, now), Cards: []cardView{{Card: tt.qb}}, Retention: "30 days"}
			if err := w.render(c, http.StatusOK, "settings", p); err != nil {
				t.Fatal(err)
			}
			text := admintest.PageText(t, rec.Body.String())
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("page lacks %q:\n%s", want, text)
				}
			}
			if got := strings.Contains(rec.Body.String(), `href="/oauth/hubspot/install"`); got != tt.link {
				t.Errorf("reinstall link shown = %v, want %v", got, tt.link)
			}
			// Uninstalling is offered while the app is (or may be) installed.
			wantUninstall := tt.portal.Status != oauth.StatusUninstalled && tt.portal.Status != oauth.StatusRemoved
			if got := strings.Contains(rec.Body.String(), `href="/settings/uninstall"`); got != wantUninstall {
				t.Errorf("uninstall link shown = %v, want %v", got, wantUninstall)
			}
			admintest.CheckAccessible(t, tt.name, rec.Body.String())
		})
	}
}

func TestVerifyProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"refused", actions.Fail(actions.CodeRejected, "Clearbit does not accept this API key."), "Clearbit does not accept this API key."},
		{"unreachable", &upstream.APIError{Status: 503, Body: "down"}, "Clearbit could not be reached to check the key, so it was not saved. Try again in a minute."},
		{"timeout", context.DeadlineExceeded, "Clearbit could not be reached to check the key, so it was not saved. Try again in a minute."},
		{"internal", actions.Fail(actions.CodeInternal, "stack trace here"), "The key could not be checked, so it was not saved. Try again in a minute."},
		{"unexpected", errors.New("tls: secret detail"), "The key could not be checked, so it was not saved. Try again in a minute."},
	}
	for _, tt := range tests {
		if got := verifyProblem("Clearbit", tt.err); got != tt.want {
			t.Errorf("verifyProblem(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestAdminHSTS: the admin pages tell browsers to keep to https when the
// public URL is https, and say nothing when it is http (local runs).
func TestAdminHSTS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, publicURL, want string
	}{
		{"https", "https://actions.example.com", "max-age=31536000"},
		{"http", "http://localhost:8080", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := slog.New(slog.DiscardHandler)
			flow := oauth.New(oauth.Config{RedirectURL: tt.publicURL + "/oauth/hubspot/callback", AuthorizeURL: "https://app.hubspot.com/oauth/authorize"},
				nil, &http.Client{}, log)
			w := New(flow, NewSessions(nil, strings.HasPrefix(tt.publicURL, "https://")), make([]byte, 32), log)
			e := actions.NewServer(log, actions.NewValidator())
			e.GET("/static/:file", w.HandleStatic(), w.Secure)
			e.GET("/signed-out", w.HandleSignedOut(), w.Secure)
			admin := e.Group("/settings", w.Secure, w.RequireSession, w.CheckCSRF)
			admin.GET("", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
			admin.POST("/logout", w.HandleLogout())
			ts := httptest.NewServer(e)
			t.Cleanup(ts.Close)
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for _, r := range []struct{ method, path string }{
				{http.MethodGet, "/signed-out"}, {http.MethodGet, "/static/app.css"}, {http.MethodGet, "/settings"},
				{http.MethodPost, "/settings/logout"}, {http.MethodGet, "/settings/no-such-page"},
			} {
				req, _ := http.NewRequest(r.method, ts.URL+r.path, nil)
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := resp.Header.Get("Strict-Transport-Security"); got != tt.want {
					t.Errorf("%s %s (%d): Strict-Transport-Security = %q, want %q", r.method, r.path, resp.StatusCode, got, tt.want)
				}
				if resp.Header.Get("Content-Security-Policy") != ContentSecurityPolicy {
					t.Errorf("%s %s: no CSP", r.method, r.path)
				}
			}
		})
	}
}
