package publish

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestPublishAuthenticatesAsDocumented: the developer API key goes in the
// hapikey query parameter (the spec's developer_hapikey scheme), an access
// token as a bearer token (its oauth2 scheme), one of them per request and
// never both; neither is printed.
func TestPublishAuthenticatesAsDocumented(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		key      string
		token    string
		wantAuth string
		wantErr  string
	}{
		{name: "developer API key", key: testDevKey, wantAuth: "hapikey"},
		{name: "access token", token: testToken, wantAuth: "bearer"},
		{name: "both", key: testDevKey, token: testToken, wantErr: "not both"},
		{name: "neither", wantErr: "HUBSPOT_DEVELOPER_API_KEY is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newAutomationFake(t)
			env := map[string]string{"HUBSPOT_APP_ID": testAppID, "HUBSPOT_DEVELOPER_API_KEY": tt.key, "HUBSPOT_DEVELOPER_ACCESS_TOKEN": tt.token,
				"HUBSPOT_API_BASE_URL": f.ts.URL, "PUBLIC_BASE_URL": testBaseURL}
			var out bytes.Buffer
			err := run(t, []string{"publish"}, func(k string) string { return env[k] }, &out, &out)
			printed := out.String()
			if err != nil {
				printed += err.Error()
			}
			if strings.Contains(printed, testDevKey) || strings.Contains(printed, testToken) {
				t.Errorf("publish printed a credential:\n%s", printed)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("publish = %v, want an error containing %q", err, tt.wantErr)
				}
				if len(f.calls) != 0 {
					t.Errorf("publish with a bad configuration called HubSpot: %v", f.calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("publish: %v\n%s", err, out.String())
			}
			if len(f.auths) == 0 || slices.ContainsFunc(f.auths, func(a string) bool { return a != tt.wantAuth }) {
				t.Errorf("requests authenticated with %v, want %s every time", f.auths, tt.wantAuth)
			}
		})
	}
	if !strings.Contains(HubSpotDeveloperTokenHelp, "developers-write") {
		t.Errorf("the token's help does not name its scope")
	}
}

// TestPublishRefusesAProjectBuild: a definition publish did not write (a
// project build's) is not changed without --force; once taken over it is
// publish's again, until the next project upload replaces it.
func TestPublishRefusesAProjectBuild(t *testing.T) {
	t.Parallel()
	f := newAutomationFake(t)
	id := f.seed(projectDefinition(t, "clearbit-enrich-contact"))
	elsewhere := projectDefinition(t, "clearbit-enrich-company")
	elsewhere.ActionURL = "https://old.yourco.test/hubspot/actions/clearbit-enrich-company"
	otherID := f.seed(elsewhere)

	for _, args := range [][]string{nil, {"--dry-run"}} {
		out, err := f.publish(t, args...)
		if err == nil {
			t.Fatalf("publish %v over a project build succeeded:\n%s", args, out)
		}
		for _, want := range []string{"refusing to change definitions publish did not write", "clearbit-enrich-contact (id " + id + ")", "hs project upload", "--force", "nothing was changed"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("publish %v: error lacks %q: %v", args, want, err)
			}
		}
		if !strings.Contains(out, "NOT WRITTEN BY publish") || !strings.Contains(out, "id "+otherID) || !strings.Contains(out, "not written by publish") {
			t.Errorf("publish %v: the plan does not say which definitions are not publish's:\n%s", args, out)
		}
		if w := f.writes(); len(w) != 0 {
			t.Fatalf("a refused publish wrote %v", w)
		}
	}

	out, err := f.publish(t, "--force")
	if err != nil {
		t.Fatalf("publish --force: %v\n%s", err, out)
	}
	if !slices.Contains(f.writes(), "PATCH /automation/actions/2026-03/4242/"+id) {
		t.Errorf("publish --force writes = %v, want the PATCH of %s", f.writes(), id)
	}
	for _, w := range f.writes() {
		if strings.HasSuffix(w, "/"+otherID) {
			t.Errorf("publish --force changed %s, which no action claims", otherID)
		}
	}
	n := len(f.writes())
	if out, err := f.publish(t); err != nil || len(f.writes()) != n {
		t.Errorf("publish after taking over = %v, writes %v\n%s", err, f.writes()[n:], out)
	}

	// The next project upload replaces the definition: publish refuses again.
	f.mu.Lock()
	for i, d := range f.defs {
		if d["id"] == id {
			f.defs = slices.Delete(f.defs, i, i+1)
			break
		}
	}
	f.mu.Unlock()
	f.seed(projectDefinition(t, "clearbit-enrich-contact"))
	if _, err := f.publish(t); err == nil || !strings.Contains(err.Error(), "did not write") {
		t.Errorf("publish after another project upload = %v, want a refusal", err)
	}
}

// TestProjectFilesCarryNoPublishMark: the project that hs project upload
// deploys never carries publish's mark, so its definitions are told apart.
func TestProjectFilesCarryNoPublishMark(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	p, err := committedParams(reg)
	if err != nil {
		t.Fatal(err)
	}
	files, err := renderProject(p, reg.All())
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if bytes.Contains(b, []byte(markerLabel)) {
			t.Errorf("%s carries publish's mark", name)
		}
	}
	d := codeDefinition(t, "stripe-create-promotion-code")
	if !publishedByUs(d) || publishedByUs(projectDefinition(t, "stripe-create-promotion-code")) {
		t.Errorf("publishedByUs does not tell publish's definitions from a project build's")
	}
	// The mark never matches an execution's outputs.
	for _, outputs := range []map[string]string{
		{"error_code": "", "error_message": ""},
		{"error_code": "NOT_FOUND", "error_message": "Nothing there. (ref EX-7K2M9QX4BA)"},
	} {
		if r, ok := d.Match(outputs); ok && r.LabelName == markerLabel {
			t.Errorf("the mark's rule matched %v", outputs)
		}
	}
}
