package actions

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"hubspot-actions/store"
)

// ErrorPage renders a failed request as a page for a browser. Middleware of
// HTML routes (the admin pages) stores one with SetErrorPage; the error
// handler then calls it instead of answering JSON. message is the public
// message of the error, or the handler's generic one.
type ErrorPage interface {
	ErrorPage(c echo.Context, status int, message string) error
}

// ctxErrorPage is the context key of the request's ErrorPage.
const ctxErrorPage = "actions.error_page"

// SetErrorPage makes errors of this request render through p.
func SetErrorPage(c echo.Context, p ErrorPage) { c.Set(ctxErrorPage, p) }

// NewValidator returns the one validator of the service: the server's
// (NewServer) and the runtime's (NewRuntime) are the same instance.
func NewValidator() *validator.Validate {
	return validator.New(validator.WithRequiredStructEnabled())
}

// NewServer returns an Echo server with the service's middleware (security
// headers, request id, panic recovery, request log), its error handler, the
// validator v (from NewValidator) and ClientIP(nil) as its IPExtractor.
// Every request is logged once through log, with the portal, action and
// callback id that handlers set on the context.
func NewServer(log *slog.Logger, v *validator.Validate) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Validator = &echoValidator{v: v}
	e.HTTPErrorHandler = httpErrorHandler(log)
	// c.RealIP() is the peer unless the caller trusts proxies (ClientIP):
	// echo's fallback believes any client's X-Forwarded-For.
	e.IPExtractor = ClientIP(nil)
	// Before routing, so unknown routes' answers get the headers too.
	e.Pre(SecurityHeaders())
	e.Use(middleware.RequestID())
	e.Use(middleware.Recover())
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogMethod:    true,
		LogURIPath:   true, // never the query: OAuth callbacks carry codes in it
		LogLatency:   true,
		LogRequestID: true,
		LogError:     true,
		HandleError:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			var buf [5 + len(requestLogKeys)]slog.Attr // on the stack
			attrs := append(buf[:0],
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Float64("latency_ms", float64(v.Latency.Microseconds())/1000),
				slog.String("request_id", v.RequestID),
			)
			for _, k := range requestLogKeys {
				if val := c.Get(k); val != nil {
					attrs = append(attrs, slog.Any(k, val))
				}
			}
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	}))
	return e
}

// requestLogKeys are the context values handlers set for the request log.
var requestLogKeys = [...]string{"portal_id", "action", "callback_id", "hs_execution_state"}

type echoValidator struct{ v *validator.Validate }

func (ev *echoValidator) Validate(i any) error { return ev.v.Struct(i) }

// httpErrorHandler turns a handler's error into the one JSON error shape:
// HTTP errors keep their code and public message, store.ErrNotFound is a
// 404, validation errors a 400 naming the fields, anything else a 500
// "internal error". A request with an ErrorPage (see SetErrorPage) gets
// that page instead, except for HEAD. 5xx are logged with the full chain,
// the rest at Info.
func httpErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, body := http.StatusInternalServerError, map[string]any{"error": "internal error"}
		var he *echo.HTTPError
		var ve validator.ValidationErrors
		switch {
		case errors.As(err, &he):
			code = he.Code
			if msg, ok := he.Message.(string); ok {
				body = map[string]any{"error": msg}
			} else {
				body = map[string]any{"error": http.StatusText(code)}
			}
		case errors.Is(err, store.ErrNotFound):
			code, body = http.StatusNotFound, map[string]any{"error": "not found"}
		case errors.As(err, &ve):
			fields := map[string]string{}
			for _, fe := range ve {
				fields[fe.Field()] = fe.Tag()
			}
			code, body = http.StatusBadRequest, map[string]any{"error": "invalid request", "fields": fields}
		}
		if p, ok := c.Get(ctxErrorPage).(ErrorPage); ok && c.Request().Method != http.MethodHead {
			// An HTML page: the browser gets a page, not JSON.
			msg, _ := body["error"].(string)
			if code == http.StatusBadRequest && errors.As(err, &ve) {
				msg = addressProblem(ve)
			}
			logRefusal(log, c, code, err)
			if err := p.ErrorPage(c, code, msg); err != nil {
				log.Error("write error page", "err", err)
			}
			return
		}
		logRefusal(log, c, code, err)
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(code)
		} else {
			err = c.JSON(code, body)
		}
		if err != nil {
			log.Error("write error response", "err", err)
		}
	}
}

// logRefusal logs a failed request: 5xx at Error with the full chain, the
// rest at Info.
func logRefusal(log *slog.Logger, c echo.Context, code int, err error) {
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	if code >= 500 {
		log.Error("request failed", "status", code, "path", c.Request().URL.Path, "request_id", rid, "err", err)
	} else {
		log.Info("request refused", "status", code, "path", c.Request().URL.Path, "request_id", rid, "err", err)
	}
}

// addressProblem names, for a page, the values of the address that are not
// valid: the fields of a query's struct are named as its parameters
// (lower case), so the admin sees which one to fix.
func addressProblem(ve validator.ValidationErrors) string {
	var names []string
	for _, fe := range ve {
		if n := strings.ToLower(fe.Field()); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 1 {
		return "The value of " + names[0] + " in the address is not valid."
	}
	return "These values in the address are not valid: " + strings.Join(names, ", ") + "."
}
