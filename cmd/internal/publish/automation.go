package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
)

// automationPath is where the dated (2026-03) Automation Actions API keeps
// an app's action definitions (§3.1).
const automationPath = "/automation/actions/2026-03/"

// credential is how publish authenticates to the definitions endpoints,
// as the 2026-03 Automation Actions spec documents them: its
// developer_hapikey scheme (the developer account's API key in the hapikey
// query parameter, which HubSpot's own SDK sends for a developerAPIKey), or
// its oauth2 scheme (an access token with developers-read/developers-write
// as Authorization: Bearer, what the reference pages show). Exactly one is
// set. Neither is ever printed.
type credential struct {
	apiKey string
	token  string
}

// automationClient manages an app's action definitions through HubSpot's
// Automation Actions API with a credential. The credential never appears
// in its errors.
type automationClient struct {
	baseURL string
	appID   string
	cred    credential // never printed: errors carry no URL or header with it
	hc      *http.Client
}

func newAutomationClient(baseURL, appID string, cred credential, hc *http.Client) *automationClient {
	return &automationClient{baseURL: baseURL, appID: appID, cred: cred, hc: hc}
}

// remoteDefinition is a definition as HubSpot returns it: ours plus the
// server's fields. Fields HubSpot adds that we do not manage are dropped
// when decoding, which is what makes comparisons stable.
type remoteDefinition struct {
	ID         actions.FlexString `json:"id"`
	RevisionID actions.FlexString `json:"revisionId"`
	actions.Definition
}

// List returns every (unarchived) definition of the app, following pages.
func (c *automationClient) List(ctx context.Context) ([]remoteDefinition, error) {
	var all []remoteDefinition
	after := ""
	for range 1000 {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		var page struct {
			Results []remoteDefinition `json:"results"`
			Paging  struct {
				Next struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		if err := c.do(ctx, http.MethodGet, c.appID, q, nil, &page); err != nil {
			return nil, fmt.Errorf("list definitions of app %s: %w", c.appID, err)
		}
		all = append(all, page.Results...)
		if page.Paging.Next.After == "" {
			return all, nil
		}
		after = page.Paging.Next.After
	}
	return nil, fmt.Errorf("list definitions of app %s: more than 1000 pages", c.appID)
}

// Create creates a definition and returns it with its id.
func (c *automationClient) Create(ctx context.Context, d actions.Definition) (remoteDefinition, error) {
	// The create body requires functions, which we never use.
	body := struct {
		actions.Definition
		Functions []struct{} `json:"functions"`
	}{d, []struct{}{}}
	var out remoteDefinition
	if err := c.do(ctx, http.MethodPost, c.appID, nil, body, &out); err != nil {
		return out, fmt.Errorf("create definition for %s: %w", d.ActionURL, err)
	}
	return out, nil
}

// Update replaces the managed fields of definition id with d.
func (c *automationClient) Update(ctx context.Context, id string, d actions.Definition) (remoteDefinition, error) {
	var out remoteDefinition
	if err := c.do(ctx, http.MethodPatch, c.appID+"/"+url.PathEscape(id), nil, d, &out); err != nil {
		return out, fmt.Errorf("update definition %s: %w", id, err)
	}
	return out, nil
}

// do sends one request under automationPath and decodes a 2xx answer into
// out. Reads and PATCHes (idempotent) are retried on 429 and 5xx, honouring
// Retry-After; creates are not, so a lost answer cannot create twice.
func (c *automationClient) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encode body: %w", err)
		}
	}
	if q == nil {
		q = url.Values{}
	}
	if c.cred.apiKey != "" {
		q.Set("hapikey", c.cred.apiKey)
	}
	u := c.baseURL + automationPath + path + "?" + q.Encode()
	attempts := 1
	if method != http.MethodPost {
		attempts = 4
	}
	var lastErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		req.Header.Set("Accept", "application/json")
		if c.cred.apiKey == "" {
			req.Header.Set("Authorization", "Bearer "+c.cred.token)
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			// url.Error quotes the URL, which holds the key.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		lastErr = c.answer(resp, out)
		var ae *upstream.APIError
		if lastErr == nil || !errors.As(lastErr, &ae) || !actions.Transient(ae) || attempt == attempts {
			break
		}
		wait := max(ae.RetryAfter, time.Duration(attempt)*time.Second)
		select {
		case <-time.After(min(wait, 30*time.Second)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return lastErr
}

func (c *automationClient) answer(resp *http.Response, out any) error {
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
		return upstream.NewAPIError(resp, b, time.Now())
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer (HTTP %s): %w", strconv.Itoa(resp.StatusCode), err)
	}
	return nil
}
