package quickbookstest

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// BadEmailDomain is the magic domain whose addresses QuickBooks rejects
// with 2210 in the fake.
const BadEmailDomain = "bad-email.example"

var markerRE = regexp.MustCompile(`\[qbo-([a-z0-9-]+)\]`)

// api serves /v3/company/{realmId}/…: gateway checks first (auth, forced
// failures, magic markers, throttling), then requestid replay, then the
// operation itself.
func (s *Server) api(w http.ResponseWriter, r *http.Request, body []byte) {
	rest := strings.TrimPrefix(r.URL.Path, "/v3/company/")
	realm, op, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	w.Header().Set("intuit_tid", s.nextTID())
	m := s.marker(r, body)
	if refused, ok := s.admit(r, realm, m); ok {
		s.mu.Unlock()
		write(w, refused)
		return
	}
	s.inFlight[realm]++
	s.maxFlight[realm] = max(s.maxFlight[realm], s.inFlight[realm])
	s.mu.Unlock()
	if s.opts.Latency > 0 {
		select {
		case <-time.After(s.opts.Latency):
		case <-r.Context().Done():
		}
	}
	s.mu.Lock()
	ans := s.execute(r, realm, op, body, m)
	s.inFlight[realm]--
	s.mu.Unlock()
	write(w, ans)
}

