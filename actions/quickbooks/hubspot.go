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
	"strings"
	"time"

	"hubspot-actions/oauth"
)

// PortalClients hands out *http.Clients authorized for a portal's HubSpot
// API (oauth.Flow's Client does).
type PortalClients interface {
	Client(ctx context.Context, portalID int64) (*http.Client, error)
}

// HubSpotCRM implements CRM with HubSpot's CRM API (scopes
// crm.objects.deals.read and crm.objects.contacts.read).
type HubSpotCRM struct {
	baseURL string
	clients PortalClients
}

// NewHubSpotCRM returns a CRM reading from the HubSpot API at baseURL
// (https://api.hubapi.com) with each portal's client.
func NewHubSpotCRM(baseURL string, clients PortalClients) *HubSpotCRM {
	return &HubSpotCRM{baseURL: strings.TrimRight(baseURL, "/"), clients: clients}
}

// maxDealContacts bounds how many associated contacts are looked at.
const maxDealContacts = 10

// DealContact returns the first contact associated with the deal (in
// HubSpot's order) that has an email address. Errors wrap
// oauth.ErrNotConnected or are *actions.APIError.
func (h *HubSpotCRM) DealContact(ctx context.Context, portalID int64, dealID string) (Contact, error) {
	hc, err := h.clients.Client(ctx, portalID)
	if err != nil {
		return Contact{}, err
	}
	var deal struct {
		Associations struct {
			Contacts struct {
				Results []struct {
					ID string `json:"id"`
				} `json:"results"`
			} `json:"contacts"`
		} `json:"associations"`
	}
	path := "/crm/v3/objects/deals/" + url.PathEscape(dealID) + "?associations=contacts&properties=dealname"
	if err := h.do(ctx, hc, http.MethodGet, path, nil, &deal); err != nil {
		var ae *oauth.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return Contact{}, nil // the deal was deleted: it has no contact
		}
		return Contact{}, err
	}
	var ids []string
	seen := map[string]bool{}
	for _, r := range deal.Associations.Contacts.Results {
		if !seen[r.ID] && len(ids) < maxDealContacts {
			seen[r.ID] = true
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return Contact{}, nil
	}
	type input struct {
		ID string `json:"id"`
	}
	body := struct {
		Properties []string `json:"properties"`
		Inputs     []input  `json:"inputs"`
	}{Properties: []string{"email", "firstname", "lastname", "company", "phone"}}
	for _, id := range ids {
		body.Inputs = append(body.Inputs, input{ID: id})
	}
	var batch struct {
		Results []struct {
			ID         string            `json:"id"`
			Properties map[string]string `json:"properties"`
		} `json:"results"`
	}
	if err := h.do(ctx, hc, http.MethodPost, "/crm/v3/objects/contacts/batch/read", body, &batch); err != nil {
		return Contact{}, err
	}
	byID := map[string]Contact{}
	for _, r := range batch.Results {
		p := r.Properties
		byID[r.ID] = Contact{ID: r.ID, Email: strings.TrimSpace(p["email"]), FirstName: p["firstname"], LastName: p["lastname"], Company: p["company"], Phone: p["phone"]}
	}
	for _, id := range ids {
		if c := byID[id]; c.Email != "" {
			return c, nil
		}
	}
	return Contact{}, nil
}

func (h *HubSpotCRM) do(ctx context.Context, hc *http.Client, method, path string, in, out any) error {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("hubspot: encode %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.baseURL+path, rd)
	if err != nil {
		return fmt.Errorf("hubspot: new request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("hubspot: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, oauth.MaxErrorBody))
		return fmt.Errorf("hubspot: %s %s: %w", method, path, oauth.NewAPIError(resp, b, time.Now()))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return fmt.Errorf("hubspot: decode %s: %w", path, err)
	}
	return nil
}
