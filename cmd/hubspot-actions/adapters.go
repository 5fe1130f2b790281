package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/cmd/internal/admin"
	"hubspot-actions/oauth"
)

// qbGrants adapts oauth.Grants to quickbooks.Grants.
type qbGrants struct{ g *oauth.Grants }

func (a qbGrants) Save(ctx context.Context, portalID int64, tok *oauth2.Token, realmID, companyName string) error {
	return a.g.Save(ctx, portalID, tok, realmID, companyName)
}

func (a qbGrants) Token(ctx context.Context, portalID int64) (*oauth2.Token, error) {
	return a.g.Token(ctx, portalID)
}

func (a qbGrants) Client(ctx context.Context, portalID int64) (*http.Client, error) {
	return a.g.Client(ctx, portalID)
}

func (a qbGrants) Account(ctx context.Context, portalID int64) (string, string, error) {
	st, err := a.g.Status(ctx, portalID)
	if err != nil {
		return "", "", err
	}
	if st.Status != oauth.StatusActive {
		return "", "", fmt.Errorf("quickbooks grant of portal %d is %s: %w", portalID, st.Status, oauth.ErrNotConnected)
	}
	return st.AccountID, st.AccountName, nil
}

// Refresh forces a refresh unless the grant changed in the last half
// minute (then a concurrent caller already replaced the rejected token).
func (a qbGrants) Refresh(ctx context.Context, portalID int64) error {
	_, err := a.g.ForceRefresh(ctx, portalID, time.Now().Add(-30*time.Second))
	return err
}

func (a qbGrants) Delete(ctx context.Context, portalID int64) error { return a.g.Delete(ctx, portalID) }

// qbSessions adapts the admin pages' sessions and the HubSpot flow's state
// helpers to quickbooks.Sessions.
type qbSessions struct {
	s *admin.Sessions
	f *oauth.Flow
}

func (a qbSessions) PortalID(c echo.Context) (int64, bool) {
	s, ok := a.s.Get(c)
	return s.PortalID, ok
}

func (a qbSessions) NewState(c echo.Context, provider string) (string, error) {
	s, ok := a.s.Get(c)
	if !ok {
		return "", errors.New("no settings session")
	}
	return a.f.NewState(c, provider, s.PortalID)
}

func (a qbSessions) ConsumeState(c echo.Context, provider, state string) (int64, error) {
	return a.f.ConsumeState(c, provider, state)
}

// qbCRM adapts the HubSpot API client to quickbooks.CRM.
type qbCRM struct{ h *oauth.HubSpot }

func (a qbCRM) DealContact(ctx context.Context, portalID int64, dealID string) (quickbooks.Contact, error) {
	o, err := a.h.DealContact(ctx, portalID, dealID)
	if errors.Is(err, oauth.ErrNotFound) {
		return quickbooks.Contact{}, nil
	}
	if err != nil {
		return quickbooks.Contact{}, err
	}
	p := o.Properties
	return quickbooks.Contact{ID: o.ID, Email: p["email"], FirstName: p["firstname"], LastName: p["lastname"], Company: p["company"], Phone: p["phone"]}, nil
}
