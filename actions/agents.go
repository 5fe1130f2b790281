package actions

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sources of an execution request (context.source, §4.2 and the callback
// requestContext of §5.3).
const (
	SourceWorkflows = "WORKFLOWS"
	SourceAgents    = "AGENTS"
)

// FromAgent reports whether the request came from one of HubSpot's agents
// rather than a workflow.
func (c Context) FromAgent() bool {
	return strings.EqualFold(strings.TrimSpace(c.Source), SourceAgents)
}

// HasObject reports whether the request names an enrolled record. An
// agent's request may name none.
func (e *Execution) HasObject() bool { return strings.TrimSpace(string(e.Object.ObjectID)) != "" }

// IsAgentTool reports whether the action is offered to HubSpot's agents.
func (a *Action) IsAgentTool() bool { return a.Agent != nil }

// SupportedClients returns the clients that may run the action: WORKFLOWS,
// and AGENTS for an agent tool.
func (a *Action) SupportedClients() []SupportedClient {
	out := []SupportedClient{{Client: ClientWorkflows}}
	if a.IsAgentTool() {
		out = append(out, SupportedClient{Client: ClientAgents})
	}
	return out
}

// ValidToolType reports whether t is a toolType HubSpot documents.
func ValidToolType(t string) bool {
	return t == ToolGetData || t == ToolGenerate || t == ToolTakeAction
}

// checkAgentTool checks a spec's agent tool and returns it with its type
// filled in (a copy: the spec's stays as written), or nil for none.
func checkAgentTool(t *AgentTool, readOnly, needsObject bool, inputs []InputField) (*AgentTool, error) {
	if t == nil {
		return nil, nil
	}
	c := *t
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	desc := strings.TrimSpace(c.Description)
	if desc == "" {
		fail("agent tool needs a Description written for a model (what it does, when to use it, each input, what comes back)")
	}
	switch {
	case readOnly && c.SideEffects:
		fail("agent tool says SideEffects but the action is ReadOnly")
	case !readOnly && !c.SideEffects:
		fail("agent tool with side effects: the action is not ReadOnly, so an agent could create or change things with it; mark it ReadOnly if it only reads, or set Agent.SideEffects with a SideEffectsReason")
	case c.SideEffects && strings.TrimSpace(c.SideEffectsReason) == "":
		fail("agent tool with SideEffects needs a SideEffectsReason")
	}
	if c.Type == "" && readOnly {
		c.Type = ToolGetData
	}
	if !ValidToolType(c.Type) {
		fail("agent tool type %q is not %s, %s or %s", c.Type, ToolGetData, ToolGenerate, ToolTakeAction)
	}
	if needsObject {
		fail("agent tool needs the enrolled record (NeedsObject), which an agent's request may not carry: make everything it reads an input")
	}
	for _, f := range inputs {
		if len(f.ValueTypes) > 0 && !slices.Contains(f.ValueTypes, StaticValue) {
			fail("agent tool input %q takes no STATIC_VALUE, so an agent cannot give it", f.Name)
		}
		if desc != "" && !strings.Contains(desc, f.Name) {
			fail("agent tool description does not say what input %q means (name it)", f.Name)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

// noObject is the answer of an action that works on the enrolled record
// to a request that names none.
func noObject(objectTypes []string, source string) *Error {
	what := "record"
	if len(objectTypes) > 0 {
		what = strings.ToLower(strings.Join(objectTypes, " or "))
	}
	from := "the request"
	if strings.TrimSpace(source) != "" {
		from = "the request (from " + strings.ToUpper(strings.TrimSpace(source)) + ")"
	}
	return &Error{Code: CodeValidation,
		Message: fmt.Sprintf("object: this action works on the enrolled %s, and %s names none; run it from a workflow that enrolls a %s", what, from, what)}
}

// checkAgentComponent checks what makes a component an agent tool: one
// that lists AGENTS needs a documented toolType and an
// llmConfig.actionDescription; one that does not has neither.
func checkAgentComponent(c Component) []error {
	var errs []error
	k := c.Config
	if !c.OffersAgents() {
		if k.ToolType != "" || k.LLMConfig != nil {
			errs = append(errs, errors.New("toolType and llmConfig are for agent tools, and supportedClients does not list AGENTS"))
		}
		return errs
	}
	if !ValidToolType(k.ToolType) {
		errs = append(errs, fmt.Errorf("offered to agents with toolType %q; want %s, %s or %s", k.ToolType, ToolGetData, ToolGenerate, ToolTakeAction))
	}
	if k.LLMConfig == nil || strings.TrimSpace(k.LLMConfig.ActionDescription) == "" {
		errs = append(errs, errors.New("offered to agents without llmConfig.actionDescription, the description the agent's model reads"))
	}
	return errs
}
