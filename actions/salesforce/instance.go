package salesforce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// salesforceDomains are the domains Salesforce serves orgs from: an
// instance URL must be a host under one of them (My Domain hosts such as
// acme.my.salesforce.com, older instances such as na1.salesforce.com,
// sandboxes, Experience Cloud sites).
var salesforceDomains = []string{"salesforce.com", "force.com", "cloudforce.com", "database.com"}

// errInstanceURL: a token answer's instance_url is not one the app will
// send a token to.
var errInstanceURL = errors.New("salesforce: instance URL is not a Salesforce host")

// checkInstanceURL accepts an org's instance URL only when it is an https
// origin on a Salesforce domain, or the configured login URL's own origin
// (a My Domain login URL, the fake in tests and the sandbox). Anything
// else would let a token answer point the app's calls, and so the org's
// access token, at an arbitrary host.
func (s *Provider) checkInstanceURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") || u.Host == "" {
		return fmt.Errorf("%w: %.80q is not an origin", errInstanceURL, raw)
	}
	login, _ := url.Parse(s.cfg.LoginURL)
	if login != nil && strings.EqualFold(u.Scheme, login.Scheme) && strings.EqualFold(u.Host, login.Host) {
		return nil
	}
	if u.Scheme != "https" || u.Port() != "" {
		return fmt.Errorf("%w: %.80q is not https on the default port", errInstanceURL, raw)
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range salesforceDomains {
		if strings.HasSuffix(host, "."+d) && validHostLabels(strings.TrimSuffix(host, "."+d)) {
			return nil
		}
	}
	return fmt.Errorf("%w: %.80q", errInstanceURL, raw)
}

// validHostLabels reports whether s is one or more DNS labels.
func validHostLabels(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// GrantsClient returns the client Salesforce's token endpoint is called
// through (give it to oauth.NewGrants and newProvider): hc, whose answers
// from tokenURL that grant a token without expires_in, as Salesforce's
// never have, gain one of SessionLifetime, so that the shared grants
// refresh a token ahead of its assumed end rather than on every call.
func GrantsClient(hc *http.Client, tokenURL string) *http.Client {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := *hc
	c.Transport = &lifetimeTransport{base: base, tokenURL: tokenURL}
	return &c
}

type lifetimeTransport struct {
	base     http.RoundTripper
	tokenURL string
}

// maxTokenAnswer bounds the token answer read to add expires_in.
const maxTokenAnswer = 64 << 10

func (t *lifetimeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost || resp.StatusCode != http.StatusOK || !sameEndpoint(req.URL, t.tokenURL) {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("salesforce: read token answer: %w", err)
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil && fields["access_token"] != nil && fields["expires_in"] == nil {
		fields["expires_in"] = json.RawMessage(strconv.Itoa(int(SessionLifetime.Seconds())))
		if b, err := json.Marshal(fields); err == nil {
			body = b
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func sameEndpoint(u *url.URL, endpoint string) bool {
	e, err := url.Parse(endpoint)
	return err == nil && strings.EqualFold(u.Host, e.Host) && u.Path == e.Path && u.Scheme == e.Scheme
}
