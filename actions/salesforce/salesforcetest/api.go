package salesforcetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MinVersion and MaxVersion bound the API versions the fake serves.
const (
	MinVersion = 20.0
	MaxVersion = 66.0
)

// leadFields are the Lead fields the fake knows, with their lengths.
var leadFields = map[string]int{
	"FirstName": 40, "LastName": 80, "Company": 255, "Email": 80, "Phone": 40,
	"LeadSource": 255, "Status": 255, "Description": 32000,
}

// Statuses are the values of the Lead Status picklist, which is
// restricted: any other value is refused.
var Statuses = []string{"Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"}

// api serves /services/data/vNN.N/…: it checks the bearer token, spends
// one request of the org's allocation, and says so in Sforce-Limit-Info.
func (s *Server) api(w http.ResponseWriter, r *http.Request, body []byte) {
	rest := strings.TrimPrefix(r.URL.Path, DataPath)
	ver, rest, _ := strings.Cut(rest, "/")
	v, err := strconv.ParseFloat(strings.TrimPrefix(ver, "v"), 64)
	if !strings.HasPrefix(ver, "v") || !strings.Contains(ver, ".") || err != nil || v < MinVersion || v > MaxVersion {
		writeErrors(w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	live := s.access[tok]
	var fail *Failure
	if live {
		s.opts.Used++
		for i, f := range s.failNext {
			if (f.PathContains == "" || strings.Contains(r.URL.Path, f.PathContains)) && (f.Method == "" || f.Method == r.Method) {
				fail = &f
				s.failNext = slices.Delete(s.failNext, i, i+1)
				break
			}
		}
	}
	used, limit := s.opts.Used, s.opts.DailyLimit
	s.mu.Unlock()
	if !live {
		writeErrors(w, http.StatusUnauthorized, apiError{"Session expired or invalid", "INVALID_SESSION_ID", nil})
		return
	}
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", used, limit))
	switch {
	case used > limit:
		writeErrors(w, http.StatusForbidden, apiError{"TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED", nil})
		return
	case fail != nil:
		writeErrors(w, fail.Status, apiError{fail.Message, fail.ErrorCode, fail.Fields})
		return
	}
	parts := strings.Split(rest, "/")
	switch {
	case rest == "limits" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"DailyApiRequests": map[string]int{"Max": limit, "Remaining": max(limit-used, 0)}})
	case len(parts) == 4 && parts[0] == "sobjects" && parts[1] == "Lead" && r.Method == http.MethodGet:
		s.getByExternalID(w, ver, parts[2], parts[3])
	case rest == "query" && r.Method == http.MethodGet:
		s.query(w, r.URL.Query().Get("q"), ver)
	case len(parts) == 2 && parts[0] == "sobjects" && parts[1] == "Lead" && r.Method == http.MethodPost:
		s.create(w, body)
	case len(parts) == 3 && parts[0] == "sobjects" && parts[1] == "Lead" && r.Method == http.MethodPatch:
		s.updateByID(w, parts[2], body)
	case len(parts) == 4 && parts[0] == "sobjects" && parts[1] == "Lead" && r.Method == http.MethodPatch:
		s.upsert(w, ver, v, parts[2], parts[3], body)
	default:
		writeErrors(w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
	}
}

// fields decodes a record body and checks each field.
func (s *Server) fields(w http.ResponseWriter, body []byte, forbid ...string) (Lead, bool) {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{"Json Deserialization failed on token 'null' and has left off in the middle of parsing a row. Will go to end of row to begin parsing the next row", "JSON_PARSER_ERROR", nil})
		return nil, false
	}
	l := Lead{}
	for k, v := range raw {
		if slices.Contains(forbid, k) {
			writeErrors(w, http.StatusBadRequest, apiError{"Unable to create/update fields: " + k + ". Please check the security settings of this field and verify that it is read/write for your profile or permission set.", "INVALID_FIELD_FOR_INSERT_UPDATE", []string{k}})
			return nil, false
		}
		max, known := leadFields[k]
		if !known && slices.Contains(s.opts.ExternalIDFields, k) {
			max, known = 255, true
		}
		if !known {
			writeErrors(w, http.StatusBadRequest, apiError{"No such column '" + k + "' on sobject of type Lead", "INVALID_FIELD", nil})
			return nil, false
		}
		str, ok := v.(string)
		if v == nil {
			str, ok = "", true
		}
		if !ok {
			writeErrors(w, http.StatusBadRequest, apiError{"Cannot deserialize instance of string from " + fmt.Sprintf("%T", v), "JSON_PARSER_ERROR", nil})
			return nil, false
		}
		if utf8.RuneCountInString(str) > max {
			writeErrors(w, http.StatusBadRequest, apiError{k + ": data value too large: " + str + " (max length=" + strconv.Itoa(max) + ")", "STRING_TOO_LONG", []string{k}})
			return nil, false
		}
		if k == "Email" && str != "" && !plausibleEmail(str) {
			writeErrors(w, http.StatusBadRequest, apiError{"Email: invalid email address: " + str, "INVALID_EMAIL_ADDRESS", []string{"Email"}})
			return nil, false
		}
		if k == "Status" && str != "" && !slices.Contains(Statuses, str) {
			writeErrors(w, http.StatusBadRequest, apiError{"Lead Status: bad value for restricted picklist field: " + str, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", []string{"Status"}})
			return nil, false
		}
		l[k] = str
	}
	return l, true
}

func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at:], ".") && !strings.ContainsAny(s, " ,;<>")
}

