package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigSandboxDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(env(nil))
	if err != nil {
		t.Fatalf("loadConfig() error = %v", err)
	}
	if !cfg.Sandbox || cfg.ListenAddr != "127.0.0.1:8080" || cfg.PublicBaseURL != "http://localhost:8080" ||
		cfg.DatabaseURL != "./data/hubspot-actions.db" || cfg.DataDir != "data" || cfg.InlineBudget != 5*time.Second ||
		cfg.HubSpotAPIBaseURL != "http://127.0.0.1:8090" || cfg.HistoryRetention != 30*24*time.Hour || cfg.UninstalledGrace != 720*time.Hour {
		t.Errorf("sandbox defaults = %+v", cfg)
	}
}

func TestLoadConfigProduction(t *testing.T) {
	t.Parallel()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	cfg, err := loadConfig(env(map[string]string{
		"HUBSPOT_CLIENT_ID": "id", "HUBSPOT_CLIENT_SECRET": "s3cret", "PUBLIC_BASE_URL": "https://actions.example.com/",
		"ENCRYPTION_KEY": key, "INLINE_BUDGET": "2s", "HISTORY_RETENTION": "7d", "UNINSTALLED_GRACE": "48h",
	}))
	if err != nil {
		t.Fatalf("loadConfig() error = %v", err)
	}
	if cfg.Sandbox || cfg.ListenAddr != ":8080" || cfg.PublicBaseURL != "https://actions.example.com" || cfg.HubSpotAPIBaseURL != "https://api.hubapi.com" ||
		cfg.InlineBudget != 2*time.Second || cfg.HistoryRetention != 7*24*time.Hour || cfg.UninstalledGrace != 48*time.Hour || len(cfg.EncryptionKey) != 32 {
		t.Errorf("production config = %+v", cfg)
	}
	if s := cfg.HubSpotClientSecret.String(); s != "[redacted]" {
		t.Errorf("secret prints as %q", s)
	}
}

