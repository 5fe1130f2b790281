package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/store"
)

// historyPageSize is how many executions one page of the history lists.
const historyPageSize = 25

// historyStates are the results the history can be filtered by, in the
// order the filter offers them, with their labels.
var historyStates = []option{
	{Value: actions.StateSuccess, Label: "Succeeded (SUCCESS)"},
	{Value: actions.StateFailContinue, Label: "Failed (FAIL_CONTINUE)"},
	{Value: "BLOCKED", Label: "Waiting for callback (BLOCKED)"},
	{Value: "RUNNING", Label: "Running"},
}

type option struct {
	Value, Label string
	Selected     bool
}

// historyPage is the data of the history template.
type historyPage struct {
	page
	Retention string
	Query     string
	Filtered  bool
	Actions   []option
	States    []option
	Rows      []historyRow
	PageNum   int
	PrevURL   string
	NextURL   string
	// Erasures are the account's most recent erasures of deleted records'
	// data, shown on the first page.
	Erasures []erasureRow
	// TestModeOn: the portal is in test mode now.
	TestModeOn bool
}

// erasureRow is one erasure as the history lists it: no personal data.
type erasureRow struct {
	Time, TimeISO string
	Requested     string
	Reason        string
	Object        string
	Executions    int64
}

// historyErasures is how many erasures the history lists.
const historyErasures = 20

// erasureReasons words each erasure reason for admins.
var erasureReasons = map[string]string{
	store.ErasePrivacyDeletion: "Privacy deletion of the contact",
	store.EraseDeletion:        "Record deleted in HubSpot",
}

func newErasureRow(er store.Erasure) erasureRow {
	reason := erasureReasons[er.Reason]
	if reason == "" {
		reason = er.Reason
	}
	return erasureRow{Time: fmtTime(er.ErasedAt), TimeISO: er.ErasedAt.UTC().Format(time.RFC3339), Requested: fmtTime(er.RequestedAt),
		Reason: reason, Object: strings.ToLower(er.ObjectType), Executions: er.Executions}
}

// historyRow is one execution as the history lists it.
type historyRow struct {
	Ref          string
	CallbackID   string
	DetailURL    string
	Time         string
	TimeISO      string
	Action       string
	ActionKey    string
	Workflow     string
	Object       string
	StateClass   string // success, failed, waiting or running
	StateLabel   string
	StateCode    string
	ErrorCode    string
	ErrorMessage string
	Duration     string
	Attempts     int
	// Erased: the record was deleted and this execution's data erased;
	// only the row's facts remain.
	Erased bool
	// Agent: one of HubSpot's agents ran the action as a tool (context
	// source AGENTS), maybe with no workflow and no record.
	Agent bool
	// TestMode: the execution ran in test mode, against the test versions
	// of the services.
	TestMode bool
}

