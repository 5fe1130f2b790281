package publish

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions"
)

// Command runs "hubspot-actions publish": it makes the app's action definitions in HubSpot match the
// code: it lists them, matches them to the code's actions by actionUrl,
// creates the missing ones and updates those that differ. The public base
// URL must be given (--public-base-url or PUBLIC_BASE_URL) and must not be
// the committed files' placeholder: every actionUrl is built from it, and a
// wrong one creates a second set of live actions that point nowhere. It
// refuses a change that breaks workflows already using an action (see
// breakingChanges) unless --allow-breaking is given, refuses to change a
// definition it did not write (a project build's, see owner.go) unless
// --force is given, and --dry-run only prints the plan.
//
// It authenticates as HubSpot documents these endpoints (the 2026-03
// Automation Actions spec's security schemes): the developer account's API
// key in the hapikey query parameter (HUBSPOT_DEVELOPER_API_KEY), or a
// bearer access token with the developers-write scope
// (HUBSPOT_DEVELOPER_ACCESS_TOKEN), never both.
// The actions are those of reg.
func Command(ctx context.Context, args []string, reg *actions.Registry, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("publish", flag.ContinueOnError)
	fset.SetOutput(stderr)
	dryRun := fset.Bool("dry-run", false, "print what would change and change nothing")
	allowBreaking := fset.Bool("allow-breaking", false, "allow changes that break workflows already using an action: removing or renaming an input or output, changing a field's type, making an input required, removing an object type, hiding an input where it was shown")
	published := fset.Bool("published", true, "whether the actions are published (visible to installing accounts)")
	base := fset.String("public-base-url", "", "the https origin HubSpot calls (required unless PUBLIC_BASE_URL is set; never the placeholder of the committed files)")
	force := fset.Bool("force", false, "change definitions publish did not write (from a project build, hs project upload, or made by hand); the next project upload overwrites them again")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hubspot-actions publish --public-base-url URL [--dry-run] [--allow-breaking] [--force] [--published=false]")
		fmt.Fprintln(stderr, "\nEnvironment: HUBSPOT_APP_ID, HUBSPOT_DEVELOPER_API_KEY (sent as hapikey) or HUBSPOT_DEVELOPER_ACCESS_TOKEN")
		fmt.Fprintln(stderr, "(sent as a bearer token; needs the developers-write scope), HUBSPOT_API_BASE_URL (default https://api.hubapi.com),")
		fmt.Fprintln(stderr, "PUBLIC_BASE_URL (when --public-base-url is not given). For an app built as a developer-platform project, deploy")
		fmt.Fprintln(stderr, "its definitions with hs project upload instead: publish refuses definitions a project build wrote.")
		fmt.Fprintln(stderr, "PUBLIC_BASE_URL (when --public-base-url is not given). The base URL of app-definition/ is never used:")
		fmt.Fprintf(stderr, "it is the placeholder %s, which publish refuses.\n", PlaceholderBaseURL)
		fmt.Fprintln(stderr)
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

	var errs []error
	appID := strings.TrimSpace(getenv("HUBSPOT_APP_ID"))
	if appID == "" {
		errs = append(errs, errors.New("HUBSPOT_APP_ID is required (the app's id, from the developer account)"))
	} else if _, err := strconv.ParseUint(appID, 10, 64); err != nil {
		errs = append(errs, fmt.Errorf("HUBSPOT_APP_ID %q must be a number", appID))
	}
	key := strings.TrimSpace(getenv("HUBSPOT_DEVELOPER_API_KEY"))
	token := strings.TrimSpace(getenv("HUBSPOT_DEVELOPER_ACCESS_TOKEN"))
	switch {
	case key == "" && token == "":
		errs = append(errs, errors.New("HUBSPOT_DEVELOPER_API_KEY is required (the developer account's API key, sent as hapikey), or "+HubSpotDeveloperTokenHelp))
	case key != "" && token != "":
		errs = append(errs, errors.New("set HUBSPOT_DEVELOPER_API_KEY or HUBSPOT_DEVELOPER_ACCESS_TOKEN, not both: HubSpot takes one credential per request"))
	}
	apiBase := strings.TrimRight(strings.TrimSpace(getenv("HUBSPOT_API_BASE_URL")), "/")
	if apiBase == "" {
		apiBase = "https://api.hubapi.com"
	}
	p, err := publishParams(*base, getenv, reg)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}

	dp := actions.DefinitionParams{PublicBaseURL: p.PublicBaseURL, AppDisplayName: AppName, Published: *published}
	var want []localDefinition
	for _, a := range reg.All() {
		d := a.Definition(dp)
		if err := actions.CheckDefinition(d); err != nil {
			return fmt.Errorf("%s breaks HubSpot's rules:\n%w", a.Key, err)
		}
		want = append(want, localDefinition{Key: a.Key, Definition: markPublished(d)})
	}

	api := newAutomationClient(apiBase, appID, credential{apiKey: key, token: token}, &http.Client{Timeout: 30 * time.Second})
	remote, err := api.List(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "app %s: %d actions in the code, %d definitions in HubSpot (%s)\n", appID, len(want), len(remote), apiBase)
	plan := planPublish(want, remote)

	var breaking []string
	for _, s := range plan.Steps {
		for _, b := range s.Breaking {
			breaking = append(breaking, s.Key+": "+b)
		}
	}
	if len(breaking) > 0 && !*allowBreaking {
		plan.print(stdout, true)
		return fmt.Errorf("refusing to change actions in a way that breaks live workflows (an unpublished action still runs in the accounts that added it):\n  %s\nnothing was changed; undo these changes, or pass --allow-breaking if every workflow that uses them has been updated",
			strings.Join(breaking, "\n  "))
	}
	var foreign []string
	for _, s := range plan.Steps {
		if s.Foreign {
			foreign = append(foreign, s.Key+" (id "+s.ID+")")
		}
	}
	if len(foreign) > 0 && !*force {
		plan.print(stdout, true)
		return fmt.Errorf("refusing to change definitions publish did not write: they came from a project build (hs project upload) or were made by hand:\n  %s\nnothing was changed; if the app is a developer-platform project, deploy with hs project upload (publish would fight it: the next upload overwrites what publish writes); pass --force to take them over (also once after upgrading, if an earlier version of publish, which marked nothing, wrote them)",
			strings.Join(foreign, "\n  "))
	}
	if *dryRun {
		plan.print(stdout, true)
		fmt.Fprintln(stdout, "dry run: nothing was changed")
		return nil
	}
	// Each step is printed once done, so a failure leaves a true record.
	for i, s := range plan.Steps {
		switch s.Kind {
		case stepCreate:
			got, err := api.Create(ctx, s.Definition)
			if err != nil {
				return fmt.Errorf("%s: %w (the steps above were done)", s.Key, err)
			}
			plan.Steps[i].ID = string(got.ID)
		case stepUpdate:
			if _, err := api.Update(ctx, s.ID, s.Definition); err != nil {
				return fmt.Errorf("%s: %w (the steps above were done)", s.Key, err)
			}
		}
		plan.printStep(stdout, plan.Steps[i], false)
	}
	plan.printRest(stdout, false)
	return nil
}