// insert checks a new lead's required fields and duplicate rule and
// stores it. The caller holds no lock.
func (s *Server) insert(w http.ResponseWriter, l Lead) (string, bool) {
	var missing []string
	for _, f := range []string{"LastName", "Company"} {
		if strings.TrimSpace(l[f]) == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		writeErrors(w, http.StatusBadRequest, apiError{"Required fields are missing: [" + strings.Join(missing, ", ") + "]", "REQUIRED_FIELD_MISSING", missing})
		return "", false
	}
	s.mu.Lock()
	dup := false
	for _, o := range s.leads {
		dup = dup || (s.opts.DuplicateRule && l["Email"] != "" && strings.EqualFold(o["Email"], l["Email"]))
	}
	var id string
	if !dup {
		id = s.addLead(l)
	}
	s.mu.Unlock()
	if dup {
		writeErrors(w, http.StatusBadRequest, apiError{"You're creating a duplicate record. We recommend you use an existing record instead.", "DUPLICATES_DETECTED", nil})
		return "", false
	}
	return id, true
}

type saveResult struct {
	ID      string     `json:"id"`
	Success bool       `json:"success"`
	Errors  []apiError `json:"errors"`
	Created *bool      `json:"created,omitempty"`
}

func (s *Server) create(w http.ResponseWriter, body []byte) {
	l, ok := s.fields(w, body, "Id")
	if !ok {
		return
	}
	id, ok := s.insert(w, l)
	if !ok {
		return
	}
	writeJSON(w, http.StatusCreated, saveResult{ID: id, Success: true, Errors: []apiError{}})
}

func (s *Server) updateByID(w http.ResponseWriter, id string, body []byte) {
	l, ok := s.fields(w, body, "Id")
	if !ok {
		return
	}
	s.mu.Lock()
	found := false
	for _, o := range s.leads {
		if o["Id"] == id {
			for k, v := range l {
				o[k] = v
			}
			found = true
		}
	}
	s.mu.Unlock()
	if !found {
		writeErrors(w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// upsert serves PATCH sobjects/Lead/{field}/{value}.
func (s *Server) upsert(w http.ResponseWriter, ver string, v float64, field, value string, body []byte) {
	if !slices.Contains(s.opts.ExternalIDFields, field) {
		writeErrors(w, http.StatusNotFound, apiError{"Provided external ID field does not exist or is not accessible: " + field, "NOT_FOUND", nil})
		return
	}
	l, ok := s.fields(w, body, "Id", field)
	if !ok {
		return
	}
	s.mu.Lock()
	var matches []Lead
	for _, o := range s.leads {
		if o[field] == value {
			matches = append(matches, o)
		}
	}
	switch len(matches) {
	case 0:
		s.mu.Unlock()
		l[field] = value
		id, ok := s.insert(w, l)
		if !ok {
			return
		}
		created := true
		writeJSON(w, http.StatusCreated, saveResult{ID: id, Success: true, Errors: []apiError{}, Created: &created})
	case 1:
		for k, val := range l {
			matches[0][k] = val
		}
		id := matches[0]["Id"]
		s.mu.Unlock()
		if v < 46 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		created := false
		writeJSON(w, http.StatusOK, saveResult{ID: id, Success: true, Errors: []apiError{}, Created: &created})
	default:
		var urls []string
		for _, m := range matches {
			urls = append(urls, DataPath+ver+"/sobjects/Lead/"+m["Id"])
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusMultipleChoices, urls)
	}
}

// getByExternalID serves GET sobjects/Lead/{field}/{value}.
func (s *Server) getByExternalID(w http.ResponseWriter, ver, field, value string) {
	s.mu.Lock()
	var found []Lead
	for _, o := range s.leads {
		if slices.Contains(s.opts.ExternalIDFields, field) && o[field] == value {
			found = append(found, o)
		}
	}
	s.mu.Unlock()
	switch len(found) {
	case 0:
		writeErrors(w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
	case 1:
		writeJSON(w, http.StatusOK, map[string]any{"attributes": map[string]string{"type": "Lead", "url": DataPath + ver + "/sobjects/Lead/" + found[0]["Id"]}, "Id": found[0]["Id"]})
	default:
		var urls []string
		for _, m := range found {
			urls = append(urls, DataPath+ver+"/sobjects/Lead/"+m["Id"])
		}
		writeJSON(w, http.StatusMultipleChoices, urls)
	}
}
