package main

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/oauth"
)

// qbSessions adapts the HubSpot flow's session and state helpers to
// quickbooks.Sessions.
type qbSessions struct{ f *oauth.Flow }

func (a qbSessions) PortalID(c echo.Context) (int64, bool) {
	s, ok := a.f.Session(c)
	return s.PortalID, ok
}

func (a qbSessions) NewState(c echo.Context, provider string) (string, error) {
	s, ok := a.f.Session(c)
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
