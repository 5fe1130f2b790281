package quickbookstest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Ref is a reference to another entity.
type Ref struct {
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

// EmailAddr is an email address field.
type EmailAddr struct {
	Address string `json:"Address"`
}

// Phone is a phone number field.
type Phone struct {
	FreeFormNumber string `json:"FreeFormNumber"`
}

// MetaData is an entity's timestamps.
type MetaData struct {
	CreateTime      string `json:"CreateTime"`
	LastUpdatedTime string `json:"LastUpdatedTime"`
}

// Customer is a QuickBooks customer as the fake stores and answers it.
type Customer struct {
	ID                 string     `json:"Id,omitempty"`
	SyncToken          string     `json:"SyncToken,omitempty"`
	Sparse             bool       `json:"sparse"`
	Domain             string     `json:"domain,omitempty"`
	DisplayName        string     `json:"DisplayName,omitempty"`
	GivenName          string     `json:"GivenName,omitempty"`
	FamilyName         string     `json:"FamilyName,omitempty"`
	CompanyName        string     `json:"CompanyName,omitempty"`
	FullyQualifiedName string     `json:"FullyQualifiedName,omitempty"`
	PrimaryEmailAddr   *EmailAddr `json:"PrimaryEmailAddr,omitempty"`
	PrimaryPhone       *Phone     `json:"PrimaryPhone,omitempty"`
	Notes              string     `json:"Notes,omitempty"`
	Active             *bool      `json:"Active,omitempty"`
	Balance            float64    `json:"Balance"`
	MetaData           *MetaData  `json:"MetaData,omitempty"`
}

func (c *Customer) email() string {
	if c.PrimaryEmailAddr == nil {
		return ""
	}
	return c.PrimaryEmailAddr.Address
}

func (c *Customer) active() bool { return c.Active == nil || *c.Active }

// Item is a product or service.
type Item struct {
	ID                 string    `json:"Id"`
	SyncToken          string    `json:"SyncToken"`
	Sparse             bool      `json:"sparse"`
	Domain             string    `json:"domain"`
	Name               string    `json:"Name"`
	Description        string    `json:"Description,omitempty"`
	FullyQualifiedName string    `json:"FullyQualifiedName"`
	Active             bool      `json:"Active"`
	Type               string    `json:"Type"`
	UnitPrice          float64   `json:"UnitPrice"`
	IncomeAccountRef   *Ref      `json:"IncomeAccountRef,omitempty"`
	MetaData           *MetaData `json:"MetaData,omitempty"`
}

// SalesItemLineDetail is the detail of an item line.
type SalesItemLineDetail struct {
	ItemRef   *Ref     `json:"ItemRef,omitempty"`
	Qty       *float64 `json:"Qty,omitempty"`
	UnitPrice *float64 `json:"UnitPrice,omitempty"`
}

// Line is one invoice line.
type Line struct {
	ID                  string               `json:"Id,omitempty"`
	LineNum             int                  `json:"LineNum,omitempty"`
	DetailType          string               `json:"DetailType"`
	Amount              *float64             `json:"Amount,omitempty"`
	Description         string               `json:"Description,omitempty"`
	SalesItemLineDetail *SalesItemLineDetail `json:"SalesItemLineDetail,omitempty"`
	SubTotalLineDetail  *struct{}            `json:"SubTotalLineDetail,omitempty"`
}

// DeliveryInfo says how an invoice was sent.
type DeliveryInfo struct {
	DeliveryType string `json:"DeliveryType"`
	DeliveryTime string `json:"DeliveryTime"`
}

// Invoice is a sales invoice.
type Invoice struct {
	ID           string     `json:"Id,omitempty"`
	SyncToken    string     `json:"SyncToken,omitempty"`
	Sparse       bool       `json:"sparse"`
	Domain       string     `json:"domain,omitempty"`
	DocNumber    string     `json:"DocNumber,omitempty"`
	TxnDate      string     `json:"TxnDate,omitempty"`
	DueDate      string     `json:"DueDate,omitempty"`
	CustomerRef  *Ref       `json:"CustomerRef,omitempty"`
	BillEmail    *EmailAddr `json:"BillEmail,omitempty"`
	Line         []Line     `json:"Line"`
	PrivateNote  string     `json:"PrivateNote,omitempty"`
	CustomerMemo *struct {
		Value string `json:"value"`
	} `json:"CustomerMemo,omitempty"`
	TotalAmt     float64       `json:"TotalAmt"`
	Balance      float64       `json:"Balance"`
	EmailStatus  string        `json:"EmailStatus,omitempty"`
	DeliveryInfo *DeliveryInfo `json:"DeliveryInfo,omitempty"`
	CurrencyRef  *Ref          `json:"CurrencyRef,omitempty"`
	MetaData     *MetaData     `json:"MetaData,omitempty"`
}

// CompanyInfo is the company's profile.
type CompanyInfo struct {
	ID          string    `json:"Id"`
	SyncToken   string    `json:"SyncToken"`
	CompanyName string    `json:"CompanyName"`
	LegalName   string    `json:"LegalName"`
	Country     string    `json:"Country"`
	Email       EmailAddr `json:"Email"`
	Domain      string    `json:"domain"`
	Sparse      bool      `json:"sparse"`
	MetaData    *MetaData `json:"MetaData,omitempty"`
}

type vendor struct{ id, displayName string }

// company is one realm's data.
type company struct {
	realm     string
	info      CompanyInfo
	customers []*Customer
	vendors   []vendor
	items     []*Item
	invoices  []*Invoice
	nextID    int
	nextDoc   int
	replay    map[string]answer
	window    time.Time
	count     int
}

type answer struct {
	retryAfter string
	status     int
	ctype      string
	body       []byte
}

func meta(now time.Time) *MetaData {
	s := now.Format("2006-01-02T15:04:05-07:00")
	return &MetaData{CreateTime: s, LastUpdatedTime: s}
}

func boolp(b bool) *bool { return &b }

// itemNames are the seeded items; the last one is a Category.
var itemNames = []string{
	"Services", "Hours", "Consulting", "Design", "Development", "Training", "Onboarding",
	"Support Plan", "Premium Support", "Implementation", "Data Migration", "Audit",
	"Workshop", "Strategy Session", "License - Starter", "License - Growth", "License - Enterprise",
	"Hosting", "Maintenance", "Custom Report", "Integration Setup", "Travel", "Rush Fee",
	"Setup Fee", "Annual Review", "Landscaping", "Pest Control", "Gardening", "Sprinklers",
	"Professional Services",
}

func newCompany(realm, name string, now time.Time) *company {
	c := &company{realm: realm, replay: map[string]answer{}, nextDoc: 1001}
	c.info = CompanyInfo{ID: "1", SyncToken: "4", CompanyName: name, LegalName: name + " LLC", Country: "US",
		Email: EmailAddr{Address: "noreply@quickbooks.example"}, Domain: "QBO", MetaData: meta(now)}
	income := &Ref{Value: "79", Name: "Sales of Product Income"}
	for i, n := range itemNames {
		it := &Item{ID: strconv.Itoa(i + 1), SyncToken: "0", Domain: "QBO", Name: n, FullyQualifiedName: n,
			Active: true, Type: "Service", UnitPrice: float64(50 + 10*i), IncomeAccountRef: income, MetaData: meta(now)}
		if i == 0 {
			it.UnitPrice = 0
		}
		if n == "Onboarding" {
			it.UnitPrice = 120
			it.Description = "Onboarding package"
		}
		if i == len(itemNames)-1 {
			it.Type = "Category"
			it.IncomeAccountRef = nil
		}
		c.items = append(c.items, it)
	}
	c.items = append(c.items, &Item{ID: "31", SyncToken: "1", Domain: "QBO", Name: "Retired Service", FullyQualifiedName: "Retired Service",
		Active: false, Type: "Service", UnitPrice: 99, IncomeAccountRef: income, MetaData: meta(now)})
	c.nextID = 100
	c.customers = []*Customer{
		{ID: "1", SyncToken: "0", Domain: "QBO", DisplayName: "Jordan Lee", GivenName: "Jordan", FamilyName: "Lee",
			FullyQualifiedName: "Jordan Lee", PrimaryEmailAddr: &EmailAddr{Address: "jordan.lee@example.com"}, Active: boolp(true), MetaData: meta(now)},
		{ID: "2", SyncToken: "0", Domain: "QBO", DisplayName: "Rivera Analytics", CompanyName: "Rivera Analytics",
			FullyQualifiedName: "Rivera Analytics", Active: boolp(true), MetaData: meta(now)},
	}
	c.vendors = []vendor{{id: "50", displayName: "Acme Supplies"}}
	return c
}

func (c *company) newID() string {
	c.nextID++
	return strconv.Itoa(c.nextID)
}

func (c *company) item(id string) *Item {
	for _, it := range c.items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

func (c *company) customer(id string) *Customer {
	for _, cu := range c.customers {
		if cu.ID == id {
			return cu
		}
	}
	return nil
}

func (c *company) invoice(id string) *Invoice {
	for _, inv := range c.invoices {
		if inv.ID == id {
			return inv
		}
	}
	return nil
}

// nameTaken reports whether a display name is used by any customer
// (active or not), vendor or employee: Intuit's uniqueness rule.
func (c *company) nameTaken(name, exceptID string) bool {
	for _, cu := range c.customers {
		if cu.ID != exceptID && strings.EqualFold(cu.DisplayName, name) {
			return true
		}
	}
	for _, v := range c.vendors {
		if strings.EqualFold(v.displayName, name) {
			return true
		}
	}
	return false
}

// field returns the value of a queryable property, for the query engine.
func (cu *Customer) field(name string) (any, bool) {
	switch name {
	case "Id":
		return cu.ID, true
	case "DisplayName":
		return cu.DisplayName, true
	case "PrimaryEmailAddr":
		return cu.email(), true
	case "GivenName":
		return cu.GivenName, true
	case "FamilyName":
		return cu.FamilyName, true
	case "CompanyName":
		return cu.CompanyName, true
	case "FullyQualifiedName":
		return cu.FullyQualifiedName, true
	case "Active":
		return cu.active(), true
	case "Balance":
		return cu.Balance, true
	}
	return nil, false
}

func (it *Item) field(name string) (any, bool) {
	switch name {
	case "Id":
		return it.ID, true
	case "Name":
		return it.Name, true
	case "FullyQualifiedName":
		return it.FullyQualifiedName, true
	case "Active":
		return it.Active, true
	case "Type":
		return it.Type, true
	}
	return nil, false
}

func (inv *Invoice) field(name string) (any, bool) {
	switch name {
	case "Id":
		return inv.ID, true
	case "DocNumber":
		return inv.DocNumber, true
	case "TxnDate":
		return inv.TxnDate, true
	case "DueDate":
		return inv.DueDate, true
	case "CustomerRef":
		if inv.CustomerRef == nil {
			return "", true
		}
		return inv.CustomerRef.Value, true
	case "TotalAmt":
		return inv.TotalAmt, true
	}
	return nil, false
}

func money(f float64) float64 {
	v, _ := strconv.ParseFloat(fmt.Sprintf("%.2f", f), 64)
	return v
}
