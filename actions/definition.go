package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Paths of the routes HubSpot calls, relative to the public base URL.
const (
	// ActionsPath prefixes every actionUrl: ActionsPath + "/" + key.
	ActionsPath = "/hubspot/actions"
	// OptionsSegment sits between an action's URL and a field name in an
	// optionsUrl: ActionsPath + "/" + key + OptionsSegment + field.
	OptionsSegment = "/options/"
)

// ActionURL returns the actionUrl of the action with key under base.
func ActionURL(base, key string) string {
	return strings.TrimRight(base, "/") + ActionsPath + "/" + key
}

// OptionsURL returns the optionsUrl of one dynamic field of an action.
func OptionsURL(base, key, field string) string {
	return ActionURL(base, key) + OptionsSegment + field
}

// Locale is the locale every definition is written in (HubSpot requires
// it); an action's translations add others.
const Locale = "en"

// Definition is an action as HubSpot's Automation Actions API takes it
// (§1 of the protocol). The same fields, with isPublished and
// supportedClients, make the config of a workflow-action project component.
type Definition struct {
	ActionURL            string                  `json:"actionUrl"`
	Published            bool                    `json:"published"`
	ObjectTypes          []string                `json:"objectTypes"`
	ObjectRequestOptions *ObjectRequestOptions   `json:"objectRequestOptions,omitempty"`
	InputFields          []InputFieldDefinition  `json:"inputFields"`
	OutputFields         []OutputFieldDefinition `json:"outputFields,omitempty"`
	ExecutionRules       []ExecutionRule         `json:"executionRules,omitempty"`
	Labels               map[string]Labels       `json:"labels"`

	// InputFieldDependencies says which inputs control which (§1.7).
	InputFieldDependencies []InputFieldDependency `json:"inputFieldDependencies,omitempty"`
}

// ObjectRequestOptions lists the enrolled record's properties HubSpot sends
// in object.properties.
type ObjectRequestOptions struct {
	Properties []string `json:"properties"`
}

// InputFieldDefinition is one input as HubSpot declares it.
type InputFieldDefinition struct {
	TypeDefinition      TypeDefinition `json:"typeDefinition"`
	SupportedValueTypes []string       `json:"supportedValueTypes,omitempty"`
	IsRequired          bool           `json:"isRequired"`
}

// OutputFieldDefinition is one output as HubSpot declares it.
type OutputFieldDefinition struct {
	TypeDefinition TypeDefinition `json:"typeDefinition"`
}

// TypeDefinition is a field's name and type. Options holds the choices of a
// static enumeration; OptionsURL is where a dynamic one fetches them.
type TypeDefinition struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	FieldType  string   `json:"fieldType,omitempty"`
	Options    []Option `json:"options,omitempty"`
	OptionsURL string   `json:"optionsUrl,omitempty"`
}

// ExecutionRule maps output values to a workflow-history message: the
// first rule whose conditions all hold names the message, by LabelName,
// in Labels[locale].ExecutionRules. A condition's value is a string (the
// output must equal it) or a list of strings (the output must equal one).
type ExecutionRule struct {
	LabelName  string         `json:"labelName"`
	Conditions map[string]any `json:"conditions"`
}

// Labels is a definition's text in one locale. {{input}} in
// ActionCardContent names an input; {{ output }} in ExecutionRules an output.
type Labels struct {
	ActionName             string            `json:"actionName"`
	ActionDescription      string            `json:"actionDescription,omitempty"`
	ActionCardContent      string            `json:"actionCardContent,omitempty"`
	AppDisplayName         string            `json:"appDisplayName,omitempty"`
	InputFieldLabels       map[string]string `json:"inputFieldLabels"`
	InputFieldDescriptions map[string]string `json:"inputFieldDescriptions"`
	OutputFieldLabels      map[string]string `json:"outputFieldLabels,omitempty"`
	ExecutionRules         map[string]string `json:"executionRules,omitempty"`
	// InputFieldOptionLabels are the labels of static options, by input
	// name then option value: in en they are the options' own labels,
	// so only the other locales carry them.
	InputFieldOptionLabels map[string]map[string]string `json:"inputFieldOptionLabels,omitempty"`
}

// DefinitionParams are the values of a definition that depend on where the
// app runs rather than on the action.
type DefinitionParams struct {
	// PublicBaseURL is the origin HubSpot calls, such as
	// https://actions.example.com.
	PublicBaseURL string
	// AppDisplayName groups the app's actions in the workflow editor.
	AppDisplayName string
	// Published makes the action visible to installing accounts.
	Published bool
}

