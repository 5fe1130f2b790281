package oauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// TestInstallDoesNotPruneStates: starting an install writes its one state
// and deletes nothing; expired states are the prune job's work, off the
// request path anyone can call.
func TestInstallDoesNotPruneStates(t *testing.T) {
	t.Parallel()
	env := newInstallEnv(t, false, hubspottest.Config{})
	ctx := context.Background()
	err := env.db.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertState(ctx, store.State{Hash: "expired", Provider: ProviderHubSpot, ExpiresAt: env.clock.Now().Add(-time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := get(t, env.browser(t), env.app.URL+"/oauth/hubspot/install"); a.status != http.StatusFound {
		t.Fatalf("install = %d, want 302", a.status)
	}
	var n int
	if err := env.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM oauth_states`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("oauth_states rows after an install = %d, want 2 (the expired one untouched, the new one)", n)
	}
}

// TestCallbackErrorText: HubSpot's error_description reaches the page only
// with a valid state, escaped and cut short; without one the page says fixed
// words, whatever the link carries.
func TestCallbackErrorText(t *testing.T) {
	t.Parallel()
	const planted = `<a href="https://evil.example">Call 0800 SCAM to finish</a>`
	tests := []struct {
		name string
		// state returns the state the callback carries, given the one the
		// browser was issued.
		state    func(issued string) string
		want     []string
		wantNone []string
	}{
		{
			name:     "no state",
			state:    func(string) string { return "" },
			want:     []string{badStateRefusal},
			wantNone: []string{"SCAM", "evil.example", "access was not granted"},
		},
		{
			name:     "forged state",
			state:    func(string) string { return "forged" },
			want:     []string{badStateRefusal},
			wantNone: []string{"SCAM", "evil.example", "access was not granted"},
		},
		{
			name:     "valid state",
			state:    func(issued string) string { return issued },
			want:     []string{"access was not granted", "&lt;a href=&#34;https://evil.example&#34;&gt;Call 0800 SCAM"},
			wantNone: []string{planted, `<a href="https://evil.example"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newInstallEnv(t, false, hubspottest.Config{})
			c := env.browser(t)
			a := get(t, c, env.app.URL+"/oauth/hubspot/install")
			u, err := url.Parse(a.location)
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"error": {"access_denied"}, "error_description": {planted}, "state": {tt.state(u.Query().Get("state"))}}
			got := get(t, c, env.app.URL+"/oauth/hubspot/callback?"+q.Encode())
			if got.status != http.StatusBadRequest {
				t.Errorf("callback = %d, want 400", got.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.body, w) {
					t.Errorf("callback page = %q, want it to contain %q", got.body, w)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(got.body, w) {
					t.Errorf("callback page = %q, want no %q", got.body, w)
				}
			}
		})
	}
}

func TestBrief(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 10, ""},
		{"  scope not allowed  ", 40, "scope not allowed"},
		{"line\r\nbreak\x00", 40, "linebreak"},
		{"abcdef", 3, "abc…"},
		{"abc", 3, "abc"},
		{"éèêë", 3, "éèê…"},
		{"a\xffb", 3, "ab"},
	}
	for _, tt := range tests {
		if got := brief(tt.in, tt.n); got != tt.want {
			t.Errorf("brief(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
