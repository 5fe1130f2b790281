package oauth

import (
	"net/http"
	"net/url"
	"testing"

	"hubspot-actions/oauth/hubspottest"
)

// FuzzCallback sends any query to the HubSpot callback, with or without the
// state the install handed out: the browser always gets a page, never a
// 5xx, and without a valid state the page is the same whatever
// error_description says, so nobody can put their words on our domain.
// Seeds and testdata/fuzz run with the tests.
func FuzzCallback(f *testing.F) {
	f.Add("code=abc", true)
	f.Add("code=abc", false)
	f.Add("error=access_denied&error_description=Call+0800+FAKE+to+get+your+refund", false)
	f.Add("error=access_denied&error_description=The+user+denied+access", true)
	f.Add("error=server_error&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E", false)
	f.Add("state=forged&code=x&error_description=Visit+evil.test", false)
	f.Add("code=%ff%fe&state=%00", false)
	f.Add("code=&error=", true)
	f.Add(";;&&==%%", false)
	f.Fuzz(func(t *testing.T, query string, withState bool) {
		env := newInstallEnv(t, false, hubspottest.Config{})
		c := env.browser(t)
		a := get(t, c, env.app.URL+"/oauth/hubspot/install")
		au, err := url.Parse(a.location)
		if err != nil {
			t.Fatal(err)
		}
		state := au.Query().Get("state")
		raw := query
		if withState {
			raw += "&state=" + url.QueryEscape(state)
		}
		q, _ := url.ParseQuery(raw)
		got := get(t, c, env.app.URL+"/oauth/hubspot/callback?"+raw)
		switch got.status {
		case http.StatusOK, http.StatusFound, http.StatusSeeOther, http.StatusBadRequest:
		default:
			t.Fatalf("callback?%s = %d: %s", raw, got.status, got.body)
		}
		if q.Get("state") == state || q.Get("error_description") == "" {
			return
		}
		// The same callback without the description must show the same page.
		q.Del("error_description")
		again := get(t, env.browser(t), env.app.URL+"/oauth/hubspot/callback?"+q.Encode())
		if again.status != got.status || again.body != got.body {
			t.Fatalf("without a valid state, error_description changed the page:\n%s\nvs\n%s", got.body, again.body)
		}
	})
}