// RuleLabel is the labelName of the execution rule for an error code.
func RuleLabel(c Code) string { return "error_" + strings.ToLower(string(c)) }

// Definition returns the action's HubSpot definition. Its execution rules
// match error_code, one per code in Codes, in that order, each with the
// action's message for the code.
func (a *Action) Definition(p DefinitionParams) Definition {
	l := Labels{
		ActionName:             a.Name,
		ActionDescription:      a.Description,
		ActionCardContent:      a.CardContent,
		AppDisplayName:         p.AppDisplayName,
		InputFieldLabels:       map[string]string{},
		InputFieldDescriptions: map[string]string{},
		OutputFieldLabels:      map[string]string{},
		ExecutionRules:         map[string]string{},
	}
	d := Definition{
		ActionURL:    ActionURL(p.PublicBaseURL, a.Key),
		Published:    p.Published,
		ObjectTypes:  append([]string{}, a.ObjectTypes...),
		InputFields:  []InputFieldDefinition{},
		OutputFields: []OutputFieldDefinition{},
	}
	if len(a.ObjectProperties) > 0 {
		d.ObjectRequestOptions = &ObjectRequestOptions{Properties: append([]string(nil), a.ObjectProperties...)}
	}
	for _, f := range a.Inputs {
		td := TypeDefinition{Name: f.Name, Type: f.Type, FieldType: f.FieldType, Options: f.Options}
		if f.Dynamic {
			td.OptionsURL = OptionsURL(p.PublicBaseURL, a.Key, f.Name)
		}
		vt := f.ValueTypes
		if len(vt) == 0 {
			vt = []string{StaticValue, ObjectProperty}
		}
		d.InputFields = append(d.InputFields, InputFieldDefinition{TypeDefinition: td, SupportedValueTypes: vt, IsRequired: f.Required})
		l.InputFieldLabels[f.Name] = f.Label
		if f.Description != "" {
			l.InputFieldDescriptions[f.Name] = f.Description
		}
	}
	d.InputFieldDependencies = dependencies(a.Inputs)
	for _, f := range a.Outputs {
		d.OutputFields = append(d.OutputFields, OutputFieldDefinition{TypeDefinition: TypeDefinition{Name: f.Name, Type: f.Type, FieldType: f.FieldType, Options: f.Options}})
		l.OutputFieldLabels[f.Name] = f.Label
	}
	for _, c := range Codes {
		d.ExecutionRules = append(d.ExecutionRules, ExecutionRule{LabelName: RuleLabel(c), Conditions: map[string]any{OutputErrorCode: string(c)}})
		l.ExecutionRules[RuleLabel(c)] = a.Message(c)
	}
	d.Labels = map[string]Labels{Locale: l}
	a.addTranslations(d.Labels)
	return d
}

// Component is a workflow-action component of a HubSpot developer-platform
// project: the file src/app/workflow-actions/<key>-hsmeta.json.
type Component struct {
	UID    string          `json:"uid"`
	Type   string          `json:"type"`
	Config ComponentConfig `json:"config"`
}

// ComponentConfig is a workflow-action component's config: a Definition
// with isPublished for published and the clients that may use the action.
// ToolType and LLMConfig are an agent tool's (AGENTS in supportedClients),
// absent otherwise.
type ComponentConfig struct {
	ActionURL            string                  `json:"actionUrl"`
	IsPublished          bool                    `json:"isPublished"`
	SupportedClients     []SupportedClient       `json:"supportedClients"`
	ToolType             string                  `json:"toolType,omitempty"`
	LLMConfig            *LLMConfig              `json:"llmConfig,omitempty"`
	ObjectTypes          []string                `json:"objectTypes"`
	ObjectRequestOptions *ObjectRequestOptions   `json:"objectRequestOptions,omitempty"`
	InputFields          []InputFieldDefinition  `json:"inputFields"`
	OutputFields         []OutputFieldDefinition `json:"outputFields,omitempty"`
	ExecutionRules       []ExecutionRule         `json:"executionRules,omitempty"`
	Labels               map[string]Labels       `json:"labels"`

	// InputFieldDependencies says which inputs control which (§1.7).
	InputFieldDependencies []InputFieldDependency `json:"inputFieldDependencies,omitempty"`
}

// LLMConfig is what an agent tool tells the agent's model:
// ActionDescription says how and when to use the tool and how to fill its
// inputs. Only the agent sees it.
type LLMConfig struct {
	ActionDescription string `json:"actionDescription"`
}

