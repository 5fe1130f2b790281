package salesforce

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
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
)

// maxBody bounds what the client reads of a successful answer.
const maxBody = 4 << 20

// Client calls the Salesforce REST API (APIVersion) of one org through one
// *http.Client, which adds the org's access token. Requests are paced by a
// limiter shared among every Client, keyed by org id.
type Client struct {
	baseURL string
	hc      *http.Client
	lim     actions.Limiter
	org     string
	now     func() time.Time
	observe func(org string, u Usage) // told of every Sforce-Limit-Info; nil: nobody
}

// NewClient returns a client for the org at instanceURL, calling through hc
// (which adds the Authorization header), paced by lim under the key orgID
// (nil: no pacing).
func NewClient(instanceURL string, hc *http.Client, lim actions.Limiter, orgID string) *Client {
	return &Client{baseURL: strings.TrimRight(instanceURL, "/") + "/services/data/" + APIVersion, hc: hc, lim: lim, org: orgID, now: time.Now}
}

// InstanceURL is the org's instance URL, without a trailing /.
func (c *Client) InstanceURL() string {
	return strings.TrimSuffix(c.baseURL, "/services/data/"+APIVersion)
}

// Lead is the part of a Salesforce lead the action writes. Empty fields are
// left out, so an update never clears what is in Salesforce.
type Lead struct {
	FirstName  string `json:"FirstName,omitempty"`
	LastName   string `json:"LastName,omitempty"`
	Company    string `json:"Company,omitempty"`
	Email      string `json:"Email,omitempty"`
	Phone      string `json:"Phone,omitempty"`
	LeadSource string `json:"LeadSource,omitempty"`
	Status     string `json:"Status,omitempty"`
}

// UpsertResult is the outcome of a write.
type UpsertResult struct {
	ID      string
	Created bool
}

// UpsertLead creates or updates the lead whose external id field holds
// value. Several leads with that value are a *MultipleError, and nothing
// is written; a field that does not exist (or that the user may not see)
// is an *APIError with status 404 and NOT_FOUND.
func (c *Client) UpsertLead(ctx context.Context, field, value string, l Lead) (UpsertResult, error) {
	path := "/sobjects/Lead/" + url.PathEscape(field) + "/" + url.PathEscape(value)
	var out saveResult
	status, err := c.do(ctx, http.MethodPatch, path, nil, l, &out)
	if err != nil {
		return UpsertResult{}, err
	}
	switch {
	case status == http.StatusCreated:
		return UpsertResult{ID: out.ID, Created: true}, nil
	case status == http.StatusNoContent || out.ID == "":
		// Before v46.0 an update answered 204 without the record's id.
		id, err := c.leadIDByExternalID(ctx, field, value)
		return UpsertResult{ID: id}, err
	}
	return UpsertResult{ID: out.ID, Created: out.Created != nil && *out.Created}, nil
}

