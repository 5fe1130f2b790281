package actions

import (
	"bytes"
	"html/template"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/oauth"
)

// ClientLimit is the pace allowed to one client (an IP address, an IPv6
// /64) on the routes anyone may call: a token bucket refilled with one
// request every Every, holding at most Burst.
type ClientLimit struct {
	Every time.Duration // time to earn one request; 0 or less: no limit
	Burst int           // requests that may come at once; less than 1 counts as 1
	// MaxClients bounds the clients tracked at once (default
	// DefaultMaxClients). When that many are busy, clients not yet tracked
	// share one bucket of the same pace until entries go idle, so a flood
	// from many addresses costs bounded memory and still reaches the
	// database at one client's pace.
	MaxClients int
}

// DefaultMaxClients is ClientLimit.MaxClients' default: about 640 KB of
// entries (IPv6 /64 keys, measured).
const DefaultMaxClients = 10_000

// ClientLimiter paces requests per client for LimitPerClient. It refuses at
// once rather than queue (LocalLimiter waits for a turn, which a front door
// must not: a waiting request holds a connection), and it keeps a bounded
// map. It is safe for concurrent use and starts no goroutine: idle entries
// are dropped by Allow, at most once a second.
//
// A client's entry is the theoretical arrival time of the generic cell rate
// algorithm: a request at now is allowed when tat - now <= (Burst-1)*Every,
// and moves tat to max(tat, now) + Every. An entry whose tat has passed is
// a full bucket, which a new entry equals, so dropping it loses nothing; an
// entry is thus needed at most Burst*Every after its client's last request.
type ClientLimiter struct {
	every   int64 // nanoseconds
	tau     int64 // (Burst-1)*Every, nanoseconds
	max     int
	enabled bool
	now     func() time.Time

	mu        sync.Mutex
	clients   map[string]int64 // client → tat, Unix nanoseconds
	overflow  int64            // tat of the bucket clients share when the map is full
	nextSweep int64            // no sweep before then (at most one a clientSweepEvery)
	lastSweep int64
}

// Allow walks the map for idle entries when it is full, at most once a
// clientSweepEvery, and otherwise once a clientSweepIdle, so that idle
// entries do not linger after a busy spell.
const (
	clientSweepEvery = time.Second
	clientSweepIdle  = time.Minute
)

// NewClientLimiter returns a limiter pacing every client to lim.
func NewClientLimiter(lim ClientLimit) *ClientLimiter {
	burst := max(lim.Burst, 1)
	if lim.MaxClients <= 0 {
		lim.MaxClients = DefaultMaxClients
	}
	return &ClientLimiter{
		every:   int64(lim.Every),
		tau:     int64(burst-1) * int64(lim.Every),
		max:     lim.MaxClients,
		enabled: lim.Every > 0,
		now:     time.Now,
		clients: make(map[string]int64),
	}
}

// SetClock replaces the limiter's clock, for tests. Call it before use.
func (l *ClientLimiter) SetClock(now func() time.Time) { l.now = now }

// Allow takes one request's turn for client. When there is none it takes
// nothing and returns false and how long until the next turn.
func (l *ClientLimiter) Allow(client string) (bool, time.Duration) {
	if !l.enabled {
		return true, 0
	}
	now := l.now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, tracked := l.clients[client]
	if now >= l.nextSweep && (!tracked && len(l.clients) >= l.max || now >= l.lastSweep+int64(clientSweepIdle)) {
		l.sweep(now)
	}
	shared := !tracked && len(l.clients) >= l.max
	if shared {
		tat = l.overflow
	}
	tat = max(tat, now)
	if wait := tat - l.tau - now; wait > 0 {
		return false, time.Duration(wait)
	}
	if shared {
		l.overflow = tat + l.every
	} else {
		l.clients[client] = tat + l.every
	}
	return true, 0
}

// sweep drops idle entries. l.mu must be held.
func (l *ClientLimiter) sweep(now int64) {
	for k, tat := range l.clients {
		if tat <= now {
			delete(l.clients, k)
		}
	}
	l.lastSweep, l.nextSweep = now, now+int64(clientSweepEvery)
}

// Clients reports how many clients the limiter tracks now.
func (l *ClientLimiter) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// LimitPerClient is the middleware of the routes anyone may call (the
// HubSpot install and callback, providers' OAuth callbacks, webhooks): each
// client, by c.RealIP() (see ClientIP for what to trust), gets l's pace.
// Past it the request is answered 429 with Retry-After in seconds and
// no-store, and the handler does not run: a page for a browser (Accept
// text/html), the service's JSON error shape otherwise. A refusal is
// logged by the request log only.
func LimitPerClient(l *ClientLimiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ok, wait := l.Allow(clientKey(c.RealIP()))
			if ok {
				return next(c)
			}
			secs := int(math.Ceil(wait.Seconds()))
			h := c.Response().Header()
			h.Set("Retry-After", strconv.Itoa(secs))
			h.Set("Cache-Control", "no-store")
			if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), echo.MIMETextHTML) && c.Request().Method != http.MethodHead {
				var b bytes.Buffer
				if err := tooManyTmpl.Execute(&b, secs); err != nil {
					return err
				}
				// Its inline style is allowed by its hash, nothing else.
				h.Set("Content-Security-Policy", tooManyCSP)
				return c.HTMLBlob(http.StatusTooManyRequests, b.Bytes())
			}
			// The error handler's JSON shape, written here: a flood must not
			// cost a refusal log line per request on top of the request log.
			return c.JSON(http.StatusTooManyRequests, map[string]string{"error": "too many requests from this address; retry after " + strconv.Itoa(secs) + " seconds"})
		}
	}
}

// tooManyStyle is the 429 page's one inline style; tooManyCSP allows it by
// its hash (the default policy, style-src 'self', would block it).
const tooManyStyle = `body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#33475b}`

var tooManyCSP = oauth.StylePolicy(tooManyStyle)

var tooManyTmpl = template.Must(template.New("429").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Too many requests</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>` + tooManyStyle + `</style>
</head><body><h1>Too many requests</h1><p>Too many requests came from your network just now. Please wait {{.}} seconds and try again.</p></body></html>
`))

// clientKey is the key a client is paced by: its IPv4 address, or the /64
// of its IPv6 address (one subscriber's usual allocation, every address of
// which would otherwise be a fresh client).
func clientKey(ip string) string {
	p := net.ParseIP(ip)
	if p == nil || p.To4() != nil {
		return ip
	}
	return p.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// ClientIP returns the server's IPExtractor (what c.RealIP() answers).
// With no trusted proxies it is the connection's peer address, and
// forwarding headers are ignored: anyone can write them. Behind proxies,
// pass their ranges: the client is then the nearest address in
// X-Forwarded-For that is not one of them, so a client cannot pick its
// own address by sending the header itself. Nothing else is trusted (not
// even loopback or private ranges, which echo's extractor trusts by
// default).
func ClientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
