package actions

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Field types and editor field types (see §1.3 of the protocol).
const (
	TypeString      = "string"
	TypeNumber      = "number"
	TypeBool        = "bool"
	TypeEnumeration = "enumeration"
	TypeDate        = "date"
	TypeDatetime    = "datetime"

	FieldText     = "text"
	FieldTextarea = "textarea"
	FieldNumber   = "number"
	FieldCheckbox = "booleancheckbox"
	FieldSelect   = "select"
	FieldDate     = "date"
	FieldPhone    = "phonenumber"
)

// Value types an input accepts.
const (
	StaticValue    = "STATIC_VALUE"
	ObjectProperty = "OBJECT_PROPERTY"
)

// InputField declares one input of an action.
type InputField struct {
	Name        string
	Type        string
	FieldType   string
	Label       string
	Description string
	Required    bool
	// ValueTypes defaults to STATIC_VALUE and OBJECT_PROPERTY.
	ValueTypes []string
	// Options are the static choices of an enumeration.
	Options []Option
	// Dynamic fills the dropdown from the action's optionsUrl.
	Dynamic bool
	// Secret marks a value that must never be shown back (history, logs).
	Secret bool
	// DependsOn names the input that controls this one in the workflow
	// editor: ShownWhen (shown only for some values of an enumeration) or
	// EnabledBy (usable once the other is set). nil: always shown.
	DependsOn *Dependency
}

// OutputField declares one output of an action.
type OutputField struct {
	Name      string
	Type      string
	FieldType string
	Label     string
	Options   []Option
}

// OptionsFunc answers an options request for one dynamic input field.
type OptionsFunc func(ctx context.Context, req *OptionsRequest) (OptionsPage, error)

// Spec declares one workflow action: what HubSpot shows (labels, inputs,
// outputs, messages), the typed input struct In (json tags name the inputs;
// validate tags hold the rules), and Run, which turns In into the typed
// outputs Out (json tags name the outputs).
//
// Run may be called more than once for one execution: after a crash, when a
// provider answers "not ready yet" (return Pending) or when a transient
// failure is retried. Side effects must therefore be idempotent on
// Execution.CallbackID; Execution.IdempotencyKey derives keys from it.
type Spec[In, Out any] struct {
	Key              string // the URL segment and the public name; never changes
	Name             string // actionName in the workflow editor
	Description      string // actionDescription
	CardContent      string // actionCardContent; may use {{input}}
	ObjectTypes      []string
	ObjectProperties []string // objectRequestOptions.properties
	Inputs           []InputField
	Outputs          []OutputField
	// Messages overrides the default workflow-history message of an error
	// code. A message may use {{ output }} templating.
	Messages map[Code]string
	// Errors says in plain words when the action answers an error code,
	// for the setup guide. A code Run returns itself that the runtime
	// does not answer for every action (see RuntimeCodes), such as
	// NOT_FOUND, must be declared here; for the runtime's codes an entry
	// explains what they mean for this action.
	Errors map[Code]string
	// Scopes are the HubSpot scopes Run needs beyond BaseScopes, such as
	// crm.objects.deals.read for reading the enrolled deal through the
	// CRM API, each with its reason. The app asks for the scopes its
	// actions declare and no others.
	Scopes []Scope
	// Save names the outputs that can also be saved on the enrolled
	// record, and as which properties. Register then adds the "Save to the
	// record" input (InputSaveToRecord), which In need not have: the
	// runtime saves after Run (see saveOnRecord).
	Save []SavedProperty
	// BlockExpiry is how long a BLOCKed execution may take before it is
	// given up and completed with FAIL_CONTINUE (default: Config.BlockExpiry).
	BlockExpiry time.Duration
	// FailOutputs are outputs answered with every failure, under whatever
	// the action itself returned: for example enriched "false", so a
	// workflow can branch on it even when the runtime gave up on its own.
	FailOutputs map[string]string
	Run         func(ctx context.Context, ex *Execution, in In) (Out, error)
	Options     map[string]OptionsFunc
	// ReadOnly says Run only reads (in HubSpot and in the provider) and is
	// safe to repeat: it creates, changes and sends nothing.
	ReadOnly bool
	// Agent, when set, also offers the action to HubSpot's agents as a
	// tool (supportedClients AGENTS). Register refuses a tool whose action
	// is not ReadOnly unless Agent.SideEffects says why it is offered.
	Agent *AgentTool
	// NeedsObject says Run works on the enrolled record itself (its id), so
	// a request that names none (an agent's, say) is answered
	// VALIDATION_FAILED without running. An agent tool cannot need one.
	NeedsObject bool
	// Translations holds the action's text in other locales than English,
	// by locale (de, fr, …: see SupportedLocales). Each must be complete;
	// keep each in its own file beside the action (…_de.go).
	Translations map[string]Translation
}

