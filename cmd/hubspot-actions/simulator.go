package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"hubspot-actions/actions"
	"hubspot-actions/actions/sandbox"
	"hubspot-actions/cmd/internal/providers"
	"hubspot-actions/cmd/internal/simulate"
)

// simulateCommand runs the simulator with this build's actions, signing
// with the app's client secret.
func simulateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	reg, err := simulatorRegistry()
	if err != nil {
		return err
	}
	secret := func() (string, string, error) { return simulatorSecret(getenv) }
	err = simulate.Command(ctx, args, reg, secret, sandboxPortalID, stdout, stderr)
	if errors.Is(err, simulate.ErrUsage) {
		return errUsage
	}
	return err
}

// simulatorSecret returns the app's client secret and where it came from:
// HUBSPOT_CLIENT_SECRET, else the sandbox secrets next to the database.
func simulatorSecret(getenv func(string) string) (string, string, error) {
	if s := strings.TrimSpace(getenv("HUBSPOT_CLIENT_SECRET")); s != "" {
		return s, "HUBSPOT_CLIENT_SECRET", nil
	}
	dbURL := strings.TrimSpace(getenv("DATABASE_URL"))
	if dbURL == "" {
		dbURL = "./data/hubspot-actions.db"
	}
	dir := dataDir(dbURL, strings.TrimSpace(getenv("DATA_DIR")))
	s, err := loadSandboxSecrets(dir, false)
	if err != nil {
		return "", "", fmt.Errorf("no client secret to sign with: set HUBSPOT_CLIENT_SECRET, or run simulate with the DATABASE_URL of a sandbox `serve` so it can read %s (%w)",
			filepath.Join(dir, sandboxSecretsFile), err)
	}
	return s.ClientSecret, filepath.Join(dir, sandboxSecretsFile), nil
}

// simulatorRegistry holds every action this build can serve (sandbox-echo
// included), for labels and history messages.
func simulatorRegistry() (*actions.Registry, error) {
	reg, err := providers.Definitions()
	if err != nil {
		return nil, err
	}
	if err := sandbox.Register(reg); err != nil {
		return nil, err
	}
	return reg, nil
}
