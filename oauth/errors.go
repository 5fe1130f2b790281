package oauth

import (
	"errors"
	"fmt"
)

// ErrNotConnected means a portal has no usable grant: it never installed the
// app, removed it, or its refresh token was rejected (invalid_grant) and an
// admin must reinstall. Errors that wrap it say which.
var ErrNotConnected = errors.New("oauth: not connected")

// ErrUninstalled means the app is no longer installed in the portal (or is
// being uninstalled): it was uninstalled from the settings page, by an
// operator, or in HubSpot. It wraps ErrNotConnected.
var ErrUninstalled = fmt.Errorf("oauth: the app is uninstalled: %w", ErrNotConnected)
