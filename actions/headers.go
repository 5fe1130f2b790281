package actions

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// ContentSecurityPolicy is the policy of every HTML page that does not set
// its own: nothing but the app's own stylesheets and images, forms posting
// back to the app, never framed.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders is server-wide middleware (NewServer installs it) giving
// every response, the error handler's included, X-Content-Type-Options:
// nosniff, X-Frame-Options: DENY and Referrer-Policy: same-origin, and
// every HTML response ContentSecurityPolicy. A header the handler set
// itself is kept: a page with inline styles sets a policy naming their
// hashes.
func SecurityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			res.Before(func() { secureHeaders(res.Header()) })
			return next(c)
		}
	}
}

func secureHeaders(h http.Header) {
	setDefault := func(k, v string) {
		if _, ok := h[k]; !ok {
			h[k] = []string{v}
		}
	}
	setDefault("X-Content-Type-Options", "nosniff")
	setDefault("X-Frame-Options", "DENY")
	setDefault("Referrer-Policy", "same-origin")
	if ct := h.Get(echo.HeaderContentType); len(ct) >= len("text/html") && strings.EqualFold(ct[:len("text/html")], "text/html") {
		setDefault("Content-Security-Policy", ContentSecurityPolicy)
	}
}
