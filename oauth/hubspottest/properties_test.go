package hubspottest

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPropertiesAndUpdates: the properties API and record updates check
// the bearer token and its scopes, refuse bad bodies with 400, duplicates
// with 409, unknown records with 404 and unknown properties with 400
// PROPERTY_DOESNT_EXIST.
func TestPropertiesAndUpdates(t *testing.T) {
	t.Parallel()
	s := NewTestServer(t, Config{ClientID: "id", ClientSecret: "sec"})
	write := s.Grant(7000001, "oauth", "crm.objects.contacts.write", "crm.schemas.contacts.write")
	read := s.Grant(7000001, "oauth", "crm.objects.contacts.read")
	s.SeedObject(7000001, "contacts", "51", map[string]string{"email": "a@b.test"})
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL()+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	const groups = "/crm/properties/2026-03/contacts/groups"
	const props = "/crm/properties/2026-03/contacts"
	const record = "/crm/objects/2026-03/contacts/51"
	prop := `{"name":"hsa_x","label":"X","type":"string","fieldType":"text","groupName":"hsa_g"}`
	steps := []struct {
		name, method, path, token, body string
		want                            int
		wantBody                        string
	}{
		{"group without the schema scope", http.MethodPost, groups, read.AccessToken, `{"name":"hsa_g","label":"G"}`, 403, "MISSING_SCOPES"},
		{"property before its group", http.MethodPost, props, write.AccessToken, prop, 400, "does not exist"},
		{"group", http.MethodPost, groups, write.AccessToken, `{"name":"hsa_g","label":"G","displayOrder":-1}`, 201, `"hsa_g"`},
		{"group again", http.MethodPost, groups, write.AccessToken, `{"name":"hsa_g","label":"G"}`, 409, "already exists"},
		{"property", http.MethodPost, props, write.AccessToken, prop, 201, `"hsa_x"`},
		{"property again", http.MethodPost, props, write.AccessToken, prop, 409, "already exists"},
		{"update without the write scope", http.MethodPatch, record, read.AccessToken, `{"properties":{"hsa_x":"1"}}`, 403, "MISSING_SCOPES"},
		{"update", http.MethodPatch, record, write.AccessToken, `{"properties":{"hsa_x":"1","email":"c@d.test"}}`, 200, `"hsa_x":"1"`},
		{"update of an unknown property", http.MethodPatch, record, write.AccessToken, `{"properties":{"hsa_y":"1"}}`, 400, "PROPERTY_DOESNT_EXIST"},
		{"update of an unknown record", http.MethodPatch, "/crm/objects/2026-03/contacts/52", write.AccessToken, `{"properties":{"hsa_x":"1"}}`, 404, "not found"},
		{"delete", http.MethodDelete, props + "/hsa_x", write.AccessToken, "", 204, ""},
		{"update after the delete", http.MethodPatch, record, write.AccessToken, `{"properties":{"hsa_x":"2"}}`, 400, "PROPERTY_DOESNT_EXIST"},
		{"bad token", http.MethodPatch, record, "nope", `{"properties":{}}`, 401, ""},
	}
	for _, st := range steps {
		got, body := call(st.method, st.path, st.token, st.body)
		if got != st.want || !strings.Contains(body, st.wantBody) {
			t.Errorf("%s: %d %s, want %d with %q", st.name, got, body, st.want, st.wantBody)
		}
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
	// Bodies HubSpot refuses are also violations: a real client never
	// sends them.
	for _, body := range []string{`{"name":"hsa_z","label":"Z","type":"string","groupName":"hsa_g"}`, `{"name":"hsa_z","label":"Z","type":"bool","fieldType":"text","groupName":"hsa_g"}`} {
		if got, _ := call(http.MethodPost, props, write.AccessToken, body); got != 400 {
			t.Errorf("create property %s = %d, want 400", body, got)
		}
	}
	if got, _ := call(http.MethodPatch, record, write.AccessToken, `{"values":{}}`); got != 400 {
		t.Errorf("update without properties = %d, want 400", got)
	}
	if v := s.Violations(); len(v) != 3 {
		t.Errorf("violations after bad bodies: %v, want 3", v)
	}
	s.ClearViolations()
	if ups := s.Updates(); len(ups) != 1 || ups[0].Properties["email"] != "c@d.test" {
		t.Errorf("Updates() = %+v, want the one accepted", ups)
	}
	if rec, _ := s.Object(7000001, "contacts", "51"); rec["hsa_x"] != "1" || rec["email"] != "c@d.test" {
		t.Errorf("record = %v", rec)
	}
}

// TestDeclineOptional: an admin who declines the optional scopes gets a
// token without them; by default they are granted.
func TestDeclineOptional(t *testing.T) {
	t.Parallel()
	s := NewTestServer(t, Config{ClientID: "id", ClientSecret: "sec", RedirectURL: "https://app.example/cb"})
	install := func() []any {
		t.Helper()
		q := url.Values{"client_id": {"id"}, "redirect_uri": {"https://app.example/cb"}, "scope": {"oauth automation"},
			"optional_scope": {"crm.objects.contacts.write crm.schemas.contacts.write"}, "state": {"st"}}
		resp, err := noRedirect().Get(s.URL() + "/oauth/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		status, body := postForm(t, s.URL()+"/oauth/2026-03/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"id"},
			"client_secret": {"sec"}, "code": {loc.Query().Get("code")}, "redirect_uri": {"https://app.example/cb"}})
		if status != http.StatusOK {
			t.Fatalf("exchange = %d %v", status, body)
		}
		scopes, _ := body["scopes"].([]any)
		return scopes
	}
	if got := install(); len(got) != 4 {
		t.Errorf("scopes granted = %v, want the optional ones too", got)
	}
	s.DeclineOptional()
	if got := install(); len(got) != 2 || got[0] != "oauth" || got[1] != "automation" {
		t.Errorf("scopes granted after DeclineOptional = %v, want oauth automation", got)
	}
}
