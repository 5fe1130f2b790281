package actions_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
)

// TestSecurityHeaders: every answer of the server, error pages and unknown
// routes included, forbids sniffing, framing and referrers; every HTML
// answer carries the strict policy unless its handler set its own.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := actions.NewServer(slog.New(slog.DiscardHandler), actions.NewValidator())
	const own = "default-src 'none'; style-src 'sha256-abc'"
	e.GET("/html", func(c echo.Context) error { return c.HTML(http.StatusOK, "<p>hi</p>") })
	e.GET("/own", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", own)
		return c.HTML(http.StatusOK, "<p>hi</p>")
	})
	e.GET("/json", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]int{"a": 1}) })
	e.GET("/fail", func(c echo.Context) error { return errors.New("boom") })
	e.GET("/page/fail", func(c echo.Context) error { return errors.New("boom") }, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { actions.SetErrorPage(c, htmlPage{}); return next(c) }
	})
	e.POST("/nothing", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	tests := []struct {
		method, path string
		status       int
		csp          string
	}{
		{http.MethodGet, "/html", 200, actions.ContentSecurityPolicy},
		{http.MethodGet, "/own", 200, own},
		{http.MethodGet, "/json", 200, ""},
		{http.MethodGet, "/fail", 500, ""},
		{http.MethodGet, "/page/fail", 500, actions.ContentSecurityPolicy},
		{http.MethodGet, "/nowhere", 404, ""},
		{http.MethodPost, "/html", 405, ""},
		{http.MethodPost, "/nothing", 204, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		h := rec.Header()
		if rec.Code != tt.status {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
		for k, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
			"Content-Security-Policy": tt.csp,
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s %s: %s = %q, want %q", tt.method, tt.path, k, got, want)
			}
		}
	}
}
