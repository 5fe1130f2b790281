// Package clearbit enriches HubSpot contacts and companies with Clearbit's
// Enrichment API: the workflow actions clearbit-enrich-contact (Combined
// lookup by email) and clearbit-enrich-company (Company lookup by domain),
// and the API client they share.
//
// Clearbit answers 202 while it looks a record up; the actions then ask the
// runtime to run them again later (the execution answers BLOCK and
// completes by callback once Clearbit has the data).
package clearbit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
)

// KeyOwner says whose Clearbit key a portal uses, so that a message about a
// rejected key can say who must fix it.
type KeyOwner int

// Key owners.
const (
	OwnerUnknown KeyOwner = iota
	OwnerPortal           // the portal's own key, entered on the settings page
	OwnerApp              // the app-wide default key
)

// Options tune Register. Zero values take the defaults.
type Options struct {
	// PendingEvery is how long to wait before asking Clearbit again after
	// it answered 202 (default 1 minute).
	PendingEvery time.Duration
	// BlockExpiry is how long an execution may wait for Clearbit before it
	// finishes with UPSTREAM_UNAVAILABLE (default 1 hour).
	BlockExpiry time.Duration
	// SettingsURL is where a portal's admin enters a Clearbit key; messages
	// point there (default "/settings").
	SettingsURL string
	// KeyOwner, if set, says whose key a portal uses; it is asked only when
	// Clearbit rejects a key.
	KeyOwner func(ctx context.Context, portalID int64) KeyOwner
}

// Defaults for Options.
const (
	DefaultPendingEvery = time.Minute
	DefaultBlockExpiry  = time.Hour
	DefaultSettingsURL  = "/settings"
)

// newProvider returns the provider of the two actions. c calls Clearbit;
// keys returns a portal's Clearbit key (its own, else the app's default).
func newProvider(c *Client, keys actions.KeyFunc, opts Options) (*Provider, error) {
	if c == nil || keys == nil {
		return nil, errors.New("clearbit: a client and a key function are required")
	}
	if opts.PendingEvery <= 0 {
		opts.PendingEvery = DefaultPendingEvery
	}
	if opts.BlockExpiry <= 0 {
		opts.BlockExpiry = DefaultBlockExpiry
	}
	if opts.SettingsURL == "" {
		opts.SettingsURL = DefaultSettingsURL
	}
	return &Provider{c: c, keys: keys, opts: opts}, nil
}

// Register adds clearbit-enrich-contact and clearbit-enrich-company to r.
func (e *Provider) Register(r *actions.Registry) error {
	if err := actions.Register(r, e.contactSpec()); err != nil {
		return err
	}
	return actions.Register(r, e.companySpec())
}

// pendingReason is shown while an execution waits for Clearbit.
const pendingReason = "Clearbit is looking this up"

// key returns the execution's Clearbit key, or NOT_CONNECTED pointing to
// the settings page when there is none. The key store's own NOT_CONNECTED
// (the app's shared key is not available to the portal) and RATE_LIMITED
// (its daily quota is used up) say more, so they pass as they are.
func (e *Provider) key(ctx context.Context, ex *actions.Execution) (string, error) {
	k, err := e.keys(ctx, ex)
	var ae *actions.Error
	switch {
	case errors.As(err, &ae):
		return "", ae
	case err != nil:
		return "", fmt.Errorf("clearbit: key for portal %d: %w", ex.PortalID, err)
	case strings.TrimSpace(k.Secret.Reveal()) == "":
		return "", actions.Fail(actions.CodeNotConnected,
			"No Clearbit API key is set up for this HubSpot account. Enter your Clearbit secret key on the app's settings page (%s).", e.opts.SettingsURL)
	}
	return strings.TrimSpace(k.Secret.Reveal()), nil
}