func (c *Client) leadIDByExternalID(ctx context.Context, field, value string) (string, error) {
	var out struct {
		ID string `json:"Id"`
	}
	path := "/sobjects/Lead/" + url.PathEscape(field) + "/" + url.PathEscape(value)
	if _, err := c.do(ctx, http.MethodGet, path, url.Values{"fields": {"Id"}}, nil, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// LeadRecord is a lead a query found.
type LeadRecord struct {
	ID    string `json:"Id"`
	Email string `json:"Email"`
}

// FindLeadsByEmail returns up to max leads whose email is email (SOQL's =
// ignores case).
func (c *Client) FindLeadsByEmail(ctx context.Context, email string, max int) ([]LeadRecord, error) {
	q := "SELECT Id, Email FROM Lead WHERE Email = " + Quote(email) + " LIMIT " + strconv.Itoa(max)
	var out struct {
		Records []LeadRecord `json:"records"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/query", url.Values{"q": {q}}, nil, &out); err != nil {
		return nil, err
	}
	return out.Records, nil
}

// CreateLead creates a lead and returns its id.
func (c *Client) CreateLead(ctx context.Context, l Lead) (string, error) {
	var out saveResult
	if _, err := c.do(ctx, http.MethodPost, "/sobjects/Lead", nil, l, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("salesforce: POST /sobjects/Lead: %w", &upstream.APIError{Status: http.StatusBadGateway, Body: "a success answer without the lead's id"})
	}
	return out.ID, nil
}

// UpdateLead updates the lead with id.
func (c *Client) UpdateLead(ctx context.Context, id string, l Lead) error {
	_, err := c.do(ctx, http.MethodPatch, "/sobjects/Lead/"+url.PathEscape(id), nil, l, nil)
	return err
}

// Limits returns the org's daily API allocation and what is left of it.
func (c *Client) Limits(ctx context.Context) (Usage, error) {
	var out struct {
		DailyAPIRequests struct {
			Max       int `json:"Max"`
			Remaining int `json:"Remaining"`
		} `json:"DailyApiRequests"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/limits", nil, nil, &out); err != nil {
		return Usage{}, err
	}
	d := out.DailyAPIRequests
	return Usage{Used: d.Max - d.Remaining, Limit: d.Max}, nil
}

type saveResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Created *bool  `json:"created"`
}

// do sends one request to the API and decodes a successful answer into out
// (nil: discard). It returns the status; errors are *APIError,
// *MultipleError or transport errors.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) (int, error) {
	endpoint := c.baseURL + path
	u := endpoint
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("salesforce: encode %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	if c.lim != nil {
		release, err := c.lim.Acquire(ctx, c.org)
		if err != nil {
			return 0, fmt.Errorf("salesforce: wait for a request slot: %w", err)
		}
		defer release()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, fmt.Errorf("salesforce: new request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// The query and the path hold the contact's email and id; keep
		// them out of logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = c.baseURL
		}
		return 0, fmt.Errorf("salesforce: %s %s: %w", method, opName(path), err)
	}
	defer resp.Body.Close()
	usage, hasUsage := ParseUsage(resp.Header.Get("Sforce-Limit-Info"))
	if hasUsage && c.observe != nil {
		c.observe(c.org, usage)
	}
	if resp.StatusCode == http.StatusMultipleChoices {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var urls []string
		json.Unmarshal(b, &urls)
		return resp.StatusCode, &MultipleError{Matches: len(urls)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, newAPIError(resp, b, usage, c.now())
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return resp.StatusCode, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("salesforce: read %s: %w", opName(path), err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.StatusCode, fmt.Errorf("salesforce: decode %s (status %d): %w", opName(path), resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}

// opName names a request for errors and logs without the values its path
// carries (an external id, a record id).
func opName(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return "/" + strings.Join(parts, "/")
}

// MultipleError is a 300 answer: several records match the external id, so
// Salesforce wrote nothing.
type MultipleError struct {
	Matches int
	byEmail bool // the matches are a query's, by email
}

func (e *MultipleError) Error() string {
	return fmt.Sprintf("salesforce: http 300: %d records match the external id", e.Matches)
}

// ErrorItem is one element of Salesforce's error array.
type ErrorItem struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// APIError is an error answer from the REST API: a JSON array of
// {message, errorCode, fields}. It unwraps to an *upstream.APIError whose
// Status says how the runtime treats it (REQUEST_LIMIT_EXCEEDED counts as
// 429).
type APIError struct {
	Status int // the HTTP status Salesforce answered
	Errors []ErrorItem
	Usage  Usage // the org's API usage the answer reported, if any
	api    *upstream.APIError
	// rejected is, on a 401, the oauth.Fingerprint of the refused token.
	rejected string
}

func newAPIError(resp *http.Response, body []byte, usage Usage, now time.Time) *APIError {
	e := &APIError{Status: resp.StatusCode, Usage: usage, api: upstream.NewAPIError(resp, body, now)}
	if err := json.Unmarshal(bytes.TrimSpace(body), &e.Errors); err != nil {
		// An OAuth-style or HTML answer (a proxy, a maintenance page).
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			e.Errors = []ErrorItem{{ErrorCode: oe.Error, Message: oe.Description}}
		}
	}
	if e.Has("REQUEST_LIMIT_EXCEEDED") {
		e.api.Status = http.StatusTooManyRequests
	}
	if e.Auth() {
		e.api.Status = http.StatusUnauthorized
		e.rejected = oauth.SentFingerprint(resp.Request)
	}
	return e
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "salesforce: http %d", e.Status)
	for _, it := range e.Errors {
		fmt.Fprintf(&b, " [%s] %s", it.ErrorCode, it.Message)
		if len(it.Fields) > 0 {
			b.WriteString(" (fields " + strings.Join(it.Fields, ", ") + ")")
		}
	}
	if len(e.Errors) == 0 && e.api != nil && e.api.Body != "" {
		b.WriteString(": " + e.api.Body)
	}
	return b.String()
}

// Unwrap returns the *upstream.APIError the runtime classifies.
func (e *APIError) Unwrap() error { return e.api }

// ProviderText is Salesforce's own words, which may quote the request (an
// email, a name): logs withhold them (actions.ProviderTexter).
func (e *APIError) ProviderText() []string {
	var out []string
	for _, it := range e.Errors {
		out = append(out, it.Message)
	}
	if len(e.Errors) == 0 && e.api != nil {
		out = append(out, e.api.Body)
	}
	return out
}

var _ actions.ProviderTexter = (*APIError)(nil)

// Has reports whether the answer holds an error with code.
func (e *APIError) Has(code string) bool {
	for _, it := range e.Errors {
		if it.ErrorCode == code {
			return true
		}
	}
	return false
}

// Auth reports whether Salesforce refused the access token.
func (e *APIError) Auth() bool {
	return e.Status == http.StatusUnauthorized || e.Has("INVALID_SESSION_ID")
}

// First returns the first error, or a zero ErrorItem.
func (e *APIError) First() ErrorItem {
	if len(e.Errors) == 0 {
		return ErrorItem{}
	}
	return e.Errors[0]
}

// Usage is an org's use of its rolling 24-hour API request allocation.
type Usage struct {
	Used, Limit int
}

// NearlySpentPercent is the share of the allocation past which the app
// warns (logs, the settings page, failure messages).
const NearlySpentPercent = 90

// NearlySpent reports whether at least NearlySpentPercent of the
// allocation is used.
func (u Usage) NearlySpent() bool { return u.Limit > 0 && u.Used*100 >= u.Limit*NearlySpentPercent }

// String describes the usage for a marketer or an admin.
func (u Usage) String() string {
	if u.Limit <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d of its %d API requests of the last 24 hours (%d%%)", u.Used, u.Limit, u.Used*100/u.Limit)
}

// ParseUsage reads the api-usage part of a Sforce-Limit-Info header, such
// as "api-usage=25/15000; per-app-api-usage=17/250(appName=x)".
func ParseUsage(h string) (Usage, bool) {
	for _, part := range strings.Split(h, ";") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !ok {
			continue
		}
		used, limit, ok := strings.Cut(v, "/")
		if !ok {
			return Usage{}, false
		}
		u, err1 := strconv.Atoi(strings.TrimSpace(used))
		l, err2 := strconv.Atoi(strings.TrimSpace(limit))
		if err1 != nil || err2 != nil || u < 0 || l <= 0 {
			return Usage{}, false
		}
		return Usage{Used: u, Limit: l}, true
	}
	return Usage{}, false
}
