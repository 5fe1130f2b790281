package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/clearbit"
	"hubspot-actions/actions/clearbit/clearbittest"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/actions/quickbooks/quickbookstest"
	"hubspot-actions/actions/sandbox"
	"hubspot-actions/actions/stripe"
	"hubspot-actions/actions/stripe/stripetest"
	"hubspot-actions/oauth"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// providers are the per-provider objects other features (the settings
// page) need after wiring.
type providers struct {
	clearbit     *clearbit.Client
	clearbitKeys *actions.APIKeys
	quickbooks   *quickbooks.Service
	stripe       *stripe.Client
	stripeKeys   *actions.APIKeys
	// keyed are the providers whose API keys admins enter on the settings
	// page, in the order it shows them.
	keyed []keyProvider
}

// registerActions adds every action the service serves to reg, with its
// client; in sandbox mode providers without a configured URL are served by
// their fakes on loopback.
func registerActions(ctx context.Context, reg *actions.Registry, cfg config, db *store.DB, a *app, log *slog.Logger, m *actions.Metrics) error {
	settingsURL := cfg.PublicBaseURL + "/settings"
	if cfg.Sandbox {
		if err := sandbox.Register(reg); err != nil {
			return err
		}
	}

	// Clearbit.
	clearbitURL, clearbitKey := cfg.ClearbitBaseURL, cfg.ClearbitAPIKey.reveal()
	if cfg.Sandbox && clearbitURL == "" {
		url, err := a.serveFake("clearbit", clearbittest.NewServer(clearbittest.Options{}), log)
		if err != nil {
			return err
		}
		clearbitURL = url
		if clearbitKey == "" {
			clearbitKey = "sk_sandbox_clearbit"
		}
		a.notes = append(a.notes, "Clearbit is faked at "+url+": any email or domain enriches; try queued@…, unknown@… or info@… for a 202, 404 or 422.")
	}
	a.providers.clearbitKeys = actions.NewAPIKeys(db, "clearbit", "Clearbit", clearbitKey, settingsURL)
	a.providers.clearbit = clearbit.NewClient(clearbitURL, outboundClient("clearbit", 10*time.Second, m))
	cbKeys := a.providers.clearbitKeys
	cbOpts := clearbit.Options{
		SettingsURL: settingsURL,
		KeyOwner: func(ctx context.Context, portalID int64) clearbit.KeyOwner {
			if cbKeys.PortalOwned(ctx, portalID) {
				return clearbit.OwnerPortal
			}
			return clearbit.OwnerApp
		},
	}
	a.providers.keyed = append(a.providers.keyed, keyProvider{Keys: cbKeys, Verify: a.providers.clearbit.VerifyKey,
		Help: "Your Clearbit secret API key, from the API page of your Clearbit dashboard (it starts with sk_)."})

	// QuickBooks Online: each portal connects its own company.
	qbCfg := quickbooks.Config{
		ClientID:      cfg.QuickBooksClientID,
		ClientSecret:  cfg.QuickBooksClientSecret.reveal(),
		Environment:   cfg.QuickBooksEnvironment,
		PublicBaseURL: cfg.PublicBaseURL,
		APIBaseURL:    cfg.QuickBooksAPIBaseURL,
		AuthorizeURL:  cfg.IntuitAuthorizeURL,
		TokenURL:      cfg.IntuitTokenURL,
		RevokeURL:     cfg.IntuitRevokeURL,
	}
	if cfg.Sandbox && cfg.QuickBooksClientID == "" {
		qbCfg.ClientID, qbCfg.ClientSecret = "sandbox-quickbooks", "sandbox-quickbooks-secret"
		url, err := a.serveFake("quickbooks", quickbookstest.NewServer(quickbookstest.Options{
			ClientID: qbCfg.ClientID, ClientSecret: qbCfg.ClientSecret, AdoptUnknownGrants: true,
		}), log)
		if err != nil {
			return err
		}
		qbCfg.APIBaseURL = url
		qbCfg.AuthorizeURL = url + quickbookstest.AuthorizePath
		qbCfg.TokenURL = url + quickbookstest.TokenPath
		qbCfg.RevokeURL = url + quickbookstest.RevokePath
		a.notes = append(a.notes, "QuickBooks is faked at "+url+": connect it from the settings page; items 1-30 exist, item 31 is inactive.")
	}
	qbHTTP := outboundClient("quickbooks", 30*time.Second, m)
	qbGrant := oauth.NewGrants(quickbooks.Provider, quickbooks.OAuthConfig(qbCfg), db, qbHTTP, log)
	qb, err := quickbooks.New(qbCfg, qbGrants{qbGrant}, qbSessions{a.flow}, qbCRM{a.hubspot}, qbHTTP, log)
	if err != nil {
		return fmt.Errorf("quickbooks: %w", err)
	}
	a.providers.quickbooks = qb

	// Stripe promotion codes.
	stripeURL, stripeKey := cfg.StripeAPIBaseURL, cfg.StripeSecretKey.reveal()
	if cfg.Sandbox && cfg.StripeAPIBaseURL == stripe.DefaultBaseURL {
		url, err := a.serveFake("stripe", stripetest.NewServer(stripetest.Options{}), log)
		if err != nil {
			return err
		}
		stripeURL = url
		if stripeKey == "" {
			stripeKey = stripetest.SandboxKey
		}
		a.notes = append(a.notes, "Stripe is faked at "+url+": codes WELCOME10, TENOFF and EXPIRED20 exist; a code_prefix of RATELIMIT gets a 429.")
	}
	a.providers.stripeKeys = actions.NewAPIKeys(db, "stripe", "Stripe", stripeKey, settingsURL)
	a.providers.stripe = stripe.NewClient(stripeURL, outboundClient("stripe", 30*time.Second, m))
	// Promotion-code suffixes are an HMAC of the callbackId under this
	// secret: unguessable, yet the same on every retry of an execution. It
	// is the app's own, stored sealed, and survives key rotations.
	codeSecret, err := appSecret(ctx, db, "stripe promotion codes")
	if err != nil {
		return fmt.Errorf("stripe code secret: %w", err)
	}
	a.providers.keyed = append(a.providers.keyed, keyProvider{Keys: a.providers.stripeKeys, Verify: a.providers.stripe.VerifyKey,
		Help: "Your Stripe secret key, from Developers → API keys (it starts with sk_ or rk_)."})

	return registerPublished(reg, a.providers.clearbit, cbKeys.Key, cbOpts, qb, a.providers.stripe, a.providers.stripeKeys.Key, codeSecret)
}