// HandleHistory serves GET /settings/history: the session's portal's
// executions, newest first, filtered by action and result, searched by
// reference, callbackId or object id, a page at a time.
func HandleHistory(w *Pages, db *store.DB, reg *actions.Registry, retention time.Duration) echo.HandlerFunc {
	type request struct {
		Action string `query:"action" validate:"omitempty,max=100"`
		State  string `query:"state" validate:"omitempty,oneof=SUCCESS FAIL_CONTINUE BLOCKED RUNNING"`
		Q      string `query:"q" validate:"max=300"` // named as in the address, which an invalid value's page names
		Page   int    `query:"page" validate:"omitempty,min=1,max=100000"`
	}
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		portalID := sessionOf(c).PortalID
		var req request
		if err := (&echo.DefaultBinder{}).BindQueryParams(c, &req); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "The page number must be a whole number.").WithInternal(err)
		}
		if err := c.Validate(&req); err != nil {
			return err
		}
		req.Page = max(req.Page, 1)
		list, more, err := db.ListExecutions(ctx, store.ExecutionFilter{
			PortalID: portalID,
			Action:   req.Action,
			State:    req.State,
			Search:   searchTerm(req.Q),
			Limit:    historyPageSize,
			Offset:   (req.Page - 1) * historyPageSize,
		})
		if err != nil {
			return err
		}
		keys, err := db.DistinctActions(ctx, portalID)
		if err != nil {
			return err
		}
		p := historyPage{
			page:      w.newPage(c, "Execution history", "history"),
			Retention: fmtPeriod(retention),
			Query:     req.Q,
			Filtered:  req.Action != "" || req.State != "" || strings.TrimSpace(req.Q) != "",
			PageNum:   req.Page,
		}
		for _, k := range keys {
			p.Actions = append(p.Actions, option{Value: k, Label: actionName(reg, k), Selected: k == req.Action})
		}
		for _, s := range historyStates {
			s.Selected = s.Value == req.State
			p.States = append(p.States, s)
		}
		for _, e := range list {
			p.Rows = append(p.Rows, newHistoryRow(reg, e))
		}
		tm, err := w.testModeOf(c, portalID)
		if err != nil {
			return err
		}
		p.TestModeOn = tm.Enabled
		if req.Page == 1 {
			ers, err := db.ListErasures(ctx, portalID, historyErasures)
			if err != nil {
				return err
			}
			for _, er := range ers {
				p.Erasures = append(p.Erasures, newErasureRow(er))
			}
		}
		link := func(page int) string {
			q := url.Values{}
			for k, v := range map[string]string{"action": req.Action, "state": req.State, "q": req.Q} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if page > 1 {
				q.Set("page", strconv.Itoa(page))
			}
			if len(q) == 0 {
				return "/settings/history"
			}
			return "/settings/history?" + q.Encode()
		}
		if req.Page > 1 {
			p.PrevURL = link(req.Page - 1)
		}
		if more {
			p.NextURL = link(req.Page + 1)
		}
		if req.Page > 1 {
			p.Title += " (page " + strconv.Itoa(req.Page) + ")"
		}
		return w.render(c, http.StatusOK, "history", p)
	}
}

// refPattern finds an execution reference, as every failure message in
// HubSpot ends with "(ref EX-XXXXXXXXXX)".
var refPattern = regexp.MustCompile(`(?i)\bEX-[0-9A-Z]{10}\b`)

// searchTerm turns what an admin typed or pasted into the history's search:
// a reference anywhere in the text (a whole pasted error message finds its
// execution), else the text itself as a callbackId or object id.
func searchTerm(q string) string {
	if m := refPattern.FindString(q); m != "" {
		return strings.ToUpper(m)
	}
	return strings.TrimSpace(q)
}

func actionName(reg *actions.Registry, key string) string {
	if a, ok := reg.Get(key); ok && a.Name != "" {
		return a.Name
	}
	return key
}

func newHistoryRow(reg *actions.Registry, e store.Execution) historyRow {
	r := historyRow{
		Ref:          e.Ref,
		CallbackID:   e.CallbackID,
		Time:         fmtTime(e.ReceivedAt),
		TimeISO:      e.ReceivedAt.UTC().Format(time.RFC3339),
		Action:       actionName(reg, e.Action),
		ActionKey:    e.Action,
		Object:       strings.TrimSpace(e.ObjectType + " " + e.ObjectID),
		ErrorCode:    e.ErrorCode,
		ErrorMessage: redactText(e.ErrorMessage),
		Attempts:     e.Attempt,
		Erased:       e.Erased(),
		TestMode:     e.TestMode,
	}
	id := e.Ref
	if id == "" {
		id = e.CallbackID
	}
	r.DetailURL = "/settings/history/" + url.PathEscape(id)
	if e.WorkflowID != 0 {
		r.Workflow = strconv.FormatInt(e.WorkflowID, 10)
	}
	r.Agent = requestSource(e.Request).FromAgent()
	r.StateClass, r.StateLabel, r.StateCode = executionState(e)
	if !e.Exec.Live() && !e.FinishedAt.IsZero() {
		r.Duration = fmtDuration(e.FinishedAt.Sub(e.ReceivedAt))
	}
	return r
}

