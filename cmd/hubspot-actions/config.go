package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/providers"
	"hubspot-actions/cmd/internal/publish"
)

// secret is a configuration value that must never be printed or logged.
// It is the same type providers declare their secrets with.
type secret = actions.Secret

// config is everything the service reads from its environment.
type config struct {
	ListenAddr    string
	PublicBaseURL string
	DatabaseURL   string
	DataDir       string
	LogLevel      slog.Level

	// Sandbox is on when no HubSpot app is configured: secrets are generated
	// under DataDir and providers are served by local fakes.
	Sandbox bool

	HubSpotClientID       string
	HubSpotClientSecret   secret
	HubSpotAPIBaseURL     string
	HubSpotAppBaseURL     string
	HubSpotScopes         []string
	HubSpotOptionalScopes []string
	EncryptionKey         []byte
	EncryptionKeyPrevious []byte

	InlineBudget     time.Duration
	ActionTimeout    time.Duration
	HistoryRetention time.Duration
	// UninstalledGrace is how long a portal uninstalled in HubSpot keeps
	// its secrets (a reinstall meanwhile brings its connections back).
	UninstalledGrace time.Duration

	// UnauthLimit paces each client on the routes anyone may call
	// (UNAUTH_RATE_LIMIT, UNAUTH_RATE_BURST); TrustedProxies are the
	// proxies whose X-Forwarded-For names the client (TRUSTED_PROXIES).
	UnauthLimit    actions.ClientLimit
	TrustedProxies []*net.IPNet
	// WebhookLimit paces each client on POST /hubspot/webhooks
	// (WEBHOOK_RATE_LIMIT, WEBHOOK_RATE_BURST).
	WebhookLimit actions.ClientLimit
	// PublicLimit paces each client on the public read-only pages
	// (PUBLIC_RATE_LIMIT, PUBLIC_RATE_BURST).
	PublicLimit actions.ClientLimit

	// BodyReadTimeout is how long a request body may take to arrive;
	// MaxUnauthenticatedBodies how many bodies of callers not yet
	// authenticated are read at once (actions.BodyGuard).
	BodyReadTimeout          time.Duration
	MaxUnauthenticatedBodies int
	// MetricsAddr is the address of the metrics listener; empty when off.
	MetricsAddr string

	// Providers holds each external system's own part of the
	// configuration, declared in its package.
	Providers []providerConfig
}

// Defaults: the SQLite file, and where a sandbox sends HubSpot API calls
// (the simulator's local HubSpot).
const (
	defaultDatabaseURL       = "./data/hubspot-actions.db"
	defaultSandboxHubSpotURL = "http://127.0.0.1:8090"
	// Metrics stay off the public listener, on loopback unless told
	// otherwise (the Docker image listens on :9090 of its own network).
	defaultMetricsAddr = "127.0.0.1:9090"
)

// defaultScopes are the scopes the app requires: those the published app's
// actions and features declare, as the app-definition lists them.
var defaultScopes = appScopes()

// defaultOptionalScopes are the scopes the app asks for as optional: those
// saving results on records needs, as the app-definition lists them.
var defaultOptionalScopes = appOptionalScopes()

// appOptionalScopes returns the optional scopes the published app's
// registry declares.
func appOptionalScopes() []string {
	reg, err := providers.Definitions()
	if err != nil {
		panic(fmt.Sprintf("build the published app's registry: %v", err))
	}
	return publish.DefaultOptionalScopes(reg)
}

// appScopes returns the scopes the published app's registry declares. The
// registry is built from the one provider list without I/O; an error there
// is a bug in a provider's spec, which every test of this package catches.
func appScopes() []string {
	reg, err := providers.Definitions()
	if err != nil {
		panic(fmt.Sprintf("build the published app's registry: %v", err))
	}
	return publish.DefaultScopes(reg)
}