// registerPublished registers the actions of the published app: every
// provider's, never the sandbox's. The service (registerActions) and the
// definitions command (definitionRegistry) both go through it, so the
// app-definition lists exactly the actions the service serves. A new
// provider adds its clients to the parameters, which makes both callers
// supply them.
func registerPublished(reg *actions.Registry, cb *clearbit.Client, cbKey actions.KeyFunc, cbOpts clearbit.Options, qb *quickbooks.Service,
	st *stripe.Client, stKey actions.KeyFunc, stCodeSecret []byte) error {
	if err := clearbit.Register(reg, cb, cbKey, cbOpts); err != nil {
		return fmt.Errorf("register clearbit actions: %w", err)
	}
	if err := quickbooks.Register(reg, qb); err != nil {
		return fmt.Errorf("register quickbooks actions: %w", err)
	}
	if err := stripe.Register(reg, st, stKey, stCodeSecret); err != nil {
		return fmt.Errorf("register stripe actions: %w", err)
	}
	return nil
}

func definitionRegistry() (*actions.Registry, error) {
	reg := actions.NewRegistry()
	noKey := func(context.Context, int64) (string, error) { return "", nil }
	qb, err := quickbooks.New(quickbooks.Config{Environment: "sandbox", PublicBaseURL: "http://localhost"},
		nil, nil, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("quickbooks: %w", err)
	}
	// Clients that never run; the secret only shapes promotion codes.
	if err := registerPublished(reg, clearbit.NewClient("", nil), noKey, clearbit.Options{}, qb,
		stripe.NewClient("", nil), noKey, make([]byte, 32)); err != nil {
		return nil, err
	}
	return reg, nil
}

// serveFake serves a provider's fake on a loopback port until the app
// closes, and returns its URL.
func (a *app) serveFake(name string, h http.Handler, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for the %s fake: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("sandbox fake stopped", "provider", name, "err", err)
		}
	}()
	a.closers = append(a.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return "http://" + ln.Addr().String(), nil
}

// Sandbox HubSpot account: the portal and admin the fake installs.
const (
	sandboxClientID  = "sandbox-app"
	sandboxPortalID  = 1000001
	sandboxUserEmail = "admin@sandbox.test"
)

// sandboxHubSpot points a sandbox's OAuth flow at an in-process fake of
// HubSpot's authorize, token, introspect and revoke endpoints, so that the
// install flow and settings page work without a HubSpot account.
func sandboxHubSpot(oc *oauth.Config, a *app, log *slog.Logger) error {
	oc.ClientID = sandboxClientID
	fake := hubspottest.NewServer(hubspottest.Config{
		ClientID:      oc.ClientID,
		ClientSecret:  oc.ClientSecret,
		RedirectURL:   oc.RedirectURL,
		PortalID:      sandboxPortalID,
		HubDomain:     "sandbox.hubspot.test",
		UserID:        1,
		UserEmail:     sandboxUserEmail,
		SandboxTokens: true,
	})
	url, err := a.serveFake("hubspot", fake, log)
	if err != nil {
		return err
	}
	oc.AuthorizeURL = url + "/oauth/authorize"
	oc.TokenBaseURL = url
	a.notes = append(a.notes, fmt.Sprintf("Install and settings: open %s/oauth/hubspot/install (a fake HubSpot installs portal %d as %s).", strings.TrimSuffix(oc.RedirectURL, "/oauth/hubspot/callback"), sandboxPortalID, sandboxUserEmail))
	return nil
}
