package actions

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Test mode: each provider's twin (built with Deps.TestMode from the
// configuration Module.TestFake returns) answers its actions from its
// fake with fixed test credentials, whoever the portal is and whatever it
// connected. The helpers below are what the twins share.

// TestKey returns the KeyFunc of a key provider's twin: secret, the fixed
// key its fake accepts, as the portal's own key (so the fake's fixtures
// are visible to every portal) for every execution. It reads no store and
// counts no quota.
func TestKey(secret string) KeyFunc {
	return func(context.Context, *Execution) (Key, error) { return OwnKey(secret), nil }
}

// TestSecret returns the fixed secret of that name a twin uses instead of
// the app's own (Deps.AppSecret): what it derives (code suffixes) is
// only ever sent to a fake, and reading it writes nothing.
func TestSecret(name string) []byte {
	sum := sha256.Sum256([]byte("hubspot-actions test mode\x00" + name))
	return sum[:]
}

// TestLimiter returns an in-process limiter for a twin, which shares no
// budget with the live provider nor through the database.
func TestLimiter(_ string, l Limit) Limiter { return NewLimiter(l) }

// TestModeCard is the settings card of a provider's twin: it is answered
// by its fake, so there is nothing to connect.
func TestModeCard(provider, label string) Card {
	return Card{Provider: provider, Label: label, Short: label, Status: CardConnected, Badge: "Test mode",
		Detail: "In test mode, " + label + " actions are answered by a stand-in that calls no real " + label + " account."}
}

// errTestMode refuses to verify or save a key in test mode.
var errTestMode = errors.New("test mode: no key is verified or saved")

// NewTestKeyedProvider returns the settings side of a key provider's twin:
// no key store, a TestModeCard, and a VerifyKey that refuses.
func NewTestKeyedProvider(provider, label string) KeyedProvider {
	c := TestModeCard(provider, label)
	return KeyedProvider{test: &c, verify: func(context.Context, string) error { return errTestMode }}
}

// PortalFakes serves each portal's test-mode calls from a fake of its
// own, so that no portal's test data (customers, invoices, leads, codes)
// is ever seen or changed by another's: a request to
// PortalFakePath(portalID)+"/…" is served by that portal's fake with the
// prefix removed. A portal's fake is made on its first request; past max
// portals, the one used least recently is dropped (its test data with
// it). It is safe for concurrent use.
type PortalFakes struct {
	newFake func() http.Handler
	max     int

	mu    sync.Mutex
	fakes map[int64]*list.Element // of *portalFake
	order *list.List              // most recently used first
}

type portalFake struct {
	portalID int64
	h        http.Handler
}

// DefaultPortalFakes is how many portals' fakes NewPortalFakes keeps when
// max is 0.
const DefaultPortalFakes = 500

// NewPortalFakes returns the per-portal fakes made by newFake, keeping at
// most max (0: DefaultPortalFakes).
func NewPortalFakes(newFake func() http.Handler, max int) *PortalFakes {
	if max <= 0 {
		max = DefaultPortalFakes
	}
	return &PortalFakes{newFake: newFake, max: max, fakes: map[int64]*list.Element{}, order: list.New()}
}

// PortalFakePath is the path prefix of portalID's fake, without a
// trailing slash: a twin's base URL for the portal is the fakes' URL
// followed by it.
func PortalFakePath(portalID int64) string { return "/portals/" + strconv.FormatInt(portalID, 10) }

// Portal returns portalID's fake, or nil when it has none (yet).
func (p *PortalFakes) Portal(portalID int64) http.Handler {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.fakes[portalID]; ok {
		return e.Value.(*portalFake).h
	}
	return nil
}

// fake returns portalID's fake, making it when needed.
func (p *PortalFakes) fake(portalID int64) http.Handler {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.fakes[portalID]; ok {
		p.order.MoveToFront(e)
		return e.Value.(*portalFake).h
	}
	f := &portalFake{portalID: portalID, h: p.newFake()}
	p.fakes[portalID] = p.order.PushFront(f)
	for p.order.Len() > p.max {
		old := p.order.Remove(p.order.Back()).(*portalFake)
		delete(p.fakes, old.portalID)
	}
	return f.h
}

// ServeHTTP serves a request under PortalFakePath from its portal's fake;
// any other path is a 404.
func (p *PortalFakes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/portals/")
	id, path, _ := strings.Cut(rest, "/")
	portalID, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || portalID <= 0 {
		http.NotFound(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = "/"+path, ""
	r2.RequestURI = r2.URL.RequestURI()
	p.fake(portalID).ServeHTTP(w, r2)
}
