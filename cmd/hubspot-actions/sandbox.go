package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"hubspot-actions/store"
)

// sandboxSecretsFile holds the secrets sandbox mode generates, in the data
// folder.
const sandboxSecretsFile = "sandbox-secrets.json"

type sandboxSecrets struct {
	ClientSecret  string `json:"client_secret"`
	EncryptionKey string `json:"encryption_key"`
}

// withSandboxSecrets fills a sandbox configuration's client secret and
// encryption key from the data folder, generating them on first use. Other
// configurations are returned unchanged.
func withSandboxSecrets(cfg config) (config, error) {
	if !cfg.Sandbox {
		return cfg, nil
	}
	s, err := loadSandboxSecrets(cfg.DataDir, true)
	if err != nil {
		return cfg, err
	}
	key, err := base64.StdEncoding.DecodeString(s.EncryptionKey)
	if err != nil || len(key) != 32 {
		return cfg, fmt.Errorf("sandbox secrets in %s are damaged; delete the file to start over", filepath.Join(cfg.DataDir, sandboxSecretsFile))
	}
	cfg.HubSpotClientSecret = secret(s.ClientSecret)
	if cfg.EncryptionKey == nil {
		cfg.EncryptionKey = key
	}
	return cfg, nil
}

// loadSandboxSecrets reads the sandbox secrets of a data folder, creating
// them when create is set and the file does not exist.
func loadSandboxSecrets(dir string, create bool) (sandboxSecrets, error) {
	path := filepath.Join(dir, sandboxSecretsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := createSandboxSecrets(dir, path); err != nil {
			return sandboxSecrets{}, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return sandboxSecrets{}, fmt.Errorf("read sandbox secrets: %w", err)
	}
	var s sandboxSecrets
	if err := json.Unmarshal(b, &s); err != nil || s.ClientSecret == "" {
		return s, fmt.Errorf("sandbox secrets in %s are damaged; delete the file to start over", path)
	}
	return s, nil
}

// createSandboxSecrets generates the sandbox secrets and puts them at
// path unless a file is there already. Sandbox processes starting at once
// on one data folder (replicas on one PostgreSQL) must all use the secrets
// of whichever wrote first, or each would seal and sign with its own key:
// so the file is written in full under another name, then linked into
// place, which fails when path exists, and the caller reads what is there.
func createSandboxSecrets(dir, path string) error {
	s := sandboxSecrets{ClientSecret: "sandbox-" + randomString(24), EncryptionKey: base64.StdEncoding.EncodeToString(randomBytes(32))}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create data folder %s: %w", dir, err)
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp, err := os.CreateTemp(dir, sandboxSecretsFile+".*")
	if err != nil {
		return fmt.Errorf("write sandbox secrets: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err != nil {
		return fmt.Errorf("write sandbox secrets: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write sandbox secrets: %w", err)
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

func randomString(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

// announceSandbox says loudly that this is sandbox mode and how to try it.
func announceSandbox(log *slog.Logger, w io.Writer, cfg config, a *app) {
	log.Warn("SANDBOX MODE: no HubSpot app is configured (HUBSPOT_CLIENT_ID is unset). Request signatures use a generated secret, tokens are fake and providers are local fakes. Never expose this to the internet.",
		"secrets_file", filepath.Join(cfg.DataDir, sandboxSecretsFile), "hubspot_api_base_url", cfg.HubSpotAPIBaseURL)
	// The simulator finds the secret through DATABASE_URL and must listen
	// where this instance sends callbacks.
	sim := "go run ./cmd/hubspot-actions simulate"
	if cfg.DatabaseURL != defaultDatabaseURL {
		u := cfg.DatabaseURL
		if store.RedactURL(u) != u {
			// A password is never printed: the variable is named instead.
			u = `"$DATABASE_URL"`
		}
		sim = "DATABASE_URL=" + u + " " + sim
	}
	sim += " --url " + cfg.PublicBaseURL
	if u, err := url.Parse(cfg.HubSpotAPIBaseURL); err == nil && cfg.HubSpotAPIBaseURL != defaultSandboxHubSpotURL {
		sim += " --callback-addr " + u.Host
	}
	fmt.Fprintf(w, `
  ┌──────────────────────────────────────────────────────────────────────┐
  │ hubspot-actions is running in SANDBOX MODE                           │
  └──────────────────────────────────────────────────────────────────────┘
  No HubSpot app is configured, so this instance signs and answers like
  HubSpot would, with a secret generated in %s.

  Try an action (in another terminal), playing HubSpot:

    %s \
        --action sandbox-echo --input message=hello

  A slow one, answered BLOCK and completed by callback:

    %s \
        --action sandbox-echo --input message=hello --input delay_ms=8000

`, filepath.Join(cfg.DataDir, sandboxSecretsFile), sim, sim)
	for _, n := range a.notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintln(w)
}
