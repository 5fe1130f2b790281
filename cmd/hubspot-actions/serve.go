package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"hubspot-actions/actions"
	"hubspot-actions/actions/hubspot"
	"hubspot-actions/actions/webhooks"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// serve runs the service until ctx ends, then shuts down gracefully:
// requests in flight finish, then action runs and jobs, then the store
// closes.
func serve(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	log := newLogger(stdout, cfg.LogLevel)
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// The heap of a serving process is small and short-lived (request
		// bodies, decoded inputs, answers): letting it grow to 5x the live
		// heap instead of 2x before collecting halves GC work for a few MB
		// more memory. The process environment, not getenv: it is what the
		// Go runtime read, and an operator's GOGC or GOMEMLIMIT wins.
		debug.SetGCPercent(400)
	}
	cfg, err := withSandboxSecrets(cfg)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	defer ln.Close()
	if cfg.PublicBaseURL == "" {
		// Sandbox without PUBLIC_BASE_URL: the address we really listen on.
		cfg.PublicBaseURL = "http://localhost:" + portOf(ln.Addr())
	}

	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := actions.NewMetrics(promReg)

	app, err := wire(ctx, cfg, db, log, metrics, promReg)
	if err != nil {
		return err
	}
	defer app.close()

	mln, err := listenMetrics(cfg.MetricsAddr)
	if err != nil {
		return err
	}
	metricsAddr := "off"
	if mln != nil {
		defer mln.Close()
		metricsAddr = mln.Addr().String()
	}

	bodies := app.bodies
	e := actions.NewServer(log, app.validator)
	// What c.RealIP() answers: the peer, or behind TRUSTED_PROXIES the
	// client they forwarded for (rate limits and logs key on it).
	e.IPExtractor = actions.ClientIP(cfg.TrustedProxies)
	// Every body gets BODY_READ_TIMEOUT to arrive, wherever it is read.
	e.Pre(bodies.Deadline())
	addRoutes(e, log, cfg, db, app.runtime, app.flow, app.providers, app.uninstaller, metrics, app.extra, bodies)
	e.Listener = ln
	// Slow or idle clients cannot hold connections forever: headers have
	// a timeout here, bodies BODY_READ_TIMEOUT (the Deadline middleware,
	// lifted once the body is in, so a handler working up to
	// INLINE_BUDGET is never cut short), idle connections IdleTimeout.
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Server.IdleTimeout = 2 * time.Minute

	if err := app.runtime.Start(ctx); err != nil {
		return err
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- e.Start("") }()
	var ms *http.Server
	if mln != nil {
		ms = metricsServer(promReg)
		go func() {
			if err := ms.Serve(mln); err != nil {
				serveErr <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}

	log.Info("listening", "addr", ln.Addr().String(), "public_base_url", cfg.PublicBaseURL,
		"metrics_addr", metricsAddr, "sandbox", cfg.Sandbox, "actions", len(app.runtime.Registry().All()))
	if cfg.Sandbox {
		announceSandbox(log, stderr, cfg, app)
	}

	var failed error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "err", err)
			failed = fmt.Errorf("HTTP server: %w", err)
		}
	}
	// Graceful shutdown: requests in flight get their inline budget and a
	// margin; then action runs and running jobs get up to ACTION_TIMEOUT.
	// Whatever is still unfinished after that is recovered by the next
	// process from the ledger.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.InlineBudget+5*time.Second)
	defer cancel()
	if err := e.Shutdown(shutdownCtx); err != nil {
		log.Error("shut down HTTP server", "err", err)
	}
	if ms != nil {
		if err := ms.Shutdown(shutdownCtx); err != nil {
			log.Error("shut down metrics server", "err", err)
		}
	}
	jobsCtx, cancelJobs := context.WithTimeout(context.Background(), cfg.ActionTimeout+5*time.Second)
	defer cancelJobs()
	if err := app.runtime.Stop(jobsCtx); err != nil {
		log.Error("stop jobs", "err", err)
	}
	log.Info("stopped")
	return failed
}

// openStore opens the database with the keys the store seals secrets with:
// ENCRYPTION_KEY and, after a rotation, ENCRYPTION_KEY_PREVIOUS.
func openStore(ctx context.Context, cfg config) (*store.DB, error) {
	return store.Open(ctx, cfg.DatabaseURL, store.WithKeys(cfg.EncryptionKey, cfg.EncryptionKeyPrevious))
}

// migrate applies migrations (Open does) and reports. With ENCRYPTION_KEY
// set it also re-seals secrets, as serve does at start-up.
func migrate(ctx context.Context, cfg config, stdout io.Writer) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Ready(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrations applied to %s\n", db.Path())
	if cfg.EncryptionKey != nil {
		if err := reseal(ctx, db, newLogger(stdout, cfg.LogLevel)); err != nil {
			return err
		}
	}
	return nil
}

// reseal seals again every secret sealed under ENCRYPTION_KEY_PREVIOUS
// (so that key can be dropped at the next deploy) or not yet bound to its
// row, before anything is served. A value that does not belong to its row
// (copied from another portal's) is reported, not fatal: its portal sees
// NOT_CONNECTED and saves it again.
func reseal(ctx context.Context, db *store.DB, log *slog.Logger) error {
	rep, err := db.Reseal(ctx)
	if err != nil {
		return fmt.Errorf("re-seal secrets under ENCRYPTION_KEY: %w", err)
	}
	if rep.Resealed > 0 {
		log.Info("re-sealed secrets under the current ENCRYPTION_KEY, bound to their rows", "count", rep.Resealed)
	}
	if len(rep.Misplaced) > 0 {
		log.Warn("sealed secrets that do not belong to their row (copied from another row, or altered); their portals must reconnect or enter the key again",
			"count", len(rep.Misplaced), "values", rep.Misplaced)
	}
	return nil
}

