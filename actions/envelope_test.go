package actions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	body := `{
	  "callbackId": "ap-7000001-88800000001-3-0",
	  "origin": {"portalId": 7000001, "actionDefinitionId": "4400001", "actionDefinitionVersion": 2,
	             "extensionDefinitionId": 4400001, "extensionDefinitionVersionId": 2},
	  "context": {"source": "WORKFLOWS", "workflowId": "5550001", "actionId": 1},
	  "object": {"objectId": 1234, "objectType": "CONTACT", "properties": {"email": "pat@example.test", "n": 5, "x": null}},
	  "inputFields": {"title": "Printer on fire", "count": "3", "flag": true, "gone": null},
	  "fields": {"title": "Printer on fire"},
	  "typedInputs": {"title": {"value": "Printer on fire", "type": "STRING"}}
	}`
	got, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatalf("DecodeRequest() error = %v", err)
	}
	want := &Request{
		CallbackID: "ap-7000001-88800000001-3-0",
		Origin:     Origin{PortalID: 7000001, ActionDefinitionID: 4400001, ActionDefinitionVersion: 2},
		Context:    Context{Source: "WORKFLOWS", WorkflowID: 5550001, ActionID: 1},
		Object: Object{ObjectID: "1234", ObjectType: "CONTACT",
			Properties: map[string]FlexString{"email": "pat@example.test", "n": "5", "x": ""}},
		InputFields: map[string]any{"title": "Printer on fire", "count": "3", "flag": true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeRequest() mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, "cut short"},
		{"malformed", `{"callbackId": "a",`, "cut short"},
		{"garbage", `hello`, "malformed JSON"},
		{"array", `[1,2]`, "expected a JSON object"},
		{"no callbackId", `{"origin": {"portalId": 1}}`, "callbackId is missing"},
		{"no portal", `{"callbackId": "x"}`, "origin.portalId is missing"},
		{"bad portal", `{"callbackId": "x", "origin": {"portalId": "abc"}}`, "not a whole number"},
		{"fractional portal", `{"callbackId": "x", "origin": {"portalId": 1.5}}`, "not a whole number"},
		{"negative portal", `{"callbackId": "x", "origin": {"portalId": -4}}`, "origin.portalId must be a positive HubSpot portal id"},
		{"inputs not an object", `{"callbackId": "x", "origin": {"portalId": 1}, "inputFields": [1]}`, "inputFields has the wrong type"},
		{"property object", `{"callbackId": "x", "origin": {"portalId": 1}, "object": {"properties": {"a": {}}}}`, "not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.body))
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeRequest(%q) error = %v, want *RequestError", tt.body, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeRequest(%q) error = %q, want it to mention %q", tt.body, err, tt.want)
			}
		})
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"callbackId":"ap-1-2-3","origin":{"portalId":1},"inputFields":{"a":"1","b":2,"c":true}}`))
	f.Add([]byte(`{"callbackId":"x","origin":{"portalId":"12"},"object":{"objectId":"9","properties":{"email":1}}}`))
	f.Add([]byte(`{"callbackId":"","origin":{}}`))
	f.Add([]byte(`{"origin":{"portalId":1e400}}`))
	f.Add([]byte("\xff\x00{"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Reason == "" {
				t.Fatalf("DecodeRequest error %T %v, want a *RequestError with a reason", err, err)
			}
			if len(body) > 12 && strings.Contains(re.Reason, string(body)) {
				t.Fatalf("the reason quotes the body: %q", re.Reason)
			}
			return
		}
		if strings.TrimSpace(req.CallbackID) == "" || len(req.CallbackID) > 255 || req.Origin.PortalID <= 0 || req.InputFields == nil {
			t.Fatalf("DecodeRequest accepted %q as %+v", body, req)
		}
		for k, v := range req.InputFields {
			if v == nil {
				t.Fatalf("input %q kept as null", k)
			}
		}
		// The ledger stores the decoded request; it must encode and decode again.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeRequest(b)
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		if back.CallbackID != req.CallbackID || back.Origin != req.Origin || back.Object.ObjectID != req.Object.ObjectID {
			t.Fatalf("the round trip changed the request: %+v != %+v", back, req)
		}
		// Binding inputs into any field type must not panic.
		var in struct {
			S string  `json:"a"`
			N int     `json:"b"`
			B bool    `json:"c"`
			F float64 `json:"d"`
		}
		_ = bindInputs(&in, req.InputFields)
	})
}

func TestBindInputs(t *testing.T) {
	t.Parallel()
	type in struct {
		S string  `json:"s"`
		N int     `json:"n"`
		B bool    `json:"b"`
		F float64 `json:"f"`
	}
	tests := []struct {
		name    string
		inputs  map[string]any
		want    in
		problem string
	}{
		{"typed", map[string]any{"s": " x ", "n": 3.0, "b": true, "f": 1.5}, in{S: "x", N: 3, B: true, F: 1.5}, ""},
		{"strings", map[string]any{"s": "x", "n": "42", "b": "true", "f": "1,234.5"}, in{S: "x", N: 42, B: true, F: 1234.5}, ""},
		{"empty strings", map[string]any{"n": "", "b": "", "f": ""}, in{}, ""},
		{"number as text", map[string]any{"s": 12.0}, in{S: "12"}, ""},
		{"bad number", map[string]any{"n": "ten"}, in{}, `n: must be a number, not "ten"`},
		{"decimal comma refused", map[string]any{"f": "10,50"}, in{}, `f: must be a number with a dot for decimals (such as 10.50), not "10,50"`},
		{"thousands", map[string]any{"f": "-12,345,678.5"}, in{F: -12345678.5}, ""},
		{"fraction for int", map[string]any{"n": "2.5"}, in{}, "n: must be a whole number, not 2.5"},
		{"bad bool", map[string]any{"b": "maybe"}, in{}, `b: must be true or false, not "maybe"`},
		{"object for string", map[string]any{"s": map[string]any{}}, in{}, "s: must be text"},
		{"huge", map[string]any{"n": 1e300}, in{}, "n: is too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got in
			err := bindInputs(&got, tt.inputs)
			if tt.problem != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeValidation || e.Message != tt.problem {
					t.Fatalf("bindInputs() error = %v, want VALIDATION_FAILED %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatalf("bindInputs() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("bindInputs() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEncodeOutputs(t *testing.T) {
	t.Parallel()
	type out struct {
		S  string  `json:"s"`
		B  bool    `json:"b"`
		N  int     `json:"n"`
		Z  int     `json:"z,omitempty"`
		F  float64 `json:"f"`
		NF float64 `json:"nf,omitempty"`
	}
	got := encodeOutputs(out{S: "x", B: true, N: 0, F: 12.50})
	want := map[string]string{"s": "x", "b": "true", "n": "0", "z": "", "f": "12.5", "nf": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("encodeOutputs() mismatch (-want +got):\n%s", diff)
	}
}

func TestISODuration(t *testing.T) {
	t.Parallel()
	tests := map[string]string{"24h0m0s": "P1D", "26h3m4s": "P1DT2H3M4S", "1m0s": "PT1M", "0s": "PT0S", "90s": "PT1M30S", "49h": "P2DT1H"}
	for in, want := range tests {
		d, _ := time.ParseDuration(in)
		if got := isoDuration(d); got != want {
			t.Errorf("isoDuration(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestIdempotencyKeyAndReference(t *testing.T) {
	t.Parallel()
	k1 := idempotencyKey("ap-1-2-3", "invoice")
	if k1 != idempotencyKey("ap-1-2-3", "invoice") || k1 == idempotencyKey("ap-1-2-3", "customer") || k1 == idempotencyKey("ap-1-2-4", "invoice") {
		t.Errorf("idempotencyKey is not a stable function of callbackId and purpose")
	}
	if len(k1) > 50 {
		t.Errorf("idempotencyKey length = %d, want <= 50", len(k1))
	}
	r := reference("ap-1-2-3")
	if len(r) != 13 || !strings.HasPrefix(r, "EX-") || r != reference("ap-1-2-3") || r == reference("ap-1-2-4") {
		t.Errorf("reference() = %q, want a stable EX-XXXXXXXXXX", r)
	}
}

// The answer and the recorded outputs are encoded by hand; they must be
// byte for byte what encoding/json writes.
func TestResponseEncodingMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	maps := []map[string]string{
		nil,
		{},
		{"hs_execution_state": "SUCCESS", "error_code": "", "echo": "hello"},
		{"b": "<script>&amp;</script>", "a": "quote \" and \\ backslash", "c": "tab\tnew\nline\r\x00\x1f\x7f"},
		{"ünïcode": "日本語 \u2028 \u2029", "bad": "\xff\xfe invalid", "z": "€", "emoji": "😀"},
		{"k1": "1", "k10": "10", "k2": "2", "K": "upper", "": "empty key", "17 keys": "more than the stack"},
	}
	for i := range 20 {
		maps[len(maps)-1][strings.Repeat("x", i)] = strings.Repeat("<", i)
	}
	for _, m := range maps {
		var want strings.Builder
		if err := json.NewEncoder(&want).Encode(Response{OutputFields: m}); err != nil {
			t.Fatal(err)
		}
		if got := string(Response{OutputFields: m}.appendJSON(nil)); got != want.String() {
			t.Errorf("answer for %q:\n got %s\nwant %s", m, got, want.String())
		}
		if m == nil {
			continue
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustJSON(m); got != string(b) {
			t.Errorf("outputs %q:\n got %s\nwant %s", m, got, b)
		}
	}
}

// Plain strings are sliced directly; escapes and non-ASCII still decode as
// encoding/json decodes them.
func TestFlexScalarsUnquote(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`"plain"`, `""`, `"caf\u00e9 \"x\" \\ \n"`, `"日本"`, "\"bad \xff byte\"", `"a\/b"`} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		var s FlexString
		if err := s.UnmarshalJSON([]byte(raw)); err != nil || string(s) != want {
			t.Errorf("FlexString(%s) = %q, %v; want %q", raw, s, err, want)
		}
	}
	var n FlexInt
	if err := n.UnmarshalJSON([]byte(`" 42 "`)); err != nil || n != 42 {
		t.Errorf(`FlexInt(" 42 ") = %d, %v`, n, err)
	}
	if err := n.UnmarshalJSON([]byte(`"4\u0032"`)); err != nil || n != 42 {
		t.Errorf(`FlexInt("4\u0032") = %d, %v`, n, err)
	}
}