// executionState says where an execution stands, in the words of the
// history and in HubSpot's terms.
func executionState(e store.Execution) (class, label, code string) {
	switch {
	case !e.Exec.Live() && e.FinalState == actions.StateSuccess:
		return "success", "Succeeded", actions.StateSuccess
	case !e.Exec.Live() && e.FinalState == actions.StateFailContinue:
		return "failed", "Failed", actions.StateFailContinue
	case !e.Exec.Live():
		return "failed", e.FinalState, e.FinalState
	case e.Exec.ByCallback():
		return "waiting", "Waiting for callback", "BLOCKED"
	}
	return "running", "Running", "RUNNING"
}

// executionPage is the data of the execution template.
type executionPage struct {
	page
	Row      historyRow
	Source   string
	ActionID string
	Finished string
	Delivery []field
	Sections []fieldSection // inputs, record properties, outputs
}

// fieldSection is a titled table of fields.
type fieldSection struct {
	ID, Title, Empty string
	Fields           []field
}

// field is a name and a value, possibly redacted.
type field struct {
	Name     string
	Label    string
	Value    string
	Redacted bool
}

// HandleExecution serves GET /settings/history/:id: one execution of the
// session's portal, found by its reference or callbackId, with its inputs
// and outputs (secrets removed) and how its outcome reached HubSpot.
func HandleExecution(w *Pages, db *store.DB, reg *actions.Registry) echo.HandlerFunc {
	type request struct {
		ID string `param:"id" validate:"required,max=300"`
	}
	return func(c echo.Context) error {
		var req request
		if err := (&echo.DefaultBinder{}).BindPathParams(c, &req); err != nil {
			return err
		}
		if err := c.Validate(&req); err != nil {
			return err
		}
		e, err := findExecution(c.Request().Context(), db, sessionOf(c).PortalID, req.ID)
		if err != nil {
			return err
		}
		a, _ := reg.Get(e.Action)
		row := newHistoryRow(reg, e)
		p := executionPage{page: w.newPage(c, "Execution "+row.Ref, "history"), Row: row, Finished: fmtTime(e.FinishedAt)}
		var hreq actions.Request
		var inputs, props []field
		if err := json.Unmarshal([]byte(e.Request), &hreq); err == nil {
			p.Source = hreq.Context.Source
			if hreq.Context.ActionID != 0 {
				p.ActionID = strconv.FormatInt(int64(hreq.Context.ActionID), 10)
			}
			inputs = inputFields(a, hreq.InputFields)
			m := make(map[string]any, len(hreq.Object.Properties))
			for k, v := range hreq.Object.Properties {
				m[k] = string(v)
			}
			props = orderedFields(m, nil, nil, nil)
		}
		var outputs map[string]any
		if e.Outputs != "" {
			_ = json.Unmarshal([]byte(e.Outputs), &outputs)
		}
		p.Sections = []fieldSection{
			{ID: "inputs", Title: "Inputs", Empty: "The execution had no inputs.", Fields: inputs},
			{ID: "properties", Title: "Record properties sent by HubSpot", Empty: "HubSpot sent no record properties.", Fields: props},
			{ID: "outputs", Title: "Outputs", Empty: "No outputs yet.", Fields: outputFields(a, outputs)},
		}
		p.Delivery = deliveryFields(e)
		return w.render(c, http.StatusOK, "execution", p)
	}
}

// errNoExecution is the one answer for an execution that does not exist,
// was pruned, or belongs to another portal: which of them is not said.
var errNoExecution = echo.NewHTTPError(http.StatusNotFound,
	"No execution with this reference or callbackId is in this HubSpot account's history. It may be older than the history keeps.")

