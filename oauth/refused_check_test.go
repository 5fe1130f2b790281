package oauth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestCheckPortalAfterRefusedRefresh: once HubSpot refuses a portal's
// refresh token (the account uninstalled the app), CheckPortal says so at
// once in this process, not only when its last answer (kept a few
// seconds) expires: the next execution runs no action.
func TestCheckPortalAfterRefusedRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, hs, db := newUninstallFlow(t)
	upsertPortal(t, db, testPortal)
	tok := hs.Grant(testPortal)
	saveGrant(t, f.Grants(), tok, testPortal, time.Now().Add(time.Minute)) // within the refresh margin
	if err := f.CheckPortal(ctx, testPortal); err != nil {
		t.Fatalf("CheckPortal before = %v, want nil", err)
	}
	hs.RevokePortal(testPortal) // uninstalled in HubSpot

	// The next use of its token refreshes it first, and is refused.
	if hc, err := f.Client(ctx, testPortal); err == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL()+"/crm/objects/2026-03/contacts/1", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("a call after the refresh was refused = %d, want an error", resp.StatusCode)
		}
		if !errors.Is(err, ErrUninstalled) {
			t.Fatalf("a call after the refresh was refused: %v, want ErrUninstalled", err)
		}
	} else if !errors.Is(err, ErrUninstalled) {
		t.Fatalf("Client after the refresh was refused: %v, want ErrUninstalled", err)
	}
	if err := f.CheckPortal(ctx, testPortal); !errors.Is(err, ErrUninstalled) {
		t.Errorf("CheckPortal right after the refused refresh = %v, want ErrUninstalled", err)
	}
}
