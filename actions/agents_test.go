package actions_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
)

type lookupIn struct {
	Email string `json:"email"`
}

type lookupOut struct {
	Found bool   `json:"found"`
	Name  string `json:"name"`
}

const lookupDescription = "Finds one person in Acme by email address. Input email: their address, such as jane@acme.com. Returns found and name. It only reads."

// lookupSpec is a read-only action that falls back on the enrolled
// contact's email, as the enrichments do.
func lookupSpec(agent *actions.AgentTool) actions.Spec[lookupIn, lookupOut] {
	return actions.Spec[lookupIn, lookupOut]{
		Key: "acme-lookup", Name: "Look up an Acme person", ObjectTypes: []string{"CONTACT"}, ObjectProperties: []string{"email"},
		Inputs:  []actions.InputField{{Name: "email", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Email"}},
		Outputs: []actions.OutputField{{Name: "found", Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Found"}, {Name: "name", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Name"}},
		Run: func(_ context.Context, ex *actions.Execution, in lookupIn) (lookupOut, error) {
			email := in.Email
			if email == "" {
				email = ex.Object.Property("email")
			}
			if email == "" {
				return lookupOut{}, actions.Invalid("email", "is required")
			}
			return lookupOut{Found: true, Name: "Person " + email}, nil
		},
		ReadOnly: true,
		Agent:    agent,
	}
}

func TestRegisterAgentTools(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(s *actions.Spec[lookupIn, lookupOut])
		want  string // "" for accepted
		typ   string // the accepted tool's type
		agent bool
	}{
		{name: "read-only tool", typ: actions.ToolGetData, agent: true},
		{name: "not a tool", edit: func(s *actions.Spec[lookupIn, lookupOut]) { s.Agent = nil }},
		{name: "not a tool, with side effects", edit: func(s *actions.Spec[lookupIn, lookupOut]) { s.Agent, s.ReadOnly = nil, false }},
		{name: "no description", edit: func(s *actions.Spec[lookupIn, lookupOut]) { s.Agent.Description = "  " },
			want: "agent tool needs a Description"},
		{name: "side effects not declared", edit: func(s *actions.Spec[lookupIn, lookupOut]) { s.ReadOnly = false },
			want: "agent tool with side effects"},
		{name: "side effects without a reason", edit: func(s *actions.Spec[lookupIn, lookupOut]) {
			s.ReadOnly, s.Agent.SideEffects, s.Agent.Type = false, true, actions.ToolTakeAction
		}, want: "needs a SideEffectsReason"},
		{name: "side effects declared", edit: func(s *actions.Spec[lookupIn, lookupOut]) {
			s.ReadOnly, s.Agent.SideEffects, s.Agent.Type, s.Agent.SideEffectsReason = false, true, actions.ToolTakeAction, "It only ever adds a note."
		}, typ: actions.ToolTakeAction, agent: true},
		{name: "side effects declared without a type", edit: func(s *actions.Spec[lookupIn, lookupOut]) {
			s.ReadOnly, s.Agent.SideEffects, s.Agent.SideEffectsReason = false, true, "It only ever adds a note."
		}, want: `agent tool type ""`},
		{name: "read-only with side effects", edit: func(s *actions.Spec[lookupIn, lookupOut]) {
			s.Agent.SideEffects, s.Agent.SideEffectsReason = true, "why"
		}, want: "SideEffects but the action is ReadOnly"},
		{name: "unknown type", edit: func(s *actions.Spec[lookupIn, lookupOut]) { s.Agent.Type = "READ" },
			want: `agent tool type "READ"`},
		{name: "needs the enrolled record", edit: func(s *actions.Spec[lookupIn, lookupOut]) { s.NeedsObject = true },
			want: "needs the enrolled record"},
		{name: "input an agent cannot give", edit: func(s *actions.Spec[lookupIn, lookupOut]) {
			s.Inputs[0].ValueTypes = []string{actions.ObjectProperty}
		}, want: `input "email" takes no STATIC_VALUE`},
		{name: "description silent on an input", edit: func(s *actions.Spec[lookupIn, lookupOut]) {
			s.Agent.Description = "Finds one person in Acme. Returns found and name."
		}, want: `does not say what input "email" means`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := lookupSpec(&actions.AgentTool{Description: lookupDescription})
			if tt.edit != nil {
				tt.edit(&s)
			}
			r := actions.NewRegistry()
			err := actions.Register(r, s)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Register() = %v, want an error containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Register() = %v", err)
			}
			a, _ := r.Get("acme-lookup")
			if a.IsAgentTool() != tt.agent {
				t.Fatalf("IsAgentTool() = %v, want %v", a.IsAgentTool(), tt.agent)
			}
			if tt.agent && a.Agent.Type != tt.typ {
				t.Errorf("Agent.Type = %q, want %q", a.Agent.Type, tt.typ)
			}
		})
	}
}

