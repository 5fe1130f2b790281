package clearbit

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// reduceDomain turns what a marketer may put in a domain field — a domain,
// a website URL, an email address — into the bare, lower-case, ASCII
// domain Clearbit looks up: "https://WWW.Acme.com:443/about?x" and
// "jane@acme.com" both give "acme.com"; "bücher.de" gives
// "xn--bcher-kva.de". Its errors read after the value: `"acme" has no …`.
func reduceDomain(s string) (string, error) {
	host := strings.TrimSpace(s)
	host = strings.TrimPrefix(strings.TrimPrefix(host, "mailto:"), "MAILTO:")
	if i := strings.Index(host, "://"); i >= 0 {
		u, err := url.Parse(host)
		if err != nil || u.Host == "" {
			return "", errors.New("is not a website address such as https://acme.com")
		}
		host = u.Host
	} else {
		host = strings.TrimPrefix(host, "//")
	}
	// Cut any path, query or fragment, then any user (or email local part).
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return "", errors.New("has no domain in it")
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return "", errors.New("is an IP address, not a domain such as acme.com")
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", errors.New("is not a valid domain name")
	}
	if rest, ok := strings.CutPrefix(ascii, "www."); ok && strings.Contains(rest, ".") {
		ascii = rest
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", errors.New("has no top-level domain such as .com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "", errors.New("is not a valid domain name")
		}
	}
	if tld := labels[len(labels)-1]; !strings.HasPrefix(tld, "xn--") && strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", errors.New("has no valid top-level domain such as .com")
	}
	if len(ascii) > 253 {
		return "", errors.New("is too long for a domain name")
	}
	return ascii, nil
}
