package actions

import (
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// TestLimitPerClientPagePolicy: the 429 page a browser gets keeps the strict
// policy of every page (no scripts, no framing), and that policy allows
// the page's inline style by its hash, so the page shows as designed.
func TestLimitPerClientPagePolicy(t *testing.T) {
	t.Parallel()
	e := NewServer(slog.New(slog.DiscardHandler), NewValidator())
	l, _ := newClientLimiter(t, ClientLimit{Every: time.Minute, Burst: 1})
	e.GET("/oauth/hubspot/install", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, LimitPerClient(l))
	var rec *httptest.ResponseRecorder
	for range 2 {
		req := httptest.NewRequest(http.MethodGet, "/oauth/hubspot/install", nil)
		req.Header.Set("Accept", "text/html")
		rec = httptest.NewRecorder()
		e.ServeHTTP(rec, req)
	}
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second request = %d, want 429", rec.Code)
	}
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("the 429 page has no inline style:\n%s", rec.Body.String())
	}
	sum := sha256.Sum256([]byte(m[1]))
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("the 429 page's policy %q does not allow its inline style", csp)
	}
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the 429 page's policy %q lacks %s", csp, want)
		}
	}
}
