// Package hubspot is the HubSpot API client: callback completions for
// BLOCKed executions and CRM reads, made for one portal at a time with that
// portal's own OAuth token (from oauth.Flow) and paced per portal by a
// RateLimiter (actions' keyed limiter, which cmd passes in). It does not
// import the actions root, which imports it.
package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
)

// ErrNotFound means what was asked of HubSpot does not exist: an object,
// an associated object, or a property value.
var ErrNotFound = errors.New("hubspot: not found in HubSpot")

// HubSpot allows an OAuth app 110 requests per 10 seconds per installed
// portal. A token bucket refilled with one request every Every and
// holding Burst can never take more than 5 + 100 = 105 turns in any
// 10-second window: cmd builds the client's RateLimiter with them. The 5
// left over absorb the time between a turn and the request's arrival at
// HubSpot, which varies from request to request (and replica to replica),
// so HubSpot never counts more than 110 either.
const (
	Every = 100 * time.Millisecond
	Burst = 5
)

// RateLimiter paces the HubSpot client's requests per portal; the key is
// the portal id in decimal. actions' keyed limiter satisfies it (hubspot
// does not import actions; cmd passes one in). Acquire waits for the portal's
// turn and returns the function that ends it; when the turn would come
// after ctx's deadline it returns at once a 429 *upstream.APIError whose RetryAfter
// is the wait, or ctx's error when ctx ends while it waits. Pause holds
// the portal's requests until a time and never shortens an earlier pause.
// It must be safe for concurrent use.
type RateLimiter interface {
	Acquire(ctx context.Context, key string) (release func(), err error)
	Pause(key string, until time.Time)
}

// How the client reacts to HubSpot's answers about its limit.
const (
	// lowWater: when HubSpot says fewer requests than this are left in its
	// window, the rest are spread over the window.
	lowWater = 10
	// A 429 is retried inside the client at most maxRetries times, and only
	// when HubSpot asks for no more than maxRetryWait; longer waits go back
	// to the caller (the job layer snoozes).
	maxRetries   = 2
	maxRetryWait = 10 * time.Second
	// defaultRateWait is the wait after a 429 that names none.
	defaultRateWait = 2 * time.Second
)

// Client is the HubSpot API client. Every call is made for one portal
// with that portal's own token (through oauth.Flow.Client) and paced by the
// limiter per portal. It is safe for concurrent use.
type Client struct {
	baseURL string
	flow    *oauth.Flow
	lim     RateLimiter
	log     *slog.Logger

	// Seams for tests.
	now        func() time.Time
	maxRetries int
}

// New returns a client of HubSpot's API at baseURL
// (HUBSPOT_API_BASE_URL), paced by lim, which must not be nil and should
// allow Burst requests at once and one every Every per key.
func New(baseURL string, flow *oauth.Flow, lim RateLimiter, log *slog.Logger) *Client {
	return &Client{
		baseURL:    strings.TrimRight(baseURL, "/"),
		flow:       flow,
		lim:        lim,
		log:        log.With("component", "hubspot"),
		now:        time.Now,
		maxRetries: maxRetries,
	}
}

// CheckPortal returns an error wrapping oauth.ErrNotConnected when the portal
// must reinstall the app.
func (h *Client) CheckPortal(ctx context.Context, portalID int64) error {
	return h.flow.CheckPortal(ctx, portalID)
}

// maxCompletions is the most completions one batch call carries.
const maxCompletions = 100

// CompleteCallbacks delivers outcomes of BLOCKed executions of one portal:
// one through POST /automation/actions/callbacks/2026-03/{callbackId}/complete,
// several through the batch endpoint (100 at a time). HubSpot answers 204.
func (h *Client) CompleteCallbacks(ctx context.Context, portalID int64, batch []Completion) error {
	type item struct {
		CallbackID   string            `json:"callbackId,omitempty"`
		OutputFields map[string]string `json:"outputFields"`
		TypedOutputs struct{}          `json:"typedOutputs"`
	}
	mk := func(c Completion, withID bool) item {
		it := item{OutputFields: c.OutputFields}
		if it.OutputFields == nil {
			it.OutputFields = map[string]string{}
		}
		if withID {
			it.CallbackID = c.CallbackID
		}
		return it
	}
	if len(batch) == 1 {
		path := "/automation/actions/callbacks/2026-03/" + url.PathEscape(batch[0].CallbackID) + "/complete"
		return h.do(ctx, portalID, http.MethodPost, path, nil, mk(batch[0], false), nil)
	}
	for len(batch) > 0 {
		n := min(len(batch), maxCompletions)
		var body struct {
			Inputs []item `json:"inputs"`
		}
		for _, c := range batch[:n] {
			body.Inputs = append(body.Inputs, mk(c, true))
		}
		if err := h.do(ctx, portalID, http.MethodPost, "/automation/actions/callbacks/2026-03/complete", nil, body, nil); err != nil {
			return err
		}
		batch = batch[n:]
	}
	return nil
}

