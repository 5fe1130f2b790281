package actions

import "context"

// KeyFunc returns the API key to use for a portal: the portal's own key
// when an admin entered one, else the app-wide default. It returns a
// NOT_CONNECTED *Error when there is neither.
type KeyFunc func(ctx context.Context, portalID int64) (string, error)