// HubSpotDeveloperTokenHelp says what HUBSPOT_DEVELOPER_ACCESS_TOKEN holds.
const HubSpotDeveloperTokenHelp = "HUBSPOT_DEVELOPER_ACCESS_TOKEN (an access token with the developers-write scope, sent as a bearer token)"

// publishParams resolves the deployment values publish needs: the public
// base URL comes from the flag or PUBLIC_BASE_URL only. The project folder's
// recorded URL is not a fallback: the committed one is the placeholder, and
// publishing it would create a second, broken set of live actions.
func publishParams(flagBase string, getenv func(string) string, reg *actions.Registry) (projectParams, error) {
	base := strings.TrimSpace(flagBase)
	if base == "" {
		base = strings.TrimSpace(getenv("PUBLIC_BASE_URL"))
	}
	if base == "" {
		return projectParams{}, errors.New("no public base URL: pass --public-base-url https://actions.yourco.com or set PUBLIC_BASE_URL to the origin HubSpot calls")
	}
	p, err := resolveProjectParams(base, getenv, recorded{}, DefaultScopes(reg))
	if err != nil {
		return projectParams{}, err
	}
	p = withOptionalScopes(p, getenv, reg)
	if isPlaceholder(p.PublicBaseURL) {
		return projectParams{}, fmt.Errorf("public base URL %s is the placeholder of the committed app-definition, not a deployment: every actionUrl would point nowhere; pass the origin HubSpot calls with --public-base-url or PUBLIC_BASE_URL", p.PublicBaseURL)
	}
	return p, nil
}