// loadConfig reads the configuration. Every problem is reported at once.
func loadConfig(getenv func(string) string) (config, error) {
	var errs []error
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	dur := func(k string, def time.Duration) time.Duration {
		v := get(k, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			if days, ok := strings.CutSuffix(v, "d"); ok {
				if n, err := strconv.Atoi(days); err == nil && n > 0 {
					return time.Duration(n) * 24 * time.Hour
				}
			}
			errs = append(errs, fmt.Errorf("%s: %q is not a duration such as 5s, 2m or 30d", k, v))
			return def
		}
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", k))
			return def
		}
		return d
	}
	key := func(k string) []byte {
		v := get(k, "")
		if v == "" {
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
		}
		if err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf("%s must be the base64 encoding of 32 random bytes (try: openssl rand -base64 32)", k))
			return nil
		}
		return b
	}
	cfg := config{
		ListenAddr:            get("LISTEN_ADDR", ""),
		DatabaseURL:           get("DATABASE_URL", defaultDatabaseURL),
		HubSpotClientID:       get("HUBSPOT_CLIENT_ID", ""),
		HubSpotClientSecret:   secret(get("HUBSPOT_CLIENT_SECRET", "")),
		HubSpotAPIBaseURL:     strings.TrimRight(get("HUBSPOT_API_BASE_URL", ""), "/"),
		HubSpotAppBaseURL:     strings.TrimRight(get("HUBSPOT_APP_BASE_URL", "https://app.hubspot.com"), "/"),
		HubSpotScopes:         strings.Fields(get("HUBSPOT_SCOPES", strings.Join(defaultScopes, " "))),
		HubSpotOptionalScopes: strings.Fields(get("HUBSPOT_OPTIONAL_SCOPES", strings.Join(defaultOptionalScopes, " "))),
		EncryptionKey:         key("ENCRYPTION_KEY"),
		EncryptionKeyPrevious: key("ENCRYPTION_KEY_PREVIOUS"),
		InlineBudget:          dur("INLINE_BUDGET", 5*time.Second),
		ActionTimeout:         dur("ACTION_TIMEOUT", 30*time.Second),
		HistoryRetention:      dur("HISTORY_RETENTION", 30*24*time.Hour),
		UninstalledGrace:      dur("UNINSTALLED_GRACE", 30*24*time.Hour),
		BodyReadTimeout:       dur("BODY_READ_TIMEOUT", actions.DefaultBodyTimeout),
		MetricsAddr:           get("METRICS_ADDR", defaultMetricsAddr),
	}
	cfg.MaxUnauthenticatedBodies, errs = positiveInt(get("MAX_UNAUTHENTICATED_BODIES", ""), "MAX_UNAUTHENTICATED_BODIES", actions.DefaultMaxUnauthenticatedBodies, errs)
	if strings.EqualFold(cfg.MetricsAddr, "off") {
		cfg.MetricsAddr = ""
	} else if _, port, err := net.SplitHostPort(cfg.MetricsAddr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("METRICS_ADDR %q must be host:port, :port or off", cfg.MetricsAddr))
	}
	switch strings.ToLower(get("LOG_LEVEL", "info")) {
	case "debug":
		cfg.LogLevel = slog.LevelDebug
	case "info":
		cfg.LogLevel = slog.LevelInfo
	case "warn", "warning":
		cfg.LogLevel = slog.LevelWarn
	case "error":
		cfg.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error"))
	}
	cfg.Sandbox = cfg.HubSpotClientID == "" && cfg.HubSpotClientSecret == ""
	if get("HUBSPOT_OPTIONAL_SCOPES", "") == "" {
		// A scope the operator requires is not asked for twice.
		cfg.HubSpotOptionalScopes = slices.DeleteFunc(cfg.HubSpotOptionalScopes, func(s string) bool { return contains(cfg.HubSpotScopes, s) })
	}
	if cfg.ListenAddr == "" {
		// A sandbox hands out admin sessions to anyone who asks, so it
		// listens on loopback unless told otherwise.
		cfg.ListenAddr = ":8080"
		if cfg.Sandbox {
			cfg.ListenAddr = "127.0.0.1:8080"
		}
	}
	if cfg.HistoryRetention < actions.MinRetention {
		errs = append(errs, fmt.Errorf("HISTORY_RETENTION (%v) must be at least %v (3 days): HubSpot retries a request for up to 3 days, and only the history recognises a retry, so a shorter one would run actions again", cfg.HistoryRetention, actions.MinRetention))
	}
	if cfg.InlineBudget >= cfg.ActionTimeout {
		errs = append(errs, fmt.Errorf("INLINE_BUDGET (%v) must be shorter than ACTION_TIMEOUT (%v)", cfg.InlineBudget, cfg.ActionTimeout))
	}
	if _, port, err := net.SplitHostPort(cfg.ListenAddr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("LISTEN_ADDR %q must be host:port or :port", cfg.ListenAddr))
	}
	errs = append(errs, loadUnauthConfig(&cfg, get)...)
	providers, perrs := loadProviders(getenv)
	cfg.Providers = providers
	errs = append(errs, perrs...)
	cfg.DataDir = dataDir(cfg.DatabaseURL, get("DATA_DIR", ""))

	public := get("PUBLIC_BASE_URL", "")
	if cfg.Sandbox {
		if _, port, _ := net.SplitHostPort(cfg.ListenAddr); public == "" && port != "0" {
			// With port 0, serve fills it in once it knows the port.
			public = "http://localhost:" + port
		}
		if cfg.HubSpotAPIBaseURL == "" {
			cfg.HubSpotAPIBaseURL = defaultSandboxHubSpotURL
		}
	} else {
		if cfg.HubSpotClientID == "" {
			errs = append(errs, errors.New("HUBSPOT_CLIENT_ID is required when HUBSPOT_CLIENT_SECRET is set"))
		}
		if cfg.HubSpotClientSecret == "" {
			errs = append(errs, errors.New("HUBSPOT_CLIENT_SECRET is required (the app's client secret, which also verifies request signatures)"))
		}
		if public == "" {
			errs = append(errs, errors.New("PUBLIC_BASE_URL is required (the https origin HubSpot calls, such as https://actions.example.com)"))
		}
		if cfg.EncryptionKey == nil && get("ENCRYPTION_KEY", "") == "" {
			errs = append(errs, errors.New("ENCRYPTION_KEY is required (base64 of 32 random bytes; try: openssl rand -base64 32)"))
		}
		if cfg.HubSpotAPIBaseURL == "" {
			cfg.HubSpotAPIBaseURL = "https://api.hubapi.com"
		}
		if !contains(cfg.HubSpotScopes, "automation") {
			errs = append(errs, errors.New("HUBSPOT_SCOPES must include automation (callback completions need it)"))
		}
	}
	if public != "" {
		u, err := url.Parse(public)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("PUBLIC_BASE_URL %q must be an origin such as https://actions.example.com", public))
		} else if !cfg.Sandbox && u.Scheme != "https" && !isLoopback(u.Hostname()) {
			errs = append(errs, fmt.Errorf("PUBLIC_BASE_URL %q must use https (HubSpot only calls https URLs)", public))
		}
		cfg.PublicBaseURL = strings.TrimRight(public, "/")
	}
	return cfg, errors.Join(errs...)
}

// dataDir is where files beside the database live (the sandbox secrets):
// DATA_DIR when set, else the SQLite database's folder, or ./data for
// PostgreSQL (never a folder named after its URL).
func dataDir(databaseURL, override string) string {
	if override != "" {
		return override
	}
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		return "data"
	}
	p := databaseURL
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		p = strings.TrimPrefix(p, prefix)
	}
	p, _, _ = strings.Cut(p, "?")
	return filepath.Dir(p)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// positiveInt parses v (the variable name's value) as a positive integer;
// empty is def. A bad value is added to errs.
func positiveInt(v, name string, def int, errs []error) (int, []error) {
	if v == "" {
		return def, errs
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return def, append(errs, fmt.Errorf("%s: %q is not a positive whole number", name, v))
	}
	return n, errs
}
