package actions_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
)

type sampleIn struct {
	Title string `json:"title"`
	Queue string `json:"queue"`
	Size  string `json:"size"`
}

type sampleOut struct {
	TicketID string `json:"ticket_id"`
}

// sampleAction registers an action with one of each kind of input.
func sampleAction(t *testing.T) *actions.Action {
	t.Helper()
	r := actions.NewRegistry()
	actions.MustRegister(r, actions.Spec[sampleIn, sampleOut]{
		Key:              "helpdesk-create-ticket",
		Name:             "Create ticket",
		Description:      "Creates a ticket.",
		CardContent:      "Ticket {{title}} in {{ queue }}",
		ObjectTypes:      []string{"CONTACT"},
		ObjectProperties: []string{"email"},
		Inputs: []actions.InputField{
			{Name: "title", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Title", Required: true, Description: "Short summary"},
			{Name: "queue", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Queue", Dynamic: true, ValueTypes: []string{actions.StaticValue}},
			{Name: "size", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Size", Options: []actions.Option{{Label: "Small", Value: "s"}, {Label: "Large", Value: "l"}}},
		},
		Outputs:  []actions.OutputField{{Name: "ticket_id", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Ticket ID"}},
		Messages: map[actions.Code]string{actions.CodeNotFound: "No queue {{ error_message }} for ticket {{ticket_id}}"},
		Run: func(context.Context, *actions.Execution, sampleIn) (sampleOut, error) {
			return sampleOut{}, nil
		},
		Options: map[string]actions.OptionsFunc{"queue": func(context.Context, *actions.OptionsRequest) (actions.OptionsPage, error) {
			return actions.OptionsPage{}, nil
		}},
	})
	a, _ := r.Get("helpdesk-create-ticket")
	return a
}

var sampleParams = actions.DefinitionParams{PublicBaseURL: "https://actions.example.com/", AppDisplayName: "Helpdesk", Published: true}

func TestDefinition(t *testing.T) {
	t.Parallel()
	d := sampleAction(t).Definition(sampleParams)
	if err := actions.CheckDefinition(d); err != nil {
		t.Fatalf("CheckDefinition(generated) = %v", err)
	}
	if got, want := d.ActionURL, "https://actions.example.com/hubspot/actions/helpdesk-create-ticket"; got != want {
		t.Errorf("actionUrl = %s, want %s", got, want)
	}
	queue := d.InputFields[1]
	if got, want := queue.TypeDefinition.OptionsURL, "https://actions.example.com/hubspot/actions/helpdesk-create-ticket/options/queue"; got != want {
		t.Errorf("optionsUrl = %s, want %s", got, want)
	}
	if diff := cmp.Diff([]string{"STATIC_VALUE"}, queue.SupportedValueTypes); diff != "" {
		t.Errorf("queue supportedValueTypes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"STATIC_VALUE", "OBJECT_PROPERTY"}, d.InputFields[0].SupportedValueTypes); diff != "" {
		t.Errorf("default supportedValueTypes (-want +got):\n%s", diff)
	}
	if len(d.ExecutionRules) != len(actions.Codes) {
		t.Errorf("%d execution rules, want one per code (%d)", len(d.ExecutionRules), len(actions.Codes))
	}
	l := d.Labels["en"]
	if l.AppDisplayName != "Helpdesk" || l.InputFieldDescriptions["title"] != "Short summary" || l.OutputFieldLabels["error_code"] == "" {
		t.Errorf("labels = %+v", l)
	}

	// The component carries the same definition, and JSON round-trips it.
	c := sampleAction(t).Component(sampleParams)
	b, err := actions.MarshalFile(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(b), "}\n") || strings.Contains(string(b), `\u003c`) {
		t.Errorf("MarshalFile output is not a plain file:\n%s", b)
	}
	var back actions.Component
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := actions.CheckProject("helpdesk-app", []actions.Component{back}); err != nil {
		t.Errorf("CheckProject(round-tripped) = %v", err)
	}
	if diff := cmp.Diff(mustJSON(t, d), mustJSON(t, back.Definition())); diff != "" {
		t.Errorf("component definition differs from Definition (-want +got):\n%s", diff)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	json.Unmarshal(b, &m)
	b, _ = json.MarshalIndent(m, "", " ")
	return string(b)
}

func TestCheckDefinitionFindsEachBrokenRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(d *actions.Definition)
		want   string
	}{
		{"bad type pair", func(d *actions.Definition) { d.InputFields[0].TypeDefinition.FieldType = "number" }, `input "title": type "string" cannot use fieldType "number"`},
		{"options on a radio", func(d *actions.Definition) { d.InputFields[2].TypeDefinition.FieldType = "radio" }, `input "size": a field with options must be type "enumeration" with fieldType "select"`},
		{"options on a string", func(d *actions.Definition) {
			d.InputFields[0].TypeDefinition.Options = []actions.Option{{Label: "A", Value: "a"}}
		}, `input "title": a field with options must be type "enumeration"`},
		{"optionsUrl on a text", func(d *actions.Definition) {
			d.InputFields[0].TypeDefinition.OptionsURL = "https://actions.example.com/o"
		}, `input "title": a field with options must be type "enumeration"`},
		{"enumeration without options", func(d *actions.Definition) { d.InputFields[1].TypeDefinition.OptionsURL = "" }, `input "queue": an enumeration needs options or an optionsUrl`},
		{"input without label", func(d *actions.Definition) { delete(d.Labels["en"].InputFieldLabels, "queue") }, `input "queue" has no label`},
		{"output without label", func(d *actions.Definition) { delete(d.Labels["en"].OutputFieldLabels, "ticket_id") }, `output "ticket_id" has no label`},
		{"label of nothing", func(d *actions.Definition) { d.Labels["en"].InputFieldLabels["ghost"] = "Ghost" }, `names "ghost", which is not an input`},
		{"duplicate input", func(d *actions.Definition) { d.InputFields = append(d.InputFields, d.InputFields[0]) }, `input "title" is declared twice`},
		{"duplicate output", func(d *actions.Definition) { d.OutputFields = append(d.OutputFields, d.OutputFields[0]) }, `output "ticket_id" is declared twice`},
		{"missing rule", func(d *actions.Definition) { d.ExecutionRules = d.ExecutionRules[1:] }, `no execution rule for error code VALIDATION_FAILED`},
		{"missing message", func(d *actions.Definition) {
			delete(d.Labels["en"].ExecutionRules, actions.RuleLabel(actions.CodeRateLimited))
		}, `executionRules[4] (error_rate_limited) has no message`},
		{"code missing from error_code", func(d *actions.Definition) {
			for i, o := range d.OutputFields {
				if o.TypeDefinition.Name == "error_code" {
					d.OutputFields[i].TypeDefinition.Options = o.TypeDefinition.Options[1:]
				}
			}
		}, `output "error_code" has no option for VALIDATION_FAILED`},
		{"card refers to an output", func(d *actions.Definition) {
			l := d.Labels["en"]
			l.ActionCardContent = "Ticket {{ticket_id}}"
			d.Labels["en"] = l
		}, `actionCardContent refers to {{ticket_id}}, which is not an input`},
		{"message refers to an input", func(d *actions.Definition) {
			d.Labels["en"].ExecutionRules[actions.RuleLabel(actions.CodeInternal)] = "Failed for {{ title }}"
		}, `message refers to {{ title }}, which is not an output`},
		{"condition on an input", func(d *actions.Definition) {
			d.ExecutionRules[0].Conditions["title"] = "x"
		}, `condition on "title", which is not an output`},
		{"no actionName", func(d *actions.Definition) {
			l := d.Labels["en"]
			l.ActionName = ""
			d.Labels["en"] = l
		}, `actionName is empty`},
		{"http actionUrl", func(d *actions.Definition) { d.ActionURL = "http://actions.example.com/x" }, `must use https`},
		{"bad value type", func(d *actions.Definition) { d.InputFields[0].SupportedValueTypes = []string{"FIELD_DATA"} }, `supported value type "FIELD_DATA"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := sampleAction(t).Definition(sampleParams)
			tt.mutate(&d)
			err := actions.CheckDefinition(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckDefinition() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckProjectUIDs(t *testing.T) {
	t.Parallel()
	c := sampleAction(t).Component(sampleParams)
	long := c
	long.UID = strings.Repeat("a", 65)
	tests := []struct {
		name   string
		appUID string
		cs     []actions.Component
		want   string
	}{
		{"same as app", c.UID, []actions.Component{c}, "uid is not unique"},
		{"duplicate", "app", []actions.Component{c, c}, "uid is not unique"},
		{"too long", "app", []actions.Component{long}, "uid must be 1 to 64"},
		{"bad app uid", "my app", []actions.Component{c}, `app uid "my app"`},
		{"same actionUrl", "app", []actions.Component{c, func() actions.Component { d := c; d.UID = "other"; return d }()}, "actionUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := actions.CheckProject(tt.appUID, tt.cs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckProject() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestHistoryMessage(t *testing.T) {
	t.Parallel()
	d := sampleAction(t).Definition(sampleParams)
	d.ExecutionRules = append([]actions.ExecutionRule{{
		LabelName:  "big",
		Conditions: map[string]any{"error_code": "NOT_FOUND", "ticket_id": []any{"T1", "T2"}},
	}}, d.ExecutionRules...)
	d.Labels["en"].ExecutionRules["big"] = "Big {{ticket_id}}"
	tests := []struct {
		name    string
		outputs map[string]string
		want    string
		ok      bool
	}{
		{"list condition", map[string]string{"error_code": "NOT_FOUND", "ticket_id": "T2", "error_message": "x"}, "Big T2", true},
		{"falls through to the code", map[string]string{"error_code": "NOT_FOUND", "ticket_id": "T9", "error_message": "sales"}, "No queue sales for ticket T9", true},
		{"default message", map[string]string{"error_code": "RATE_LIMITED", "error_message": "slow down"}, "The service is rate limiting requests: slow down", true},
		{"success", map[string]string{"error_code": "", "ticket_id": "T1"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := d.HistoryMessage(tt.outputs)
			if got != tt.want || ok != tt.ok {
				t.Errorf("HistoryMessage(%v) = %q, %v, want %q, %v", tt.outputs, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	s := "Send {{amount}} to {{ email }} ({{missing}})"
	if diff := cmp.Diff([]string{"amount", "email", "missing"}, actions.TemplateRefs(s)); diff != "" {
		t.Errorf("TemplateRefs (-want +got):\n%s", diff)
	}
	got := actions.RenderTemplate(s, map[string]string{"amount": "12", "email": "a@b.c"})
	if want := "Send 12 to a@b.c ()"; got != want {
		t.Errorf("RenderTemplate = %q, want %q", got, want)
	}
}
