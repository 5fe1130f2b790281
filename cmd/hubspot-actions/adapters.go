package main

import (
	"errors"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
)

// flowSessions adapts the HubSpot flow's session and state helpers to
// actions.Sessions, for providers' connect flows.
type flowSessions struct{ f *oauth.Flow }

func (a flowSessions) PortalID(c echo.Context) (int64, bool) {
	s, ok := a.f.Session(c)
	return s.PortalID, ok
}

func (a flowSessions) NewState(c echo.Context, provider string) (string, error) {
	s, ok := a.f.Session(c)
	if !ok {
		return "", errors.New("no settings session")
	}
	return a.f.NewState(c, provider, s.PortalID)
}

func (a flowSessions) ConsumeState(c echo.Context, provider, state string) (int64, error) {
	return a.f.ConsumeState(c, provider, state)
}
