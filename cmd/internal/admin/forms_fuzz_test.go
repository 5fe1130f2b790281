package admin

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/store"
)

// settingsForms are the forms of the settings page a signed-in admin posts.
var settingsForms = []string{"/settings/keys/keyco", "/settings/keys/keyco/delete", "/settings/acme/disconnect", "/settings/keys/nosuch", "/settings/keys/acme"}

// FuzzSettingsForms posts any body to every settings form, with and without
// the session's CSRF token: the admin always gets a page or a redirect,
// never a 5xx, and a key typed in is never shown back. Seeds and
// testdata/fuzz run with the tests.
func FuzzSettingsForms(f *testing.F) {
	f.Add(uint8(0), "api_key=kc_live_goodkey1234", true)
	f.Add(uint8(0), "api_key=kc_live_badkey5678&api_key=kc_live_goodkey1234", true)
	f.Add(uint8(0), "api_key=kc_live_%00%ff%fe%3Cscript%3E", true)
	f.Add(uint8(0), "api_key="+strings.Repeat("k", 5000), true)
	f.Add(uint8(1), "", true)
	f.Add(uint8(2), "x=%zz", true)
	f.Add(uint8(3), "api_key=kc_live_goodkey1234", true)
	f.Add(uint8(0), "api_key=kc_live_goodkey1234", false)
	f.Add(uint8(4), ";&=;&", false)
	f.Fuzz(func(t *testing.T, form uint8, body string, withCSRF bool) {
		base, hc, csrf := providerPages(t, func(db *store.DB) []actions.Provider {
			kc := &keyco{KeyedProvider: actions.NewKeyedProvider(actions.NewAPIKeys(db, "keyco", "KeyCo", "", "http://localhost/settings"),
				"Your KeyCo key, from its dashboard.", func(_ context.Context, key string) error {
					if key != "kc_live_goodkey1234" {
						return actions.Fail(actions.CodeRejected, "KeyCo does not accept this API key.")
					}
					return nil
				})}
			return []actions.Provider{&acme{connected: true}, kc}
		})
		if withCSRF {
			body = csrfField + "=" + url.QueryEscape(csrf) + "&" + body
		}
		req, err := http.NewRequest(http.MethodPost, base+settingsForms[int(form)%len(settingsForms)], strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		if resp.StatusCode >= 500 {
			t.Fatalf("POST %s %q = %d: %s", req.URL.Path, body, resp.StatusCode, page)
		}
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("POST %s = %d with Content-Type %q, want a page", req.URL.Path, resp.StatusCode, ct)
			}
		}
		q, _ := url.ParseQuery(body)
		for _, key := range q["api_key"] {
			if len(key) >= 12 && strings.HasPrefix(key, "kc_") && strings.Contains(page, html.EscapeString(key)) {
				t.Fatalf("the page shows the key that was typed in (%q)", key)
			}
		}
	})
}
