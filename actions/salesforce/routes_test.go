package salesforce

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
)

// TestRoutesArePacedPerClient: the connect and callback routes carry
// Deps.Unauthenticated, one budget per client across both.
func TestRoutesArePacedPerClient(t *testing.T) {
	t.Parallel()
	lim := actions.NewClientLimiter(actions.ClientLimit{Every: time.Hour, Burst: 2})
	p, err := New(Config{}, actions.Deps{PublicBaseURL: "https://actions.example.com", Sessions: newMemSessions(), Unauthenticated: actions.LimitPerClient(lim)})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	p.Routes(e)
	do := func(path, remote string) int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, path := range []string{ConnectPath, CallbackPath + "?state=forged"} {
		if code := do(path, "198.51.100.7:1000"); code == http.StatusTooManyRequests {
			t.Errorf("GET %s within the budget = 429", path)
		}
	}
	for _, path := range []string{ConnectPath, CallbackPath + "?state=forged"} {
		if code := do(path, "198.51.100.7:1001"); code != http.StatusTooManyRequests {
			t.Errorf("GET %s past the budget = %d, want 429", path, code)
		}
	}
	if code := do(CallbackPath, "203.0.113.9:1000"); code == http.StatusTooManyRequests {
		t.Error("another client's callback = 429, want it unaffected")
	}
}
