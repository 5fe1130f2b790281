package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Request is HubSpot's execution request, as POSTed to an actionUrl.
// Numbers may arrive as JSON strings and unknown fields are ignored.
type Request struct {
	CallbackID  string         `json:"callbackId"`
	Origin      Origin         `json:"origin"`
	Context     Context        `json:"context"`
	Object      Object         `json:"object"`
	InputFields map[string]any `json:"inputFields"`
}

// Origin says which portal and which action definition an execution is for.
type Origin struct {
	PortalID                FlexInt `json:"portalId"`
	ActionDefinitionID      FlexInt `json:"actionDefinitionId"`
	ActionDefinitionVersion FlexInt `json:"actionDefinitionVersion"`
}

// Context says where the execution came from.
type Context struct {
	Source     string  `json:"source"`
	WorkflowID FlexInt `json:"workflowId"`
	ActionID   FlexInt `json:"actionId,omitzero"`
}

// Object is the enrolled CRM record, with the properties the definition's
// objectRequestOptions asked for.
type Object struct {
	ObjectID   FlexString            `json:"objectId"`
	ObjectType string                `json:"objectType"`
	Properties map[string]FlexString `json:"properties,omitempty"`
}

// Property returns an object property, or "".
func (o Object) Property(name string) string { return string(o.Properties[name]) }

// FlexInt is an integer that HubSpot may send as a JSON number or string.
type FlexInt int64

// UnmarshalJSON accepts 123, "123" and null.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		s, err := unquote(b)
		if err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = 0
			return nil
		}
		b = []byte(s)
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("%q is not a whole number", string(b))
		}
		v = int64(f)
	}
	*n = FlexInt(v)
	return nil
}

// FlexString is a string that HubSpot may send as a JSON string, number,
// boolean or null.
type FlexString string

// UnmarshalJSON accepts any JSON scalar.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
	case len(b) > 0 && b[0] == '"':
		v, err := unquote(b)
		if err != nil {
			return err
		}
		*s = FlexString(v)
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return errors.New("expected a string, not an object or array")
	default:
		*s = FlexString(b)
	}
	return nil
}

// unquote decodes a JSON string. One made of plain ASCII without escapes
// (nearly every id and property) is sliced directly; the rest goes through
// encoding/json.
func unquote(b []byte) (string, error) {
	if n := len(b); n >= 2 && b[n-1] == '"' {
		plain := true
		for _, c := range b[1 : n-1] {
			if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
				plain = false
				break
			}
		}
		if plain {
			return string(b[1 : n-1]), nil
		}
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// RequestError is a body that is not an execution request; it answers 400.
type RequestError struct{ Reason string }

func (e *RequestError) Error() string { return e.Reason }

// DecodeRequest parses an execution request body. It returns a
// *RequestError when the body is not JSON or not an execution request.
func DecodeRequest(body []byte) (*Request, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &RequestError{Reason: "body is not a valid execution request: " + jsonProblem(err)}
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	return &req, nil
}

func (r *Request) check() error {
	switch {
	case strings.TrimSpace(r.CallbackID) == "":
		return &RequestError{Reason: "not an execution request: callbackId is missing"}
	case len(r.CallbackID) > 255:
		return &RequestError{Reason: "callbackId is longer than 255 characters"}
	case r.Origin.PortalID == 0:
		return &RequestError{Reason: "not an execution request: origin.portalId is missing"}
	case r.Origin.PortalID < 0:
		return &RequestError{Reason: "origin.portalId must be a positive HubSpot portal id"}
	}
	if r.InputFields == nil {
		r.InputFields = map[string]any{}
	}
	for k, v := range r.InputFields {
		if v == nil {
			delete(r.InputFields, k)
		}
	}
	return nil
}

// jsonProblem describes a JSON error without echoing the body back.
func jsonProblem(err error) string {
	if strings.Contains(err.Error(), "unexpected end of JSON input") {
		return "the body is empty or cut short"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s has the wrong type (got a JSON %s)", te.Field, te.Value)
		}
		return fmt.Sprintf("expected a JSON object, got a JSON %s", te.Value)
	}
	return err.Error()
}

// Execution states answered in hs_execution_state.
const (
	StateSuccess      = "SUCCESS"
	StateFailContinue = "FAIL_CONTINUE"
	StateBlock        = "BLOCK"
)

// Output keys the runtime adds to every action's outputs.
const (
	OutputState      = "hs_execution_state"
	OutputExpiration = "hs_expiration_duration"
	OutputErrorCode  = "error_code"
	OutputErrorMsg   = "error_message"
	// OutputTestMode is "true" when the execution ran in test mode (against
	// the providers' fakes), "false" otherwise.
	OutputTestMode = "test_mode"
)

// Response is the answer to an execution request, and (its outputFields) the
// body of a callback completion.
type Response struct {
	OutputFields map[string]string `json:"outputFields"`
}

// OptionsRequest is HubSpot's request for the options of a dropdown
// (§6 of the protocol).
type OptionsRequest struct {
	Origin         Origin                 `json:"origin"`
	ObjectTypeID   string                 `json:"objectTypeId"`
	InputFieldName string                 `json:"inputFieldName"`
	InputFields    map[string]OptionInput `json:"inputFields"`
	FetchOptions   struct {
		Q     string `json:"q"`
		After string `json:"after"`
	} `json:"fetchOptions"`
}

// OptionInput is an input already filled in the editor: a static value or a
// reference to an object property (not resolved).
type OptionInput struct {
	Type         string `json:"type"`
	Value        any    `json:"value,omitempty"`
	PropertyName string `json:"propertyName,omitempty"`
}

// Option is one dropdown choice.
type Option struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	Description  string `json:"description,omitempty"`
	DisplayOrder int    `json:"displayOrder,omitempty"`
}

// OptionsPage answers an options request. After, when set, makes HubSpot
// show "load more" and send it back; Searchable shows a search box.
type OptionsPage struct {
	Options    []Option `json:"options"`
	After      string   `json:"after,omitempty"`
	Searchable bool     `json:"searchable"`
}

// DecodeOptionsRequest parses an options request body.
func DecodeOptionsRequest(body []byte) (*OptionsRequest, error) {
	var req OptionsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &RequestError{Reason: "body is not a valid options request: " + jsonProblem(err)}
	}
	if req.Origin.PortalID == 0 {
		return nil, &RequestError{Reason: "not an options request: origin.portalId is missing"}
	}
	if req.Origin.PortalID < 0 {
		return nil, &RequestError{Reason: "origin.portalId must be a positive HubSpot portal id"}
	}
	return &req, nil
}

// appendJSON appends the response as json.Encoder writes it (keys sorted,
// HTML-safe escaping, a final newline), without reflection.
func (r Response) appendJSON(b []byte) []byte {
	b = append(b, `{"outputFields":`...)
	if r.OutputFields == nil {
		b = append(b, "null"...)
	} else {
		b = appendStringMap(b, r.OutputFields)
	}
	return append(b, "}\n"...)
}

// appendStringMap appends m exactly as json.Marshal encodes it.
func appendStringMap(b []byte, m map[string]string) []byte {
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. Plain printable ASCII is
// copied; anything else is left to encoding/json, so that escaping stays
// exactly the standard library's.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
