package quickbooks

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
)

// MinorVersion is the Accounting API minor version every request asks for
// (since August 2025 every request is served as 75).
const MinorVersion = "75"

// Base URLs of the Accounting API.
const (
	SandboxBaseURL    = "https://sandbox-quickbooks.api.intuit.com"
	ProductionBaseURL = "https://quickbooks.api.intuit.com"
)

// maxBody bounds what the client reads of a successful answer.
const maxBody = 8 << 20

// Client calls the QuickBooks Online Accounting API (v3) for the companies
// one *http.Client is authorized for. Use one Client per portal (its hc
// carries the portal's token) and share one actions.Limiter, keyed by
// realm id, among all of them.
// Methods that write take a requestid: Intuit answers a repeated requestid
// with the original response, so a retried write never duplicates.
type Client struct {
	baseURL string
	hc      *http.Client
	lim     actions.Limiter
	now     func() time.Time
}

// NewClient returns a client for the API at baseURL, calling through hc
// (which adds the Authorization header), paced by lim (nil: no pacing).
func NewClient(baseURL string, hc *http.Client, lim actions.Limiter) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), hc: hc, lim: lim, now: time.Now}
}

// Ref is a reference to another entity.
type Ref struct {
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

// EmailAddr is an email address field.
type EmailAddr struct {
	Address string `json:"Address"`
}

// Phone is a phone number field.
type Phone struct {
	FreeFormNumber string `json:"FreeFormNumber"`
}

// Customer is a QuickBooks customer.
type Customer struct {
	ID               string     `json:"Id,omitempty"`
	SyncToken        string     `json:"SyncToken,omitempty"`
	DisplayName      string     `json:"DisplayName,omitempty"`
	GivenName        string     `json:"GivenName,omitempty"`
	FamilyName       string     `json:"FamilyName,omitempty"`
	CompanyName      string     `json:"CompanyName,omitempty"`
	PrimaryEmailAddr *EmailAddr `json:"PrimaryEmailAddr,omitempty"`
	PrimaryPhone     *Phone     `json:"PrimaryPhone,omitempty"`
	Notes            string     `json:"Notes,omitempty"`
	Active           *bool      `json:"Active,omitempty"`
}

// Email returns the customer's primary email, or "".
func (c *Customer) Email() string {
	if c.PrimaryEmailAddr == nil {
		return ""
	}
	return c.PrimaryEmailAddr.Address
}

// Item is a product or service.
type Item struct {
	ID          string  `json:"Id"`
	Name        string  `json:"Name"`
	Description string  `json:"Description,omitempty"`
	Type        string  `json:"Type"`
	Active      bool    `json:"Active"`
	UnitPrice   float64 `json:"UnitPrice"`
}

// SalesItemLineDetail is the detail of an invoice line that sells an item.
type SalesItemLineDetail struct {
	ItemRef   Ref     `json:"ItemRef"`
	Qty       float64 `json:"Qty"`
	UnitPrice float64 `json:"UnitPrice"`
}

// Line is an invoice line.
type Line struct {
	ID                  string               `json:"Id,omitempty"`
	DetailType          string               `json:"DetailType"`
	Amount              float64              `json:"Amount"`
	Description         string               `json:"Description,omitempty"`
	SalesItemLineDetail *SalesItemLineDetail `json:"SalesItemLineDetail,omitempty"`
}

// Invoice is a sales invoice.
type Invoice struct {
	ID          string     `json:"Id,omitempty"`
	DocNumber   string     `json:"DocNumber,omitempty"`
	TxnDate     string     `json:"TxnDate,omitempty"`
	DueDate     string     `json:"DueDate,omitempty"`
	CustomerRef *Ref       `json:"CustomerRef,omitempty"`
	BillEmail   *EmailAddr `json:"BillEmail,omitempty"`
	Line        []Line     `json:"Line"`
	PrivateNote string     `json:"PrivateNote,omitempty"`
	TotalAmt    float64    `json:"TotalAmt,omitempty"`
	Balance     float64    `json:"Balance,omitempty"`
	EmailStatus string     `json:"EmailStatus,omitempty"`
}

// CompanyInfo is the company's profile.
type CompanyInfo struct {
	ID          string `json:"Id"`
	CompanyName string `json:"CompanyName"`
	LegalName   string `json:"LegalName"`
	Country     string `json:"Country"`
}

// Quote returns s as a query string literal: single-quoted, with \ and '
// escaped by a backslash (o'hara → 'o\'hara').
func Quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// FindCustomerByEmail returns the active customer whose primary email is
// email, or nil.
func (c *Client) FindCustomerByEmail(ctx context.Context, realmID, email string) (*Customer, error) {
	return c.findCustomer(ctx, realmID, "select * from Customer where PrimaryEmailAddr = "+Quote(email)+" maxresults 1")
}

// FindCustomerByName returns the active customer whose display name is
// name, or nil.
func (c *Client) FindCustomerByName(ctx context.Context, realmID, name string) (*Customer, error) {
	return c.findCustomer(ctx, realmID, "select * from Customer where DisplayName = "+Quote(name)+" maxresults 1")
}

func (c *Client) findCustomer(ctx context.Context, realmID, q string) (*Customer, error) {
	var out struct {
		QueryResponse struct {
			Customer []Customer `json:"Customer"`
		} `json:"QueryResponse"`
	}
	if err := c.Query(ctx, realmID, q, &out); err != nil {
		return nil, err
	}
	if len(out.QueryResponse.Customer) == 0 {
		return nil, nil
	}
	return &out.QueryResponse.Customer[0], nil
}

// Items returns up to max active items ordered by name, from the 1-based
// position start; a non-empty search keeps those whose name contains it.
func (c *Client) Items(ctx context.Context, realmID, search string, start, max int) ([]Item, error) {
	q := "select * from Item"
	if search = strings.ReplaceAll(search, "%", ""); search != "" {
		q += " where Name LIKE " + Quote("%"+search+"%")
	}
	q += fmt.Sprintf(" orderby Name startposition %d maxresults %d", start, max)
	var out struct {
		QueryResponse struct {
			Item []Item `json:"Item"`
		} `json:"QueryResponse"`
	}
	if err := c.Query(ctx, realmID, q, &out); err != nil {
		return nil, err
	}
	return out.QueryResponse.Item, nil
}

// Query runs a data query and decodes the whole answer (its QueryResponse
// object, which is empty when nothing matched) into out.
func (c *Client) Query(ctx context.Context, realmID, query string, out any) error {
	return c.do(ctx, http.MethodGet, realmID, "/query", url.Values{"query": {query}}, "", nil, out)
}

// CreateCustomer creates a customer.
func (c *Client) CreateCustomer(ctx context.Context, realmID, requestID string, cu Customer) (Customer, error) {
	var out struct {
		Customer Customer `json:"Customer"`
	}
	err := c.write(ctx, realmID, "/customer", requestID, cu, &out)
	if err == nil && out.Customer.ID == "" {
		err = noEntity("/customer", "Customer")
	}
	return out.Customer, err
}

// CreateInvoice creates an invoice.
func (c *Client) CreateInvoice(ctx context.Context, realmID, requestID string, inv Invoice) (Invoice, error) {
	var out struct {
		Invoice Invoice `json:"Invoice"`
	}
	err := c.write(ctx, realmID, "/invoice", requestID, inv, &out)
	if err == nil && out.Invoice.ID == "" {
		err = noEntity("/invoice", "Invoice")
	}
	return out.Invoice, err
}

// SendInvoice emails an invoice to sendTo (or, when empty, to its
// BillEmail) and returns it with its new EmailStatus.
func (c *Client) SendInvoice(ctx context.Context, realmID, requestID, invoiceID, sendTo string) (Invoice, error) {
	if invoiceID == "" {
		return Invoice{}, errors.New("quickbooks: send invoice: no invoice id")
	}
	q := url.Values{}
	if sendTo != "" {
		q.Set("sendTo", sendTo)
	}
	if requestID != "" {
		q.Set("requestid", requestID)
	}
	var out struct {
		Invoice Invoice `json:"Invoice"`
	}
	err := c.do(ctx, http.MethodPost, realmID, "/invoice/"+url.PathEscape(invoiceID)+"/send", q, "application/octet-stream", nil, &out)
	if err == nil && out.Invoice.ID == "" {
		err = noEntity("/invoice/{id}/send", "Invoice")
	}
	return out.Invoice, err
}

// noEntity is the error for a 200 answer to a write that holds neither the
// entity nor a Fault. Intuit documents no such answer, so whether the write
// happened is unknown: it is transient (502, a bad answer from upstream),
// and a later run finds the entity or asks again under the same requestid.
func noEntity(path, entity string) error {
	return fmt.Errorf("quickbooks: POST %s: %w", path,
		&upstream.APIError{Status: http.StatusBadGateway, Body: "a 200 answer without the " + entity})
}

// CompanyInfo returns the company's profile.
func (c *Client) CompanyInfo(ctx context.Context, realmID string) (CompanyInfo, error) {
	var out struct {
		CompanyInfo CompanyInfo `json:"CompanyInfo"`
	}
	err := c.do(ctx, http.MethodGet, realmID, "/companyinfo/"+url.PathEscape(realmID), nil, "", nil, &out)
	return out.CompanyInfo, err
}

func (c *Client) write(ctx context.Context, realmID, path, requestID string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("quickbooks: encode %s: %w", path, err)
	}
	q := url.Values{}
	if requestID != "" {
		q.Set("requestid", requestID)
	}
	return c.do(ctx, http.MethodPost, realmID, path, q, "application/json", b, out)
}

// do sends one request to /v3/company/{realmID}{path} and decodes a
// successful answer into out. Any fault, including one inside a 200, is
// returned as a *Fault.
func (c *Client) do(ctx context.Context, method, realmID, path string, q url.Values, contentType string, body []byte, out any) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("minorversion", MinorVersion)
	endpoint := c.baseURL + "/v3/company/" + url.PathEscape(realmID) + path
	u := endpoint + "?" + q.Encode()
	if c.lim != nil {
		release, err := c.lim.Acquire(ctx, realmID)
		if err != nil {
			return fmt.Errorf("quickbooks: wait for a request slot: %w", err)
		}
		defer release()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("quickbooks: new request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// The query holds the customer's email or name; keep it out of logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = endpoint
		}
		return fmt.Errorf("quickbooks: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return newFault(resp, b, c.now())
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("quickbooks: read %s: %w", path, err)
	}
	if _, _, isFault := parseFault(b); isFault {
		return newFault(resp, b, c.now())
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("quickbooks: decode %s (status %s, intuit_tid %s): %w", path, strconv.Itoa(resp.StatusCode), resp.Header.Get("intuit_tid"), err)
	}
	return nil
}
