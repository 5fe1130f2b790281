package publish

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"hubspot-actions/actions"
)

// The HubSpot project's fixed values. The app's name and description are
// what installing admins see on the marketplace listing.
const (
	// Dir is the project folder, relative to the repository root.
	Dir             = "app-definition"
	projectName     = "hubspot-actions"
	platformVersion = "2026.03"
	appUID          = "hubspot-actions-app"
	// AppName is the app's name on the marketplace and in the workflow editor.
	AppName             = "Actions Bridge"
	appDescription      = "Custom workflow actions that connect HubSpot workflows to the services your team uses."
	hubspotCallbackPath = "/oauth/hubspot/callback"
	// PlaceholderBaseURL is the public base URL of the committed files; a
	// real deployment regenerates them with its own (see the report/README).
	PlaceholderBaseURL = "https://hubspot-actions.example.com"
)

// Paths of the project's files, relative to the project folder.
const (
	projectFile     = "hsproject.json"
	appFile         = "src/app/app-hsmeta.json"
	actionsFolder   = "src/app/workflow-actions"
	componentSuffix = "-hsmeta.json"
)

// projectParams are the values of the project that depend on where the
// app runs.
type projectParams struct {
	PublicBaseURL  string
	RequiredScopes []string
	OptionalScopes []string
	Support        appSupport
}

type hsProject struct {
	Name            string `json:"name"`
	SrcDir          string `json:"srcDir"`
	PlatformVersion string `json:"platformVersion"`
}

// appMeta is src/app/app-hsmeta.json (§2.2).
type appMeta struct {
	UID    string    `json:"uid"`
	Type   string    `json:"type"`
	Config appConfig `json:"config"`
}

type appConfig struct {
	Name         string     `json:"name"`
	Description  string     `json:"description"`
	Distribution string     `json:"distribution"`
	Auth         appAuth    `json:"auth"`
	Support      appSupport `json:"support"`
}

type appAuth struct {
	Type                        string   `json:"type"`
	RedirectURLs                []string `json:"redirectUrls"`
	RequiredScopes              []string `json:"requiredScopes"`
	OptionalScopes              []string `json:"optionalScopes"`
	ConditionallyRequiredScopes []string `json:"conditionallyRequiredScopes"`
}

type appSupport struct {
	SupportEmail     string `json:"supportEmail"`
	DocumentationURL string `json:"documentationUrl"`
	SupportURL       string `json:"supportUrl"`
	SupportPhone     string `json:"supportPhone,omitempty"`
}

