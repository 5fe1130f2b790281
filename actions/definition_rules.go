package actions

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
)

// fieldTypes lists the editor field types each field type may use (§1.3:
// inputs mimic CRM properties).
var fieldTypes = map[string][]string{
	TypeBool:             {"booleancheckbox", "calculation_equation"},
	TypeEnumeration:      {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"},
	TypeDate:             {"date"},
	TypeDatetime:         {"date"},
	TypeString:           {"file", "text", "textarea", "calculation_equation", "html", "phonenumber"},
	TypeNumber:           {"number", "calculation_equation"},
	"object_coordinates": {"text"},
	"json":               {"text"},
}

// outputFieldTypes adds the output-only type of §1.5.
var outputFieldTypes = map[string][]string{
	"currency_number": {"number", "calculation_equation"},
}

// ValidFieldType reports whether typ may be shown with fieldType (§1.3);
// output says whether the field is an output, which may also be a
// currency_number.
func ValidFieldType(typ, fieldType string, output bool) bool {
	if ok := slices.Contains(fieldTypes[typ], fieldType); ok {
		return true
	}
	return output && slices.Contains(outputFieldTypes[typ], fieldType)
}

// uidPattern is what HubSpot accepts as a component uid (§2.2).
var uidPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ValidUID reports whether uid is a valid project component uid: 1 to 64
// letters, digits, '_', '-' or '.'.
func ValidUID(uid string) bool { return uidPattern.MatchString(uid) }

// CheckProject checks a project's workflow-action components against the
// protocol's rules: each definition (see CheckDefinition), valid uids that
// are unique and differ from the app's, and unique actionUrls. It reports
// every problem found, joined.
func CheckProject(appUID string, cs []Component) error {
	var errs []error
	if !ValidUID(appUID) {
		errs = append(errs, fmt.Errorf("app uid %q must be 1 to 64 letters, digits, '_', '-' or '.'", appUID))
	}
	uids := map[string]bool{appUID: true}
	urls := map[string]string{}
	for _, c := range cs {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", c.UID, fmt.Sprintf(format, args...)))
		}
		if !ValidUID(c.UID) {
			fail("uid must be 1 to 64 letters, digits, '_', '-' or '.'")
		}
		if uids[c.UID] {
			fail("uid is not unique in the project (the app's uid counts)")
		}
		uids[c.UID] = true
		if c.Type != ComponentType {
			fail("type is %q, want %q", c.Type, ComponentType)
		}
		if len(c.Config.SupportedClients) == 0 {
			fail("supportedClients is empty")
		}
		for _, sc := range c.Config.SupportedClients {
			if sc.Client != "WORKFLOWS" && sc.Client != "AGENTS" {
				fail("supported client %q is not WORKFLOWS or AGENTS", sc.Client)
			}
		}
		if other, dup := urls[c.Config.ActionURL]; dup {
			fail("actionUrl %s is also %s's", c.Config.ActionURL, other)
		}
		urls[c.Config.ActionURL] = c.UID
		for _, err := range checkAgentComponent(c) {
			fail("%v", err)
		}
		if err := CheckDefinition(c.Definition()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.UID, err))
		}
	}
	return errors.Join(errs...)
}

