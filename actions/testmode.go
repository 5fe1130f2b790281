package actions

import (
	"context"
	"crypto/sha256"
	"errors"
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
