package oauth

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

func TestTokenRefreshesAheadOfExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		left        time.Duration
		wantRefresh bool
	}{
		{name: "ten minutes left", left: 10 * time.Minute, wantRefresh: false},
		{name: "four minutes left", left: 4 * time.Minute, wantRefresh: true},
		{name: "expired", left: -time.Minute, wantRefresh: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
			db := newTestDB(t)
			g := newTestGrants(t, hsURL, db)
			issued := hs.Grant(testPortal)
			saveGrant(t, g, issued, testPortal, time.Now().Add(tt.left))

			tok, err := g.Token(ctx, testPortal)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			refreshed := tok.AccessToken != issued.AccessToken
			if refreshed != tt.wantRefresh || hs.RefreshCalls() != map[bool]int{false: 0, true: 1}[tt.wantRefresh] {
				t.Fatalf("Token() refreshed = %v with %d refresh calls, want %v", refreshed, hs.RefreshCalls(), tt.wantRefresh)
			}
			if tok.RefreshToken != "" {
				t.Error("Token() returned a refresh token, want none")
			}
			row, _ := db.GetToken(ctx, testPortal, ProviderHubSpot)
			if tt.wantRefresh {
				if d := time.Until(tok.Expiry); d < 29*time.Minute {
					t.Errorf("refreshed token expires in %v, want about 30 minutes", d)
				}
				if row.Version != 2 || !row.ExpiresAt.Equal(tok.Expiry.Truncate(time.Millisecond)) || !row.RefreshLockUntil.IsZero() {
					t.Errorf("row after refresh: version %d, expires %v, lock %v; want 2, %v, none", row.Version, row.ExpiresAt, row.RefreshLockUntil, tok.Expiry)
				}
			}
			// Later calls are served from memory.
			again, err := g.Token(ctx, testPortal)
			if err != nil || again.AccessToken != tok.AccessToken || hs.RefreshCalls() > 1 {
				t.Errorf("second Token() = %v, %v with %d refreshes; want the same token", again, err, hs.RefreshCalls())
			}
		})
	}
}

func TestTokenConcurrentRefreshOneProcess(t *testing.T) {
	t.Parallel()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{RotateRefreshTokens: true}, 20*time.Millisecond)
	db := newTestDB(t)
	g := newTestGrants(t, hsURL, db)
	saveGrant(t, g, hs.Grant(testPortal), testPortal, time.Now().Add(-time.Minute))

	got := concurrentTokens(t, 50, g)
	if len(got) != 1 {
		t.Errorf("50 concurrent Token() calls saw %d distinct tokens, want 1", len(got))
	}
	if n := hs.RefreshCalls(); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
}

// concurrentTokens calls Token n times at once on each of gs and returns
// the distinct access tokens seen.
func concurrentTokens(t *testing.T, n int, gs ...*Grants) map[string]int {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, g := range gs {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tok, err := g.Token(context.Background(), testPortal)
				if err != nil {
					t.Errorf("Token: %v", err)
					return
				}
				mu.Lock()
				seen[tok.AccessToken]++
				mu.Unlock()
			}()
		}
	}
	close(start)
	wg.Wait()
	return seen
}

func TestTokenConcurrentRefreshTwoDBs(t *testing.T) {
	t.Parallel()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{RotateRefreshTokens: true}, 20*time.Millisecond)
	path := storetest.URL(t)
	g1 := newTestGrants(t, hsURL, openTestDB(t, path))
	g2 := newTestGrants(t, hsURL, openTestDB(t, path))
	saveGrant(t, g1, hs.Grant(testPortal), testPortal, time.Now().Add(-time.Minute))

	got := concurrentTokens(t, 25, g1, g2)
	if len(got) != 1 {
		t.Errorf("concurrent Token() calls through two databases saw %d distinct tokens, want 1", len(got))
	}
	if n := hs.RefreshCalls(); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
}