// CheckDefinition checks one definition against the protocol's rules:
// absolute URLs; valid type and fieldType pairs; options only on
// enumeration selects; unique field names; a label for every input and
// output; an execution rule with a message for every error code in Codes;
// and {{ }} references to existing inputs (card content) and outputs
// (messages); inputFieldDependencies between existing inputs, a
// conditional one on a value of a static enumeration; and labels only in
// locales HubSpot supports, each other locale complete against en (see
// checkLocales). It reports every problem found, joined.
func CheckDefinition(d Definition) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := checkURL(d.ActionURL); err != nil {
		fail("actionUrl: %v", err)
	}
	if len(d.ObjectTypes) == 0 {
		fail("objectTypes is empty")
	}
	l, ok := d.Labels[Locale]
	if !ok {
		fail("labels.%s is missing", Locale)
	}
	if l.ActionName == "" {
		fail("labels.%s.actionName is empty", Locale)
	}

	inputs := map[string]bool{}
	for i, f := range d.InputFields {
		td := f.TypeDefinition
		where := fmt.Sprintf("input %q", td.Name)
		if td.Name == "" {
			where = fmt.Sprintf("inputFields[%d]", i)
			fail("%s has no name", where)
		} else if inputs[td.Name] {
			fail("%s is declared twice", where)
		}
		inputs[td.Name] = true
		errs = append(errs, checkType(where, td, false)...)
		if len(f.SupportedValueTypes) == 0 {
			fail("%s: supportedValueTypes is empty", where)
		}
		for _, vt := range f.SupportedValueTypes {
			if vt != StaticValue && vt != ObjectProperty {
				fail("%s: supported value type %q is not %s or %s", where, vt, StaticValue, ObjectProperty)
			}
		}
		if l.InputFieldLabels[td.Name] == "" {
			fail("%s has no label in labels.%s.inputFieldLabels", where, Locale)
		}
	}
	for name := range l.InputFieldLabels {
		if !inputs[name] {
			fail("labels.%s.inputFieldLabels names %q, which is not an input", Locale, name)
		}
	}
	for name := range l.InputFieldDescriptions {
		if !inputs[name] {
			fail("labels.%s.inputFieldDescriptions names %q, which is not an input", Locale, name)
		}
	}

	outputs := map[string]TypeDefinition{}
	for i, f := range d.OutputFields {
		td := f.TypeDefinition
		where := fmt.Sprintf("output %q", td.Name)
		if td.Name == "" {
			where = fmt.Sprintf("outputFields[%d]", i)
			fail("%s has no name", where)
		} else if _, dup := outputs[td.Name]; dup {
			fail("%s is declared twice", where)
		}
		outputs[td.Name] = td
		errs = append(errs, checkType(where, td, true)...)
		if td.OptionsURL != "" {
			fail("%s: outputs cannot fetch options", where)
		}
		if l.OutputFieldLabels[td.Name] == "" {
			fail("%s has no label in labels.%s.outputFieldLabels", where, Locale)
		}
	}
	for name := range l.OutputFieldLabels {
		if _, ok := outputs[name]; !ok {
			fail("labels.%s.outputFieldLabels names %q, which is not an output", Locale, name)
		}
	}

	for _, ref := range TemplateRefs(l.ActionCardContent) {
		if !inputs[ref] {
			fail("actionCardContent refers to {{%s}}, which is not an input", ref)
		}
	}

	labels := map[string]bool{}
	for i, r := range d.ExecutionRules {
		where := fmt.Sprintf("executionRules[%d] (%s)", i, r.LabelName)
		if r.LabelName == "" {
			fail("%s has no labelName", where)
		}
		if labels[r.LabelName] {
			fail("%s: labelName is used twice", where)
		}
		labels[r.LabelName] = true
		msg := l.ExecutionRules[r.LabelName]
		if msg == "" {
			fail("%s has no message in labels.%s.executionRules", where, Locale)
		}
		for _, ref := range TemplateRefs(msg) {
			if _, ok := outputs[ref]; !ok {
				fail("%s: message refers to {{ %s }}, which is not an output", where, ref)
			}
		}
		if len(r.Conditions) == 0 {
			fail("%s has no conditions", where)
		}
		for name := range r.Conditions {
			if _, ok := outputs[name]; !ok {
				fail("%s: condition on %q, which is not an output", where, name)
			}
		}
	}
	for name := range l.ExecutionRules {
		if !labels[name] {
			fail("labels.%s.executionRules has %q, which no rule uses", Locale, name)
		}
	}

	// Every action can fail with every code: each needs a rule, a message
	// and a place among error_code's options.
	ec, ok := outputs[OutputErrorCode]
	if !ok {
		fail("output %q is missing", OutputErrorCode)
	}
	if _, ok := outputs[OutputErrorMsg]; !ok {
		fail("output %q is missing", OutputErrorMsg)
	}
	for _, c := range Codes {
		if ok && !slices.ContainsFunc(ec.Options, func(o Option) bool { return o.Value == string(c) }) {
			fail("output %q has no option for %s", OutputErrorCode, c)
		}
		r, matched := d.Match(map[string]string{OutputErrorCode: string(c), OutputState: StateFailContinue})
		switch {
		case !matched:
			fail("no execution rule for error code %s", c)
		case l.ExecutionRules[r.LabelName] == "":
			fail("the execution rule for error code %s (%s) has no message", c, r.LabelName)
		}
	}
	errs = append(errs, checkDefinitionDependencies(d)...)
	errs = append(errs, checkLocales(d)...)
	return errors.Join(errs...)
}

// checkType checks a field's type, fieldType and options.
func checkType(where string, td TypeDefinition, output bool) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	if !ValidFieldType(td.Type, td.FieldType, output) {
		fail("type %q cannot use fieldType %q", td.Type, td.FieldType)
	}
	hasOptions := len(td.Options) > 0 || td.OptionsURL != ""
	if hasOptions && (td.Type != TypeEnumeration || td.FieldType != FieldSelect) {
		fail("a field with options must be type %q with fieldType %q, not %q/%q", TypeEnumeration, FieldSelect, td.Type, td.FieldType)
	}
	if td.Type == TypeEnumeration && !hasOptions {
		fail("an enumeration needs options or an optionsUrl")
	}
	if len(td.Options) > 0 && td.OptionsURL != "" {
		fail("has both static options and an optionsUrl")
	}
	if td.OptionsURL != "" {
		if err := checkURL(td.OptionsURL); err != nil {
			fail("optionsUrl: %v", err)
		}
	}
	values := map[string]bool{}
	for _, o := range td.Options {
		if o.Label == "" {
			fail("option %q has no label", o.Value)
		}
		if values[o.Value] {
			fail("option value %q is listed twice", o.Value)
		}
		values[o.Value] = true
	}
	return errs
}

// checkURL accepts absolute https URLs, and http ones on loopback (a local
// sandbox).
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h).IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("%q must use https (HubSpot only calls https URLs)", s)
}
