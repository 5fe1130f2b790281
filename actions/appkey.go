package actions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"hubspot-actions/store"
)

// AppKeyAccess is which portals may use a provider's app-wide key (the
// operator's own account, which every allowed portal shares) and how many
// executions a day each of them may run with it. The zero value allows no
// portal: an operator who sets an app-wide key says explicitly who may
// spend it.
type AppKeyAccess struct {
	all     bool
	portals map[int64]bool
	quota   int64 // executions per portal per UTC day; 0: no limit
}

// AllPortals is "all" in an allow-list: every installed portal.
const AllPortals = "all"

// ParseAppKeyAccess reads an allow-list and a quota from the environment's
// values: portals is "all", a list of HubSpot portal IDs separated by
// commas or spaces, or "" for none; quota is how many executions a day each
// allowed portal may run with the key (0: no limit). Errors name the
// variables.
func ParseAppKeyAccess(portalsVar, portals, quotaVar string, quota int64) (AppKeyAccess, error) {
	var a AppKeyAccess
	var errs []error
	if quota < 0 {
		errs = append(errs, fmt.Errorf("%s: %d is negative; use a number of executions per portal per day, or 0 for no limit", quotaVar, quota))
	}
	a.quota = max(quota, 0)
	fields := strings.FieldsFunc(portals, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	for _, f := range fields {
		if strings.EqualFold(f, AllPortals) {
			a.all = true
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a HubSpot portal ID; use %q or a list of portal IDs such as 12345,67890", portalsVar, f, AllPortals))
			continue
		}
		if a.portals == nil {
			a.portals = map[int64]bool{}
		}
		a.portals[id] = true
	}
	if a.all && len(a.portals) > 0 {
		errs = append(errs, fmt.Errorf("%s: %q and a list of portal IDs exclude each other; use one", portalsVar, AllPortals))
	}
	return a, errors.Join(errs...)
}

// Allows reports whether portalID may use the app-wide key.
func (a AppKeyAccess) Allows(portalID int64) bool { return a.all || a.portals[portalID] }

// None reports whether no portal may use the app-wide key.
func (a AppKeyAccess) None() bool { return !a.all && len(a.portals) == 0 }

// Quota is how many executions a day an allowed portal may run with the
// app-wide key; 0 means no limit.
func (a AppKeyAccess) Quota() int64 { return a.quota }

// String describes the policy for logs, such as "all portals, 100
// executions a day each".
func (a AppKeyAccess) String() string {
	var who string
	switch {
	case a.all:
		who = "all portals"
	case len(a.portals) == 0:
		return "no portal"
	default:
		ids := make([]string, 0, len(a.portals))
		for id := range a.portals {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		sort.Strings(ids)
		who = "portals " + strings.Join(ids, ", ")
	}
	if a.quota == 0 {
		return who + ", no daily limit"
	}
	return fmt.Sprintf("%s, %d executions a day each", who, a.quota)
}

// WithAppKeyAccess sets which portals may use the app-wide key and their
// daily quota, and returns k. Call it before k is used; without it no
// portal may use the app-wide key.
func (k *APIKeys) WithAppKeyAccess(a AppKeyAccess) *APIKeys {
	k.access = a
	return k
}

// Use is a KeyFunc: the execution's portal's own key, else the app-wide
// key when the operator allows the portal and its daily quota has room (the
// execution is counted, once however often it runs, before anything is
// sent), else NOT_CONNECTED or RATE_LIMITED telling the admin to enter the
// account's own key. A portal's own key is never counted.
func (k *APIKeys) Use(ctx context.Context, ex *Execution) (Key, error) {
	key, own, err := k.resolve(ctx, ex.PortalID)
	if err != nil {
		return Key{}, err
	}
	if own {
		return OwnKey(key), nil
	}
	if q := k.access.Quota(); q > 0 {
		err := k.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.UseAppKey(ctx, k.provider, ex.PortalID, ex.CallbackID, q)
			return err
		})
		if errors.Is(err, store.ErrQuotaExhausted) {
			return Key{}, Fail(CodeRateLimited, "This HubSpot account has used today's allowance of the app's shared %s key (%s a day; it renews at midnight UTC). "+
				"An admin can enter the account's own %s API key on the app's settings page to go on without this limit: %s", k.label, actionCount(q), k.label, k.settingsURL).With(err)
		}
		if err != nil {
			return Key{}, fmt.Errorf("actions: count the %s app key use of portal %d: %w", k.provider, ex.PortalID, err)
		}
	}
	return SharedKey(key), nil
}

// notAllowed is the NOT_CONNECTED error of a portal the operator does not
// let use the app-wide key.
func (k *APIKeys) notAllowed() error {
	return Fail(CodeNotConnected, "No %s API key is set up for this HubSpot account, and the app's shared %s key is not available to it. "+
		"An admin can enter the account's own %s API key on the app's settings page: %s", k.label, k.label, k.label, k.settingsURL)
}

// hasDefault reports whether portalID may use an app-wide key.
func (k *APIKeys) hasDefault(portalID int64) bool {
	return k.fallback != "" && k.access.Allows(portalID)
}

// quotaDetail says, for the settings page, how much of the app key's daily
// quota the portal has used; "" when there is no quota.
func (k *APIKeys) quotaDetail(ctx context.Context, portalID int64) (string, error) {
	q := k.access.Quota()
	if q == 0 {
		return "", nil
	}
	used, err := k.db.AppKeyUsed(ctx, k.provider, portalID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("It serves this account for up to %s a day: %d used today (the count starts again at midnight UTC).", actionCount(q), used), nil
}

// actionCount is n actions, in words.
func actionCount(n int64) string {
	if n == 1 {
		return "1 action"
	}
	return strconv.FormatInt(n, 10) + " actions"
}
