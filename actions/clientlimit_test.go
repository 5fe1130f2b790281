package actions

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// clientClock is a settable clock for ClientLimiter tests.
type clientClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clientClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clientClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClientLimiter(t *testing.T, lim ClientLimit) (*ClientLimiter, *clientClock) {
	t.Helper()
	clock := &clientClock{t: time.Unix(1_700_000_000, 0)}
	l := NewClientLimiter(lim)
	l.SetClock(clock.Now)
	return l, clock
}

func TestClientLimiterBurstThenPace(t *testing.T) {
	t.Parallel()
	l, clock := newClientLimiter(t, ClientLimit{Every: 3 * time.Second, Burst: 3})
	for i := range 3 {
		if ok, _ := l.Allow("198.51.100.7"); !ok {
			t.Fatalf("Allow() #%d = refused, want the burst of 3 allowed", i+1)
		}
	}
	ok, wait := l.Allow("198.51.100.7")
	if ok || wait != 3*time.Second {
		t.Errorf("Allow() after the burst = %v, %v; want refused, 3s", ok, wait)
	}
	clock.Advance(time.Second)
	if ok, wait := l.Allow("198.51.100.7"); ok || wait != 2*time.Second {
		t.Errorf("Allow() 1s later = %v, %v; want refused, 2s (refusals take nothing)", ok, wait)
	}
	if ok, _ := l.Allow("203.0.113.9"); !ok {
		t.Error("Allow(another client) = refused, want it unaffected")
	}
	clock.Advance(2 * time.Second)
	if ok, _ := l.Allow("198.51.100.7"); !ok {
		t.Error("Allow() once a turn was earned = refused, want allowed")
	}
	if ok, _ := l.Allow("198.51.100.7"); ok {
		t.Error("Allow() again at once = allowed, want refused (one turn earned)")
	}
}

func TestClientLimiterOff(t *testing.T) {
	t.Parallel()
	l, _ := newClientLimiter(t, ClientLimit{})
	for range 1000 {
		if ok, _ := l.Allow("198.51.100.7"); !ok {
			t.Fatal("Allow() with no limit = refused, want allowed")
		}
	}
	if n := l.Clients(); n != 0 {
		t.Errorf("Clients() with no limit = %d, want 0", n)
	}
}

// TestClientLimiterMemoryBounded: a flood from more addresses than
// MaxClients tracks at most MaxClients, the untracked ones share one
// client's budget, and idle entries make room again.
func TestClientLimiterMemoryBounded(t *testing.T) {
	t.Parallel()
	l, clock := newClientLimiter(t, ClientLimit{Every: time.Second, Burst: 2, MaxClients: 100})
	allowed := 0
	for i := range 10_000 {
		if ok, _ := l.Allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)); ok {
			allowed++
		}
	}
	if n := l.Clients(); n != 100 {
		t.Errorf("Clients() after 10000 addresses = %d, want the cap, 100", n)
	}
	// 100 tracked clients, then the shared bucket's burst of 2.
	if allowed != 102 {
		t.Errorf("requests allowed from 10000 addresses at once = %d, want 102", allowed)
	}
	if ok, _ := l.Allow("10.0.0.5"); !ok {
		t.Error("Allow(a tracked client with a turn left) = refused, want allowed")
	}
	clock.Advance(3 * time.Second) // every entry is idle: a full bucket
	if ok, _ := l.Allow("192.0.2.1"); !ok {
		t.Error("Allow(new client once entries are idle) = refused, want allowed")
	}
	if n := l.Clients(); n != 1 {
		t.Errorf("Clients() after idle entries were swept = %d, want 1", n)
	}
	// Idle entries are dropped within clientSweepIdle even when the map
	// never fills.
	clock.Advance(clientSweepIdle)
	l.Allow("192.0.2.2")
	if n := l.Clients(); n != 1 {
		t.Errorf("Clients() a minute later = %d, want 1 (only the newest)", n)
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ ip, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"},
		{"::ffff:198.51.100.7", "::ffff:198.51.100.7"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := clientKey(tt.ip); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// TestLimitPerClient drives the middleware through the service's server
// and error handler: 429 with Retry-After past the limit, a page for a
// browser, JSON otherwise, the handler not run, other clients unaffected.
func TestLimitPerClient(t *testing.T) {
	t.Parallel()
	e := NewServer(slog.New(slog.DiscardHandler), NewValidator()) // trusts no proxy
	l, _ := newClientLimiter(t, ClientLimit{Every: 10 * time.Second, Burst: 2})
	var mu sync.Mutex
	runs := 0
	e.GET("/oauth/hubspot/install", func(c echo.Context) error {
		mu.Lock()
		runs++
		mu.Unlock()
		return c.String(http.StatusOK, "ok")
	}, LimitPerClient(l))
	do := func(remote, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/oauth/hubspot/install", nil)
		req.RemoteAddr = remote
		// Ignored: no proxy is trusted.
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", len(accept)))
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if rec := do("198.51.100.7:40000", ""); rec.Code != http.StatusOK {
			t.Fatalf("request #%d = %d, want 200 within the burst", i+1, rec.Code)
		}
	}
	rec := do("198.51.100.7:40001", "")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "10" {
		t.Errorf("third request = %d, Retry-After %q; want 429, 10", rec.Code, rec.Header().Get("Retry-After"))
	}
	var body struct{ Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "retry after 10 seconds") {
		t.Errorf("429 body = %q, want JSON saying when to retry", rec.Body.String())
	}
	rec = do("198.51.100.7:40002", "text/html,application/xhtml+xml;q=0.9")
	if rec.Code != http.StatusTooManyRequests || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(rec.Body.String(), "wait 10 seconds") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("browser's refused request = %d %q %q, want a no-store 429 page saying to wait", rec.Code, rec.Header(), rec.Body.String())
	}
	if rec := do("203.0.113.9:5000", ""); rec.Code != http.StatusOK {
		t.Errorf("another client = %d, want 200", rec.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	if runs != 3 {
		t.Errorf("handler runs = %d, want 3 (none for refused requests)", runs)
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	_, proxies, err := net.ParseCIDR("10.1.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted []*net.IPNet
		remote  string
		xff     string
		want    string
	}{
		{"no proxy: the peer", nil, "198.51.100.7:1234", "", "198.51.100.7"},
		{"no proxy: forwarded header ignored", nil, "198.51.100.7:1234", "192.0.2.1", "198.51.100.7"},
		{"no proxy: loopback peer's header ignored", nil, "127.0.0.1:1234", "192.0.2.1", "127.0.0.1"},
		{"trusted proxy: the client it saw", []*net.IPNet{proxies}, "10.1.2.3:1234", "192.0.2.1", "192.0.2.1"},
		{"trusted proxy: a client's own header is not trusted", []*net.IPNet{proxies}, "10.1.2.3:1234", "203.0.113.66, 192.0.2.1", "192.0.2.1"},
		{"trusted proxy chain", []*net.IPNet{proxies}, "10.1.2.3:1234", "192.0.2.1, 10.1.9.9", "192.0.2.1"},
		{"untrusted peer's header ignored", []*net.IPNet{proxies}, "198.51.100.7:1234", "192.0.2.1", "198.51.100.7"},
		{"private peer not trusted unless listed", []*net.IPNet{proxies}, "192.168.1.1:1234", "192.0.2.1", "192.168.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := ClientIP(tt.trusted)(req); got != tt.want {
				t.Errorf("ClientIP(%v)(%s, XFF %q) = %q, want %q", tt.trusted, tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}