// SupportedClient names a HubSpot tool that may run the action.
type SupportedClient struct {
	Client string `json:"client"`
}

// ComponentType is the type of a workflow-action component.
const ComponentType = "workflow-action"

// Component returns the action's project component. Its uid is the key.
// An agent tool's also lists AGENTS in supportedClients, with its toolType
// and llmConfig.
func (a *Action) Component(p DefinitionParams) Component {
	c := NewComponent(a.Key, a.Definition(p))
	if a.IsAgentTool() {
		c.Config.SupportedClients = a.SupportedClients()
		c.Config.ToolType = a.Agent.Type
		c.Config.LLMConfig = &LLMConfig{ActionDescription: a.Agent.Description}
	}
	return c
}

// OffersAgents reports whether the component lists the AGENTS client.
func (c Component) OffersAgents() bool {
	return slices.ContainsFunc(c.Config.SupportedClients, func(sc SupportedClient) bool { return sc.Client == ClientAgents })
}

// NewComponent wraps a definition as a project component with the given uid.
func NewComponent(uid string, d Definition) Component {
	return Component{UID: uid, Type: ComponentType, Config: ComponentConfig{
		ActionURL:            d.ActionURL,
		IsPublished:          d.Published,
		SupportedClients:     []SupportedClient{{Client: "WORKFLOWS"}},
		ObjectTypes:          d.ObjectTypes,
		ObjectRequestOptions: d.ObjectRequestOptions,
		InputFields:          d.InputFields,
		OutputFields:         d.OutputFields,
		ExecutionRules:       d.ExecutionRules,
		Labels:               d.Labels,

		InputFieldDependencies: d.InputFieldDependencies,
	}}
}

// Definition returns the definition a component declares.
func (c Component) Definition() Definition {
	k := c.Config
	return Definition{
		ActionURL:            k.ActionURL,
		Published:            k.IsPublished,
		ObjectTypes:          k.ObjectTypes,
		ObjectRequestOptions: k.ObjectRequestOptions,
		InputFields:          k.InputFields,
		OutputFields:         k.OutputFields,
		ExecutionRules:       k.ExecutionRules,
		Labels:               k.Labels,

		InputFieldDependencies: k.InputFieldDependencies,
	}
}

// MarshalFile encodes v as a generated file: two-space indentation, no
// HTML escaping, and a trailing newline. Struct fields keep their declared
// order and map keys are sorted, so equal values give equal bytes.
func MarshalFile(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// templateRef matches a {{ name }} reference in label text.
var templateRef = regexp.MustCompile(`\{\{\s*([^{}\s]*)\s*\}\}`)

// TemplateRefs returns the names s references as {{ name }}, in order.
func TemplateRefs(s string) []string {
	var out []string
	for _, m := range templateRef.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// RenderTemplate replaces each {{ name }} in s with values[name] ("" when
// absent), as HubSpot renders card content and history messages.
func RenderTemplate(s string, values map[string]string) string {
	return templateRef.ReplaceAllStringFunc(s, func(m string) string {
		return values[templateRef.FindStringSubmatch(m)[1]]
	})
}

// Match returns the first execution rule whose conditions hold for
// outputs, and whether there is one (§1.8: rules are tried in order; keys a
// rule does not mention are ignored).
func (d Definition) Match(outputs map[string]string) (ExecutionRule, bool) {
	for _, r := range d.ExecutionRules {
		if r.matches(outputs) {
			return r, true
		}
	}
	return ExecutionRule{}, false
}

func (r ExecutionRule) matches(outputs map[string]string) bool {
	for name, want := range r.Conditions {
		got, ok := outputs[name]
		if !ok {
			return false
		}
		switch w := want.(type) {
		case []any:
			if !slices.ContainsFunc(w, func(v any) bool { return fmt.Sprint(v) == got }) {
				return false
			}
		case []string:
			if !slices.Contains(w, got) {
				return false
			}
		default:
			if fmt.Sprint(w) != got {
				return false
			}
		}
	}
	return true
}

// HistoryMessage returns the workflow-history message HubSpot shows for an
// execution that ended with outputs: the first matching rule's message,
// rendered with the outputs. ok is false when no rule matches (HubSpot
// then shows its default message).
func (d Definition) HistoryMessage(outputs map[string]string) (msg string, ok bool) {
	r, ok := d.Match(outputs)
	if !ok {
		return "", false
	}
	return RenderTemplate(d.Labels[Locale].ExecutionRules[r.LabelName], outputs), true
}
