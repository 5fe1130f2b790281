package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/actions/salesforce/salesforcetest"
	"hubspot-actions/oauth"
)

// TestExpiredSessionRefreshesOnceForConcurrentCallers: when the org's
// session timeout ends the access token early, every caller is refused
// with INVALID_SESSION_ID, and together they cause exactly one refresh;
// every execution then succeeds.
func TestExpiredSessionRefreshesOnceForConcurrentCallers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 11)
	ctx := context.Background()
	if _, err := e.svc.upsertLead(ctx, execution(11, "warm", "1", nil), leadIn{Email: "warm@example.com", LastName: "W", Company: "C"}); err != nil {
		t.Fatalf("first run: %v", err)
	}
	e.fake.ExpireSessions()
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strconv.Itoa(100 + i)
			_, errs[i] = e.svc.upsertLead(ctx, execution(11, "cb-"+id, id, nil), leadIn{Email: fmt.Sprintf("c%d@example.com", i), LastName: "L", Company: "C"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if got := e.fake.Refreshes(); got != 1 {
		t.Errorf("refreshes = %d, want exactly 1", got)
	}
	if got := len(e.fake.RequestsTo(http.MethodPost, salesforcetest.TokenPath)); got != 2 {
		t.Errorf("token requests = %d, want the exchange and one refresh", got)
	}
	if got := len(e.fake.Leads()); got != n+1 {
		t.Errorf("leads = %d, want %d", got, n+1)
	}
}

// TestRefreshWithTwoGrantsOnOneStore: two replicas (two oauth.Grants on
// one database) refresh once between them.
func TestRefreshWithTwoGrantsOnOneStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 12)
	other, err := newProvider(e.cfg, oauth.NewGrants(ID, OAuthConfig(e.cfg), e.db, e.svc.hc, e.svc.log), e.sessions, e.svc.secret, e.svc.hc, e.svc.log)
	if err != nil {
		t.Fatal(err)
	}
	e.fake.ExpireSessions()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e.svc
			if i%2 == 1 {
				p = other
			}
			id := strconv.Itoa(200 + i)
			_, errs[i] = p.upsertLead(ctx, execution(12, "cb-"+id, id, nil), leadIn{Email: fmt.Sprintf("r%d@example.com", i), LastName: "L", Company: "C"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if got := e.fake.Refreshes(); got != 1 {
		t.Errorf("refreshes = %d, want exactly 1", got)
	}
}

// TestSecondInvalidSessionIsNotConnected: a token refused again right
// after a forced refresh means the admin must reconnect; nothing loops.
func TestSecondInvalidSessionIsNotConnected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 13)
	bad := salesforcetest.Failure{Status: http.StatusUnauthorized, ErrorCode: "INVALID_SESSION_ID", Message: "Session expired or invalid"}
	e.fake.FailNext(bad, bad)
	_, err := e.svc.upsertLead(context.Background(), execution(13, "cb", "5", nil), leadIn{Email: "x@example.com"})
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Code != actions.CodeNotConnected {
		t.Fatalf("run = %v, want NOT_CONNECTED", err)
	}
	if got := e.fake.Refreshes(); got != 1 {
		t.Errorf("refreshes = %d, want 1", got)
	}
}

// TestRevokedInSalesforceIsNotConnected: an admin revoked the app in
// Salesforce: the forced refresh is refused (invalid_grant), the action
// answers NOT_CONNECTED and the card asks to reconnect.
func TestRevokedInSalesforceIsNotConnected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 14)
	e.fake.RevokeAll()
	ctx := context.Background()
	_, err := e.svc.upsertLead(ctx, execution(14, "cb", "5", nil), leadIn{Email: "x@example.com"})
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Code != actions.CodeNotConnected {
		t.Fatalf("run = %v, want NOT_CONNECTED", err)
	}
	st, err := e.grants.Status(ctx, 14)
	if err != nil || st.Status != oauth.StatusNeedsReinstall {
		t.Errorf("grant = %+v, %v, want needs_reinstall", st, err)
	}
	card, err := e.svc.Card(ctx, 14)
	if err != nil || card.Status != actions.CardNeedsReconnect || card.Connect.ConnectURL != ConnectPath {
		t.Errorf("Card() = %+v, %v, want needs reconnecting", card, err)
	}
}

// TestTokenIsNotRefreshedOnEveryCall: with no expires_in from Salesforce,
// the token is assumed to last a session, not refreshed per call.
func TestTokenIsNotRefreshedOnEveryCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{})
	e.connect(t, 15)
	for i := range 5 {
		id := strconv.Itoa(i + 1)
		if _, err := e.svc.upsertLead(context.Background(), execution(15, "cb"+id, id, nil), leadIn{Email: "n" + id + "@example.com", LastName: "L", Company: "C"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.fake.Refreshes(); got != 0 {
		t.Errorf("refreshes = %d, want 0", got)
	}
}
