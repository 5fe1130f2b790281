package main

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store/storetest"
)

func TestDataDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, override, want string
	}{
		{"sqlite path", "./data/hubspot-actions.db", "", "data"},
		{"sqlite URL", "sqlite:///var/lib/hsa/app.db?x=1", "", "/var/lib/hsa"},
		{"postgres", "postgres://u:pw@db.internal:5432/hsa", "", "data"},
		{"postgresql", "postgresql://u:pw@db.internal/hsa", "", "data"},
		{"DATA_DIR wins", "postgres://u:pw@db.internal/hsa", "/srv/hsa", "/srv/hsa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dataDir(tt.url, tt.override); got != tt.want {
				t.Errorf("dataDir(%q, %q) = %q, want %q", tt.url, tt.override, got, tt.want)
			}
		})
	}
}

// TestServeOnPostgres runs `serve` on PostgreSQL: an inline answer, a
// BLOCKed execution completed by callback through River's PostgreSQL
// driver, a repeated callbackId answered from the ledger; then `migrate`
// finds nothing to do and names the database without its password.
func TestServeOnPostgres(t *testing.T) {
	if !storetest.Postgres() {
		t.Skipf("%s is not set: `make test` sets it (see .ci/postgres)", storetest.EnvURL)
	}
	t.Parallel()
	dbURL := storetest.URL(t)
	dir := t.TempDir()
	hs := hubspottest.NewTestServer(t, hubspottest.Config{SandboxTokens: true})
	s := startServerIn(t, dir, map[string]string{
		"DATABASE_URL": dbURL, "DATA_DIR": filepath.Join(dir, "data"),
		"HUBSPOT_API_BASE_URL": hs.URL(), "INLINE_BUDGET": "1s",
	})
	if status, body := s.get(t, "/readyz"); status != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz = %d %s", status, body)
	}
	got := s.execute(t, "sandbox-echo", "ap-1-1-1-0", 101, map[string]any{"message": "hello"})
	if got["hs_execution_state"] != "SUCCESS" || got["echo"] != "hello" {
		t.Errorf("inline execution = %v", got)
	}
	if again := s.execute(t, "sandbox-echo", "ap-1-1-1-0", 101, map[string]any{"message": "other"}); again["echo"] != "hello" {
		t.Errorf("repeated callbackId = %v, want the first outcome (echo hello)", again)
	}
	got = s.execute(t, "sandbox-echo", "ap-1-1-2-0", 101, map[string]any{"message": "slow", "delay_ms": "2500"})
	if got["hs_execution_state"] != "BLOCK" {
		t.Fatalf("slow execution = %v, want BLOCK", got)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done, err := hs.WaitCompletion(wctx, "ap-1-1-2-0")
	if err != nil {
		t.Fatalf("wait for completion: %v", err)
	}
	if done.OutputFields["hs_execution_state"] != "SUCCESS" || done.OutputFields["echo"] != "slow" {
		t.Errorf("completion = %v", done)
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, env(map[string]string{"DATABASE_URL": dbURL, "DATA_DIR": filepath.Join(dir, "data")}), &out, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	u, _ := url.Parse(dbURL)
	pw, _ := u.User.Password()
	if !strings.Contains(out.String(), "migrations applied to postgres://") || (pw != "" && strings.Contains(out.String(), ":"+pw+"@")) {
		t.Errorf("migrate printed %q, want the database named without its password", out.String())
	}
}