// Tool types of an agent tool (HubSpot's toolType).
const (
	ToolGetData    = "GET_DATA"    // retrieves information from HubSpot or another system
	ToolGenerate   = "GENERATE"    // generates content from its inputs
	ToolTakeAction = "TAKE_ACTION" // changes something, in the CRM or elsewhere
)

// Clients that may run an action (supportedClients).
const (
	ClientWorkflows = "WORKFLOWS"
	ClientAgents    = "AGENTS"
)

// AgentTool describes an action offered to HubSpot's agents as a tool.
type AgentTool struct {
	// Description is written for a model, not a marketer: what the tool
	// does, when to use it, what each input means (by its name) and what
	// comes back. It becomes llmConfig.actionDescription; only the agent
	// sees it.
	Description string
	// Type is the toolType; the default is ToolGetData for a ReadOnly
	// action (and must be set otherwise).
	Type string
	// SideEffects must be true to offer an action that is not ReadOnly,
	// with SideEffectsReason saying why an agent may run it.
	SideEffects       bool
	SideEffectsReason string
}

// Execution is what an action's Run knows of the execution it serves.
type Execution struct {
	CallbackID string
	Ref        string // short reference shown to marketers; finds the execution in history
	PortalID   int64
	Attempt    int
	Origin     Origin
	Context    Context
	Object     Object
	// TestMode is true when the execution runs in test mode: Run is then
	// the action's test-mode twin (see Config.TestActions).
	TestMode bool
}

// IdempotencyKey returns a key, stable across retries of this execution,
// for a side effect named purpose; it is at most 50 characters (Intuit's
// requestid limit) and uses only [A-Za-z0-9-].
func (e *Execution) IdempotencyKey(purpose string) string {
	return idempotencyKey(e.CallbackID, purpose)
}

// Action is a registered action with its types erased.
type Action struct {
	Key              string
	Name             string
	Description      string
	CardContent      string
	ObjectTypes      []string
	ObjectProperties []string
	Inputs           []InputField
	// Outputs includes error_code, error_message and test_mode, which
	// every action has.
	Outputs  []OutputField
	Messages map[Code]string
	// Scopes are the HubSpot scopes the action needs beyond BaseScopes.
	Scopes []Scope
	// Save are the outputs saved on the record when InputSaveToRecord is on.
	Save        []SavedProperty
	BlockExpiry time.Duration
	FailOutputs map[string]string
	// ReadOnly, Agent and NeedsObject are the Spec's (Agent with its Type
	// filled in).
	ReadOnly    bool
	Agent       *AgentTool
	NeedsObject bool
	errors      map[Code]string
	options     map[string]OptionsFunc
	run         func(ctx context.Context, ex *Execution, inputs map[string]any, v validate) (map[string]string, error)
	secrets     map[string]bool
	// testMode marks the runtime's copy of a test-mode twin: its outcomes
	// answer test_mode "true".
	testMode bool
	// Translations holds the action's text in other locales, complete.
	Translations map[string]Translation
}

// HasOptions reports whether field has an options function.
func (a *Action) HasOptions(field string) bool { _, ok := a.options[field]; return ok }

// Message returns the workflow-history message for an error code.
func (a *Action) Message(code Code) string {
	if m, ok := a.Messages[code]; ok {
		return m
	}
	return defaultMessages[code]
}

var defaultMessages = map[Code]string{
	CodeValidation:   "An input is missing or wrong: {{ error_message }}",
	CodeNotConnected: "Not connected: {{ error_message }}",
	CodeNotFound:     "Nothing found: {{ error_message }}",
	CodeRejected:     "The service refused the request: {{ error_message }}",
	CodeRateLimited:  "The service is rate limiting requests: {{ error_message }}",
	CodeUnavailable:  "The service is unavailable: {{ error_message }}",
	CodeInternal:     "The app failed unexpectedly: {{ error_message }}",
}

