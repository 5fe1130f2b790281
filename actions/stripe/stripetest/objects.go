package stripetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Coupon is a coupon as the fake holds it (amounts in minor units, times
// in Unix seconds, 0 meaning unset).
type Coupon struct {
	ID               string
	Name             string
	PercentOff       float64
	AmountOff        int64
	Currency         string
	Duration         string
	DurationInMonths int64
	MaxRedemptions   int64
	RedeemBy         int64
	TimesRedeemed    int64
	Created          int64
	Metadata         map[string]string
	Deleted          bool
}

// PromotionCode is a promotion code as the fake holds it.
type PromotionCode struct {
	ID             string
	Code           string
	CouponID       string
	Customer       string
	Active         bool
	ExpiresAt      int64
	MaxRedemptions int64
	TimesRedeemed  int64
	Created        int64
	Metadata       map[string]string
}

// Customer is a customer as the fake holds it.
type Customer struct {
	ID       string
	Email    string
	Name     string
	Created  int64
	Metadata map[string]string
}

type promo struct {
	PromotionCode
	coupon *Coupon
}

// Coupons returns the coupons that are not deleted, oldest first.
func (s *Server) Coupons() []Coupon {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Coupon
	for _, c := range s.coupons {
		if !c.Deleted {
			out = append(out, clone(*c))
		}
	}
	slices.SortFunc(out, func(a, b Coupon) int {
		if a.Created != b.Created {
			return int(a.Created - b.Created)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// PromotionCodes returns every promotion code, oldest first.
func (s *Server) PromotionCodes() []PromotionCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PromotionCode, len(s.promos))
	for i, p := range s.promos {
		out[i] = p.PromotionCode
		out[i].Metadata = cloneMap(p.Metadata)
	}
	return out
}

// Customers returns every customer, oldest first.
func (s *Server) Customers() []Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Customer, len(s.customers))
	for i, c := range s.customers {
		out[i] = *c
		out[i].Metadata = cloneMap(c.Metadata)
	}
	return out
}

// Redeem records one use of the active promotion code with text code, as a
// checkout would.
func (s *Server) Redeem(code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Unix()
	for _, p := range s.promos {
		if !strings.EqualFold(p.Code, code) || !p.Active {
			continue
		}
		switch {
		case p.ExpiresAt > 0 && now >= p.ExpiresAt:
			return fmt.Errorf("stripetest: %s has expired", code)
		case p.MaxRedemptions > 0 && p.TimesRedeemed >= p.MaxRedemptions:
			return fmt.Errorf("stripetest: %s is used up", code)
		case !s.valid(p.coupon):
			return fmt.Errorf("stripetest: the coupon of %s is no longer valid", code)
		}
		p.TimesRedeemed++
		p.coupon.TimesRedeemed++
		return nil
	}
	return fmt.Errorf("stripetest: no active promotion code %s", code)
}

// SetActive switches every promotion code with text code on or off, as the
// Dashboard's archive button does.
func (s *Server) SetActive(code string, active bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.promos {
		if strings.EqualFold(p.Code, code) {
			p.Active = active
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("stripetest: no promotion code %s", code)
	}
	return nil
}

// AddCustomer adds a customer, as the merchant's own checkout would.
func (s *Server) AddCustomer(email string) Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Customer{ID: s.nextID("cus_fake"), Email: email, Created: s.now().Unix(), Metadata: map[string]string{}}
	s.customers = append(s.customers, c)
	return *c
}

func (s *Server) valid(c *Coupon) bool {
	now := s.now().Unix()
	return !c.Deleted && (c.RedeemBy == 0 || now < c.RedeemBy) && (c.MaxRedemptions == 0 || c.TimesRedeemed < c.MaxRedemptions)
}

// Parameter kinds.
type kind int

const (
	kString kind = iota
	kInt
	kNumber
	kBool
	kCurrency
	kExpand
)

type params map[string]kind

var (
	couponCreate = params{
		"id": kString, "name": kString, "percent_off": kNumber, "amount_off": kInt, "currency": kCurrency,
		"duration": kString, "duration_in_months": kInt, "max_redemptions": kInt, "redeem_by": kInt,
		"metadata[*]": kString, "applies_to[products][]": kString, "expand[]": kExpand,
	}
	listParams  = params{"limit": kInt, "starting_after": kString, "ending_before": kString, "expand[]": kExpand, "created": kInt}
	promoCommon = params{
		"code": kString, "customer": kString, "expires_at": kInt, "max_redemptions": kInt, "active": kBool,
		"metadata[*]": kString, "expand[]": kExpand,
		"restrictions[first_time_transaction]": kBool, "restrictions[minimum_amount]": kInt, "restrictions[minimum_amount_currency]": kCurrency,
	}
	promoCreateClover = merge(promoCommon, params{"promotion[type]": kString, "promotion[coupon]": kString})
	promoCreateOld    = merge(promoCommon, params{"coupon": kString})
	promoList         = merge(listParams, params{"code": kString, "active": kBool, "coupon": kString, "customer": kString})
	customerCreate    = params{"email": kString, "name": kString, "description": kString, "phone": kString, "metadata[*]": kString, "expand[]": kExpand}
	customerList      = merge(listParams, params{"email": kString})
	retrieveParams    = params{"expand[]": kExpand}
	noParams          = params{}
)

func merge(a, b params) params {
	out := params{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// currencies the fake knows (Stripe supports more; these cover tests and
// the sandbox, and an unknown one is refused as Stripe would).
var currencies = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`usd eur gbp jpy cad aud chf sek nok dkk pln czk huf isk inr brl mxn nzd sgd hkd
		krw cny twd thb zar aed ils try ron bgn bif clp djf gnf kmf mga pyg rwf ugx vnd vuv xaf xof xpf bhd jod kwd omr tnd`) {
		m[c] = true
	}
	return m
}()

// endpoint is one route of the fake.
type endpoint struct {
	method string
	path   string // exact, or a prefix ending in "/" followed by an ID
	params func(c *call) params
	expand []string // what expand[] may name
	run    func(s *Server, c *call, id string) response
}

var endpoints = []endpoint{
	{http.MethodGet, "/v1/balance", fixed(noParams), nil, (*Server).balance},
	{http.MethodGet, "/v1/coupons", fixed(listParams), nil, (*Server).listCoupons},
	{http.MethodPost, "/v1/coupons", fixed(couponCreate), nil, (*Server).createCoupon},
	{http.MethodGet, "/v1/coupons/", fixed(retrieveParams), nil, (*Server).getCoupon},
	{http.MethodDelete, "/v1/coupons/", fixed(noParams), nil, (*Server).deleteCoupon},
	{http.MethodGet, "/v1/promotion_codes", fixed(promoList), []string{"data.promotion.coupon", "data.customer"}, (*Server).listPromos},
	{http.MethodPost, "/v1/promotion_codes", promoCreateParams, []string{"promotion.coupon", "customer"}, (*Server).createPromo},
	{http.MethodGet, "/v1/promotion_codes/", fixed(retrieveParams), []string{"promotion.coupon", "customer"}, (*Server).getPromo},
	{http.MethodGet, "/v1/customers", fixed(customerList), nil, (*Server).listCustomers},
	{http.MethodPost, "/v1/customers", fixed(customerCreate), nil, (*Server).createCustomer},
	{http.MethodGet, "/v1/customers/", fixed(retrieveParams), nil, (*Server).getCustomer},
}

func fixed(p params) func(*call) params { return func(*call) params { return p } }

func promoCreateParams(c *call) params {
	if c.clover() {
		return promoCreateClover
	}
	return promoCreateOld
}

// find returns the endpoint for c and the ID in its path.
func find(c *call) (*endpoint, string, bool) {
	for i := range endpoints {
		e := &endpoints[i]
		if e.method != c.method {
			continue
		}
		if strings.HasSuffix(e.path, "/") {
			if id, ok := strings.CutPrefix(c.path, e.path); ok && id != "" && !strings.Contains(id, "/") {
				return e, id, true
			}
			continue
		}
		if c.path == e.path {
			return e, "", true
		}
	}
	return nil, "", false
}

// precheck validates c's parameters as Stripe does before executing.
func (s *Server) precheck(c *call) (response, bool) {
	e, _, ok := find(c)
	if !ok {
		return errResp(http.StatusNotFound, apiError{Message: "Unrecognized request URL (" + c.method + ": " + c.path + "). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."}), false
	}
	spec := e.params(c)
	for name, vals := range c.params {
		k, ok := spec[name]
		if !ok {
			if i := strings.Index(name, "["); i > 0 && strings.HasSuffix(name, "]") {
				k, ok = spec[name[:i]+"[*]"]
			}
		}
		if !ok {
			return invalid(name, "Received unknown parameter: %s", name), false
		}
		for _, v := range vals {
			if resp, ok := checkKind(name, k, v, e.expand); !ok {
				return resp, false
			}
		}
	}
	if resp, ok := s.checkRules(c); !ok {
		return resp, false
	}
	return response{}, true
}

func checkKind(name string, k kind, v string, expandable []string) (response, bool) {
	switch k {
	case kInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return invalid(name, "Invalid integer: %s", v), false
		}
	case kNumber:
		if f, err := strconv.ParseFloat(v, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return invalid(name, "Invalid decimal: %s", v), false
		}
	case kBool:
		if v != "true" && v != "false" {
			return invalid(name, "Invalid boolean: %s", v), false
		}
	case kCurrency:
		if !currencies[strings.ToLower(v)] {
			return invalid(name, "Invalid currency: %s. Stripe currently supports these currencies: usd, eur, gbp, …", strings.ToLower(v)), false
		}
	case kExpand:
		if !slices.Contains(expandable, v) {
			return invalid(name, "This property cannot be expanded (%s).", v), false
		}
	}
	return response{}, true
}

