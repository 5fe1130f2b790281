package actions

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/store"
)

// APIKeys keeps one provider's per-portal API keys (Clearbit, Stripe) in
// the store, which seals them, and falls back to the app-wide default key
// for the portals its AppKeyAccess allows (appkey.go). It is safe for
// concurrent use.
//
// It keeps no copy of a key between calls: every lookup reads the portal's
// row (one primary-key read on the store's reader pool, about 8 µs, next
// to an upstream call of tens of milliseconds). So a key removed in any
// way — the settings page, `portals remove` in another process, another
// replica, an uninstall — is never used again once its deletion commits,
// with nothing to invalidate. A cache would need a read per use to learn of
// removals in other processes, which costs what it saves.
type APIKeys struct {
	db          *store.DB
	provider    string
	fallback    string
	settingsURL string
	label       string
	access      AppKeyAccess // who may use fallback (appkey.go)
}

// NewAPIKeys returns the key store of provider (as named in the database,
// e.g. "clearbit"); label is the provider's display name for messages,
// fallback the app-wide key ("" for none) and settingsURL where admins
// enter keys.
func NewAPIKeys(db *store.DB, provider, label, fallback, settingsURL string) *APIKeys {
	return &APIKeys{db: db, provider: provider, label: label, fallback: fallback, settingsURL: settingsURL}
}

// Key returns the portal's own key, else the app-wide key if the portal may
// use it, else a NOT_CONNECTED error telling the admin where to enter one.
// It counts nothing against the app key's quota: actions get their key
// through Use.
func (k *APIKeys) Key(ctx context.Context, portalID int64) (string, error) {
	key, _, err := k.resolve(ctx, portalID)
	return key, err
}

// PortalOwned reports whether the portal uses a key of its own (false: the
// app's default, or none).
func (k *APIKeys) PortalOwned(ctx context.Context, portalID int64) bool {
	_, portal, _ := k.resolve(ctx, portalID)
	return portal
}

func (k *APIKeys) resolve(ctx context.Context, portalID int64) (string, bool, error) {
	ak, err := k.db.GetAPIKey(ctx, portalID, k.provider)
	switch {
	case err == nil:
		return ak.Secret, true, nil
	case errors.Is(err, store.ErrNotFound):
		if k.fallback == "" {
			return "", false, Fail(CodeNotConnected, "No %s API key is set up for this HubSpot account. An admin can enter one on the app's settings page: %s", k.label, k.settingsURL)
		}
		if !k.access.Allows(portalID) {
			return "", false, k.notAllowed()
		}
		return k.fallback, false, nil
	case errors.Is(err, store.ErrMisplaced):
		// The stored key was sealed for another portal's row: it is not
		// this portal's to use, and the app-wide key is no substitute.
		e := Fail(CodeNotConnected, "The %s API key saved for this HubSpot account cannot be used. An admin must enter it again on the app's settings page: %s", k.label, k.settingsURL)
		e.Err = err
		return "", false, e
	default:
		return "", false, err
	}
}

// Save stores a portal's key (the store seals it). The caller has verified
// it.
func (k *APIKeys) Save(ctx context.Context, portalID int64, key string) error {
	now := time.Now()
	return k.db.Write(ctx, func(tx *store.Tx) error {
		return tx.SaveAPIKey(ctx, store.APIKey{PortalID: portalID, Provider: k.provider, Secret: key,
			Hint: MaskKey(key), VerifiedAt: now, UpdatedAt: now})
	})
}

// Delete removes a portal's key; the default applies again, from the next
// lookup on.
func (k *APIKeys) Delete(ctx context.Context, portalID int64) error {
	return k.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.DeleteAPIKey(ctx, portalID, k.provider)
		return err
	})
}

// KeyInfo describes a portal's key without revealing it.
type KeyInfo struct {
	Provider   string
	Label      string
	Own        bool      // the portal entered a key
	Hint       string    // masked form of the portal's key
	VerifiedAt time.Time // when the portal's key was last checked
	HasDefault bool      // an app-wide default exists and the portal may use it
}

// Info describes a portal's key.
func (k *APIKeys) Info(ctx context.Context, portalID int64) (KeyInfo, error) {
	info := KeyInfo{Provider: k.provider, Label: k.label, HasDefault: k.hasDefault(portalID)}
	// Listing does not open the keys: describing one needs no secret.
	aks, err := k.db.ListAPIKeys(ctx, portalID)
	if err != nil {
		return info, err
	}
	for _, ak := range aks {
		if ak.Provider == k.provider {
			info.Own, info.Hint, info.VerifiedAt = true, ak.Hint, ak.VerifiedAt
		}
	}
	return info, nil
}

// Provider returns the provider's name in the database.
func (k *APIKeys) Provider() string { return k.provider }

// Label returns the provider's display name.
func (k *APIKeys) Label() string { return k.label }

// MaskKey shows only what identifies a key: its prefix (up to the last
// underscore, as in sk_test_) and last four characters.
func MaskKey(key string) string {
	key = strings.TrimSpace(key)
	prefix := ""
	if i := strings.LastIndex(key, "_"); i >= 0 && i < 12 {
		prefix = key[:i+1]
	}
	if len(key)-len(prefix) <= 8 {
		return prefix + "…"
	}
	return prefix + "…" + key[len(key)-4:]
}

// Card is the settings page's card of a provider whose key admins enter:
// whose key is in use, and the form to enter, replace or remove one. help
// says where to find the key.
func (k *APIKeys) Card(ctx context.Context, portalID int64, help string) (Card, error) {
	ki, err := k.Info(ctx, portalID)
	if err != nil {
		return Card{}, err
	}
	c := Card{Provider: k.provider, Label: k.label, Short: k.label,
		Key: &KeyCard{Help: help, Own: ki.Own, Hint: ki.Hint, VerifiedAt: ki.VerifiedAt, HasDefault: ki.HasDefault}}
	switch {
	case ki.Own:
		c.Status, c.Badge = CardConnected, "Your key"
	case ki.HasDefault:
		c.Status, c.Badge = CardDefault, "App default"
		if c.Detail, err = k.quotaDetail(ctx, portalID); err != nil {
			return Card{}, err
		}
	default:
		c.Status, c.Badge = CardNotConnected, "Not connected"
	}
	return c, nil
}

// KeyedProvider gives a provider whose admins enter an API key what
// KeyProvider asks beyond its actions: no routes of its own, the key card
// on the settings page, the key store and the key check. Embed it.
type KeyedProvider struct {
	keys   *APIKeys
	help   string
	verify func(ctx context.Context, key string) error
	test   *Card // the card of a test-mode twin, which has no key store
}

// NewKeyedProvider returns the settings-page side of a provider whose keys
// live in keys; help says where an admin finds a key, verify checks one
// with a cheap call to the provider.
func NewKeyedProvider(keys *APIKeys, help string, verify func(ctx context.Context, key string) error) KeyedProvider {
	return KeyedProvider{keys: keys, help: help, verify: verify}
}

// Routes mounts nothing: an API-key provider has no connect flow.
func (KeyedProvider) Routes(*echo.Echo) {}

// Card is the provider's key form on the settings page.
func (k KeyedProvider) Card(ctx context.Context, portalID int64) (Card, error) {
	if k.test != nil {
		return *k.test, nil
	}
	return k.keys.Card(ctx, portalID, k.help)
}

// Keys is the store of portals' keys.
func (k KeyedProvider) Keys() *APIKeys { return k.keys }

// VerifyKey checks a key with one cheap call to the provider.
func (k KeyedProvider) VerifyKey(ctx context.Context, key string) error { return k.verify(ctx, key) }
