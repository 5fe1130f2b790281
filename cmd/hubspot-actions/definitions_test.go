package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"hubspot-actions/actions"
	"hubspot-actions/actions/sandbox"
	"hubspot-actions/cmd/internal/providers"
	"hubspot-actions/cmd/internal/publish"
)

var update = flag.Bool("update", false, "rewrite app-definition/ from the code")

// committedDir is the repository's app-definition, from this package.
var committedDir = filepath.Join("..", "..", publish.Dir)

func noEnv(string) string { return "" }

// TestAppDefinitionMatchesCode fails when the committed app-definition
// drifts from the action registry. Regenerate the committed form with
// go test ./cmd/hubspot-actions -run TestAppDefinitionMatchesCode -update
func TestAppDefinitionMatchesCode(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if *update {
		reg, err := providers.Definitions()
		if err != nil {
			t.Fatal(err)
		}
		if err := publish.WriteCommitted(committedDir, reg, &out); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(context.Background(), []string{"definitions", "--check", "--dir", committedDir}, noEnv, &out, &errb); err != nil {
		t.Fatalf("definitions --check: %v\n%s%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "matches the code") {
		t.Errorf("definitions --check printed:\n%s", out.String())
	}
}

// TestDefinitionRegistryIsTheServicesRegistry checks that definitions and
// serve list the same published actions with the same definitions.
func TestDefinitionRegistryIsTheServicesRegistry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": filepath.Join(dir, "data", "hubspot-actions.db"), "LISTEN_ADDR": "127.0.0.1:0", "PUBLIC_BASE_URL": "http://localhost:1"}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = withSandboxSecrets(cfg); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	promReg := prometheus.NewRegistry()
	a, err := wire(ctx, cfg, db, newLogger(io.Discard, cfg.LogLevel), actions.NewMetrics(promReg), promReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)

	reg, err := providers.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	p := actions.DefinitionParams{PublicBaseURL: publish.PlaceholderBaseURL, AppDisplayName: publish.AppName, Published: true}
	want := map[string]actions.Definition{}
	for _, act := range a.runtime.Registry().All() {
		if act.Key != sandbox.Key {
			want[act.Key] = act.Definition(p)
		}
	}
	got := map[string]actions.Definition{}
	for _, act := range reg.All() {
		got[act.Key] = act.Definition(p)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("definitions registry differs from the service's (-service +definitions):\n%s", diff)
	}
}