// app is everything wire builds.
type app struct {
	runtime   *actions.Runtime
	flow      *oauth.Flow
	hubspot   *hubspot.Client
	extra     routesExtra
	bodies    *actions.BodyGuard
	providers []actions.Provider // in the order of the list
	// uninstaller uninstalls portals (settings page) and sweeps those
	// uninstalled in HubSpot.
	uninstaller *actions.Uninstaller
	validator   *validator.Validate // the server's and the runtime's
	closers     []func()
	notes       []string // sandbox notes for the announcement
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// wire builds the HTTP clients, OAuth, the HubSpot client, the actions and
// the runtime.
func wire(ctx context.Context, cfg config, db *store.DB, log *slog.Logger, m *actions.Metrics, promReg *prometheus.Registry) (_ *app, err error) {
	a := &app{}
	defer func() {
		if err != nil {
			a.close() // stop the sandbox fakes already started
		}
	}()
	hubspotHTTP := outboundClient("hubspot", 20*time.Second, m)
	oauthCfg := hubspotOAuthConfig(cfg, db)
	if cfg.Sandbox {
		if err := sandboxHubSpot(&oauthCfg, a, log); err != nil {
			return nil, err
		}
	}
	a.flow = oauth.New(oauthCfg, db, hubspotHTTP, log)
	limiter, chores := limiters(db, log)
	a.hubspot = hubspot.New(cfg.HubSpotAPIBaseURL, a.flow, limiter("hubspot", actions.Limit{
		Every: hubspot.Every, Burst: hubspot.Burst, Refusal: "the portal's HubSpot request budget is used up for now",
	}), log)

	// One budget per client across every route anyone may call.
	a.extra.unauth = actions.LimitPerClient(actions.NewClientLimiter(cfg.UnauthLimit))
	a.extra.public = actions.LimitPerClient(actions.NewClientLimiter(cfg.PublicLimit))
	// Bodies read before their caller is authenticated (signed requests):
	// a deadline for every body, a cap on how many are read at once.
	a.bodies = actions.NewBodyGuard(cfg.BodyReadTimeout, cfg.MaxUnauthenticatedBodies, m)
	reg := actions.NewRegistry()
	deps := actions.Deps{
		DB:       db,
		HubSpot:  a.hubspot,
		Sessions: providerSessions{adminSessions(cfg, db), a.flow},
		HTTPClient: func(upstream string, timeout time.Duration) *http.Client {
			return outboundClient(upstream, timeout, m)
		},
		Limiters: limiter,
		AppSecret: func(ctx context.Context, name string) ([]byte, error) {
			return appSecret(ctx, db, name)
		},
		PublicBaseURL:   cfg.PublicBaseURL,
		Unauthenticated: a.extra.unauth,
		Log:             log,
	}
	if err := buildProviders(reg, cfg, deps, a, log); err != nil {
		return nil, err
	}
	// Test mode: every provider's twin, answered by its fake on loopback.
	testActions, err := buildTestActions(cfg, deps, a, log)
	if err != nil {
		return nil, err
	}
	// The scopes the webhooks' subscriptions need, with their reasons (the
	// setup guide lists them).
	if err := webhooks.RequireScopes(reg); err != nil {
		return nil, err
	}
	if err := reseal(ctx, db, log); err != nil {
		return nil, err
	}
	a.validator = actions.NewValidator()
	a.uninstaller = newUninstaller(cfg, a.flow, db, a.providers, log)
	recv := wireWebhooks(a, cfg, db, log, m, promReg)
	a.runtime, err = actions.NewRuntime(actions.Config{InlineBudget: cfg.InlineBudget, AttemptTimeout: cfg.ActionTimeout, Retention: cfg.HistoryRetention,
		Chores: append(chores, a.uninstaller.Chore()), TestActions: testActions}, db, reg, a.hubspot, a.validator, log, m, promReg, recv)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// limiters returns the factory every upstream budget's limiter is built
// with, and the chores it needs: in-process on SQLite, as one process owns
// the file; in PostgreSQL when the store is, so that every replica shares
// each budget.
func limiters(db *store.DB, log *slog.Logger) (func(name string, l actions.Limit) actions.Limiter, []actions.Chore) {
	if db.Postgres() {
		return func(name string, l actions.Limit) actions.Limiter {
			return actions.NewSharedLimiter(db, name, l, log)
		}, []actions.Chore{actions.PruneRateLimits(db, log)}
	}
	return func(name string, l actions.Limit) actions.Limiter { return actions.NewLimiter(l) }, nil
}

// outboundClient is an HTTP client for one upstream, with a timeout and its
// requests counted by status.
func outboundClient(provider string, timeout time.Duration, m *actions.Metrics) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &http.Client{Timeout: timeout, Transport: m.Transport(provider, tr)}
}

func portOf(addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

// newLogger returns the JSON logger everything logs through.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