// TestForceRefreshOnlyForTheRejectedToken: a provider's 401 forces one
// refresh of the token it rejected; a replica whose memory still holds
// that token and is rejected too gets the new one without a second
// refresh, and a rejection of the new token refreshes again.
func TestForceRefreshOnlyForTheRejectedToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{RotateRefreshTokens: true}, 0)
	path := storetest.URL(t)
	g1 := newTestGrants(t, hsURL, openTestDB(t, path))
	g2 := newTestGrants(t, hsURL, openTestDB(t, path))
	issued := hs.Grant(testPortal)
	saveGrant(t, g1, issued, testPortal, time.Now().Add(time.Hour))
	for _, g := range []*Grants{g1, g2} {
		if tok, err := g.Token(ctx, testPortal); err != nil || tok.AccessToken != issued.AccessToken {
			t.Fatalf("Token() = %v, %v; want the issued token", tok, err)
		}
	}
	rejected := Fingerprint(issued.AccessToken)
	if rejected == "" || strings.Contains(rejected, issued.AccessToken) {
		t.Fatalf("Fingerprint() = %q: want a name that does not hold the token", rejected)
	}

	fresh, err := g1.ForceRefresh(ctx, testPortal, rejected)
	if err != nil || fresh.AccessToken == issued.AccessToken || hs.RefreshCalls() != 1 {
		t.Fatalf("ForceRefresh() = %v, %v with %d refresh calls; want a new token after one", fresh, err, hs.RefreshCalls())
	}
	again, err := g2.ForceRefresh(ctx, testPortal, rejected)
	if err != nil || again.AccessToken != fresh.AccessToken || hs.RefreshCalls() != 1 {
		t.Errorf("the other replica's ForceRefresh() of the same token = %v, %v with %d refresh calls; want %q and still one",
			again, err, hs.RefreshCalls(), fresh.AccessToken)
	}
	newer, err := g2.ForceRefresh(ctx, testPortal, Fingerprint(fresh.AccessToken))
	if err != nil || newer.AccessToken == fresh.AccessToken || hs.RefreshCalls() != 2 {
		t.Errorf("ForceRefresh() of the new token = %v, %v with %d refresh calls; want another token after two", newer, err, hs.RefreshCalls())
	}
}

