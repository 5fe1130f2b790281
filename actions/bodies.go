package actions

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// BodyGuard bounds how request bodies are read, so slow clients cannot hold
// the server's connections and memory: every body must arrive within a
// deadline, and only so many bodies read before the caller is known to be
// genuine (HubSpot's signed requests, whose signature covers the body) are
// read at once. A connection whose body broke either rule is closed once it
// is answered. Create one with NewBodyGuard; it is safe for concurrent use.
type BodyGuard struct {
	timeout time.Duration
	slots   chan struct{}
	m       *Metrics
}

// DefaultBodyTimeout and DefaultMaxUnauthenticatedBodies are the guard's
// defaults (BODY_READ_TIMEOUT, MAX_UNAUTHENTICATED_BODIES).
const (
	DefaultBodyTimeout              = 10 * time.Second
	DefaultMaxUnauthenticatedBodies = 64
)

// NewBodyGuard returns a guard giving each body timeout to arrive (after
// its headers) and letting at most maxUnauthenticated bodies be read at once
// by LimitBodies. Zero or negative values take the defaults. m (not nil)
// counts the requests it refuses and the bodies it lets be read.
func NewBodyGuard(timeout time.Duration, maxUnauthenticated int, m *Metrics) *BodyGuard {
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	if maxUnauthenticated <= 0 {
		maxUnauthenticated = DefaultMaxUnauthenticatedBodies
	}
	return &BodyGuard{timeout: timeout, slots: make(chan struct{}, maxUnauthenticated), m: m}
}

// Deadline is server-wide middleware (register it with e.Pre) that gives
// the body of every request the guard's timeout to arrive. A read past the
// deadline fails (see IsBodyTimeout); the answer then closes the
// connection, as does any answer given before the body was read to its
// end, without waiting for the rest of it (beyond a moment for what is
// already on its way). Once the body is read the deadline is lifted, so a
// handler working longer is not cut short.
func (g *BodyGuard) Deadline() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Body == nil || r.Body == http.NoBody {
				return next(c)
			}
			rc := http.NewResponseController(c.Response())
			if err := rc.SetReadDeadline(time.Now().Add(g.timeout)); err != nil {
				// Not a network connection (an in-process test): nothing
				// to bound.
				return next(c)
			}
			b := &watchedBody{ReadCloser: r.Body, left: r.ContentLength}
			b.onEnd = append(b.onEnd, func(err error) {
				if err == nil {
					_ = rc.SetReadDeadline(time.Time{}) // it worked above
					return
				}
				if IsBodyTimeout(err) {
					g.m.bodyRefusals.WithLabelValues("timeout").Inc()
				}
			})
			r.Body = b
			c.Response().Before(func() {
				if !b.complete() {
					// The rest of the body would have to be read (and
					// waited for) to keep the connection: close it instead.
					c.Response().Header().Set(echo.HeaderConnection, "close")
				}
			})
			err := next(c)
			if !b.complete() {
				// net/http reads (and discards) what is left of a body the
				// handler did not read, before closing. Let it take what
				// has already arrived, so the close does not reset the
				// connection under an answer not yet read (a refused form
				// whose body is in), but not wait for the rest.
				_ = rc.SetReadDeadline(time.Now().Add(drainGrace)) // it worked above
			}
			return err
		}
	}
}

// LimitBodies is middleware for routes that read a body before the caller
// is authenticated (HubSpot's signed action and options requests; HubSpot's
// webhooks). At most the guard's maxUnauthenticated such bodies are read at
// once, across all the routes it guards: a request beyond that is answered
// 503 at once, with Retry-After and Connection: close, without reading its
// body. A request holds its place only while its body is being read.
func (g *BodyGuard) LimitBodies() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Body == nil || r.Body == http.NoBody {
				return next(c)
			}
			select {
			case g.slots <- struct{}{}:
			default:
				g.m.bodyRefusals.WithLabelValues("busy").Inc()
				h := c.Response().Header()
				h.Set("Retry-After", strconv.Itoa(retryAfterBusy))
				h.Set(echo.HeaderConnection, "close")
				return echo.NewHTTPError(http.StatusServiceUnavailable, "too many requests are sending their bodies right now; retry later")
			}
			g.m.bodiesReading.Inc()
			released := false
			release := func(error) {
				if !released {
					released = true
					g.m.bodiesReading.Dec()
					<-g.slots
				}
			}
			defer release(nil)
			b := &watchedBody{ReadCloser: r.Body, left: r.ContentLength, onEnd: []func(error){release}}
			r.Body = b
			return next(c)
		}
	}
}

// drainGrace is how long the rest of an unread body may still be read
// (and discarded) after the answer, before the connection closes.
const drainGrace = 100 * time.Millisecond

// retryAfterBusy is the Retry-After, in seconds, of a request refused by
// LimitBodies.
const retryAfterBusy = 1

// IsBodyTimeout reports whether err is a request body that did not arrive
// within the deadline (Deadline): the client's fault, never a 5xx.
func IsBodyTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// watchedBody is a request body that reports, once, how its reading ended:
// nil when it was read to its end, else the read error.
type watchedBody struct {
	io.ReadCloser
	left  int64 // bytes still to come when the length was declared, else -1
	ended bool  // reading ended: read to its end, or failed
	whole bool  // read to its end
	onEnd []func(err error)
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	switch {
	case err == io.EOF || err == nil && b.left == 0:
		// A decoder that stops at the last byte has read it all too.
		b.end(nil)
	case err != nil:
		b.end(err)
	}
	return n, err
}

// complete reports whether the body was read to its end.
func (b *watchedBody) complete() bool { return b.whole }

func (b *watchedBody) end(err error) {
	if b.ended {
		return
	}
	b.ended = true
	b.whole = err == nil
	for _, f := range b.onEnd {
		f(err)
	}
}
