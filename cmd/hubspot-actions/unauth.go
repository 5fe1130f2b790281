package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions"
)

// The default pace of one client on the routes anyone may call (the HubSpot
// install and its callback, providers' OAuth callbacks): 20 at once, then
// one every 3 seconds. An admin installing makes two or three such requests
// (a reconnect or a retry a few more), so even an office behind one address
// installing together never meets it, while a flood from one address
// reaches the database at a third of a request per second.
const (
	defaultUnauthRate  = "20/min"
	defaultUnauthBurst = 20
)

// The default pace of one client on POST /hubspot/webhooks. HubSpot sends
// every portal's events from a few addresses, at most maxConcurrentRequests
// (10) at once, each batch answered in milliseconds: 100 a second with 500
// at once leaves it room, and HubSpot retries a 429 (up to 10 times over 24
// hours), so a burst above it is delayed, not lost. Only a signed batch
// writes, so the pace bounds the CPU an unsigned flood costs.
const (
	defaultWebhookRate  = "100/s"
	defaultWebhookBurst = 500
)

// The default pace of one client on the public read-only pages (the setup
// guide, the stylesheet, the signed-out page), which write nothing: 100 at
// once, then 10 a second, far above a reader's or an admin's browsing.
const (
	defaultPublicRate  = "10/s"
	defaultPublicBurst = 100
)

// loadUnauthConfig reads UNAUTH_RATE_LIMIT, UNAUTH_RATE_BURST,
// WEBHOOK_RATE_LIMIT, WEBHOOK_RATE_BURST, PUBLIC_RATE_LIMIT,
// PUBLIC_RATE_BURST and TRUSTED_PROXIES into cfg,
// returning what is wrong with them.
func loadUnauthConfig(cfg *config, get func(k, def string) string) []error {
	var errs []error
	cfg.UnauthLimit, errs = clientLimit(get, "UNAUTH", defaultUnauthRate, defaultUnauthBurst, errs)
	cfg.WebhookLimit, errs = clientLimit(get, "WEBHOOK", defaultWebhookRate, defaultWebhookBurst, errs)
	cfg.PublicLimit, errs = clientLimit(get, "PUBLIC", defaultPublicRate, defaultPublicBurst, errs)
	proxies, err := parseProxies(get("TRUSTED_PROXIES", ""))
	if err != nil {
		errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %w", err))
	}
	cfg.TrustedProxies = proxies
	return errs
}

// clientLimit reads <prefix>_RATE_LIMIT and <prefix>_RATE_BURST.
func clientLimit(get func(k, def string) string, prefix, defRate string, defBurst int, errs []error) (actions.ClientLimit, []error) {
	every, err := parseRate(get(prefix+"_RATE_LIMIT", defRate))
	if err != nil {
		errs = append(errs, fmt.Errorf("%s_RATE_LIMIT: %w", prefix, err))
	}
	burst := defBurst
	if v := get(prefix+"_RATE_BURST", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			errs = append(errs, fmt.Errorf("%s_RATE_BURST: %q is not a whole number from 1 to 10000", prefix, v))
		} else {
			burst = n
		}
	}
	return actions.ClientLimit{Every: every, Burst: burst}, errs
}

// parseRate reads a rate such as 20/min, 2/s or 600/h as the time to earn
// one request; "off" (or 0/min) is no limit, returned as 0.
func parseRate(v string) (time.Duration, error) {
	if strings.EqualFold(v, "off") {
		return 0, nil
	}
	n, unit, ok := strings.Cut(v, "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	per := map[string]time.Duration{"s": time.Second, "sec": time.Second, "m": time.Minute, "min": time.Minute, "h": time.Hour, "hour": time.Hour}[strings.ToLower(strings.TrimSpace(unit))]
	if !ok || err != nil || count < 0 || per == 0 {
		return 0, fmt.Errorf("%q is not a rate such as 20/min, 2/s or 600/h (or off)", v)
	}
	if count == 0 {
		return 0, nil
	}
	every := per / time.Duration(count)
	if every <= 0 {
		return 0, fmt.Errorf("%q is faster than one request a nanosecond", v)
	}
	return every, nil
}

// parseProxies reads a list of IP addresses and CIDR ranges separated by
// commas or spaces.
func parseProxies(v string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	var bad []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if ip := net.ParseIP(f); ip != nil {
			bits := 8 * len(ip.To16())
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(f)
		if err != nil {
			bad = append(bad, strconv.Quote(f))
			continue
		}
		out = append(out, n)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: want IP addresses or CIDR ranges (such as 10.0.0.0/8), separated by commas", strings.Join(bad, ", "))
	}
	return out, nil
}
