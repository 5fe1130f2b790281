package actions

import (
	"context"
	"log/slog"
)

// Key is the API key an execution uses with a provider, and whose it is.
// Printing or logging it never shows the secret.
type Key struct {
	Secret Secret
	// Shared is set when the key is the operator's app-wide key, shared by
	// every portal allowed to use it, rather than the portal's own. Objects
	// a provider keeps for a portal must then be told apart by a marker the
	// app sets, since the account holds every allowed portal's.
	Shared bool
}

// OwnKey is a portal's own key.
func OwnKey(secret string) Key { return Key{Secret: Secret(secret)} }

// SharedKey is the operator's app-wide key.
func SharedKey(secret string) Key { return Key{Secret: Secret(secret), Shared: true} }

// String describes the key without its secret.
func (k Key) String() string {
	if k.Shared {
		return "the app's shared key"
	}
	return "the portal's own key"
}

// LogValue logs the key without its secret.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// KeyFunc returns the API key an execution uses: its portal's own key when
// an admin entered one, else the app-wide key if the operator lets the
// portal use it and its daily quota is not used up. It returns a
// NOT_CONNECTED *Error when the portal has neither, and a RATE_LIMITED one
// when the quota is used up; both tell the admin to enter a key.
type KeyFunc func(ctx context.Context, ex *Execution) (Key, error)