// findExecution finds one of a portal's executions by reference or
// callbackId.
func findExecution(ctx context.Context, db *store.DB, portalID int64, id string) (store.Execution, error) {
	if ref := searchTerm(id); refPattern.MatchString(ref) && ref == strings.ToUpper(strings.TrimSpace(id)) {
		list, _, err := db.ListExecutions(ctx, store.ExecutionFilter{PortalID: portalID, Search: ref, Limit: 200})
		if err != nil {
			return store.Execution{}, err
		}
		for _, e := range list {
			if e.Ref == ref {
				return e, nil
			}
		}
	}
	e, err := db.GetExecution(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && e.PortalID != portalID) {
		return store.Execution{}, errNoExecution.WithInternal(err)
	}
	return e, err
}

// redactedValue replaces a value that must not be shown back.
const redactedValue = "[redacted]"

// sensitiveName matches field names that hold credentials.
var sensitiveName = regexp.MustCompile(`(?i)key|token|secret|passw|pwd|credential|authoriz|signature|cookie|session|private`)

// Credentials are found by shape anywhere in a value, not only when they are
// all of it: a marketer's "use sk_live_… please" or an upstream error that
// echoes an Authorization header must not show them back.
var (
	// secretShape matches well-known credential formats: Stripe secret
	// and restricted keys, webhook secrets, HubSpot private app tokens,
	// JWTs, and a bearer token of some length (so that prose such as "a
	// bearer token is missing" stays readable).
	secretShape = regexp.MustCompile(`\b(?:sk|rk)_[A-Za-z0-9_]{6,}|\bwhsec_[A-Za-z0-9+/=_-]+|\bpat-[a-z]{2}\d-[A-Za-z0-9-]{4,}|` +
		`\beyJ[\w-]+\.[\w-]+\.[\w-]+|(?i:\bbearer\s+)[A-Za-z0-9._~+/-]{8,}=*`)
	// authValue matches a value that is an Authorization header's value.
	authValue = regexp.MustCompile(`^\s*(?i:bearer|basic)\s+\S+\s*$`)
	// basicAuth matches HTTP Basic credentials; only base64 that decodes to
	// user:password counts, so "the basic plan" is left alone.
	basicAuth = regexp.MustCompile(`(?i)\bbasic\s+([A-Za-z0-9+/]{4,}={0,2})`)
	// jsonMember matches a "name": value member of JSON inside a value,
	// with a string, number or literal value.
	jsonMember = regexp.MustCompile(`"((?:[^"\\]|\\.){1,100})"(\s*:\s*)("(?:[^"\\]|\\.)*"|[-+.\w]+)`)
	// queryParam matches name=value as in a URL's query or a form body.
	queryParam = regexp.MustCompile(`\b([A-Za-z][\w.-]{0,63})=([^\s&;,"'<>]+)`)
)

// redact reports the value to show for a field, and whether it was hidden
// whole. Fields the action marks secret and fields whose name says they
// hold a credential are hidden whole; elsewhere, credentials found in the
// value are replaced where they are.
func redact(name string, value string, secret bool) (string, bool) {
	if secret || sensitiveName.MatchString(name) {
		return redactedValue, true
	}
	v := redactText(value)
	return v, v == redactedValue
}

