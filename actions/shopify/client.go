package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/shopify/shopifytest"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
)

// Headers of the Admin API. shopHeader names the shop on every request:
// Shopify ignores it, and the fake, serving every shop at one address,
// checks it.
const (
	tokenHeader = "X-Shopify-Access-Token"
	shopHeader  = "X-Shopify-Shop-Domain"
)

// Pacing of the shop's query-cost bucket.
const (
	// maxWait bounds how long a request waits for the bucket before it is
	// sent; past it the execution is retried later (a 429 with the wait).
	maxWait = 5 * time.Second
	// maxTries bounds the THROTTLED answers retried in one execution.
	maxTries = 3
	// defaultCost is assumed for a query not yet seen.
	defaultCost = 10
	maxBody     = 1 << 20
)

// shop is one portal's shop and its token, for one execution.
type shop struct {
	p       *Provider
	domain  string
	token   string
	version int64
	portal  int64
}

// shopFor returns the portal's shop. Errors are NOT_CONNECTED when no shop
// is connected or Shopify no longer accepts its token.
func (p *Provider) shopFor(ctx context.Context, portalID int64) (*shop, error) {
	if !p.Configured() {
		return nil, actions.Fail(actions.CodeNotConnected,
			"Shopify is not available in this installation of the app (its operator has not set up Shopify credentials).")
	}
	if p.test {
		return &shop{p: p, domain: TestShop(portalID), token: shopifytest.TestModeToken, portal: portalID}, nil
	}
	row, err := p.db.GetToken(ctx, portalID, ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, p.notConnected(err)
	}
	if err != nil {
		return nil, fmt.Errorf("shopify: read token of portal %d: %w", portalID, err)
	}
	if row.Status != store.StatusActive {
		return nil, p.reconnect(fmt.Errorf("token is %s", row.Status))
	}
	if _, ok := NormalizeShop(row.AccountID); !ok {
		return nil, p.reconnect(fmt.Errorf("stored shop %.80q is not a myshopify.com shop", row.AccountID))
	}
	return &shop{p: p, domain: row.AccountID, token: row.AccessToken, version: row.Version, portal: portalID}, nil
}

func (p *Provider) notConnected(err error) *actions.Error {
	return actions.Fail(actions.CodeNotConnected,
		"Shopify is not connected to this HubSpot account. An admin can connect a shop on the app's settings page: %s", p.settings).With(err)
}

func (p *Provider) reconnect(err error) *actions.Error {
	return actions.Fail(actions.CodeNotConnected,
		"Shopify no longer accepts the app's access to this shop (the app was uninstalled from the shop or its access revoked). An admin must reconnect Shopify on the app's settings page: %s", p.settings).With(err)
}

// gqlError is one entry of a GraphQL answer's errors.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// throttleStatus is the shop's query-cost bucket as Shopify reports it.
type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

type gqlAnswer struct {
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions struct {
		Cost *struct {
			RequestedQueryCost float64        `json:"requestedQueryCost"`
			ThrottleStatus     throttleStatus `json:"throttleStatus"`
		} `json:"cost"`
	} `json:"extensions"`
}

// query runs one GraphQL operation named op against the shop and decodes
// its data into out. It waits for the shop's bucket to hold the query's
// cost (as the last answers reported it) and retries THROTTLED answers
// after the time the bucket needs; a wait longer than maxWait is returned
// as a 429 with that RetryAfter, for the runtime to retry later.
func (s *shop) query(ctx context.Context, op, q string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		return err
	}
	p := s.p
	for try := 1; ; try++ {
		if wait := p.buckets.take(s.domain, op, p.now()); wait > 0 {
			if wait > maxWait {
				return &upstream.APIError{Status: http.StatusTooManyRequests, RetryAfter: wait,
					Body: "the shop's query cost budget is used up (our own pacing, nothing was sent)"}
			}
			if err := p.sleep(ctx, wait); err != nil {
				return err
			}
		}
		release, err := p.lim.Acquire(ctx, s.domain)
		if err != nil {
			return err
		}
		ans, err := s.post(ctx, body)
		release()
		if err != nil {
			return err
		}
		if c := ans.Extensions.Cost; c != nil {
			p.buckets.update(s.domain, op, c.RequestedQueryCost, c.ThrottleStatus, p.now())
		}
		if throttled(ans.Errors) {
			wait := time.Second
			if c := ans.Extensions.Cost; c != nil && c.ThrottleStatus.RestoreRate > 0 {
				need := c.RequestedQueryCost - c.ThrottleStatus.CurrentlyAvailable
				wait = time.Duration(math.Ceil(max(need, 1)/c.ThrottleStatus.RestoreRate*1000)) * time.Millisecond
			}
			p.lim.Pause(s.domain, p.now().Add(wait))
			if try >= maxTries || wait > maxWait {
				return &upstream.APIError{Status: http.StatusTooManyRequests, RetryAfter: wait, Body: "Shopify answered THROTTLED"}
			}
			if err := p.sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		if len(ans.Errors) > 0 {
			return s.errorsOf(ans.Errors)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(ans.Data, out); err != nil {
			return fmt.Errorf("shopify: decode %s answer: %w", op, err)
		}
		return nil
	}
}

// post sends one GraphQL request and reads the answer.
func (s *shop) post(ctx context.Context, body []byte) (gqlAnswer, error) {
	p := s.p
	u := p.origin(s.domain) + "/admin/api/" + APIVersion + "/graphql.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return gqlAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(tokenHeader, s.token)
	req.Header.Set(shopHeader, s.domain)
	resp, err := p.hc.Do(req)
	if err != nil {
		return gqlAnswer{}, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		io.Copy(io.Discard, io.LimitReader(resp.Body, upstream.MaxErrorBody))
		s.markLost(ctx)
		return gqlAnswer{}, p.reconnect(errors.New("shopify answered 401"))
	case resp.StatusCode == http.StatusPaymentRequired || resp.StatusCode == http.StatusLocked || resp.StatusCode == http.StatusNotFound:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
		return gqlAnswer{}, actions.Fail(actions.CodeRejected,
			"Shopify refused access to the shop %s (HTTP %d): the shop may be frozen, paused or closed.", s.domain, resp.StatusCode).With(upstream.NewAPIError(resp, b, p.now()))
	case resp.StatusCode != http.StatusOK:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
		return gqlAnswer{}, upstream.NewAPIError(resp, b, p.now())
	}
	var ans gqlAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&ans); err != nil {
		return gqlAnswer{}, fmt.Errorf("shopify: decode answer: %w", err)
	}
	return ans, nil
}