// DefinitionsCommand runs "hubspot-actions definitions": it writes the
// project folder (default Dir) from the actions of reg, or
// with --check compares it with the committed form and fails with a diff
// when it is out of date.
//
// Writing honours --public-base-url, the environment and the existing
// files, so a deployment can generate its own project. --check ignores all
// of them: it compares the folder with what the code generates for the
// committed form (the placeholder host, the default scopes and support
// details), so its answer does not depend on where it runs and any hand
// edit of the files fails it.
func DefinitionsCommand(args []string, reg *actions.Registry, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("definitions", flag.ContinueOnError)
	fset.SetOutput(stderr)
	check := fset.Bool("check", false, "compare the folder with the committed form generated from the code (ignoring --public-base-url and the environment) instead of writing it; exit non-zero with a diff when they differ")
	dir := fset.String("dir", Dir, "the project folder")
	base := fset.String("public-base-url", "", "when writing, the https origin HubSpot calls (default: $PUBLIC_BASE_URL, else the one recorded in the existing files)")
	fset.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hubspot-actions definitions [--dir %s] [--public-base-url URL]
       hubspot-actions definitions --check [--dir %s]

Writing generates the HubSpot project from the action registry for a
deployment: the public base URL comes from --public-base-url, else
PUBLIC_BASE_URL, else the existing files; scopes from HUBSPOT_SCOPES and
HUBSPOT_OPTIONAL_SCOPES; support details from HUBSPOT_SUPPORT_EMAIL,
HUBSPOT_SUPPORT_URL, HUBSPOT_DOCUMENTATION_URL and HUBSPOT_SUPPORT_PHONE, else
the existing files.

--check ignores the environment and the existing files' values: it compares
the folder with the committed form, generated with the placeholder host
%s, the default scopes and the default
support details, so the same files pass or fail everywhere and any hand edit
fails. A folder generated for a deployment does not pass it. Regenerate the
committed form with
  go test ./cmd/hubspot-actions -run TestAppDefinitionMatchesCode -update

`, Dir, Dir, PlaceholderBaseURL)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return ErrUsage
	}
	if fset.NArg() > 0 {
		fset.Usage()
		return ErrUsage
	}
	if *check {
		if *base != "" {
			return fmt.Errorf("--check compares with the committed form (%s) and takes no --public-base-url", PlaceholderBaseURL)
		}
		p, err := committedParams(reg)
		if err != nil {
			return err
		}
		files, err := renderProject(p, reg.All())
		if err != nil {
			return err
		}
		return errors.Join(checkProjectFiles(*dir, files, stdout), checkCommittedRules(*dir, reg, stdout))
	}
	p, err := resolveProjectParams(*base, getenv, readRecorded(*dir), DefaultScopes(reg))
	if err != nil {
		return err
	}
	p = withOptionalScopes(p, getenv, reg)
	warnUnusedScopes(stderr, p, append(DefaultScopes(reg), DefaultOptionalScopes(reg)...))
	warnOptionalScopes(stderr, p, DefaultOptionalScopes(reg))
	files, err := renderProject(p, reg.All())
	if err != nil {
		return err
	}
	return writeProjectFiles(*dir, files, p, stdout)
}

// committedParams are the values of the committed project: the placeholder
// host, the scopes reg needs and the default support details, whatever the
// environment says.
func committedParams(reg *actions.Registry) (projectParams, error) {
	noEnv := func(string) string { return "" }
	p, err := resolveProjectParams(PlaceholderBaseURL, noEnv, recorded{}, DefaultScopes(reg))
	return withOptionalScopes(p, noEnv, reg), err
}

// warnUnusedScopes tells the operator about scopes HUBSPOT_SCOPES or
// HUBSPOT_OPTIONAL_SCOPES ask for that no code declares (HubSpot's review
// counts unused scopes against an app), and about needed ones they leave
// out.
func warnUnusedScopes(w io.Writer, p projectParams, needed []string) {
	asked := append(append([]string{}, p.RequiredScopes...), p.OptionalScopes...)
	for _, s := range asked {
		if !slices.Contains(needed, s) {
			fmt.Fprintf(w, "warning: the app asks for scope %s, which no action or feature declares; remove it from HUBSPOT_SCOPES or HUBSPOT_OPTIONAL_SCOPES\n", s)
		}
	}
	for _, s := range needed {
		if !slices.Contains(asked, s) {
			fmt.Fprintf(w, "warning: the app does not ask for scope %s, which its actions need; add it to HUBSPOT_SCOPES\n", s)
		}
	}
}

// recorded is what the existing files say about the deployment.
type recorded struct {
	PublicBaseURL string
	Support       *appSupport
}

// readRecorded reads the public base URL and support details from an
// existing project, so that regenerating it needs no environment. Anything
// missing or unreadable is left empty.
func readRecorded(dir string) recorded {
	var r recorded
	if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(appFile))); err == nil {
		var m appMeta
		if json.Unmarshal(b, &m) == nil {
			if len(m.Config.Auth.RedirectURLs) > 0 {
				if base, ok := strings.CutSuffix(m.Config.Auth.RedirectURLs[0], hubspotCallbackPath); ok {
					r.PublicBaseURL = base
				}
			}
			s := m.Config.Support
			r.Support = &s
		}
	}
	if r.PublicBaseURL != "" {
		return r
	}
	// No app file: any action's URL gives the base too.
	entries, _ := os.ReadDir(filepath.Join(dir, filepath.FromSlash(actionsFolder)))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(actionsFolder), e.Name()))
		if err != nil {
			continue
		}
		var c actions.Component
		if json.Unmarshal(b, &c) != nil {
			continue
		}
		if i := strings.Index(c.Config.ActionURL, actions.ActionsPath+"/"); i > 0 {
			r.PublicBaseURL = c.Config.ActionURL[:i]
			break
		}
	}
	return r
}

// resolveProjectParams picks the deployment values: the public base URL
// from the flag, else PUBLIC_BASE_URL, else the existing files; scopes from
// HUBSPOT_SCOPES (default: defaultScopes) and HUBSPOT_OPTIONAL_SCOPES; each
// support detail from its HUBSPOT_SUPPORT_* variable, else the existing
// files, else a default derived from the base URL.
func resolveProjectParams(flagBase string, getenv func(string) string, rec recorded, defaultScopes []string) (projectParams, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	base := flagBase
	if base == "" {
		base = get("PUBLIC_BASE_URL")
	}
	if base == "" {
		base = rec.PublicBaseURL
	}
	if base == "" {
		return projectParams{}, fmt.Errorf("no public base URL: pass --public-base-url https://actions.example.com or set PUBLIC_BASE_URL (the committed files use %s)", PlaceholderBaseURL)
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return projectParams{}, fmt.Errorf("public base URL %q must be an https origin such as https://actions.example.com (HubSpot only calls https URLs)", base)
	}
	base = strings.TrimRight(base, "/")

	p := projectParams{
		PublicBaseURL:  base,
		RequiredScopes: strings.Fields(get("HUBSPOT_SCOPES")),
		OptionalScopes: strings.Fields(get("HUBSPOT_OPTIONAL_SCOPES")),
	}
	if len(p.RequiredScopes) == 0 {
		p.RequiredScopes = append([]string{}, defaultScopes...)
	}
	for _, s := range []string{"oauth", "automation"} {
		if !slices.Contains(p.RequiredScopes, s) {
			return projectParams{}, fmt.Errorf("HUBSPOT_SCOPES must include %s", s)
		}
	}

	// A recorded value that was the default for the recorded base URL is
	// derived again, so that a new base URL moves it along.
	def := defaultSupport(base)
	var recDef, rs appSupport
	if rec.Support != nil && rec.PublicBaseURL != "" {
		recDef, rs = defaultSupport(rec.PublicBaseURL), *rec.Support
	}
	// The settings page was the default before the setup guide existed.
	legacy := rec.PublicBaseURL + actions.SettingsPath
	pick := func(env, recValue, recDefault, def string) string {
		if v := get(env); v != "" {
			return v
		}
		if recValue != "" && recValue != recDefault && recValue != legacy {
			return recValue
		}
		return def
	}
	p.Support = appSupport{
		SupportEmail:     pick("HUBSPOT_SUPPORT_EMAIL", rs.SupportEmail, recDef.SupportEmail, def.SupportEmail),
		DocumentationURL: pick("HUBSPOT_DOCUMENTATION_URL", rs.DocumentationURL, recDef.DocumentationURL, def.DocumentationURL),
		SupportURL:       pick("HUBSPOT_SUPPORT_URL", rs.SupportURL, recDef.SupportURL, def.SupportURL),
		SupportPhone:     pick("HUBSPOT_SUPPORT_PHONE", rs.SupportPhone, recDef.SupportPhone, def.SupportPhone),
	}
	return p, nil
}

// defaultSupport derives support details from the public base URL: mail to
// support@ its host, and the public setup guide (no sign-in, as the
// marketplace requires) for documentation and help.
func defaultSupport(base string) appSupport {
	host := base
	if u, err := url.Parse(base); err == nil {
		host = u.Hostname()
	}
	return appSupport{
		SupportEmail:     "support@" + host,
		DocumentationURL: base + actions.GuidePath,
		SupportURL:       base + actions.GuidePath,
	}
}

// renderProject returns the project's files by slash-separated path
// relative to the project folder. It fails when the result breaks the
// protocol's rules.
func renderProject(p projectParams, all []*actions.Action) (map[string][]byte, error) {
	dp := actions.DefinitionParams{PublicBaseURL: p.PublicBaseURL, AppDisplayName: AppName, Published: true}
	files := map[string][]byte{}
	add := func(name string, v any) error {
		b, err := actions.MarshalFile(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		files[name] = b
		return nil
	}
	if err := add(projectFile, hsProject{Name: projectName, SrcDir: "src", PlatformVersion: platformVersion}); err != nil {
		return nil, err
	}
	app := newAppMeta(p, all)
	if err := checkAppMeta(app); err != nil {
		return nil, err
	}
	if err := add(appFile, app); err != nil {
		return nil, err
	}
	var comps []actions.Component
	for _, a := range all {
		c := a.Component(dp)
		comps = append(comps, c)
		if err := add(path.Join(actionsFolder, a.Key+componentSuffix), c); err != nil {
			return nil, err
		}
	}
	if err := actions.CheckProject(appUID, comps); err != nil {
		return nil, fmt.Errorf("the generated definitions break HubSpot's rules:\n%w", err)
	}
	if err := addWebhooks(p, all, add); err != nil {
		return nil, err
	}
	return files, nil
}

// newAppMeta returns app-hsmeta.json; its description ends with the list
// of actions, so it follows the registry.
func newAppMeta(p projectParams, all []*actions.Action) appMeta {
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.Name
	}
	return appMeta{UID: appUID, Type: "app", Config: appConfig{
		Name:         AppName,
		Description:  appDescription + " Actions: " + strings.Join(names, "; ") + ".",
		Distribution: "marketplace",
		Auth: appAuth{
			Type:                        "oauth",
			RedirectURLs:                []string{p.PublicBaseURL + hubspotCallbackPath},
			RequiredScopes:              append([]string{}, p.RequiredScopes...),
			OptionalScopes:              append([]string{}, p.OptionalScopes...),
			ConditionallyRequiredScopes: []string{},
		},
		Support: p.Support,
	}}
}

// checkAppMeta checks app-hsmeta.json against §2.2.
func checkAppMeta(m appMeta) error {
	var errs []error
	if !actions.ValidUID(m.UID) {
		errs = append(errs, fmt.Errorf("app uid %q is not valid", m.UID))
	}
	if n := m.Config.Name; n == "" || len(n) > 200 || strings.TrimSpace(n) != n {
		errs = append(errs, fmt.Errorf("app name %q must be 1 to 200 characters without surrounding spaces", n))
	}
	if d := m.Config.Description; d == "" || len(d) > 8192 {
		errs = append(errs, errors.New("app description must be 1 to 8192 characters"))
	}
	if len(m.Config.Auth.RedirectURLs) == 0 {
		errs = append(errs, errors.New("app has no redirect URL"))
	}
	for _, s := range []string{"oauth", "automation"} {
		if !slices.Contains(m.Config.Auth.RequiredScopes, s) {
			errs = append(errs, fmt.Errorf("required scopes lack %s", s))
		}
	}
	for _, s := range m.Config.Auth.OptionalScopes {
		if slices.Contains(m.Config.Auth.RequiredScopes, s) {
			errs = append(errs, fmt.Errorf("scope %s is both required and optional", s))
		}
	}
	if s := m.Config.Support; !strings.Contains(s.SupportEmail, "@") || s.SupportURL == "" || s.DocumentationURL == "" {
		errs = append(errs, errors.New("app support details need an email address, a support URL and a documentation URL"))
	}
	return errors.Join(errs...)
}

// readProjectFiles returns the generated-looking (.json) files under dir.
func readProjectFiles(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return files, nil
}

// checkCommittedRules runs checkProjectRules on the files in dir (a
// folder that cannot be read is checkProjectFiles' to report).
func checkCommittedRules(dir string, reg *actions.Registry, stdout io.Writer) error {
	have, err := readProjectFiles(dir)
	if err != nil {
		return nil
	}
	return checkProjectRules(have, reg, stdout)
}

// checkProjectFiles compares dir with the generated files and prints a
// unified diff per differing file, and the missing and extra ones.
func checkProjectFiles(dir string, want map[string][]byte, stdout io.Writer) error {
	have, err := readProjectFiles(dir)
	if err != nil {
		return err
	}
	var missing, extra, changed []string
	for _, name := range sortedKeys(want) {
		got, ok := have[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case !bytes.Equal(got, want[name]):
			changed = append(changed, name)
			fmt.Fprint(stdout, unifiedDiff(path.Join(dir, name)+" (committed)", path.Join(dir, name)+" (generated from the code)", got, want[name]))
		}
	}
	for _, name := range sortedKeys(have) {
		if _, ok := want[name]; !ok {
			extra = append(extra, name)
		}
	}
	for _, name := range missing {
		fmt.Fprintf(stdout, "missing: %s (the code has it; the folder does not)\n", path.Join(dir, name))
	}
	for _, name := range extra {
		fmt.Fprintf(stdout, "extra:   %s (the code does not generate it)\n", path.Join(dir, name))
	}
	if n := len(missing) + len(extra) + len(changed); n > 0 {
		return fmt.Errorf("%s differs from the committed form generated from the code (%d changed, %d missing, %d extra); regenerate it with `go test ./cmd/hubspot-actions -run TestAppDefinitionMatchesCode -update` and commit the result", dir, len(changed), len(missing), len(extra))
	}
	fmt.Fprintf(stdout, "%s matches the code (%d files)\n", dir, len(want))
	return nil
}

// writeProjectFiles writes the generated files into dir, leaving unchanged
// ones alone, and removes stale .json files.
func writeProjectFiles(dir string, want map[string][]byte, p projectParams, stdout io.Writer) error {
	have, err := readProjectFiles(dir)
	if err != nil {
		return err
	}
	var wrote, removed, same int
	for _, name := range sortedKeys(want) {
		if bytes.Equal(have[name], want[name]) {
			same++
			continue
		}
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(full), err)
		}
		if err := os.WriteFile(full, want[name], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", full, err)
		}
		fmt.Fprintf(stdout, "wrote   %s\n", path.Join(dir, name))
		wrote++
	}
	for _, name := range sortedKeys(have) {
		if _, ok := want[name]; ok {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return fmt.Errorf("remove stale %s: %w", name, err)
		}
		fmt.Fprintf(stdout, "removed %s\n", path.Join(dir, name))
		removed++
	}
	fmt.Fprintf(stdout, "%s: %d written, %d unchanged, %d removed (public base URL %s)\n", dir, wrote, same, removed, p.PublicBaseURL)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// WriteCommitted writes the committed form of the project (the one
// DefinitionsCommand --check compares with) from the actions of reg into
// dir. It is how the committed app-definition/ is regenerated.
func WriteCommitted(dir string, reg *actions.Registry, stdout io.Writer) error {
	p, err := committedParams(reg)
	if err != nil {
		return err
	}
	files, err := renderProject(p, reg.All())
	if err != nil {
		return err
	}
	return writeProjectFiles(dir, files, p, stdout)
}