// TestLoadConfigReportsEveryProblemAtOnce: with HUBSPOT_CLIENT_ID set, each
// missing or wrong production setting is named in one error.
func TestLoadConfigReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(env(map[string]string{
		"HUBSPOT_CLIENT_ID": "id", "INLINE_BUDGET": "soon", "ENCRYPTION_KEY_PREVIOUS": "short", "UNINSTALLED_GRACE": "forever",
		"HUBSPOT_SCOPES": "oauth", "LOG_LEVEL": "loud", "QUICKBOOKS_CLIENT_ID": "qb", "QUICKBOOKS_CLIENT_SECRET": "qbs",
		// Each provider's own variables, declared in its package, are
		// reported with the rest.
		"STRIPE_API_BASE_URL": "api.stripe.com", "CLEARBIT_BASE_URL": "ftp://clearbit.example",
		"STRIPE_APP_KEY_PORTALS": "all,12", "CLEARBIT_APP_KEY_PORTALS": "12 abc",
	}))
	if err == nil {
		t.Fatal("loadConfig() = nil, want errors")
	}
	for _, want := range []string{"HUBSPOT_CLIENT_SECRET is required", "PUBLIC_BASE_URL is required", "ENCRYPTION_KEY is required",
		"INLINE_BUDGET", "UNINSTALLED_GRACE", "ENCRYPTION_KEY_PREVIOUS must be the base64", "must include automation", "LOG_LEVEL", "QUICKBOOKS_ENVIRONMENT is required",
		"STRIPE_API_BASE_URL must be an http or https URL", "CLEARBIT_BASE_URL must be an http or https URL",
		`STRIPE_APP_KEY_PORTALS: "all" and a list`, `CLEARBIT_APP_KEY_PORTALS: "abc" is not a HubSpot portal ID`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	_, err = loadConfig(env(map[string]string{"HUBSPOT_CLIENT_ID": "id", "HUBSPOT_CLIENT_SECRET": "s", "PUBLIC_BASE_URL": "http://actions.example.com",
		"ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(make([]byte, 32))}))
	if err == nil || !strings.Contains(err.Error(), "must use https") {
		t.Errorf("plain-http public URL: %v", err)
	}
	_, err = loadConfig(env(map[string]string{"QUICKBOOKS_CLIENT_ID": "qb", "QUICKBOOKS_ENVIRONMENT": "staging"}))
	for _, want := range []string{"QUICKBOOKS_CLIENT_ID and QUICKBOOKS_CLIENT_SECRET go together", `QUICKBOOKS_ENVIRONMENT must be sandbox or production, not "staging"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("QuickBooks half configured: error does not mention %q: %v", want, err)
		}
	}
}

// TestLoadConfigRefusesShortRetention: the history is the ledger that
// recognises HubSpot's retries, which go on for 3 days, so a shorter
// HISTORY_RETENTION is refused with the variable and the minimum named.
func TestLoadConfigRefusesShortRetention(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"1m", "71h", "2d"} {
		_, err := loadConfig(env(map[string]string{"HISTORY_RETENTION": v}))
		if err == nil || !strings.Contains(err.Error(), "HISTORY_RETENTION") || !strings.Contains(err.Error(), "at least 72h0m0s (3 days)") {
			t.Errorf("loadConfig(HISTORY_RETENTION=%s) = %v, want an error naming the variable and the 72h minimum", v, err)
		}
	}
	for _, v := range []string{"72h", "3d", "30d"} {
		if _, err := loadConfig(env(map[string]string{"HISTORY_RETENTION": v})); err != nil {
			t.Errorf("loadConfig(HISTORY_RETENTION=%s) = %v, want it accepted", v, err)
		}
	}
}

func TestServeRefusesIncompleteProductionConfig(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve"}, env(map[string]string{
		"HUBSPOT_CLIENT_ID": "id", "LISTEN_ADDR": "127.0.0.1:0", "DATABASE_URL": t.TempDir() + "/x.db"}), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "HUBSPOT_CLIENT_SECRET is required") || !strings.Contains(err.Error(), "PUBLIC_BASE_URL is required") {
		t.Fatalf("run(serve) = %v, want the missing settings", err)
	}
	if strings.Contains(stdout.String(), "listening") {
		t.Errorf("serve listened despite a bad configuration")
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	db := t.TempDir() + "/nested/hubspot-actions.db"
	if err := run(context.Background(), []string{"migrate"}, env(map[string]string{"DATABASE_URL": db}), &stdout, &stdout); err != nil {
		t.Fatalf("run(migrate) = %v", err)
	}
	if !strings.Contains(stdout.String(), "migrations applied to "+db) {
		t.Errorf("migrate printed %q", stdout.String())
	}
}

// TestLoadConfigHTTPLimits: the body guard and the metrics listener have
// defaults, take the operator's values, and name a bad value's variable.
func TestLoadConfigHTTPLimits(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(env(nil))
	if err != nil {
		t.Fatalf("loadConfig() error = %v", err)
	}
	if cfg.BodyReadTimeout != 10*time.Second || cfg.MaxUnauthenticatedBodies != 64 || cfg.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("defaults: BodyReadTimeout %v, MaxUnauthenticatedBodies %d, MetricsAddr %q", cfg.BodyReadTimeout, cfg.MaxUnauthenticatedBodies, cfg.MetricsAddr)
	}
	cfg, err = loadConfig(env(map[string]string{"BODY_READ_TIMEOUT": "3s", "MAX_UNAUTHENTICATED_BODIES": "16", "METRICS_ADDR": "OFF"}))
	if err != nil {
		t.Fatalf("loadConfig() error = %v", err)
	}
	if cfg.BodyReadTimeout != 3*time.Second || cfg.MaxUnauthenticatedBodies != 16 || cfg.MetricsAddr != "" {
		t.Errorf("set: BodyReadTimeout %v, MaxUnauthenticatedBodies %d, MetricsAddr %q", cfg.BodyReadTimeout, cfg.MaxUnauthenticatedBodies, cfg.MetricsAddr)
	}
	_, err = loadConfig(env(map[string]string{"BODY_READ_TIMEOUT": "0s", "MAX_UNAUTHENTICATED_BODIES": "lots", "METRICS_ADDR": "9090"}))
	for _, want := range []string{"BODY_READ_TIMEOUT must be positive", `MAX_UNAUTHENTICATED_BODIES: "lots" is not a positive whole number`, `METRICS_ADDR "9090" must be host:port, :port or off`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad values: error does not mention %q: %v", want, err)
		}
	}
}