// markLost records that Shopify no longer accepts the token, so the card
// asks for a reconnect.
func (s *shop) markLost(ctx context.Context) {
	if s.p.test {
		return // the twin has no token row
	}
	err := s.p.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.MarkTokenStatus(ctx, s.portal, ID, s.version, store.StatusNeedsReinstall, "Shopify answered 401")
		return err
	})
	if err != nil {
		s.p.log.Warn("shopify: mark token lost", "portal_id", s.portal, "err", err)
	}
}

func throttled(errs []gqlError) bool {
	for _, e := range errs {
		if e.Extensions.Code == "THROTTLED" || strings.EqualFold(e.Message, "throttled") {
			return true
		}
	}
	return false
}

// errorsOf turns top-level GraphQL errors into what the marketer sees.
func (s *shop) errorsOf(errs []gqlError) error {
	cause := fmt.Errorf("graphql errors: %s", clip(errs[0].Message))
	for _, e := range errs {
		switch e.Extensions.Code {
		case "ACCESS_DENIED":
			return actions.Fail(actions.CodeRejected,
				"Shopify refused the app access (%s). Reconnect Shopify on the settings page so the shop grants the app's permissions.", clip(e.Message)).With(cause)
		case "INTERNAL_SERVER_ERROR":
			return &upstream.APIError{Status: http.StatusBadGateway, Body: "Shopify: " + clip(e.Message)}
		}
	}
	return actions.Fail(actions.CodeRejected, "Shopify rejected the request: %s", clip(errs[0].Message)).With(cause)
}

// buckets tracks each shop's query-cost bucket from Shopify's answers:
// it leaks back at restoreRate points a second up to maximumAvailable.
type buckets struct {
	mu    sync.Mutex
	shops map[string]*bucket
	costs map[string]float64 // requestedQueryCost last seen, by operation
}

type bucket struct {
	avail, max, rate float64
	at               time.Time
}

func newBuckets() *buckets {
	return &buckets{shops: map[string]*bucket{}, costs: map[string]float64{}}
}

// take reserves op's cost from shop's bucket, returning how long to wait
// first (0: send now). Unknown shops are not paced.
func (b *buckets) take(shopDomain, op string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, ok := b.shops[shopDomain]
	if !ok || k.rate <= 0 {
		return 0
	}
	cost, ok := b.costs[op]
	if !ok {
		cost = defaultCost
	}
	cost = min(cost, k.max)
	avail := min(k.max, k.avail+k.rate*now.Sub(k.at).Seconds())
	k.at = now
	if avail >= cost {
		k.avail = avail - cost
		return 0
	}
	wait := time.Duration(math.Ceil((cost-avail)/k.rate*1000)) * time.Millisecond
	k.avail = avail - cost // the reservation: later callers wait behind it
	return wait
}

// update records the bucket as an answer reported it.
func (b *buckets) update(shopDomain, op string, requested float64, ts throttleStatus, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if requested > 0 {
		b.costs[op] = requested
	}
	if ts.MaximumAvailable <= 0 {
		return
	}
	b.shops[shopDomain] = &bucket{avail: ts.CurrentlyAvailable, max: ts.MaximumAvailable, rate: ts.RestoreRate, at: now}
}