// SecretInputs reports which inputs must never be shown back.
func (a *Action) SecretInputs() map[string]bool { return a.secrets }

// Registry holds the registered actions. Register all actions before
// serving; after that it is read-only and safe for concurrent use.
type Registry struct {
	actions map[string]*Action
	scopes  []Scope // RequireScope's
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{actions: map[string]*Action{}} }

// Get returns the action with the given key.
func (r *Registry) Get(key string) (*Action, bool) {
	a, ok := r.actions[key]
	return a, ok
}

// All returns every action, ordered by key.
func (r *Registry) All() []*Action {
	out := make([]*Action, 0, len(r.actions))
	for _, a := range r.actions {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Register adds an action. It returns an error when the spec is
// inconsistent: a bad or duplicate key, an input or output that In or Out
// does not have (or the reverse), or an options function for a field that
// is not a dynamic select.
func Register[In, Out any](r *Registry, s Spec[In, Out]) error {
	if !keyPattern.MatchString(s.Key) {
		return fmt.Errorf("actions: key %q must be lower-case words joined by dashes", s.Key)
	}
	if _, dup := r.actions[s.Key]; dup {
		return fmt.Errorf("actions: %s registered twice", s.Key)
	}
	if s.Run == nil || s.Name == "" {
		return fmt.Errorf("actions: %s needs a Name and a Run", s.Key)
	}
	inType := reflect.TypeFor[In]()
	outType := reflect.TypeFor[Out]()
	inFields, err := structFields(inType)
	if err != nil {
		return fmt.Errorf("actions: %s input: %w", s.Key, err)
	}
	outFields, err := structFields(outType)
	if err != nil {
		return fmt.Errorf("actions: %s output: %w", s.Key, err)
	}
	secrets := map[string]bool{}
	seen := map[string]bool{}
	for _, f := range s.Inputs {
		if !namePattern.MatchString(f.Name) || seen[f.Name] {
			return fmt.Errorf("actions: %s: input %q is not a unique snake_case name", s.Key, f.Name)
		}
		seen[f.Name] = true
		if _, ok := inFields[f.Name]; !ok {
			return fmt.Errorf("actions: %s: input %q has no field in %s", s.Key, f.Name, inType)
		}
		if f.Secret {
			secrets[f.Name] = true
		}
		if f.Dynamic && (f.Type != TypeEnumeration || f.FieldType != FieldSelect) {
			return fmt.Errorf("actions: %s: dynamic input %q must be an enumeration select", s.Key, f.Name)
		}
		if _, ok := s.Options[f.Name]; ok != f.Dynamic {
			return fmt.Errorf("actions: %s: input %q: Dynamic and an Options function go together", s.Key, f.Name)
		}
	}
	for name := range inFields {
		if !seen[name] {
			return fmt.Errorf("actions: %s: %s field %q is not declared as an input", s.Key, inType, name)
		}
	}
	if err := checkDependencies(s.Inputs); err != nil {
		return fmt.Errorf("actions: %s: %w", s.Key, err)
	}
	seenOut := map[string]bool{}
	for _, f := range s.Outputs {
		if !namePattern.MatchString(f.Name) || seenOut[f.Name] || f.Name == OutputErrorCode || f.Name == OutputErrorMsg || f.Name == OutputTestMode {
			return fmt.Errorf("actions: %s: output %q is not a unique snake_case name (error_code, error_message and test_mode are added for you)", s.Key, f.Name)
		}
		seenOut[f.Name] = true
		if _, ok := outFields[f.Name]; !ok {
			return fmt.Errorf("actions: %s: output %q has no field in %s", s.Key, f.Name, outType)
		}
	}
	for name := range outFields {
		if !seenOut[name] {
			return fmt.Errorf("actions: %s: %s field %q is not declared as an output", s.Key, outType, name)
		}
	}
	for name := range s.FailOutputs {
		if !seenOut[name] {
			return fmt.Errorf("actions: %s: FailOutputs names %q, which is not an output", s.Key, name)
		}
	}
	for code := range s.Messages {
		if defaultMessages[code] == "" {
			return fmt.Errorf("actions: %s: message for unknown error code %q", s.Key, code)
		}
	}
	for code, when := range s.Errors {
		if defaultMessages[code] == "" {
			return fmt.Errorf("actions: %s: Errors names unknown error code %q", s.Key, code)
		}
		if strings.TrimSpace(when) == "" {
			return fmt.Errorf("actions: %s: Errors[%s] is empty", s.Key, code)
		}
	}
	if err := checkScopes(s.Scopes); err != nil {
		return fmt.Errorf("actions: %s: %w", s.Key, err)
	}
	agent, err := checkAgentTool(s.Agent, s.ReadOnly, s.NeedsObject, s.Inputs)
	if err != nil {
		return fmt.Errorf("actions: %s: %w", s.Key, err)
	}
	save, err := checkSave(s.Save, seenOut, s.ObjectTypes)
	if err != nil {
		return fmt.Errorf("actions: %s: %w", s.Key, err)
	}
	inputs := s.Inputs
	errs := s.Errors
	if len(save) > 0 {
		if seen[InputSaveToRecord] {
			return fmt.Errorf("actions: %s: input %s is added for actions that Save", s.Key, InputSaveToRecord)
		}
		inputs = append(append([]InputField(nil), s.Inputs...), saveInput())
		if _, ok := errs[CodeNotFound]; !ok {
			errs = maps.Clone(errs)
			if errs == nil {
				errs = map[Code]string{}
			}
			errs[CodeNotFound] = "With \"Save to the record\" on, the enrolled record was deleted before the results could be saved on it."
		}
	}
	outputs := append([]OutputField(nil), s.Outputs...)
	outputs = append(outputs,
		OutputField{Name: OutputErrorCode, Type: TypeEnumeration, FieldType: FieldSelect, Label: "Error code", Options: codeOptions()},
		OutputField{Name: OutputErrorMsg, Type: TypeString, FieldType: FieldText, Label: "Error message"},
		OutputField{Name: OutputTestMode, Type: TypeBool, FieldType: FieldCheckbox, Label: "Test mode"},
	)
	run := s.Run
	decl := s.Inputs
	needsObject, objectTypes := s.NeedsObject, s.ObjectTypes
	r.actions[s.Key] = &Action{
		Key:              s.Key,
		Name:             s.Name,
		Description:      s.Description,
		CardContent:      s.CardContent,
		ObjectTypes:      s.ObjectTypes,
		ObjectProperties: s.ObjectProperties,
		Inputs:           inputs,
		Outputs:          outputs,
		Messages:         s.Messages,
		Scopes:           append([]Scope(nil), s.Scopes...),
		BlockExpiry:      s.BlockExpiry,
		FailOutputs:      s.FailOutputs,
		ReadOnly:         s.ReadOnly,
		Agent:            agent,
		NeedsObject:      s.NeedsObject,
		Save:             save,
		errors:           errs,
		options:          s.Options,
		secrets:          secrets,
		run: func(ctx context.Context, ex *Execution, inputs map[string]any, v validate) (map[string]string, error) {
			if needsObject && !ex.HasObject() {
				return nil, noObject(objectTypes, ex.Context.Source)
			}
			var in In
			if err := bindInputs(&in, dropHidden(decl, inputs)); err != nil {
				return nil, err
			}
			if err := v(&in); err != nil {
				return nil, err
			}
			out, err := run(ctx, ex, in)
			return encodeOutputs(out), err
		},
	}
	r.actions[s.Key].Translations = s.Translations
	if err := checkTranslations(r.actions[s.Key], s.Inputs, s.Outputs); err != nil {
		delete(r.actions, s.Key)
		return fmt.Errorf("actions: %s: incomplete translation:\n%w", s.Key, err)
	}
	return nil
}

func codeOptions() []Option {
	opts := make([]Option, len(Codes))
	for i, c := range Codes {
		opts[i] = Option{Label: string(c), Value: string(c)}
	}
	return opts
}

// MustRegister is Register for wiring code, where a bad spec is a bug.
func MustRegister[In, Out any](r *Registry, s Spec[In, Out]) {
	if err := Register(r, s); err != nil {
		panic(err)
	}
}

// structFields maps json names to field indexes of a struct type.
func structFields(t reflect.Type) (map[string][]int, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("%s.%s has no json tag", t, f.Name)
		}
		out[name] = f.Index
	}
	return out, nil
}