var codeText = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// checkRules are the per-endpoint parameter rules Stripe checks before
// executing (required parameters, ranges, enums, combinations).
func (s *Server) checkRules(c *call) (response, bool) {
	p := c.params
	has := func(k string) bool { return p.Get(k) != "" }
	num := func(k string) int64 { n, _ := strconv.ParseInt(p.Get(k), 10, 64); return n }
	if has("limit") {
		if n := num("limit"); n < 1 || n > 100 {
			return invalid("limit", "Invalid limit: must be between 1 and 100"), false
		}
	}
	switch {
	case c.method == http.MethodPost && c.path == "/v1/coupons":
		switch {
		case has("percent_off") && has("amount_off"):
			return invalid("percent_off", "You may only specify one of these parameters: amount_off, percent_off."), false
		case !has("percent_off") && !has("amount_off"):
			return invalid("percent_off", "You must specify either percent_off or amount_off."), false
		case has("amount_off") && !has("currency"):
			return invalid("currency", "You must specify a currency when creating a coupon with amount_off."), false
		case has("amount_off") && num("amount_off") <= 0:
			return invalid("amount_off", "Invalid amount_off: must be a positive integer."), false
		}
		if has("percent_off") {
			f, _ := strconv.ParseFloat(p.Get("percent_off"), 64)
			if f <= 0 || f > 100 {
				return invalid("percent_off", "Invalid percent_off: must be greater than 0 and less than or equal to 100."), false
			}
		}
		switch d := p.Get("duration"); d {
		case "", "once", "forever":
			if has("duration_in_months") {
				return invalid("duration_in_months", "duration_in_months can only be set when duration is repeating."), false
			}
		case "repeating":
			if num("duration_in_months") <= 0 {
				return invalid("duration_in_months", "You must specify a positive duration_in_months when duration is repeating."), false
			}
		default:
			return invalid("duration", "Invalid duration: must be one of once, repeating, or forever"), false
		}
		if len([]rune(p.Get("name"))) > 40 {
			return invalid("name", "Invalid name: must be at most 40 characters"), false
		}
		if has("max_redemptions") && num("max_redemptions") <= 0 {
			return invalid("max_redemptions", "Invalid max_redemptions: must be a positive integer."), false
		}
	case c.method == http.MethodPost && c.path == "/v1/promotion_codes":
		if c.clover() {
			switch {
			case !has("promotion[type]"):
				return invalid("promotion[type]", "Missing required param: promotion[type]."), false
			case p.Get("promotion[type]") != "coupon":
				return invalid("promotion[type]", "Invalid promotion[type]: must be one of coupon"), false
			case !has("promotion[coupon]"):
				return invalid("promotion[coupon]", "Missing required param: promotion[coupon]."), false
			}
		} else if !has("coupon") {
			return invalid("coupon", "Missing required param: coupon."), false
		}
		if has("code") && (!codeText.MatchString(p.Get("code")) || len(p.Get("code")) > 500) {
			return invalid("code", "Invalid code: promotion codes may only contain letters, digits and dashes, up to 500 characters."), false
		}
		if has("max_redemptions") && num("max_redemptions") <= 0 {
			return invalid("max_redemptions", "Invalid max_redemptions: must be a positive integer."), false
		}
	case c.method == http.MethodPost && c.path == "/v1/customers":
		if len(p.Get("email")) > 512 {
			return invalid("email", "Invalid email: must be at most 512 characters"), false
		}
	}
	return response{}, true
}