// isPlaceholder reports whether base is on the committed files' placeholder
// host, whatever its case, port or trailing slash.
func isPlaceholder(base string) bool {
	u, err := url.Parse(base)
	ph, _ := url.Parse(PlaceholderBaseURL)
	return err == nil && strings.EqualFold(u.Hostname(), ph.Hostname())
}

// localDefinition is an action's definition as the code declares it.
type localDefinition struct {
	Key        string
	Definition actions.Definition
}

type stepKind int

const (
	stepSame stepKind = iota
	stepCreate
	stepUpdate
)

// publishStep is what publish does for one of the code's actions.
type publishStep struct {
	Key        string
	Kind       stepKind
	ID         string   // HubSpot's definition id, once known
	Foreign    bool     // HubSpot's definition lacks publish's mark (owner.go)
	Changed    []string // top-level fields that differ
	Breaking   []string // changes that break workflows using the action
	Definition actions.Definition
}

// publishPlan is every step, plus HubSpot's definitions no action claims.
type publishPlan struct {
	Steps     []publishStep
	Unclaimed []remoteDefinition
}

// planPublish matches the code's definitions to HubSpot's by actionUrl and
// decides what to do with each.
func planPublish(want []localDefinition, remote []remoteDefinition) publishPlan {
	byURL := map[string]remoteDefinition{}
	claimed := map[string]bool{}
	for _, r := range remote {
		if _, dup := byURL[r.ActionURL]; !dup {
			byURL[r.ActionURL] = r
		}
	}
	var plan publishPlan
	for _, w := range want {
		r, ok := byURL[w.Definition.ActionURL]
		if !ok {
			plan.Steps = append(plan.Steps, publishStep{Key: w.Key, Kind: stepCreate, Definition: w.Definition})
			continue
		}
		claimed[string(r.ID)] = true
		s := publishStep{Key: w.Key, Kind: stepSame, ID: string(r.ID), Foreign: !publishedByUs(r.Definition), Definition: w.Definition}
		s.Changed = changedFields(w.Definition, r.Definition)
		if len(s.Changed) > 0 {
			s.Kind = stepUpdate
			// Published or not: accounts that added an unpublished action
			// keep executing it, so its workflows break all the same.
			s.Breaking = breakingChanges(w.Definition, r.Definition)
		}
		plan.Steps = append(plan.Steps, s)
	}
	for _, r := range remote {
		if !claimed[string(r.ID)] {
			plan.Unclaimed = append(plan.Unclaimed, r)
		}
	}
	return plan
}

// changedFields returns the top-level fields of want that differ from
// have, comparing normalized JSON: both went through our own types, so
// key order, fields HubSpot adds and empty versus missing lists do not
// count. Only want's locales are compared.
func changedFields(want, have actions.Definition) []string {
	labels := map[string]actions.Labels{}
	for loc := range want.Labels {
		if l, ok := have.Labels[loc]; ok {
			labels[loc] = l
		}
	}
	have.Labels = labels
	fields := []struct {
		name       string
		want, have any
	}{
		{"actionUrl", want.ActionURL, have.ActionURL},
		{"published", want.Published, have.Published},
		{"objectTypes", want.ObjectTypes, have.ObjectTypes},
		{"objectRequestOptions", want.ObjectRequestOptions, have.ObjectRequestOptions},
		{"inputFields", want.InputFields, have.InputFields},
		{"inputFieldDependencies", want.InputFieldDependencies, have.InputFieldDependencies},
		{"outputFields", want.OutputFields, have.OutputFields},
		{"executionRules", want.ExecutionRules, have.ExecutionRules},
		{"labels", want.Labels, have.Labels},
	}
	var out []string
	for _, f := range fields {
		if normalJSON(f.want) != normalJSON(f.have) {
			out = append(out, f.name)
		}
	}
	return out
}

// normalJSON encodes v with empty lists and objects and null dropped.
func normalJSON(v any) string {
	b, _ := json.Marshal(v)
	var x any
	_ = json.Unmarshal(b, &x)
	b, _ = json.Marshal(dropEmpty(x))
	return string(b)
}

func dropEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if e = dropEmpty(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(t) == 0 {
			return nil
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = dropEmpty(e)
		}
		return out
	}
	return v
}