// redactText replaces the credentials in s with [redacted]: anything shaped
// like one, HTTP Basic and Bearer credentials, and the values of JSON
// members and name=value pairs whose name says they hold one (password,
// secret, token, api_key, authorization…).
func redactText(s string) string {
	if authValue.MatchString(s) {
		return redactedValue
	}
	s = jsonMember.ReplaceAllStringFunc(s, func(m string) string {
		sub := jsonMember.FindStringSubmatch(m)
		if !sensitiveName.MatchString(sub[1]) || sub[3] == `"`+redactedValue+`"` {
			return m
		}
		return `"` + sub[1] + `"` + sub[2] + `"` + redactedValue + `"`
	})
	s = queryParam.ReplaceAllStringFunc(s, func(m string) string {
		name, _, _ := strings.Cut(m, "=")
		if !sensitiveName.MatchString(name) {
			return m
		}
		return name + "=" + redactedValue
	})
	s = basicAuth.ReplaceAllStringFunc(s, func(m string) string {
		sub := basicAuth.FindStringSubmatch(m)
		b, err := base64.StdEncoding.DecodeString(sub[1])
		if err != nil || !strings.Contains(string(b), ":") || !utf8.Valid(b) {
			return m
		}
		return redactedValue
	})
	return secretShape.ReplaceAllString(s, redactedValue)
}

// inputFields lists an execution's inputs in the action's order (then any
// others by name), with secrets removed: inputs the action marks Secret and
// anything that looks like a credential.
func inputFields(a *actions.Action, in map[string]any) []field {
	var order []string
	labels := map[string]string{}
	var secrets map[string]bool
	if a != nil {
		secrets = a.SecretInputs()
		for _, f := range a.Inputs {
			order = append(order, f.Name)
			labels[f.Name] = f.Label
		}
	}
	return orderedFields(in, order, labels, secrets)
}

// outputFields lists an execution's outputs like inputFields.
func outputFields(a *actions.Action, out map[string]any) []field {
	var order []string
	labels := map[string]string{}
	if a != nil {
		for _, f := range a.Outputs {
			order = append(order, f.Name)
			labels[f.Name] = f.Label
		}
	}
	return orderedFields(out, order, labels, nil)
}

func orderedFields(m map[string]any, order []string, labels map[string]string, secrets map[string]bool) []field {
	var out []field
	seen := map[string]bool{}
	add := func(name string) {
		v, ok := m[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		value, hidden := redact(name, valueString(v), secrets[name])
		out = append(out, field{Name: name, Label: labels[name], Value: value, Redacted: hidden})
	}
	for _, name := range order {
		add(name)
	}
	rest := make([]string, 0, len(m))
	for name := range m {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		add(name)
	}
	return out
}

// valueString shows a JSON value: strings as they are, anything else as
// compact JSON.
func valueString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// deliveryFields say how an execution's outcome reached (or will reach)
// HubSpot.
func deliveryFields(e store.Execution) []field {
	var f []field
	add := func(label, value string) {
		if value != "" {
			f = append(f, field{Label: label, Value: value})
		}
	}
	switch {
	case e.Exec.Live() && e.Exec.ByCallback():
		add("Answer", "BLOCK: HubSpot waits for the outcome through its callbacks API.")
		add("HubSpot waits until", fmtTime(e.ExpiresAt))
	case e.Exec.Live():
		add("Answer", "Not yet: the action is running while HubSpot's request waits.")
	case e.Exec.Delivery() == store.DeliveryInline:
		add("Answer", "Inline: the outcome was the answer to HubSpot's request.")
	case e.Exec.Delivery() == store.DeliveryCallback:
		add("Answer", "BLOCK, then the outcome through HubSpot's callbacks API.")
		switch {
		case !e.DeliveredAt.IsZero():
			add("Delivered to HubSpot", fmtTime(e.DeliveredAt))
		case e.DeliveryError != "":
			add("Delivery failed", redactText(e.DeliveryError))
		default:
			add("Delivery", "Waiting to be sent to HubSpot.")
		}
		if e.DeliveryAttempts > 0 {
			add("Delivery attempts", strconv.Itoa(e.DeliveryAttempts))
		}
	}
	return f
}

// requestSource returns the context of a recorded execution request (empty
// when it is not there, as after an erasure).
func requestSource(request string) actions.Context {
	var r struct {
		Context actions.Context `json:"context"`
	}
	if request != "" {
		_ = json.Unmarshal([]byte(request), &r)
	}
	return r.Context
}
