package publish

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"hubspot-actions/actions"
	"hubspot-actions/actions/sandbox"
)

// committedDir is the repository's app-definition, from this package.
var committedDir = filepath.Join("..", "..", "..", Dir)

func noEnv(string) string { return "" }

// TestDefinitionsCheckIgnoresTheEnvironment: --check compares with the
// committed form wherever it runs, so a deployment's variables do not fail
// the committed files, and no hand edit passes.
func TestDefinitionsCheckIgnoresTheEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"PUBLIC_BASE_URL":         "https://actions.yourco.test",
		"HUBSPOT_SCOPES":          "oauth automation crm.objects.deals.read",
		"HUBSPOT_OPTIONAL_SCOPES": "crm.objects.contacts.read",
		"HUBSPOT_SUPPORT_EMAIL":   "help@yourco.test",
	}
	var out bytes.Buffer
	if err := run(t, []string{"definitions", "--check", "--dir", committedDir}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Errorf("definitions --check with a deployment's environment: %v\n%s", err, out.String())
	}
	if err := run(t, []string{"definitions", "--check", "--dir", committedDir, "--public-base-url", "https://actions.yourco.test"}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "takes no --public-base-url") {
		t.Errorf("definitions --check --public-base-url = %v, want a refusal", err)
	}

	tests := []struct {
		name string
		edit func(b []byte) []byte // applied to every file
	}{
		{"every URL moved to another host", func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(PlaceholderBaseURL), []byte("https://elsewhere.example.org"))
		}},
		{"support email", func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(`"support@hubspot-actions.example.com"`), []byte(`"help@example.org"`))
		}},
		{"a scope added", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"requiredScopes": [`), []byte(`"requiredScopes": [`+"\n"+`        "crm.objects.deals.write",`), 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "app-definition")
			files, err := readProjectFiles(committedDir)
			if err != nil || len(files) == 0 {
				t.Fatalf("read %s: %d files, %v", committedDir, len(files), err)
			}
			edited := 0
			for name, b := range files {
				e := tt.edit(b)
				if !bytes.Equal(e, b) {
					edited++
				}
				full := filepath.Join(dir, filepath.FromSlash(name))
				os.MkdirAll(filepath.Dir(full), 0o755)
				if err := os.WriteFile(full, e, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if edited == 0 {
				t.Fatalf("the edit changed no file")
			}
			var out bytes.Buffer
			err = run(t, []string{"definitions", "--check", "--dir", dir}, noEnv, &out, io.Discard)
			if want := fmt.Sprintf("(%d changed, 0 missing, 0 extra)", edited); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("definitions --check on hand-edited files = %v, want %s\n%s", err, want, out.String())
			}
		})
	}
}

// TestGeneratedProjectFollowsTheProtocol parses the generated files back
// and checks them against the protocol's rules.
func TestGeneratedProjectFollowsTheProtocol(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	p, err := resolveProjectParams(PlaceholderBaseURL, noEnv, recorded{}, DefaultScopes(testRegistry(t)))
	if err != nil {
		t.Fatal(err)
	}
	files, err := renderProject(p, reg.All())
	if err != nil {
		t.Fatal(err)
	}

	var project hsProject
	decodeStrict(t, files[projectFile], &project)
	if project.PlatformVersion != "2026.03" || project.SrcDir != "src" {
		t.Errorf("hsproject.json = %+v", project)
	}
	var app appMeta
	decodeStrict(t, files[appFile], &app)
	if err := checkAppMeta(app); err != nil {
		t.Errorf("app-hsmeta.json: %v", err)
	}
	if got, want := app.Config.Auth.RedirectURLs, []string{PlaceholderBaseURL + "/oauth/hubspot/callback"}; !cmp.Equal(got, want) {
		t.Errorf("redirectUrls = %v, want %v", got, want)
	}
	if app.Config.Distribution != "marketplace" || app.Config.Auth.Type != "oauth" {
		t.Errorf("app is %s/%s, want an OAuth marketplace app", app.Config.Auth.Type, app.Config.Distribution)
	}

	var comps []actions.Component
	for name, b := range files {
		if !strings.HasPrefix(name, actionsFolder+"/") {
			continue
		}
		var c actions.Component
		decodeStrict(t, b, &c)
		if want := path.Join(actionsFolder, c.UID+componentSuffix); name != want {
			t.Errorf("component %s is in %s, want %s", c.UID, name, want)
		}
		comps = append(comps, c)
	}
	if err := actions.CheckProject(app.UID, comps); err != nil {
		t.Errorf("generated project breaks the protocol's rules:\n%v", err)
	}
	if len(comps) != len(reg.All()) || len(comps) == 0 {
		t.Errorf("%d components for %d actions", len(comps), len(reg.All()))
	}
	for _, c := range comps {
		if c.UID == sandbox.Key {
			t.Errorf("the sandbox-only action %s is in the published definition", sandbox.Key)
		}
		a, ok := reg.Get(c.UID)
		if !ok {
			t.Errorf("component %s has no action", c.UID)
			continue
		}
		if want := PlaceholderBaseURL + "/hubspot/actions/" + a.Key; c.Config.ActionURL != want {
			t.Errorf("%s actionUrl = %s, want %s", a.Key, c.Config.ActionURL, want)
		}
		for _, f := range c.Config.InputFields {
			if a.HasOptions(f.TypeDefinition.Name) != (f.TypeDefinition.OptionsURL != "") {
				t.Errorf("%s input %s: optionsUrl %q does not match the action's options", a.Key, f.TypeDefinition.Name, f.TypeDefinition.OptionsURL)
			}
		}
	}
}

// decodeStrict decodes JSON that must have no field the types lack.
func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, b)
	}
}

func TestDefinitionsCheckShowsDrift(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "app-definition")
	var out bytes.Buffer
	if err := run(t, []string{"definitions", "--dir", dir, "--public-base-url", PlaceholderBaseURL}, noEnv, &out, io.Discard); err != nil {
		t.Fatalf("definitions: %v", err)
	}
	out.Reset()
	if err := run(t, []string{"definitions", "--check", "--dir", dir}, noEnv, &out, io.Discard); err != nil {
		t.Fatalf("definitions --check on fresh files: %v\n%s", err, out.String())
	}

	comp := filepath.Join(dir, "src", "app", "workflow-actions", "clearbit-enrich-contact-hsmeta.json")
	b, _ := os.ReadFile(comp)
	os.WriteFile(comp, bytes.Replace(b, []byte(`"Job title"`), []byte(`"Title"`), 1), 0o644)
	os.WriteFile(filepath.Join(dir, "src", "app", "workflow-actions", "gone-hsmeta.json"), []byte("{}\n"), 0o644)
	os.Remove(filepath.Join(dir, "hsproject.json"))

	out.Reset()
	err := run(t, []string{"definitions", "--check", "--dir", dir}, noEnv, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "1 changed, 1 missing, 1 extra") {
		t.Errorf("definitions --check = %v, want a drift error", err)
	}
	for _, want := range []string{
		"--- " + filepath.ToSlash(dir) + "/src/app/workflow-actions/clearbit-enrich-contact-hsmeta.json (committed)",
		"+++ " + filepath.ToSlash(dir) + "/src/app/workflow-actions/clearbit-enrich-contact-hsmeta.json (generated from the code)",
		`-          "job_title": "Title",`,
		`+          "job_title": "Job title",`,
		"missing: " + filepath.ToSlash(dir) + "/hsproject.json",
		"extra:   " + filepath.ToSlash(dir) + "/src/app/workflow-actions/gone-hsmeta.json",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}

	// Writing repairs everything, and the base URL stays the recorded one.
	out.Reset()
	if err := run(t, []string{"definitions", "--dir", dir}, noEnv, &out, io.Discard); err != nil {
		t.Fatalf("definitions: %v", err)
	}
	// Unchanged: the app, the other actions and the webhooks component.
	if !strings.Contains(out.String(), fmt.Sprintf("2 written, %d unchanged, 1 removed (public base URL %s)", publishedActions(t)+1, PlaceholderBaseURL)) {
		t.Errorf("definitions printed:\n%s", out.String())
	}
	if err := run(t, []string{"definitions", "--check", "--dir", dir}, noEnv, io.Discard, io.Discard); err != nil {
		t.Errorf("definitions --check after writing: %v", err)
	}

	// Files written for a deployment are not the committed form.
	out.Reset()
	if err := run(t, []string{"definitions", "--dir", dir, "--public-base-url", "https://actions.example.org"}, noEnv, &out, io.Discard); err != nil {
		t.Fatalf("definitions for a deployment: %v", err)
	}
	if !strings.Contains(out.String(), "(public base URL https://actions.example.org)") {
		t.Errorf("definitions printed:\n%s", out.String())
	}
	if err := run(t, []string{"definitions", "--check", "--dir", dir}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "differs from the committed form") {
		t.Errorf("definitions --check on a deployment's files = %v, want a drift error", err)
	}
}

func TestResolveProjectParams(t *testing.T) {
	t.Parallel()
	old := recorded{PublicBaseURL: "https://old.example.com", Support: &appSupport{
		SupportEmail: "support@old.example.com", DocumentationURL: "https://docs.example.net", SupportURL: "https://old.example.com/settings",
	}}
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		rec     recorded
		want    projectParams
		wantErr string
	}{
		{
			name: "flag wins, recorded defaults move, recorded custom values stay",
			flag: "https://new.example.com/", env: map[string]string{"PUBLIC_BASE_URL": "https://env.example.com"}, rec: old,
			want: projectParams{PublicBaseURL: "https://new.example.com", RequiredScopes: DefaultScopes(testRegistry(t)), Support: appSupport{
				SupportEmail: "support@new.example.com", DocumentationURL: "https://docs.example.net", SupportURL: "https://new.example.com/guide",
			}},
		},
		{
			name: "env then overrides",
			env: map[string]string{"PUBLIC_BASE_URL": "https://env.example.com", "HUBSPOT_SUPPORT_EMAIL": "help@example.com",
				"HUBSPOT_SUPPORT_PHONE": "+10000000000", "HUBSPOT_SCOPES": "oauth automation crm.objects.deals.read", "HUBSPOT_OPTIONAL_SCOPES": "crm.objects.contacts.read"},
			want: projectParams{PublicBaseURL: "https://env.example.com", RequiredScopes: []string{"oauth", "automation", "crm.objects.deals.read"},
				OptionalScopes: []string{"crm.objects.contacts.read"}, Support: appSupport{
					SupportEmail: "help@example.com", DocumentationURL: "https://env.example.com/guide", SupportURL: "https://env.example.com/guide", SupportPhone: "+10000000000",
				}},
		},
		{
			name: "recorded",
			rec:  old,
			// The settings page, the default before the guide, moves to the guide.
			want: projectParams{PublicBaseURL: "https://old.example.com", RequiredScopes: DefaultScopes(testRegistry(t)), Support: appSupport{
				SupportEmail: "support@old.example.com", DocumentationURL: "https://docs.example.net", SupportURL: "https://old.example.com/guide",
			}},
		},
		{name: "nothing", wantErr: "no public base URL"},
		{name: "http", flag: "http://actions.example.com", wantErr: "must be an https origin"},
		{name: "path", flag: "https://actions.example.com/app", wantErr: "must be an https origin"},
		{name: "scopes without automation", flag: "https://a.example.com", env: map[string]string{"HUBSPOT_SCOPES": "oauth"}, wantErr: "must include automation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := resolveProjectParams(tt.flag, func(k string) string { return tt.env[k] }, tt.rec, DefaultScopes(testRegistry(t)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("resolveProjectParams() = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("resolveProjectParams() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnifiedDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"one change in the middle of two hunks' worth", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\nthree\n4\n5\n6\n7\n8\n9\nten\n",
			"--- a\n+++ b\n@@ -1,10 +1,10 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n 7\n 8\n 9\n-10\n+ten\n"},
		{"separate hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve\n",
			"--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n"},
		{"insert at start", "a\nb\n", "z\na\nb\n", "--- a\n+++ b\n@@ -1,2 +1,3 @@\n+z\n a\n b\n"},
		{"no newline at end", "a\n", "a", "--- a\n+++ b\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n"},
		{"from nothing", "", "a\n", "--- a\n+++ b\n@@ -0,0 +1 @@\n+a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := unifiedDiff("a", "b", []byte(tt.a), []byte(tt.b)); got != tt.want {
				t.Errorf("unifiedDiff() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