// Object is a CRM record as read from HubSpot.
type Object struct {
	ID         string
	Properties map[string]string // values as HubSpot sends them; null reads as ""
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Archived   bool
	// Associations maps an associated object type, as HubSpot names it in
	// the answer (for example "contacts"), to the associated records.
	Associations map[string][]Association
}

// Association is one associated record.
type Association struct {
	ID    string
	Types []string // association type names or labels, when HubSpot gives them
}

// GetObject reads one CRM record: GET /crm/objects/2026-03/{objectType}/{objectID}
// with the given properties and the ids of the associated records of the
// given types. An unknown record gives an error wrapping ErrNotFound (and
// the *upstream.APIError).
func (h *Client) GetObject(ctx context.Context, portalID int64, objectType, objectID string, properties, associations []string) (Object, error) {
	q := url.Values{}
	if len(properties) > 0 {
		q.Set("properties", strings.Join(properties, ","))
	}
	if len(associations) > 0 {
		q.Set("associations", strings.Join(associations, ","))
	}
	q.Set("archived", "false")
	var raw struct {
		ID           string             `json:"id"`
		Properties   map[string]*string `json:"properties"`
		CreatedAt    time.Time          `json:"createdAt"`
		UpdatedAt    time.Time          `json:"updatedAt"`
		Archived     bool               `json:"archived"`
		Associations map[string]struct {
			Results []struct {
				ID               string      `json:"id"`
				Type             string      `json:"type"`
				ToObjectID       json.Number `json:"toObjectId"`
				AssociationTypes []struct {
					Label  *string `json:"label"`
					TypeID int     `json:"typeId"`
				} `json:"associationTypes"`
			} `json:"results"`
		} `json:"associations"`
	}
	path := "/crm/objects/2026-03/" + url.PathEscape(objectType) + "/" + url.PathEscape(objectID)
	if err := h.do(ctx, portalID, http.MethodGet, path, q, nil, &raw); err != nil {
		return Object{}, err
	}
	o := Object{ID: raw.ID, CreatedAt: raw.CreatedAt, UpdatedAt: raw.UpdatedAt, Archived: raw.Archived,
		Properties: make(map[string]string, len(raw.Properties)), Associations: make(map[string][]Association, len(raw.Associations))}
	for k, v := range raw.Properties {
		if v != nil {
			o.Properties[k] = *v
		} else {
			o.Properties[k] = ""
		}
	}
	for typ, a := range raw.Associations {
		list := make([]Association, 0, len(a.Results))
		for _, r := range a.Results {
			as := Association{ID: r.ID}
			if as.ID == "" {
				as.ID = r.ToObjectID.String()
			}
			if r.Type != "" {
				as.Types = append(as.Types, r.Type)
			}
			for _, t := range r.AssociationTypes {
				if t.Label != nil && *t.Label != "" {
					as.Types = append(as.Types, *t.Label)
				} else {
					as.Types = append(as.Types, strconv.Itoa(t.TypeID))
				}
			}
			list = append(list, as)
		}
		o.Associations[typ] = list
	}
	return o, nil
}

// AssociatedIDs returns the ids of the toType records associated with one
// record, in HubSpot's order, with duplicates (one per association type)
// removed.
func (h *Client) AssociatedIDs(ctx context.Context, portalID int64, objectType, objectID, toType string) ([]string, error) {
	o, err := h.GetObject(ctx, portalID, objectType, objectID, []string{"hs_object_id"}, []string{toType})
	if err != nil {
		return nil, err
	}
	list, ok := o.Associations[toType]
	if !ok && len(o.Associations) == 1 {
		// HubSpot keys associations by its own name for the type ("contacts"
		// when asked for "0-1").
		for _, l := range o.Associations {
			list = l
		}
	}
	seen := make(map[string]bool, len(list))
	ids := make([]string, 0, len(list))
	for _, a := range list {
		if !seen[a.ID] {
			seen[a.ID] = true
			ids = append(ids, a.ID)
		}
	}
	return ids, nil
}

