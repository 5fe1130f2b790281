package oauth

import "errors"

// ErrNotConnected means a portal has no usable grant: it never installed the
// app, removed it, or its refresh token was rejected (invalid_grant) and an
// admin must reinstall. Errors that wrap it say which.
var ErrNotConnected = errors.New("oauth: not connected")
