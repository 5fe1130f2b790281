package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
)

// The fuzz targets below take what HubSpot (or anyone who can reach our
// URLs) sends: execution and options bodies. Their seeds and the corpora
// under testdata/fuzz run with every `go test`; `go test -fuzz=FuzzX` looks
// for more.

type fuzzIn struct {
	Text  string  `json:"text" validate:"required,max=50"`
	Count int     `json:"count" validate:"gte=0,lte=1000"`
	Ratio float64 `json:"ratio"`
	Flag  bool    `json:"flag"`
	Color string  `json:"color" validate:"omitempty,oneof=red green"`
	Pick  string  `json:"pick"`
}

type fuzzOut struct {
	Echo  string  `json:"echo"`
	Count int     `json:"count"`
	Ratio float64 `json:"ratio"`
	Flag  bool    `json:"flag"`
}

// fuzzHarness serves one action with an input of every kind the runtime
// binds, and a dynamic dropdown.
func fuzzHarness(f *testing.F) *actionstest.Harness {
	return actionstest.New(f, func(r *actions.Registry) {
		actions.MustRegister(r, actions.Spec[fuzzIn, fuzzOut]{
			Key:         "fuzzee",
			Name:        "Fuzzee",
			Description: "Fuzz target",
			CardContent: "Fuzz {{text}}",
			ObjectTypes: []string{"CONTACT"},
			Inputs: []actions.InputField{
				{Name: "text", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Text", Required: true},
				{Name: "count", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Count"},
				{Name: "ratio", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Ratio"},
				{Name: "flag", Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Flag"},
				{Name: "color", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Color",
					Options: []actions.Option{{Label: "Red", Value: "red"}, {Label: "Green", Value: "green"}}},
				{Name: "pick", Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Pick", Dynamic: true},
			},
			Outputs: []actions.OutputField{
				{Name: "echo", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Echo"},
				{Name: "count", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Count"},
				{Name: "ratio", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Ratio"},
				{Name: "flag", Type: actions.TypeBool, FieldType: actions.FieldCheckbox, Label: "Flag"},
			},
			Run: func(ctx context.Context, ex *actions.Execution, in fuzzIn) (fuzzOut, error) {
				return fuzzOut{Echo: in.Text, Count: in.Count, Ratio: in.Ratio, Flag: in.Flag}, nil
			},
			Options: map[string]actions.OptionsFunc{
				"pick": func(ctx context.Context, req *actions.OptionsRequest) (actions.OptionsPage, error) {
					return actions.OptionsPage{Options: []actions.Option{{Label: "Q " + req.FetchOptions.Q, Value: req.FetchOptions.After}}, Searchable: true}, nil
				},
			},
		})
	}, actionstest.Options{Config: actions.Config{InlineBudget: 2 * time.Second}})
}

// executionSeeds are bodies HubSpot sends (§1.4 of the protocol) and near
// misses of them.
var executionSeeds = []string{
	`{"callbackId":"ap-1-2-3","origin":{"portalId":123,"actionDefinitionId":4,"actionDefinitionVersion":1},"context":{"source":"WORKFLOWS","workflowId":9},"object":{"objectId":"55","objectType":"CONTACT","properties":{"email":"a@b.test"}},"inputFields":{"text":"hi","count":3,"ratio":"0.5","flag":"true","color":"red"}}`,
	`{"callbackId":"ap-1-2-4","origin":{"portalId":"123"},"object":{"objectId":55,"objectType":"CONTACT"},"inputFields":{"text":"x","count":"7"}}`,
	`{"callbackId":"ap-1-2-5","origin":{"portalId":123},"inputFields":{"text":"","count":-1,"color":"blue"}}`,
	`{"callbackId":"ap-1-2-6","origin":{"portalId":123},"inputFields":{"text":{"a":1},"count":1e309,"flag":"maybe"}}`,
	`{"callbackId":"ap-1-2-7","origin":{"portalId":123},"inputFields":{"text":["a"],"count":1.5,"ratio":null}}`,
	`{"callbackId":"","origin":{"portalId":123}}`,
	`{"callbackId":"ap","origin":{"portalId":-1}}`,
	`{"callbackId":"ap","origin":{"portalId":"12x"}}`,
	`{"callbackId":"ap","origin":{"portalId":9223372036854775808}}`,
	`{"callbackId":7}`,
	`[]`,
	`null`,
	``,
	`{"callbackId":"ap-1`,
	"{\"callbackId\":\"ap-\u00ff\xff\",\"origin\":{\"portalId\":1},\"inputFields\":{\"text\":\"\xc3\x28\"}}",
}

// FuzzDecodeOptionsRequest: the same for dropdown requests.
func FuzzDecodeOptionsRequest(f *testing.F) {
	f.Add([]byte(`{"origin":{"portalId":123,"actionDefinitionId":4},"objectTypeId":"0-1","inputFieldName":"pick","inputFields":{"color":{"type":"STATIC_VALUE","value":"red"},"text":{"type":"OBJECT_PROPERTY","propertyName":"email"}},"fetchOptions":{"q":"ac","after":"10"}}`))
	f.Add([]byte(`{"origin":{"portalId":"123"},"inputFields":{"color":"red"}}`))
	f.Add([]byte(`{"origin":{"portalId":0}}`))
	f.Add([]byte(`{"fetchOptions":{"q":5}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := actions.DecodeOptionsRequest(body)
		if err != nil {
			var re *actions.RequestError
			if !errors.As(err, &re) || re.Reason == "" {
				t.Fatalf("DecodeOptionsRequest error %T %v, want a *RequestError with a reason", err, err)
			}
			return
		}
		if req.Origin.PortalID <= 0 {
			t.Fatalf("accepted %q without a portal", body)
		}
	})
}

// FuzzExecute sends any body, signed, to a running runtime: the answer is
// 200 with an execution state, or 400 with a reason; never a 5xx.
func FuzzExecute(f *testing.F) {
	for _, s := range executionSeeds {
		f.Add([]byte(s))
	}
	h := fuzzHarness(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, b := h.Post(t, "/hubspot/actions/fuzzee", body)
		switch status {
		case http.StatusOK:
			var res actions.Response
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatalf("200 with a body that is not a response: %s", b)
			}
			switch st := res.OutputFields[actions.OutputState]; st {
			case actions.StateSuccess, actions.StateBlock:
			case actions.StateFailContinue:
				if res.OutputFields[actions.OutputErrorCode] == "" || res.OutputFields[actions.OutputErrorMsg] == "" {
					t.Fatalf("a failure without code or message: %s", b)
				}
			default:
				t.Fatalf("execution state %q in %s", st, b)
			}
		case http.StatusBadRequest:
			var e struct{ Error string }
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
				t.Fatalf("400 without a reason: %s", b)
			}
		default:
			t.Fatalf("body %q: status %d: %s", body, status, b)
		}
	})
}

// FuzzOptions does the same for the dropdown route: the marketer always
// gets a page of options (a failure is one explanatory option), or 400.
func FuzzOptions(f *testing.F) {
	f.Add([]byte(`{"origin":{"portalId":123},"inputFieldName":"pick","fetchOptions":{"q":"ac","after":"10"}}`))
	f.Add([]byte(`{"origin":{"portalId":123},"inputFields":{"color":{"type":"STATIC_VALUE","value":["red"]}}}`))
	f.Add([]byte(`{"origin":{"portalId":-5}}`))
	f.Add([]byte(`{"origin":{"portalId":1},"fetchOptions":{"after":{"x":1}}}`))
	f.Add([]byte(`{`))
	h := fuzzHarness(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, b := h.Post(t, "/hubspot/actions/fuzzee/options/pick", body)
		switch status {
		case http.StatusOK:
			var page actions.OptionsPage
			if err := json.Unmarshal(b, &page); err != nil || page.Options == nil {
				t.Fatalf("200 with a body that is not an options page: %s", b)
			}
		case http.StatusBadRequest:
			var e struct{ Error string }
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
				t.Fatalf("400 without a reason: %s", b)
			}
		default:
			t.Fatalf("body %q: status %d: %s", body, status, b)
		}
	})
}