// classify turns a lookup failure into what the runtime should do: run
// again later (202, and transient errors as they are) or finish with an
// *actions.Error. field and input name what was looked up.
func (e *Provider) classify(ctx context.Context, portalID int64, err error, field, input string) error {
	if errors.Is(err, ErrQueued) {
		return actions.Pending(e.opts.PendingEvery, pendingReason)
	}
	var ae *upstream.APIError
	if !errors.As(err, &ae) || actions.Transient(err) {
		return err
	}
	_, msg := errorDetail(err)
	switch ae.Status {
	case http.StatusNotFound:
		return actions.Fail(actions.CodeNotFound, "Clearbit has no data for %s.", input).With(err)
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		if msg == "" {
			msg = "it is not valid"
		}
		return actions.Invalid(field, "Clearbit cannot look up %q: %s.", input, strings.TrimRight(msg, ". ")).With(err)
	case http.StatusUnauthorized:
		return actions.Fail(actions.CodeRejected, "Clearbit does not accept %s (invalid API key). %s",
			e.whose(ctx, portalID), e.fix(ctx, portalID)).With(fmt.Errorf("%w: %w", ErrInvalidKey, err))
	case http.StatusPaymentRequired:
		return actions.Fail(actions.CodeRejected, "%s is over its Clearbit quota. Upgrade the Clearbit plan or wait for the quota to reset. %s",
			upperFirst(e.whose(ctx, portalID)), e.fix(ctx, portalID)).With(fmt.Errorf("%w: %w", ErrOverQuota, err))
	}
	if msg != "" {
		return actions.Fail(actions.CodeRejected, "Clearbit refused the request (HTTP %d: %s).", ae.Status, msg).With(err)
	}
	return actions.Fail(actions.CodeRejected, "Clearbit refused the request (HTTP %d).", ae.Status).With(err)
}

func (e *Provider) owner(ctx context.Context, portalID int64) KeyOwner {
	if e.opts.KeyOwner == nil {
		return OwnerUnknown
	}
	return e.opts.KeyOwner(ctx, portalID)
}

// whose names the key in use, as the subject of a sentence.
func (e *Provider) whose(ctx context.Context, portalID int64) string {
	switch e.owner(ctx, portalID) {
	case OwnerPortal:
		return "this HubSpot account's own Clearbit API key"
	case OwnerApp:
		return "the app's default Clearbit API key"
	}
	return "the Clearbit API key in use"
}

// fix says who can replace the key in use, and where.
func (e *Provider) fix(ctx context.Context, portalID int64) string {
	switch e.owner(ctx, portalID) {
	case OwnerPortal:
		return "Enter a valid key on the app's settings page (" + e.opts.SettingsURL + ")."
	case OwnerApp:
		return "Enter your own Clearbit key on the app's settings page (" + e.opts.SettingsURL + "), or ask the app's administrator to replace the default key."
	}
	return "Check the key on the app's settings page (" + e.opts.SettingsURL + ")."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// linkedInURL turns a LinkedIn handle ("in/jane-doe", "company/acme") into
// a profile URL.
func linkedInURL(handle string) string {
	h := strings.TrimSpace(handle)
	switch {
	case h == "":
		return ""
	case strings.HasPrefix(h, "http://"), strings.HasPrefix(h, "https://"):
		return h
	}
	h = strings.TrimPrefix(h, "/")
	h = strings.TrimPrefix(h, "linkedin.com/")
	h = strings.TrimPrefix(h, "www.linkedin.com/")
	return "https://www.linkedin.com/" + h
}

// place joins the non-empty parts of a location.
func place(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// Messages shared by both actions' workflow history.
var sharedMessages = map[actions.Code]string{
	actions.CodeValidation:   "Clearbit could not use the input: {{ error_message }}",
	actions.CodeNotConnected: "Clearbit is not set up: {{ error_message }}",
	actions.CodeRejected:     "Clearbit refused the request: {{ error_message }}",
	actions.CodeRateLimited:  "The Clearbit lookup hit a rate limit: {{ error_message }}",
	actions.CodeUnavailable:  "Clearbit did not answer in time: {{ error_message }}",
	actions.CodeInternal:     "The app failed unexpectedly: {{ error_message }}",
}

func messages(notFound string) map[actions.Code]string {
	m := make(map[actions.Code]string, len(sharedMessages)+1)
	for k, v := range sharedMessages {
		m[k] = v
	}
	m[actions.CodeNotFound] = notFound
	return m
}
