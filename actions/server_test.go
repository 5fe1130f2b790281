package actions_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/store"
)

type htmlPage struct{}

func (htmlPage) ErrorPage(c echo.Context, status int, message string) error {
	return c.HTML(status, fmt.Sprintf("<p>%d %s</p>", status, message))
}

// TestServerErrors: every failure has the one JSON shape, except on routes
// whose middleware set an ErrorPage, which get it (but never for HEAD).
func TestServerErrors(t *testing.T) {
	t.Parallel()
	e := actions.NewServer(slog.New(slog.DiscardHandler), actions.NewValidator())
	type in struct {
		Name string `validate:"required"`
	}
	e.GET("/http", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "taken") })
	e.GET("/missing", func(c echo.Context) error { return fmt.Errorf("load: %w", store.ErrNotFound) })
	e.GET("/invalid", func(c echo.Context) error { return c.Validate(in{}) })
	e.GET("/boom", func(c echo.Context) error { return errors.New("secret detail") })
	page := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { actions.SetErrorPage(c, htmlPage{}); return next(c) }
	}
	e.GET("/page/invalid", func(c echo.Context) error { return c.Validate(in{}) }, page)
	e.GET("/page/boom", func(c echo.Context) error { return errors.New("secret detail") }, page)
	e.HEAD("/page/boom", func(c echo.Context) error { return errors.New("secret detail") }, page)
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodGet, "/http", 409, `{"error":"taken"}`},
		{http.MethodGet, "/missing", 404, `{"error":"not found"}`},
		{http.MethodGet, "/invalid", 400, `{"error":"invalid request","fields":{"Name":"required"}}`},
		{http.MethodGet, "/boom", 500, `{"error":"internal error"}`},
		{http.MethodGet, "/nowhere", 404, `{"error":"Not Found"}`},
		{http.MethodGet, "/page/invalid", 400, `<p>400 The value of name in the address is not valid.</p>`},
		{http.MethodGet, "/page/boom", 500, `<p>500 internal error</p>`},
		{http.MethodHead, "/page/boom", 500, ``},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if got := strings.TrimSpace(rec.Body.String()); rec.Code != tt.status || got != tt.body {
			t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, rec.Code, got, tt.status, tt.body)
		}
		if rec.Header().Get(echo.HeaderXRequestID) == "" {
			t.Errorf("%s %s: no request id", tt.method, tt.path)
		}
	}
}