// ContactProperties are the contact properties DealContact reads.
var ContactProperties = []string{"email", "firstname", "lastname", "company", "phone"}

// DealContact returns the first contact associated with a deal that has an
// email address, with ContactProperties. It returns an error wrapping
// ErrNotFound when the deal is unknown or none of its (first ten) contacts
// has an email.
func (h *Client) DealContact(ctx context.Context, portalID int64, dealID string) (Object, error) {
	ids, err := h.AssociatedIDs(ctx, portalID, "deals", dealID, "contacts")
	if err != nil {
		return Object{}, err
	}
	for _, id := range ids[:min(len(ids), 10)] {
		c, err := h.GetObject(ctx, portalID, "contacts", id, ContactProperties, nil)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Object{}, err
		}
		if strings.TrimSpace(c.Properties["email"]) != "" {
			return c, nil
		}
	}
	return Object{}, fmt.Errorf("hubspot: deal %s has no associated contact with an email: %w", dealID, ErrNotFound)
}

// do sends one API request for a portal, paced by the limiter, and decodes
// a 2xx JSON answer into out (when not nil). A 429 is retried a bounded
// number of times, honouring Retry-After; other non-2xx answers, and a 429
// that persists, are returned as *upstream.APIError.
func (h *Client) do(ctx context.Context, portalID int64, method, path string, query url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("hubspot: encode %s %s: %w", method, path, err)
		}
	}
	hc, err := h.flow.Client(ctx, portalID)
	if err != nil {
		return err
	}
	u := h.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	key := strconv.FormatInt(portalID, 10)
	for attempt := 0; ; attempt++ {
		var rb io.Reader
		if payload != nil {
			rb = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rb)
		if err != nil {
			return fmt.Errorf("hubspot: %s %s: %w", method, path, err)
		}
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		release, err := h.lim.Acquire(ctx, key)
		if err != nil {
			return fmt.Errorf("hubspot: %s %s for portal %d: %w", method, path, portalID, err)
		}
		resp, err := hc.Do(req)
		release()
		if err != nil {
			return fmt.Errorf("hubspot: %s %s for portal %d: %w", method, path, portalID, err)
		}
		h.observe(key, resp.Header)
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			defer resp.Body.Close()
			if out == nil || resp.StatusCode == http.StatusNoContent {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
				return nil
			}
			if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(out); err != nil {
				return fmt.Errorf("hubspot: decode %s %s: %w", method, path, err)
			}
			return nil
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
		resp.Body.Close()
		ae := upstream.NewAPIError(resp, b, h.now())
		if ae.Status == http.StatusTooManyRequests {
			if ae.RetryAfter <= 0 {
				ae.RetryAfter = defaultRateWait
			}
			h.lim.Pause(key, h.now().Add(ae.RetryAfter))
			if attempt < h.maxRetries && ae.RetryAfter <= maxRetryWait {
				h.log.Info("rate limited; retrying", "portal_id", portalID, "path", path, "retry_after", ae.RetryAfter.String())
				continue // Acquire waits out the pause
			}
		}
		if ae.Status == http.StatusNotFound {
			return fmt.Errorf("hubspot: %s %s for portal %d: %w: %w", method, path, portalID, ErrNotFound, ae)
		}
		return fmt.Errorf("hubspot: %s %s for portal %d: %w", method, path, portalID, ae)
	}
}

// observe reads HubSpot's rate-limit headers. When few requests are left in
// the window, the rest are spread over it: the portal's next request waits
// interval/(remaining+1).
func (h *Client) observe(key string, hdr http.Header) {
	remaining, err := strconv.Atoi(hdr.Get("X-HubSpot-RateLimit-Remaining"))
	if err != nil || remaining >= lowWater {
		return
	}
	interval := 10 * time.Second
	if ms, err := strconv.Atoi(hdr.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
		interval = time.Duration(ms) * time.Millisecond
	}
	h.lim.Pause(key, h.now().Add(interval/time.Duration(max(remaining, 0)+1)))
}