// The child side of TestTokenConcurrentRefreshTwoProcesses: it runs only
// when that test starts this binary again with the environment set.
func TestRefreshChildProcess(t *testing.T) {
	path := os.Getenv("HSA_TEST_CHILD_DB")
	if path == "" {
		t.Skip("helper process for TestTokenConcurrentRefreshTwoProcesses")
	}
	key, err := hex.DecodeString(os.Getenv("HSA_TEST_CHILD_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGrants(t, os.Getenv("HSA_TEST_CHILD_URL"), openTestDB(t, path, key))
	fmt.Println("child: ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatalf("read go signal: %v", err)
	}
	for tok, n := range concurrentTokens(t, 25, g) {
		fmt.Printf("child: token %s %d\n", tok, n)
	}
}

func TestTokenConcurrentRefreshTwoProcesses(t *testing.T) {
	if os.Getenv("HSA_TEST_CHILD_DB") != "" {
		t.Skip("in the child")
	}
	t.Parallel()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{RotateRefreshTokens: true}, 50*time.Millisecond)
	path := storetest.URL(t)
	key := testKey("two processes")
	g := newTestGrants(t, hsURL, openTestDB(t, path, key))
	saveGrant(t, g, hs.Grant(testPortal), testPortal, time.Now().Add(-time.Minute))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRefreshChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HSA_TEST_CHILD_DB="+path, "HSA_TEST_CHILD_URL="+hsURL, "HSA_TEST_CHILD_KEY="+hex.EncodeToString(key))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && lines.Text() != "child: ready" {
	}
	// Go: both processes refresh at once.
	if _, err := fmt.Fprintln(stdin, "go"); err != nil {
		t.Fatalf("signal child: %v", err)
	}
	seen := concurrentTokens(t, 25, g)
	var out []string
	for lines.Scan() {
		out = append(out, lines.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child failed: %v\n%s\n%s", err, strings.Join(out, "\n"), stderr.String())
	}
	childCalls := 0
	for _, l := range out {
		if rest, ok := strings.CutPrefix(l, "child: token "); ok {
			tok, n, _ := strings.Cut(rest, " ")
			c, _ := strconv.Atoi(n)
			seen[tok] += c
			childCalls += c
		}
	}
	if childCalls != 25 {
		t.Fatalf("child reported %d tokens, want 25; output:\n%s\n%s", childCalls, strings.Join(out, "\n"), stderr.String())
	}
	if len(seen) != 1 {
		t.Errorf("two processes saw %d distinct tokens, want 1: %v", len(seen), seen)
	}
	if n := hs.RefreshCalls(); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
}

func TestRotatedRefreshTokenSavedBeforeUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{RotateRefreshTokens: true}, 0)
	db := newTestDB(t)
	g := newTestGrants(t, hsURL, db)
	issued := hs.Grant(testPortal)
	saveGrant(t, g, issued, testPortal, time.Now().Add(-time.Minute))

	// The first use of the new access token is an API call; when it reaches
	// HubSpot, the rotated refresh token must already be stored.
	var checked bool
	api := bearerClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		row, err := db.GetToken(ctx, testPortal, ProviderHubSpot)
		if err != nil {
			return nil, err
		}
		stored := row.RefreshToken
		if stored == issued.RefreshToken || !hs.RefreshTokenLive(stored) {
			t.Errorf("when the new access token was first used, the stored refresh token was the old one or not live")
		}
		checked = true
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
	})}, func(ctx context.Context) (string, error) {
		tok, err := g.Token(ctx, testPortal)
		if err != nil {
			return "", err
		}
		return tok.AccessToken, nil
	})
	resp, err := api.Get("http://hubspot.invalid/crm/objects/2026-03/deals/1")
	if err != nil {
		t.Fatalf("API call: %v", err)
	}
	resp.Body.Close()
	if !checked {
		t.Fatal("the API call never reached the transport")
	}
	if hs.RefreshTokenLive(issued.RefreshToken) {
		t.Error("the old refresh token is still live, want it rotated away")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestInvalidGrantUninstalls: HubSpot refusing the refresh token
// (invalid_grant) is how an uninstall in HubSpot shows: the portal is
// uninstalled, never retried, runs nothing, and a reinstall brings it back.
func TestInvalidGrantUninstalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	db := newTestDB(t)
	log, _ := newTestLogger(t)
	f := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, TokenBaseURL: hsURL}, db, &http.Client{Timeout: 10 * time.Second}, log)
	upsertPortal(t, db, testPortal)
	saveGrant(t, f.Grants(), hs.Grant(testPortal), testPortal, time.Now().Add(-time.Minute))
	if err := f.CheckPortal(ctx, testPortal); err != nil {
		t.Fatalf("CheckPortal before = %v, want nil", err)
	}
	f.forgetCheck(testPortal)
	hs.RevokePortal(testPortal) // the app was uninstalled

	for i := range 3 {
		_, err := f.Grants().Token(ctx, testPortal)
		if !errors.Is(err, ErrNotConnected) {
			t.Fatalf("Token() call %d = %v, want ErrNotConnected", i+1, err)
		}
	}
	if n := hs.RefreshCalls(); n != 1 {
		t.Errorf("refresh calls = %d, want 1 (never retried)", n)
	}
	row, _ := db.GetToken(ctx, testPortal, ProviderHubSpot)
	p, _ := db.GetPortal(ctx, testPortal)
	if row.Status != store.StatusUninstalled || p.Status != store.StatusUninstalled || !strings.Contains(p.StatusReason, "invalid_grant") || p.UninstalledAt.IsZero() {
		t.Errorf("after invalid_grant: grant %q, portal %q (%q) since %v; want uninstalled for both, with a time", row.Status, p.Status, p.StatusReason, p.UninstalledAt)
	}
	if err := f.CheckPortal(ctx, testPortal); !errors.Is(err, ErrUninstalled) || !errors.Is(err, ErrNotConnected) {
		t.Errorf("CheckPortal after = %v, want ErrUninstalled (an ErrNotConnected)", err)
	}
	if _, err := f.Client(ctx, testPortal); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Client after = %v, want ErrNotConnected", err)
	}
	st, err := f.Grants().Status(ctx, testPortal)
	if err != nil || st.Status != StatusUninstalled {
		t.Errorf("Status() = %+v, %v; want uninstalled", st, err)
	}

	// A reinstall makes the portal active again.
	upsertPortal(t, db, testPortal)
	saveGrant(t, f.Grants(), hs.Grant(testPortal), testPortal, time.Now().Add(time.Hour))
	f.forgetCheck(testPortal)
	if err := f.CheckPortal(ctx, testPortal); err != nil {
		t.Errorf("CheckPortal after reinstall = %v, want nil", err)
	}
}

func TestTokenEndpointRateLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	db := newTestDB(t)
	g := newTestGrants(t, hsURL, db)
	clock := newFakeClock()
	g.now = clock.Now
	issued := hs.Grant(testPortal)
	saveGrant(t, g, issued, testPortal, clock.Now().Add(-time.Minute))
	hs.Fail(hubspottest.EndpointToken, 1, http.StatusTooManyRequests, 7*time.Second)

	_, err := g.Token(ctx, testPortal)
	var ae *upstream.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter != 7*time.Second {
		t.Fatalf("Token() = %v, want *upstream.APIError 429 with RetryAfter 7s", err)
	}
	if errors.Is(err, ErrNotConnected) {
		t.Error("Token() after 429 wraps ErrNotConnected, want a transient error")
	}
	// Backing off: no new call before Retry-After.
	clock.Advance(3 * time.Second)
	if _, err := g.Token(ctx, testPortal); !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter != 4*time.Second {
		t.Errorf("Token() during backoff = %v, want 429 with 4s left", err)
	}
	if n := hs.RefreshCalls(); n != 1 {
		t.Errorf("refresh calls during backoff = %d, want 1", n)
	}
	row, _ := db.GetToken(ctx, testPortal, ProviderHubSpot)
	if row.Status != store.StatusActive || row.Version != 1 {
		t.Errorf("grant after 429 = %q v%d, want active v1", row.Status, row.Version)
	}
	clock.Advance(5 * time.Second)
	tok, err := g.Token(ctx, testPortal)
	if err != nil || tok.AccessToken == issued.AccessToken {
		t.Fatalf("Token() after backoff = %v, %v; want a new token", tok, err)
	}
	if n := hs.RefreshCalls(); n != 2 {
		t.Errorf("refresh calls = %d, want 2", n)
	}
}

func TestTokenEndpointTroubleKeepsUsableToken(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusBadGateway} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
			g := newTestGrants(t, hsURL, newTestDB(t))
			issued := hs.Grant(testPortal)
			saveGrant(t, g, issued, testPortal, time.Now().Add(2*time.Minute))
			hs.Fail(hubspottest.EndpointToken, 1, status, 0)
			tok, err := g.Token(context.Background(), testPortal)
			if err != nil || tok.AccessToken != issued.AccessToken {
				t.Errorf("Token() = %v, %v; want the current, still valid token", tok, err)
			}
		})
	}
}

func TestTokenNotConnected(t *testing.T) {
	t.Parallel()
	_, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	g := newTestGrants(t, hsURL, newTestDB(t))
	if _, err := g.Token(context.Background(), 99); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Token(unknown portal) = %v, want ErrNotConnected", err)
	}
	if _, err := g.Status(context.Background(), 99); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Status(unknown portal) = %v, want ErrNotConnected", err)
	}
}

func TestNoTokenInClear(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{RotateRefreshTokens: true}, 0)
	dir := t.TempDir()
	db := openTestDB(t, filepath.Join(dir, "app.db"))
	g := newTestGrants(t, hsURL, db)
	issued := hs.Grant(testPortal)
	saveGrant(t, g, issued, testPortal, time.Now().Add(-time.Minute))
	fresh, err := g.Token(ctx, testPortal)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	rt, err := g.refreshToken(ctx, testPortal)
	if err != nil {
		t.Fatalf("refreshToken: %v", err)
	}
	secrets := []string{issued.AccessToken, issued.RefreshToken, fresh.AccessToken, rt}
	files, _ := filepath.Glob(filepath.Join(dir, "app.db*")) // the database, its WAL and shared memory
	if len(files) < 2 {
		t.Fatalf("found database files %v, want the file and its WAL", files)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if leak, ok := containsAny(string(b), secrets...); ok {
			t.Errorf("%s holds token %q in clear", filepath.Base(name), leak)
		}
	}
}