func write(w http.ResponseWriter, a answer) {
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if a.ctype != "" {
		w.Header().Set("Content-Type", a.ctype)
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

// admit runs the gateway's checks; ok means the request was refused with
// the returned answer. Callers hold s.mu.
func (s *Server) admit(r *http.Request, realm, m string) (answer, bool) {
	auth := r.Header.Get("Authorization")
	tok, isBearer := strings.CutPrefix(auth, "Bearer ")
	at, known := s.access[tok]
	if !isBearer || !known || !s.opts.Now().Before(at.expires) {
		return s.authFault(), true
	}
	c := s.companies[realm]
	if at.grant.realm != realm || c == nil {
		return answer{status: http.StatusUnauthorized, ctype: "application/xml", body: []byte(
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="` + s.stamp() +
				`"><Fault type="AuthenticationFault"><Error code="100"><Message>General Authentication Error</Message><Detail>AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401</Detail></Error></Fault></IntuitResponse>`)}, true
	}
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		return s.forcedAnswer(f.status), true
	}
	for i, f := range s.failOn {
		if strings.HasSuffix(r.URL.Path, f.pathSuffix) {
			s.failOn = append(s.failOn[:i:i], s.failOn[i+1:]...)
			return s.forcedAnswer(f.status), true
		}
	}
	if m != "" {
		switch m {
		case "throttle":
			return s.throttled(s.opts.ThrottleStatus), true
		case "throttle403":
			return s.throttled(http.StatusForbidden), true
		case "unavailable":
			return s.forcedAnswer(http.StatusServiceUnavailable), true
		case "error500":
			return s.forcedAnswer(http.StatusInternalServerError), true
		case "auth":
			return s.authFault(), true
		}
	}
	if rpm := s.opts.RequestsPerMinute; rpm > 0 {
		now := s.opts.Now()
		if now.Sub(c.window) >= time.Minute {
			c.window, c.count = now, 0
		}
		c.count++
		if c.count > rpm {
			return s.throttled(s.opts.ThrottleStatus), true
		}
	}
	if mc := s.opts.MaxConcurrent; mc > 0 && s.inFlight[realm] >= mc {
		return s.throttled(s.opts.ThrottleStatus), true
	}
	if mt := r.Header.Get("Accept"); !strings.Contains(mt, "application/json") {
		return answer{status: http.StatusNotAcceptable, ctype: "text/plain", body: []byte("this fake answers JSON only; send Accept: application/json")}, true
	}
	return answer{}, false
}

// marker finds a magic marker in the request; a -once marker fires only
// for the first request with its requestid (or query).
func (s *Server) marker(r *http.Request, body []byte) string {
	q, _ := url.QueryUnescape(r.URL.RawQuery)
	m := markerRE.FindStringSubmatch(q + " " + string(body))
	if m == nil {
		return ""
	}
	name, once := strings.CutSuffix(m[1], "-once")
	if once {
		key := m[1] + "|" + r.URL.Path + "|" + r.URL.Query().Get("requestid") + "|" + r.URL.Query().Get("query")
		if s.once[key] {
			return ""
		}
		s.once[key] = true
	}
	return name
}

func (s *Server) authFault() answer {
	b := fmt.Sprintf(`{"warnings":null,"intuitObject":null,"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"Token expired: %s","code":"3200","element":null}],"type":"AUTHENTICATION"},"report":null,"queryResponse":null,"batchItemResponse":[],"attachableResponse":[],"syncErrorResponse":null,"requestId":null,"time":%d,"status":null,"cdcresponse":[]}`,
		s.opts.Now().UTC().Format(time.RFC3339), s.opts.Now().UnixMilli())
	return answer{status: http.StatusUnauthorized, ctype: "application/json;charset=UTF-8", body: []byte(b)}
}

func (s *Server) throttled(status int) answer {
	b := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=%d</Message><Detail>The request limit was reached.  Try again later</Detail></Error></Fault>`, status)
	return answer{status: status, ctype: "application/xml", body: []byte(b), retryAfter: s.opts.RetryAfter}
}

func (s *Server) forcedAnswer(status int) answer {
	switch status {
	case http.StatusTooManyRequests, http.StatusForbidden:
		return s.throttled(status)
	case http.StatusUnauthorized:
		return s.authFault()
	}
	return s.fault(status, "SystemFault", "10000", "An application error has occurred while processing your request", "System Failure Error: the service is temporarily unavailable", "")
}

func (s *Server) fault(status int, typ, code, msg, detail, element string) answer {
	if s.faults200 && typ == "ValidationFault" {
		status = http.StatusOK
	}
	return s.json(status, map[string]any{
		"Fault": map[string]any{
			"Error": []map[string]string{{"Message": msg, "Detail": detail, "code": code, "element": element}},
			"type":  typ,
		},
		"time": s.stamp(),
	})
}

func (s *Server) validation(code, msg, detail, element string) answer {
	return s.fault(http.StatusBadRequest, "ValidationFault", code, msg, detail, element)
}

func (s *Server) notFound(element string) answer {
	return s.validation("610", "Object Not Found",
		"Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.", element)
}

func (s *Server) json(status int, v any) answer {
	b, _ := json.Marshal(v)
	return answer{status: status, ctype: "application/json;charset=UTF-8", body: b}
}

// execute runs one admitted request, replaying a repeated requestid.
// Callers hold s.mu.
func (s *Server) execute(r *http.Request, realm, op string, body []byte, m string) answer {
	c := s.companies[realm]
	rid := r.URL.Query().Get("requestid")
	if len(rid) > 50 {
		return s.validation("4000", "Invalid request id", "requestid must be at most 50 characters", "requestid")
	}
	key := r.Method + " " + rid
	if rid != "" {
		if a, ok := c.replay[key]; ok {
			return a
		}
	}
	a := s.operate(r, c, op, body, m)
	if rid != "" && a.status < 500 {
		c.replay[key] = a
	}
	return a
}

func (s *Server) operate(r *http.Request, c *company, op string, body []byte, m string) answer {
	for i, rj := range s.reject {
		if strings.HasSuffix(r.URL.Path, rj.pathSuffix) {
			s.reject = append(s.reject[:i:i], s.reject[i+1:]...)
			return s.validation(rj.code, rj.message, rj.message, "")
		}
	}
	for i, suffix := range s.empty {
		if strings.HasSuffix(r.URL.Path, suffix) {
			s.empty = append(s.empty[:i:i], s.empty[i+1:]...)
			return s.json(http.StatusOK, map[string]any{"time": s.stamp()})
		}
	}
	switch m {
	case "fault200":
		a := s.validation("6000", "A business validation error has occurred while processing your request",
			"Business Validation Error: the fake was asked for a Fault inside a 200 answer", "")
		a.status = http.StatusOK
		return a
	case "closed-books":
		return s.validation("6210", "Account Period Closed, Cannot Update Through Services API",
			"The account period has closed and the books are locked for this period.", "")
	}
	parts := strings.Split(op, "/")
	switch {
	case r.Method == http.MethodGet && op == "query":
		return s.query(c, r.URL.Query().Get("query"))
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "companyinfo":
		if parts[1] != c.realm {
			return s.notFound("")
		}
		return s.json(http.StatusOK, map[string]any{"CompanyInfo": c.info, "time": s.stamp()})
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "customer":
		if cu := c.customer(parts[1]); cu != nil {
			return s.json(http.StatusOK, map[string]any{"Customer": cu, "time": s.stamp()})
		}
		return s.notFound("")
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "item":
		if it := c.item(parts[1]); it != nil {
			return s.json(http.StatusOK, map[string]any{"Item": it, "time": s.stamp()})
		}
		return s.notFound("")
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "invoice":
		if inv := c.invoice(parts[1]); inv != nil {
			return s.json(http.StatusOK, map[string]any{"Invoice": inv, "time": s.stamp()})
		}
		return s.notFound("")
	case r.Method == http.MethodPost && op == "customer":
		if a, bad := s.needJSON(r); bad {
			return a
		}
		return s.saveCustomer(c, body)
	case r.Method == http.MethodPost && op == "invoice":
		if a, bad := s.needJSON(r); bad {
			return a
		}
		return s.createInvoice(c, body)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "invoice" && parts[2] == "send":
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/octet-stream" {
			return s.validation("2500", "Invalid Content-Type", "Content-Type must be application/octet-stream", "")
		}
		return s.sendInvoice(c, parts[1], r.URL.Query().Get("sendTo"))
	}
	return answer{status: http.StatusNotFound, ctype: "text/plain", body: []byte("Not Found")}
}

func (s *Server) needJSON(r *http.Request) (answer, bool) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return answer{status: http.StatusUnsupportedMediaType, ctype: "text/plain", body: []byte("Content-Type must be application/json")}, true
	}
	return answer{}, false
}

func (s *Server) query(c *company, text string) answer {
	q, err := parseQuery(text)
	if err != nil {
		return s.queryFault(err)
	}
	var all []record
	nameList := false
	switch q.entity {
	case "Customer":
		nameList = true
		for _, cu := range c.customers {
			all = append(all, cu)
		}
	case "Item":
		nameList = true
		for _, it := range c.items {
			all = append(all, it)
		}
	case "Invoice":
		for _, inv := range c.invoices {
			all = append(all, inv)
		}
	default:
		return s.queryFault(&queryError{"4000", fmt.Sprintf("QueryParserError: Invalid entity %q", q.entity)})
	}
	hits, total, err := q.run(all, nameList)
	if err != nil {
		return s.queryFault(err)
	}
	qr := map[string]any{}
	switch {
	case q.count:
		qr["totalCount"] = total
	case len(hits) > 0:
		qr[q.entity] = hits
		qr["startPosition"] = q.start
		qr["maxResults"] = len(hits)
	}
	return s.json(http.StatusOK, map[string]any{"QueryResponse": qr, "time": s.stamp()})
}

func (s *Server) queryFault(err error) answer {
	qe, ok := err.(*queryError)
	if !ok {
		qe = &queryError{"4000", err.Error()}
	}
	msg := "Error parsing query"
	if qe.code == "4001" {
		msg = "Invalid query"
	}
	return s.validation(qe.code, msg, qe.detail, "")
}

// badEmail reports whether an address list fails QuickBooks' RFC 822 check
// (or uses the magic domain).
func badEmail(list string) bool {
	for a := range strings.SplitSeq(list, ",") {
		a = strings.TrimSpace(a)
		addr, err := mail.ParseAddress(a)
		if err != nil || addr.Address != a || strings.HasSuffix(strings.ToLower(a), "@"+BadEmailDomain) {
			return true
		}
	}
	return false
}

func (s *Server) emailFault(addr string) answer {
	return s.validation("2210", "Invalid Email Address format",
		"Email Address does not conform to the syntax rules of RFC 822. Supplied value:"+addr, "PrimaryEmailAddr.Address")
}

func (s *Server) saveCustomer(c *company, body []byte) answer {
	var in Customer
	if err := json.Unmarshal(body, &in); err != nil {
		return s.validation("2020", "Request has invalid or unsupported property", "Property Name:Can not deserialize instance of the request: "+err.Error(), "")
	}
	if in.ID != "" {
		return s.updateCustomer(c, in)
	}
	name := strings.TrimSpace(in.DisplayName)
	if name == "" {
		name = strings.TrimSpace(in.GivenName + " " + in.FamilyName)
	}
	if a, bad := s.checkCustomer(c, name, in.email(), ""); bad {
		return a
	}
	now := s.opts.Now().In(s.loc)
	cu := in
	cu.ID = c.newID()
	cu.SyncToken = "0"
	cu.Domain = "QBO"
	cu.Sparse = false
	cu.DisplayName = name
	cu.FullyQualifiedName = name
	cu.Active = boolp(true)
	cu.Balance = 0
	cu.MetaData = meta(now)
	c.customers = append(c.customers, &cu)
	return s.json(http.StatusOK, map[string]any{"Customer": cu, "time": s.stamp()})
}

func (s *Server) checkCustomer(c *company, name, email, id string) (answer, bool) {
	switch {
	case name == "":
		return s.validation("2020", "Required param missing, need to supply the required value for the API",
			"Required parameter DisplayName or one of GivenName/FamilyName is missing in the request", "DisplayName"), true
	case len(name) > 500:
		return s.validation("2050", "String length is either shorter or longer than supported by specification",
			"String length specified does not match the supported length. Min:0 Max:500 supplied length:"+strconv.Itoa(len(name)), "DisplayName"), true
	case strings.Contains(name, ":"):
		return s.validation("6000", "A business validation error has occurred while processing your request",
			"Business Validation Error: A name can't contain a colon (:).", "DisplayName"), true
	case email != "" && badEmail(email):
		return s.emailFault(email), true
	case c.nameTaken(name, id):
		return s.validation("6240", "Duplicate Name Exists Error",
			"The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name.", ""), true
	}
	return answer{}, false
}

func (s *Server) updateCustomer(c *company, in Customer) answer {
	cu := c.customer(in.ID)
	if cu == nil {
		return s.notFound("Id")
	}
	if in.SyncToken != cu.SyncToken {
		return s.validation("5010", "Stale Object Error",
			"Stale Object Error : You and Alex were working on this at the same time. Alex finished before you did, so your work was not saved.", "")
	}
	next := *cu
	if !in.Sparse {
		next.GivenName, next.FamilyName, next.CompanyName, next.Notes = in.GivenName, in.FamilyName, in.CompanyName, in.Notes
		next.PrimaryEmailAddr, next.PrimaryPhone = in.PrimaryEmailAddr, in.PrimaryPhone
		if in.DisplayName != "" {
			next.DisplayName = in.DisplayName
		}
		if in.Active != nil {
			next.Active = in.Active
		}
	} else {
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&next.DisplayName, in.DisplayName)
		set(&next.GivenName, in.GivenName)
		set(&next.FamilyName, in.FamilyName)
		set(&next.CompanyName, in.CompanyName)
		set(&next.Notes, in.Notes)
		if in.PrimaryEmailAddr != nil {
			next.PrimaryEmailAddr = in.PrimaryEmailAddr
		}
		if in.PrimaryPhone != nil {
			next.PrimaryPhone = in.PrimaryPhone
		}
		if in.Active != nil {
			next.Active = in.Active
		}
	}
	if a, bad := s.checkCustomer(c, next.DisplayName, next.email(), cu.ID); bad {
		return a
	}
	n, _ := strconv.Atoi(cu.SyncToken)
	next.SyncToken = strconv.Itoa(n + 1)
	next.FullyQualifiedName = next.DisplayName
	next.MetaData = &MetaData{CreateTime: cu.MetaData.CreateTime, LastUpdatedTime: s.opts.Now().In(s.loc).Format("2006-01-02T15:04:05-07:00")}
	*cu = next
	return s.json(http.StatusOK, map[string]any{"Customer": cu, "time": s.stamp()})
}

func (s *Server) createInvoice(c *company, body []byte) answer {
	var in Invoice
	if err := json.Unmarshal(body, &in); err != nil {
		return s.validation("2020", "Request has invalid or unsupported property", "Property Name:Can not deserialize instance of the request: "+err.Error(), "")
	}
	if in.CustomerRef == nil || in.CustomerRef.Value == "" {
		return s.validation("6560", "CustomerRef is missing in the request", "Required parameter CustomerRef is missing in the request", "CustomerRef")
	}
	cu := c.customer(in.CustomerRef.Value)
	if cu == nil || !cu.active() {
		return s.notFound("CustomerRef")
	}
	if len(in.Line) == 0 {
		return s.validation("6000", "A business validation error has occurred while processing your request",
			"Business Validation Error: You must fill out at least one split line.", "Line")
	}
	if in.DocNumber != "" {
		for _, inv := range c.invoices {
			if inv.DocNumber == in.DocNumber {
				return s.validation("6140", "Duplicate Document Number Error",
					"Duplicate Document Number Error : You must specify a different number. This number has already been used. DocNumber="+in.DocNumber, "DocNumber")
			}
		}
	}
	now := s.opts.Now().In(s.loc)
	today := now.Format(time.DateOnly)
	if in.TxnDate == "" {
		in.TxnDate = today
	}
	txn, err := time.Parse(time.DateOnly, in.TxnDate)
	if err != nil {
		return s.validation("2030", "Invalid Date", "Invalid date: "+in.TxnDate, "TxnDate")
	}
	if in.DueDate == "" {
		in.DueDate = txn.AddDate(0, 0, 30).Format(time.DateOnly)
	} else if _, err := time.Parse(time.DateOnly, in.DueDate); err != nil {
		return s.validation("2030", "Invalid Date", "Invalid date: "+in.DueDate, "DueDate")
	}
	if in.BillEmail == nil && cu.email() != "" {
		in.BillEmail = &EmailAddr{Address: cu.email()}
	}
	if in.BillEmail != nil && in.BillEmail.Address != "" && badEmail(in.BillEmail.Address) {
		a := s.emailFault(in.BillEmail.Address)
		return a
	}
	var lines []Line
	total := 0.0
	for i, l := range in.Line {
		switch l.DetailType {
		case "SalesItemLineDetail":
		case "DescriptionOnly":
			l.ID, l.LineNum, l.Amount = strconv.Itoa(i+1), i+1, nil
			lines = append(lines, l)
			continue
		default:
			return s.validation("2020", "Required param missing, need to supply the required value for the API",
				"Required parameter Line.DetailType is missing or not supported", "Line.DetailType")
		}
		d := l.SalesItemLineDetail
		if d == nil {
			d = &SalesItemLineDetail{}
		}
		if d.ItemRef == nil || d.ItemRef.Value == "" {
			d.ItemRef = &Ref{Value: "1"}
		}
		it := c.item(d.ItemRef.Value)
		if it == nil || !it.Active || it.Type == "Category" {
			return s.notFound("Line.SalesItemLineDetail.ItemRef")
		}
		d.ItemRef.Name = it.Name
		qty := 1.0
		if d.Qty != nil {
			qty = *d.Qty
		}
		unit := it.UnitPrice
		if d.UnitPrice != nil {
			unit = *d.UnitPrice
		} else if l.Amount != nil && qty != 0 {
			unit = *l.Amount / qty
		}
		amount := money(qty * unit)
		if l.Amount != nil {
			if math.Abs(*l.Amount-amount) > 0.005 && d.UnitPrice != nil {
				return s.validation("6070", "Amount is not equal to UnitPrice * Qty",
					fmt.Sprintf("Amount is not equal to UnitPrice * Qty. Supplied value:%v", *l.Amount), "Line.Amount")
			}
			amount = money(*l.Amount)
		}
		d.Qty, d.UnitPrice = &qty, &unit
		l.SalesItemLineDetail = d
		l.Amount = &amount
		l.ID, l.LineNum = strconv.Itoa(i+1), i+1
		total += amount
		lines = append(lines, l)
	}
	total = money(total)
	lines = append(lines, Line{DetailType: "SubTotalLineDetail", Amount: &total, SubTotalLineDetail: &struct{}{}})
	inv := in
	inv.ID = c.newID()
	inv.SyncToken = "0"
	inv.Domain = "QBO"
	inv.Sparse = false
	if inv.DocNumber == "" {
		inv.DocNumber = strconv.Itoa(c.nextDoc)
		c.nextDoc++
	}
	inv.CustomerRef = &Ref{Value: cu.ID, Name: cu.DisplayName}
	inv.Line = lines
	inv.TotalAmt, inv.Balance = total, total
	inv.EmailStatus = "NotSet"
	inv.DeliveryInfo = nil
	inv.CurrencyRef = &Ref{Value: "USD", Name: "United States Dollar"}
	inv.MetaData = meta(now)
	c.invoices = append(c.invoices, &inv)
	cu.Balance = money(cu.Balance + total)
	return s.json(http.StatusOK, map[string]any{"Invoice": inv, "time": s.stamp()})
}

func (s *Server) sendInvoice(c *company, id, sendTo string) answer {
	inv := c.invoice(id)
	if inv == nil {
		return s.notFound("Id")
	}
	to := sendTo
	if to == "" && inv.BillEmail != nil {
		to = inv.BillEmail.Address
	}
	if to == "" {
		return s.validation("6000", "A business validation error has occurred while processing your request",
			"Business Validation Error: Please provide an email address to send this transaction.", "BillEmail")
	}
	if badEmail(to) {
		return s.emailFault(to)
	}
	now := s.opts.Now().In(s.loc)
	inv.BillEmail = &EmailAddr{Address: to}
	inv.EmailStatus = "EmailSent"
	inv.DeliveryInfo = &DeliveryInfo{DeliveryType: "Email", DeliveryTime: now.Format("2006-01-02T15:04:05-07:00")}
	n, _ := strconv.Atoi(inv.SyncToken)
	inv.SyncToken = strconv.Itoa(n + 1)
	inv.MetaData.LastUpdatedTime = now.Format("2006-01-02T15:04:05-07:00")
	return s.json(http.StatusOK, map[string]any{"Invoice": inv, "time": s.stamp()})
}
