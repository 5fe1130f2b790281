package main

import (
	"errors"

	"github.com/labstack/echo/v4"

	"hubspot-actions/cmd/internal/admin"
	"hubspot-actions/oauth"
)

// providerSessions adapts the admin pages' sessions and the HubSpot flow's
// state helpers to actions.Sessions, for providers' connect flows.
type providerSessions struct {
	s *admin.Sessions
	f *oauth.Flow
}

func (a providerSessions) PortalID(c echo.Context) (int64, bool) {
	s, ok := a.s.Get(c)
	return s.PortalID, ok
}

func (a providerSessions) NewState(c echo.Context, provider string) (string, error) {
	s, ok := a.s.Get(c)
	if !ok {
		return "", errors.New("no settings session")
	}
	return a.f.NewState(c, provider, s.PortalID)
}

func (a providerSessions) ConsumeState(c echo.Context, provider, state string) (int64, error) {
	return a.f.ConsumeState(c, provider, state)
}