// TestKeyRotation: after a rotation, grants sealed under the previous key
// still work; a refresh re-seals its grant under the new key, and the
// store's Reseal does the rest, so the previous key can then be dropped.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	path := storetest.URL(t)
	oldKey, newKey := testKey("old"), testKey("new")
	oldDB := openTestDB(t, path, oldKey)
	before := newTestGrants(t, hsURL, oldDB)
	fresh := hs.Grant(1)
	saveGrant(t, before, fresh, 1, time.Now().Add(time.Hour))
	saveGrant(t, before, hs.Grant(2), 2, time.Now().Add(-time.Minute))
	saveGrant(t, before, hs.Grant(3), 3, time.Now().Add(time.Hour))

	rotating := openTestDB(t, path, newKey, oldKey)
	after := newTestGrants(t, hsURL, rotating)
	tok, err := after.Token(ctx, 1)
	if err != nil || tok.AccessToken != fresh.AccessToken {
		t.Fatalf("Token(portal 1) under the rotated keys = %v, %v; want the stored token", tok, err)
	}
	// Which grants the new key alone opens tells which were re-sealed.
	newDB := openTestDB(t, path, newKey)
	opens := func(portalID int64) bool {
		_, err := newDB.GetToken(ctx, portalID, ProviderHubSpot)
		return err == nil
	}
	if opens(1) {
		t.Error("portal 1 opens with the new key alone after a read, want it still under the old key")
	}
	// A refresh writes, and writes seal under the current key.
	if _, err := after.Token(ctx, 2); err != nil {
		t.Fatalf("Token(portal 2): %v", err)
	}
	if !opens(2) {
		t.Error("portal 2 does not open with the new key alone after a refresh, want it re-sealed")
	}
	rep, err := rotating.Reseal(ctx)
	if err != nil || rep.Resealed != 2 {
		t.Errorf("Reseal() = %+v, %v; want 2 re-sealed", rep, err)
	}
	for _, p := range []int64{1, 3} {
		if !opens(p) {
			t.Errorf("portal %d does not open with the new key alone after Reseal", p)
		}
	}
	// Without the previous key, nothing is lost any more.
	onlyNew := newTestGrants(t, hsURL, newDB)
	if tok, err := onlyNew.Token(ctx, 1); err != nil || tok.AccessToken != fresh.AccessToken {
		t.Errorf("Token(portal 1) with only the new key = %v, %v; want the stored token", tok, err)
	}
	if _, err := oldDB.GetToken(ctx, 1, ProviderHubSpot); err == nil {
		t.Error("the old key alone still opens portal 1 after Reseal, want it re-sealed under the new key")
	}
}

// TestTokenEndpointRefusalBacksOff: a refusal that is not about the grant
// (invalid_client, say) does not mark the portal, and the token endpoint is
// not called again on every request meanwhile.
func TestTokenEndpointRefusalBacksOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, hsURL := fakeHubSpot(t, hubspottest.Config{}, 0)
	db := newTestDB(t)
	g := newTestGrants(t, hsURL, db)
	clock := newFakeClock()
	g.now = clock.Now
	saveGrant(t, g, hs.Grant(testPortal), testPortal, clock.Now().Add(-time.Minute))
	hs.Fail(hubspottest.EndpointToken, 1, http.StatusBadRequest, 0)

	if _, err := g.Token(ctx, testPortal); err == nil || errors.Is(err, ErrNotConnected) {
		t.Fatalf("Token() = %v, want a refusal that is not ErrNotConnected", err)
	}
	for range 5 {
		clock.Advance(time.Second)
		if _, err := g.Token(ctx, testPortal); err == nil {
			t.Fatalf("Token() during backoff succeeded")
		}
	}
	if n := hs.RefreshCalls(); n != 1 {
		t.Errorf("token endpoint called %d times during backoff, want 1", n)
	}
	clock.Advance(30 * time.Second)
	if _, err := g.Token(ctx, testPortal); err != nil {
		t.Errorf("Token() after the backoff = %v", err)
	}
	row, _ := db.GetToken(ctx, testPortal, ProviderHubSpot)
	if row.Status != store.StatusActive {
		t.Errorf("grant status = %q, want active", row.Status)
	}
}