// run executes c against the state.
func (s *Server) run(c *call) response {
	e, id, ok := find(c)
	if !ok {
		return errResp(http.StatusNotFound, apiError{Message: "Unrecognized request URL (" + c.method + ": " + c.path + ")."})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return e.run(s, c, id)
}

func (s *Server) balance(c *call, _ string) response {
	return jsonResp(map[string]any{
		"object":    "balance",
		"available": []any{map[string]any{"amount": 0, "currency": "usd"}},
		"pending":   []any{map[string]any{"amount": 0, "currency": "usd"}},
		"livemode":  false,
	})
}

func (s *Server) createCoupon(c *call, _ string) response {
	p := c.params
	id := p.Get("id")
	if id == "" {
		id = s.nextID("fakecpn")
	}
	if old, ok := s.coupons[id]; ok && !old.Deleted {
		return errResp(http.StatusBadRequest, apiError{Code: "resource_already_exists", Param: "id", Message: "Coupon already exists."})
	}
	cp := &Coupon{ID: id, Name: p.Get("name"), Currency: strings.ToLower(p.Get("currency")), Duration: p.Get("duration"),
		Created: s.now().Unix(), Metadata: metadata(p)}
	if cp.Duration == "" {
		cp.Duration = "once"
	}
	cp.PercentOff, _ = strconv.ParseFloat(p.Get("percent_off"), 64)
	cp.AmountOff, _ = strconv.ParseInt(p.Get("amount_off"), 10, 64)
	cp.DurationInMonths, _ = strconv.ParseInt(p.Get("duration_in_months"), 10, 64)
	cp.MaxRedemptions, _ = strconv.ParseInt(p.Get("max_redemptions"), 10, 64)
	cp.RedeemBy, _ = strconv.ParseInt(p.Get("redeem_by"), 10, 64)
	if cp.RedeemBy != 0 && cp.RedeemBy <= s.now().Unix() {
		return invalid("redeem_by", "Invalid redeem_by: must be in the future.")
	}
	s.coupons[id] = cp
	return jsonResp(s.couponJSON(cp))
}

func (s *Server) getCoupon(c *call, id string) response {
	cp, ok := s.coupons[id]
	if !ok || cp.Deleted {
		return errResp(http.StatusNotFound, apiError{Code: "resource_missing", Param: "id", Message: "No such coupon: '" + id + "'"})
	}
	return jsonResp(s.couponJSON(cp))
}

func (s *Server) deleteCoupon(c *call, id string) response {
	cp, ok := s.coupons[id]
	if !ok || cp.Deleted {
		return errResp(http.StatusNotFound, apiError{Code: "resource_missing", Param: "id", Message: "No such coupon: '" + id + "'"})
	}
	cp.Deleted = true
	return jsonResp(map[string]any{"id": id, "object": "coupon", "deleted": true})
}

func (s *Server) listCoupons(c *call, _ string) response {
	var all []*Coupon
	for _, cp := range s.coupons {
		if !cp.Deleted {
			all = append(all, cp)
		}
	}
	slices.SortFunc(all, func(a, b *Coupon) int {
		if a.Created != b.Created {
			return int(b.Created - a.Created)
		}
		return strings.Compare(b.ID, a.ID)
	})
	items := make([]any, 0, len(all))
	ids := make([]string, 0, len(all))
	for _, cp := range all {
		items = append(items, s.couponJSON(cp))
		ids = append(ids, cp.ID)
	}
	return page(c, "/v1/coupons", items, ids)
}

func (s *Server) createPromo(c *call, _ string) response {
	p := c.params
	couponParam := "promotion[coupon]"
	if !c.clover() {
		couponParam = "coupon"
	}
	cp, ok := s.coupons[p.Get(couponParam)]
	if !ok || cp.Deleted {
		return errResp(http.StatusBadRequest, apiError{Code: "resource_missing", Param: couponParam, Message: "No such coupon: '" + p.Get(couponParam) + "'"})
	}
	if !s.valid(cp) {
		return invalid(couponParam, "Coupon %s is no longer valid; promotion codes can only be created for valid coupons.", cp.ID)
	}
	now := s.now().Unix()
	pc := &promo{coupon: cp, PromotionCode: PromotionCode{
		ID: s.nextID("promo_fake"), Code: p.Get("code"), CouponID: cp.ID, Customer: p.Get("customer"),
		Active: p.Get("active") != "false", Created: now, Metadata: metadata(p),
	}}
	pc.ExpiresAt, _ = strconv.ParseInt(p.Get("expires_at"), 10, 64)
	pc.MaxRedemptions, _ = strconv.ParseInt(p.Get("max_redemptions"), 10, 64)
	if pc.Customer != "" && s.customer(pc.Customer) == nil {
		return errResp(http.StatusBadRequest, apiError{Code: "resource_missing", Param: "customer", Message: "No such customer: '" + pc.Customer + "'"})
	}
	switch {
	case pc.ExpiresAt != 0 && pc.ExpiresAt <= now:
		return invalid("expires_at", "The expiration date (expires_at) must be in the future.")
	case pc.ExpiresAt != 0 && cp.RedeemBy != 0 && pc.ExpiresAt > cp.RedeemBy:
		return invalid("expires_at", "The expiration date (expires_at) cannot be after the coupon's redeem_by.")
	case pc.MaxRedemptions != 0 && cp.MaxRedemptions != 0 && pc.MaxRedemptions > cp.MaxRedemptions:
		return invalid("max_redemptions", "max_redemptions cannot be greater than the coupon's max_redemptions.")
	}
	if pc.Code == "" {
		pc.Code = randomCode()
	}
	for _, other := range s.promos {
		if other.Active && pc.Active && strings.EqualFold(other.Code, pc.Code) && other.Customer == pc.Customer {
			return errResp(http.StatusBadRequest, apiError{Code: "resource_already_exists", Param: "code",
				Message: "An active promotion code with `code: " + pc.Code + "` already exists."})
		}
	}
	s.promos = append(s.promos, pc)
	return jsonResp(s.promoJSON(c, pc, slices.Contains(p["expand[]"], "promotion.coupon")))
}

func (s *Server) getPromo(c *call, id string) response {
	for _, pc := range s.promos {
		if pc.ID == id {
			return jsonResp(s.promoJSON(c, pc, slices.Contains(c.params["expand[]"], "promotion.coupon")))
		}
	}
	return errResp(http.StatusNotFound, apiError{Code: "resource_missing", Param: "id", Message: "No such promotion code: '" + id + "'"})
}

func (s *Server) listPromos(c *call, _ string) response {
	p := c.params
	expand := slices.Contains(p["expand[]"], "data.promotion.coupon")
	var items []any
	var ids []string
	for i := len(s.promos) - 1; i >= 0; i-- {
		pc := s.promos[i]
		switch {
		case p.Has("code") && !strings.EqualFold(pc.Code, p.Get("code")):
			continue
		case p.Has("active") && strconv.FormatBool(pc.Active) != p.Get("active"):
			continue
		case p.Has("coupon") && pc.CouponID != p.Get("coupon"):
			continue
		case p.Has("customer") && pc.Customer != p.Get("customer"):
			continue
		}
		items = append(items, s.promoJSON(c, pc, expand))
		ids = append(ids, pc.ID)
	}
	return page(c, "/v1/promotion_codes", items, ids)
}

func (s *Server) createCustomer(c *call, _ string) response {
	p := c.params
	cu := &Customer{ID: s.nextID("cus_fake"), Email: p.Get("email"), Name: p.Get("name"), Created: s.now().Unix(), Metadata: metadata(p)}
	s.customers = append(s.customers, cu)
	return jsonResp(customerJSON(cu))
}

func (s *Server) getCustomer(c *call, id string) response {
	if cu := s.customer(id); cu != nil {
		return jsonResp(customerJSON(cu))
	}
	return errResp(http.StatusNotFound, apiError{Code: "resource_missing", Param: "id", Message: "No such customer: '" + id + "'"})
}

func (s *Server) listCustomers(c *call, _ string) response {
	var items []any
	var ids []string
	for i := len(s.customers) - 1; i >= 0; i-- {
		cu := s.customers[i]
		if c.params.Has("email") && cu.Email != c.params.Get("email") {
			continue // Stripe's email filter is case-sensitive
		}
		items = append(items, customerJSON(cu))
		ids = append(ids, cu.ID)
	}
	return page(c, "/v1/customers", items, ids)
}

func (s *Server) customer(id string) *Customer {
	for _, cu := range s.customers {
		if cu.ID == id {
			return cu
		}
	}
	return nil
}

// page cuts a newest-first list by starting_after, ending_before and limit.
func page(c *call, url string, items []any, ids []string) response {
	limit := 10
	if n, err := strconv.Atoi(c.params.Get("limit")); err == nil {
		limit = n
	}
	start, end := 0, len(items)
	if after := c.params.Get("starting_after"); after != "" {
		i := slices.Index(ids, after)
		if i < 0 {
			return invalid("starting_after", "No such object: '%s'", after)
		}
		start = i + 1
	}
	if before := c.params.Get("ending_before"); before != "" {
		i := slices.Index(ids, before)
		if i < 0 {
			return invalid("ending_before", "No such object: '%s'", before)
		}
		end = i
		start = max(0, end-limit)
	}
	if start > end {
		start = end
	}
	hasMore := end-start > limit
	if hasMore {
		end = start + limit
	}
	data := items[start:end]
	if data == nil {
		data = []any{}
	}
	return jsonResp(map[string]any{"object": "list", "data": data, "has_more": hasMore, "url": url})
}

func (s *Server) couponJSON(cp *Coupon) map[string]any {
	return map[string]any{
		"id":                 cp.ID,
		"object":             "coupon",
		"amount_off":         nullInt(cp.AmountOff),
		"created":            cp.Created,
		"currency":           nullString(cp.Currency),
		"duration":           cp.Duration,
		"duration_in_months": nullInt(cp.DurationInMonths),
		"livemode":           false,
		"max_redemptions":    nullInt(cp.MaxRedemptions),
		"metadata":           cloneMap(cp.Metadata),
		"name":               nullString(cp.Name),
		"percent_off":        nullFloat(cp.PercentOff),
		"redeem_by":          nullInt(cp.RedeemBy),
		"times_redeemed":     cp.TimesRedeemed,
		"valid":              s.valid(cp),
	}
}

// promoJSON renders a promotion code in c's API version: promotion.coupon
// (an ID, or the coupon when expanded) from clover on, an embedded coupon
// object before.
func (s *Server) promoJSON(c *call, pc *promo, expandCoupon bool) map[string]any {
	m := map[string]any{
		"id":              pc.ID,
		"object":          "promotion_code",
		"active":          pc.Active,
		"code":            pc.Code,
		"created":         pc.Created,
		"customer":        nullString(pc.Customer),
		"expires_at":      nullInt(pc.ExpiresAt),
		"livemode":        false,
		"max_redemptions": nullInt(pc.MaxRedemptions),
		"metadata":        cloneMap(pc.Metadata),
		"restrictions": map[string]any{
			"first_time_transaction": false, "minimum_amount": nil, "minimum_amount_currency": nil,
		},
		"times_redeemed": pc.TimesRedeemed,
	}
	if !c.clover() {
		m["coupon"] = s.couponJSON(pc.coupon)
		return m
	}
	var ref any = pc.CouponID
	if expandCoupon {
		ref = s.couponJSON(pc.coupon)
	}
	m["promotion"] = map[string]any{"type": "coupon", "coupon": ref}
	return m
}

func customerJSON(cu *Customer) map[string]any {
	return map[string]any{
		"id":          cu.ID,
		"object":      "customer",
		"balance":     0,
		"created":     cu.Created,
		"currency":    nil,
		"delinquent":  false,
		"description": nil,
		"email":       nullString(cu.Email),
		"livemode":    false,
		"metadata":    cloneMap(cu.Metadata),
		"name":        nullString(cu.Name),
	}
}

func metadata(p url.Values) map[string]string {
	m := map[string]string{}
	for k, v := range p {
		if inner, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(inner, "]") && len(v) > 0 && v[0] != "" {
			m[strings.TrimSuffix(inner, "]")] = v[0]
		}
	}
	return m
}

func randomCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 8)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullFloat(f float64) any {
	if f == 0 {
		return nil
	}
	return f
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func clone(c Coupon) Coupon {
	c.Metadata = cloneMap(c.Metadata)
	return c
}