func TestAgentToolComponent(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	actions.MustRegister(r, lookupSpec(&actions.AgentTool{Description: lookupDescription}))
	tool, _ := r.Get("acme-lookup")
	plain := sampleAction(t)

	c := tool.Component(sampleParams)
	if want := []actions.SupportedClient{{Client: "WORKFLOWS"}, {Client: "AGENTS"}}; !cmp.Equal(c.Config.SupportedClients, want) {
		t.Errorf("supportedClients = %v, want %v", c.Config.SupportedClients, want)
	}
	if err := actions.CheckProject("acme-app", []actions.Component{c, plain.Component(sampleParams)}); err != nil {
		t.Errorf("CheckProject(generated) = %v", err)
	}
	b, err := actions.MarshalFile(c)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Config map[string]json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if got := string(raw.Config["toolType"]); got != `"GET_DATA"` {
		t.Errorf("config.toolType = %s, want \"GET_DATA\"", got)
	}
	var llm map[string]string
	if err := json.Unmarshal(raw.Config["llmConfig"], &llm); err != nil || !cmp.Equal(llm, map[string]string{"actionDescription": lookupDescription}) {
		t.Errorf("config.llmConfig = %s (%v), want actionDescription only, the spec's", raw.Config["llmConfig"], err)
	}
	// The marketer's description is unchanged; the model's is apart.
	if got := c.Config.Labels["en"].ActionDescription; got != "" {
		t.Errorf("labels.en.actionDescription = %q, want the spec's Description (empty here)", got)
	}

	pb, _ := actions.MarshalFile(plain.Component(sampleParams))
	for _, key := range []string{`"toolType"`, `"llmConfig"`, `"AGENTS"`} {
		if strings.Contains(string(pb), key) {
			t.Errorf("the component of an action that is no tool has %s:\n%s", key, pb)
		}
	}
	// The Automation API's definition has no clients: it is unchanged.
	if d := tool.Definition(sampleParams); strings.Contains(mustJSON(t, d), "llmConfig") {
		t.Errorf("Definition() carries agent fields: %s", mustJSON(t, d))
	}
}

