package quickbooks

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
)

// Fault is an error answer from the Accounting API, in whichever of its
// forms it came: a JSON Fault (even inside a 200), the lower-case fault of
// the gateway's 401, or an XML Fault (throttling, wrong realm). It unwraps
// to an *upstream.APIError whose Status says how to treat it: 429 for
// throttling (also the older 403 form), 401 for authentication, 5xx for a
// SystemFault, 400 for a ValidationFault inside a 200.
type Fault struct {
	Status    int    // the HTTP status Intuit answered
	Type      string // ValidationFault, SystemFault, AuthenticationFault, AuthorizationFault, AUTHENTICATION, SERVICE …
	Errors    []FaultError
	IntuitTID string // Intuit's transaction id, for their support
	api       *upstream.APIError
	rejected  string // on a 401, the oauth.Fingerprint of the token Intuit refused
}

// FaultError is one error of a Fault.
type FaultError struct {
	Code    string // a string, e.g. "6240"
	Message string
	Detail  string
	Element string // the offending field, when Intuit knows it
}

// ProviderText is Intuit's own words, which may quote the request (a
// customer's name, an email): logs withhold them (actions.ProviderTexter).
func (f *Fault) ProviderText() []string {
	var out []string
	for _, e := range f.Errors {
		out = append(out, e.Message, e.Detail, e.Element)
	}
	return out
}

var _ actions.ProviderTexter = (*Fault)(nil)

func (f *Fault) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "quickbooks: http %d", f.Status)
	if f.Type != "" {
		b.WriteString(" " + f.Type)
	}
	for _, e := range f.Errors {
		fmt.Fprintf(&b, " [%s] %s", e.Code, e.Message)
		if e.Detail != "" {
			b.WriteString(": " + e.Detail)
		}
		if e.Element != "" {
			b.WriteString(" (element " + e.Element + ")")
		}
	}
	if len(f.Errors) == 0 && f.api != nil && f.api.Body != "" {
		b.WriteString(": " + f.api.Body)
	}
	if f.IntuitTID != "" {
		b.WriteString(" intuit_tid=" + f.IntuitTID)
	}
	return b.String()
}

// Unwrap returns the *upstream.APIError the runtime classifies.
func (f *Fault) Unwrap() error { return f.api }

// Has reports whether the fault holds an error with code.
func (f *Fault) Has(code string) bool {
	for _, e := range f.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// Throttled reports whether Intuit refused the request for exceeding its
// limits (429, or the older 403 with ThrottleExceeded).
func (f *Fault) Throttled() bool { return f.api != nil && f.api.Status == http.StatusTooManyRequests }

// Auth reports whether Intuit rejected the access token.
func (f *Fault) Auth() bool { return f.api != nil && f.api.Status == http.StatusUnauthorized }

// First returns the first error, or a zero FaultError.
func (f *Fault) First() FaultError {
	if len(f.Errors) == 0 {
		return FaultError{}
	}
	return f.Errors[0]
}

// jsonFault matches both casings of the JSON fault: encoding/json matches
// keys case-insensitively, so "Fault"/"fault", "Error"/"error" and
// "Message"/"message" all land here.
type jsonFault struct {
	Fault *struct {
		Type  string `json:"type"`
		Error []struct {
			Message string `json:"Message"`
			Detail  string `json:"Detail"`
			Code    string `json:"code"`
			Element string `json:"element"`
		} `json:"Error"`
	} `json:"Fault"`
}

type xmlFault struct {
	Type  string `xml:"type,attr"`
	Error []struct {
		Code    string `xml:"code,attr"`
		Element string `xml:"element,attr"`
		Message string `xml:"Message"`
		Detail  string `xml:"Detail"`
	} `xml:"Error"`
}

// parseFault reads a fault from a body in any of its forms. ok is false
// when the body holds none.
func parseFault(body []byte) (typ string, errs []FaultError, ok bool) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return "", nil, false
	}
	if b[0] == '{' {
		// Skip the decode for the common case, a success without a fault.
		if !bytes.Contains(b, []byte(`ault"`)) && !bytes.Contains(b, []byte(`AULT"`)) {
			return "", nil, false
		}
		var jf jsonFault
		if json.Unmarshal(b, &jf) != nil || jf.Fault == nil {
			return "", nil, false
		}
		for _, e := range jf.Fault.Error {
			errs = append(errs, FaultError{Code: e.Code, Message: e.Message, Detail: e.Detail, Element: e.Element})
		}
		return jf.Fault.Type, errs, true
	}
	if b[0] == '<' {
		// The fault is either the root (<Fault>) or inside <IntuitResponse>.
		dec := xml.NewDecoder(bytes.NewReader(b))
		for {
			tok, err := dec.Token()
			if err != nil {
				return "", nil, false
			}
			se, isStart := tok.(xml.StartElement)
			if !isStart || se.Name.Local != "Fault" {
				continue
			}
			var xf xmlFault
			if dec.DecodeElement(&xf, &se) != nil {
				return "", nil, false
			}
			for _, e := range xf.Error {
				errs = append(errs, FaultError{Code: e.Code, Message: strings.TrimSpace(e.Message), Detail: strings.TrimSpace(e.Detail), Element: e.Element})
			}
			return xf.Type, errs, true
		}
	}
	return "", nil, false
}

// newFault builds the error for an answer: a non-2xx status, or a 2xx
// whose body held a fault.
func newFault(resp *http.Response, body []byte, now time.Time) *Fault {
	typ, errs, _ := parseFault(body)
	f := &Fault{Status: resp.StatusCode, Type: typ, Errors: errs, IntuitTID: resp.Header.Get("intuit_tid")}
	api := upstream.NewAPIError(resp, body, now)
	api.Status = effectiveStatus(resp.StatusCode, typ, errs)
	f.api = api
	if api.Status == http.StatusUnauthorized {
		f.rejected = oauth.SentFingerprint(resp.Request)
	}
	return f
}

// effectiveStatus says how an answer is to be treated, whatever status it
// came with.
func effectiveStatus(status int, typ string, errs []FaultError) int {
	for _, e := range errs {
		if e.Code == "3001" || strings.Contains(e.Message, "ThrottleExceeded") {
			return http.StatusTooManyRequests
		}
	}
	if status >= 300 {
		if status == http.StatusForbidden && strings.EqualFold(typ, "AuthenticationFault") {
			return http.StatusUnauthorized
		}
		return status
	}
	// A fault inside a 2xx.
	switch strings.ToLower(typ) {
	case "systemfault", "service":
		return http.StatusInternalServerError
	case "authenticationfault", "authentication":
		return http.StatusUnauthorized
	case "authorizationfault":
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}