// breakingChanges lists what want changes in have that breaks workflows
// already using the action: an input or output removed or renamed (a
// workflow fills or reads it by name), a field's type changed (the values
// workflows send or read no longer fit), an input made required or added as
// required (workflows do not fill it), an object type removed (workflows
// on those records can no longer run it), and an input hidden where it was
// shown or a controlling option removed (see dependencyBreakingChanges).
func breakingChanges(want, have actions.Definition) []string {
	var out []string
	wantIn := map[string]actions.InputFieldDefinition{}
	for _, f := range want.InputFields {
		wantIn[f.TypeDefinition.Name] = f
	}
	haveIn := map[string]bool{}
	for _, f := range have.InputFields {
		n := f.TypeDefinition.Name
		haveIn[n] = true
		w, ok := wantIn[n]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("input %q would be removed or renamed", n))
			continue
		case w.TypeDefinition.Type != f.TypeDefinition.Type:
			out = append(out, fmt.Sprintf("input %q would change type from %s to %s", n, f.TypeDefinition.Type, w.TypeDefinition.Type))
		}
		if w.IsRequired && !f.IsRequired {
			out = append(out, fmt.Sprintf("input %q would become required", n))
		}
	}
	for _, f := range want.InputFields {
		if n := f.TypeDefinition.Name; f.IsRequired && !haveIn[n] {
			out = append(out, fmt.Sprintf("input %q would be added as required", n))
		}
	}
	wantOut := map[string]actions.OutputFieldDefinition{}
	for _, f := range want.OutputFields {
		wantOut[f.TypeDefinition.Name] = f
	}
	for _, f := range have.OutputFields {
		n := f.TypeDefinition.Name
		w, ok := wantOut[n]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("output %q would be removed or renamed", n))
		case w.TypeDefinition.Type != f.TypeDefinition.Type:
			out = append(out, fmt.Sprintf("output %q would change type from %s to %s", n, f.TypeDefinition.Type, w.TypeDefinition.Type))
		}
	}
	for _, t := range have.ObjectTypes {
		if !slices.ContainsFunc(want.ObjectTypes, func(w string) bool { return strings.EqualFold(w, t) }) {
			out = append(out, fmt.Sprintf("object type %s would be removed", t))
		}
	}
	out = append(out, dependencyBreakingChanges(want, have)...)
	return out
}

// print writes the plan, as done or (planned) as it would be done.
func (p publishPlan) print(w io.Writer, planned bool) {
	for _, s := range p.Steps {
		p.printStep(w, s, planned)
	}
	p.printRest(w, planned)
}

func verbs(planned bool) map[stepKind]string {
	if planned {
		return map[stepKind]string{stepSame: "unchanged", stepCreate: "would create", stepUpdate: "would change"}
	}
	return map[stepKind]string{stepSame: "unchanged", stepCreate: "created", stepUpdate: "changed"}
}

func (p publishPlan) printStep(w io.Writer, s publishStep, planned bool) {
	id := s.ID
	if id == "" {
		id = "-"
	}
	line := fmt.Sprintf("%-13s %-36s id %-10s %s", verbs(planned)[s.Kind], s.Key, id, s.Definition.ActionURL)
	if len(s.Changed) > 0 {
		line += " (" + strings.Join(s.Changed, ", ") + ")"
	}
	fmt.Fprintln(w, line)
	if s.Foreign {
		fmt.Fprintf(w, "%-13s   NOT WRITTEN BY publish: from a project build or made by hand\n", "")
	}
	for _, b := range s.Breaking {
		fmt.Fprintf(w, "%-13s   BREAKING: %s\n", "", b)
	}
}

// printRest writes the definitions left alone and the totals.
func (p publishPlan) printRest(w io.Writer, planned bool) {
	verb := verbs(planned)
	counts := map[stepKind]int{}
	for _, s := range p.Steps {
		counts[s.Kind]++
	}
	for _, r := range p.Unclaimed {
		why := "no action in the code has this actionUrl"
		if !publishedByUs(r.Definition) {
			why += "; not written by publish"
		}
		fmt.Fprintf(w, "%-13s %-36s id %-10s %s (%s)\n", "left alone", "-", string(r.ID), r.ActionURL, why)
	}
	fmt.Fprintf(w, "%d %s, %d %s, %d unchanged, %d left alone\n",
		counts[stepCreate], verb[stepCreate], counts[stepUpdate], verb[stepUpdate], counts[stepSame], len(p.Unclaimed))
}