func TestCheckProjectAgentRules(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	actions.MustRegister(r, lookupSpec(&actions.AgentTool{Description: lookupDescription}))
	a, _ := r.Get("acme-lookup")
	tests := []struct {
		name string
		edit func(c *actions.Component)
		want string
	}{
		{"no description for the model", func(c *actions.Component) { c.Config.LLMConfig = nil }, "without llmConfig.actionDescription"},
		{"empty description for the model", func(c *actions.Component) { c.Config.LLMConfig.ActionDescription = " " }, "without llmConfig.actionDescription"},
		{"no toolType", func(c *actions.Component) { c.Config.ToolType = "" }, `toolType ""`},
		{"unknown toolType", func(c *actions.Component) { c.Config.ToolType = "LOOKUP" }, `toolType "LOOKUP"`},
		{"tool fields without the agents client", func(c *actions.Component) {
			c.Config.SupportedClients = []actions.SupportedClient{{Client: "WORKFLOWS"}}
		}, "supportedClients does not list AGENTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := a.Component(sampleParams)
			tt.edit(&c)
			if err := actions.CheckProject("acme-app", []actions.Component{c}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckProject() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

type billIn struct {
	Amount string `json:"amount"`
}

type billOut struct {
	BillID string `json:"bill_id"`
}

// TestAgentRequests sends what HubSpot's agents send (source AGENTS, no
// workflow, maybe no object) to a tool and to an action that needs the
// enrolled record, through the real runtime.
func TestAgentRequests(t *testing.T) {
	t.Parallel()
	var billed atomic.Int32
	h := actionstest.New(t, func(r *actions.Registry) {
		actions.MustRegister(r, lookupSpec(&actions.AgentTool{Description: lookupDescription}))
		actions.MustRegister(r, actions.Spec[billIn, billOut]{
			Key: "acme-bill", Name: "Bill the deal", ObjectTypes: []string{"DEAL"}, NeedsObject: true,
			Inputs:  []actions.InputField{{Name: "amount", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Amount"}},
			Outputs: []actions.OutputField{{Name: "bill_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Bill"}},
			Run: func(_ context.Context, ex *actions.Execution, in billIn) (billOut, error) {
				billed.Add(1)
				return billOut{BillID: "bill-for-" + string(ex.Object.ObjectID)}, nil
			},
		})
	}, actionstest.Options{})
	const portal = 7300001

	withObject := actionstest.NewAgentRequest(portal, nil)
	withObject.Object = actions.Object{ObjectID: "42", ObjectType: "CONTACT", Properties: map[string]actions.FlexString{"email": "kim@acme.com"}}
	dealFromWorkflow := actionstest.NewRequest(portal, "DEAL", map[string]any{"amount": "10"}, nil)

	tests := []struct {
		name    string
		key     string
		req     actions.Request
		want    map[string]string
		message string // error_message contains it
	}{
		{"tool, input, no object", "acme-lookup", actionstest.NewAgentRequest(portal, map[string]any{"email": "jo@acme.com"}),
			map[string]string{"hs_execution_state": "SUCCESS", "found": "true", "name": "Person jo@acme.com"}, ""},
		{"tool, object, no input", "acme-lookup", withObject,
			map[string]string{"hs_execution_state": "SUCCESS", "name": "Person kim@acme.com"}, ""},
		{"tool, nothing to go on", "acme-lookup", actionstest.NewAgentRequest(portal, nil),
			map[string]string{"hs_execution_state": "FAIL_CONTINUE", "error_code": "VALIDATION_FAILED"}, "email: is required"},
		{"needs the record, agent sends none", "acme-bill", actionstest.NewAgentRequest(portal, map[string]any{"amount": "10"}),
			map[string]string{"hs_execution_state": "FAIL_CONTINUE", "error_code": "VALIDATION_FAILED"},
			"object: this action works on the enrolled deal, and the request (from AGENTS) names none"},
		{"needs the record, workflow sends it", "acme-bill", dealFromWorkflow,
			map[string]string{"hs_execution_state": "SUCCESS", "bill_id": "bill-for-" + string(dealFromWorkflow.Object.ObjectID)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h.Execute(t, tt.key, tt.req)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("output %s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			if !strings.Contains(got["error_message"], tt.message) {
				t.Errorf("error_message = %q, want it to contain %q", got["error_message"], tt.message)
			}
			e, err := h.DB.GetExecution(context.Background(), tt.req.CallbackID)
			if err != nil {
				t.Fatal(err)
			}
			if tt.req.Context.FromAgent() && (e.WorkflowID != 0 || e.ObjectID != string(tt.req.Object.ObjectID)) {
				t.Errorf("ledger: workflow %d, object %q; want none and %q", e.WorkflowID, e.ObjectID, tt.req.Object.ObjectID)
			}
		})
	}
	if n := billed.Load(); n != 1 {
		t.Errorf("acme-bill ran %d times, want once (never without its deal)", n)
	}

	// The body as an agent may send it: no object and no workflowId at all.
	for _, body := range []string{
		`{"callbackId":"ap-7300001-1-1-0","origin":{"portalId":7300001},"context":{"source":"AGENTS"},"inputFields":{"email":"raw@acme.com"}}`,
		`{"callbackId":"ap-7300001-1-2-0","origin":{"portalId":7300001},"context":{"source":"AGENTS"},"object":null,"inputFields":{"amount":"1"}}`,
	} {
		key := "acme-lookup"
		if strings.Contains(body, "amount") {
			key = "acme-bill"
		}
		status, b := h.Post(t, "/hubspot/actions/"+key, []byte(body))
		if status != http.StatusOK {
			t.Errorf("POST %s %s = %d %s, want 200", key, body, status, b)
		}
		var res actions.Response
		if err := json.Unmarshal(b, &res); err != nil || res.OutputFields["hs_execution_state"] == "" {
			t.Errorf("answer %s (%v), want outputFields with a state", b, err)
		}
	}
}
