package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"sync"
)

// The CRM properties API and record updates, as HubSpot documents them:
// POST /crm/properties/2026-03/{objectType}/groups and
// POST /crm/properties/2026-03/{objectType} (name, label and, for a
// property, type, fieldType and groupName required; 409 for a name taken;
// crm.schemas.<object>.write), DELETE of a property, and
// PATCH /crm/objects/2026-03/{objectType}/{objectId} ({"properties": …};
// 404 for an unknown record, 400 PROPERTY_DOESNT_EXIST for an unknown
// property; crm.objects.<object>.write).

// EndpointProperties counts the properties API's calls (groups and
// properties); EndpointUpdate counts record updates.
const (
	EndpointProperties Endpoint = "properties"
	EndpointUpdate     Endpoint = "crm.update"
)

// PropertyDef is a property created through the API.
type PropertyDef struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Type        string `json:"type"`
	FieldType   string `json:"fieldType"`
	GroupName   string `json:"groupName"`
	Description string `json:"description,omitempty"`
}

// Update is one record update HubSpot received.
type Update struct {
	PortalID   int64
	ObjectType string // plural name
	ObjectID   string
	Properties map[string]string
}

type schemaKey struct {
	portalID int64
	typ      string
	name     string
}

// schema is the portals' custom property groups and properties.
type schema struct {
	mu      sync.Mutex
	groups  map[schemaKey]bool
	props   map[schemaKey]PropertyDef
	updates []Update
}

// builtIn are the default properties a record update may name without
// creating them, per object type.
var builtIn = map[string][]string{
	"contacts":  {"email", "firstname", "lastname", "company", "phone", "jobtitle", "city", "country"},
	"companies": {"name", "domain", "industry", "numberofemployees", "city", "country", "description"},
	"deals":     {"dealname", "amount", "dealstage", "pipeline", "closedate"},
}

var (
	schemaName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// The type and fieldType pairs the properties API accepts.
	fieldTypes = map[string][]string{
		"string":      {"text", "textarea", "html", "phonenumber", "file"},
		"number":      {"number", "calculation_equation"},
		"date":        {"date"},
		"datetime":    {"date"},
		"enumeration": {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
		"bool":        {"booleancheckbox", "calculation_equation"},
	}
)

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointProperties)
	typ := canonicalType(r.PathValue("objectType"))
	portalID, ok := s.api(w, r, http.MethodPost, "crm.schemas."+typ+".write")
	if !ok {
		return
	}
	var in struct {
		Name         string `json:"name"`
		Label        string `json:"label"`
		DisplayOrder *int   `json:"displayOrder"`
	}
	if !s.decodeJSON(w, r, "create property group", &in) {
		return
	}
	if !schemaName.MatchString(in.Name) || in.Label == "" {
		s.violation("create property group: name %q and label %q are required (name lower-case)", in.Name, in.Label)
		s.validationError(w, "name and label are required")
		return
	}
	k := schemaKey{portalID, typ, in.Name}
	s.schema.mu.Lock()
	exists := s.schema.groups[k]
	s.schema.groups[k] = true
	s.schema.mu.Unlock()
	if exists {
		s.hubspotError(w, http.StatusConflict, fmt.Sprintf("A property group named '%s' already exists.", in.Name), "OBJECT_ALREADY_EXISTS")
		return
	}
	order := -1
	if in.DisplayOrder != nil {
		order = *in.DisplayOrder
	}
	writeJSON(w, http.StatusCreated, map[string]any{"name": in.Name, "label": in.Label, "displayOrder": order, "archived": false})
}

func (s *Server) handleCreateProperty(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointProperties)
	typ := canonicalType(r.PathValue("objectType"))
	portalID, ok := s.api(w, r, http.MethodPost, "crm.schemas."+typ+".write")
	if !ok {
		return
	}
	var p PropertyDef
	if !s.decodeJSON(w, r, "create property", &p) {
		return
	}
	switch {
	case !schemaName.MatchString(p.Name) || p.Label == "" || p.Type == "" || p.FieldType == "" || p.GroupName == "":
		s.violation("create property: name, label, type, fieldType and groupName are required: %+v", p)
		s.validationError(w, "name, label, type, fieldType and groupName are required")
		return
	case !contains(fieldTypes[p.Type], p.FieldType):
		s.violation("create property %s: type %q with fieldType %q", p.Name, p.Type, p.FieldType)
		s.validationError(w, fmt.Sprintf("fieldType %s is not valid for type %s", p.FieldType, p.Type))
		return
	}
	s.schema.mu.Lock()
	group := s.schema.groups[schemaKey{portalID, typ, p.GroupName}]
	_, exists := s.schema.props[schemaKey{portalID, typ, p.Name}]
	if group && !exists && !contains(builtIn[typ], p.Name) {
		s.schema.props[schemaKey{portalID, typ, p.Name}] = p
	}
	s.schema.mu.Unlock()
	switch {
	case !group:
		s.validationError(w, fmt.Sprintf("Property group %s does not exist.", p.GroupName))
	case exists || contains(builtIn[typ], p.Name):
		s.hubspotError(w, http.StatusConflict, fmt.Sprintf("A property named '%s' already exists.", p.Name), "OBJECT_ALREADY_EXISTS")
	default:
		writeJSON(w, http.StatusCreated, p)
	}
}

func (s *Server) handleDeleteProperty(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointProperties)
	typ := canonicalType(r.PathValue("objectType"))
	portalID, ok := s.api(w, r, http.MethodDelete, "crm.schemas."+typ+".write")
	if !ok {
		return
	}
	if !s.DeleteProperty(portalID, typ, r.PathValue("propertyName")) {
		s.hubspotError(w, http.StatusNotFound, "resource not found", "OBJECT_NOT_FOUND")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleUpdateObject(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointUpdate)
	typ := canonicalType(r.PathValue("objectType"))
	portalID, ok := s.api(w, r, http.MethodPatch, "crm.objects."+typ+".write")
	if !ok {
		return
	}
	var in struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if !s.decodeJSON(w, r, "update object", &in) {
		return
	}
	if in.Properties == nil {
		s.violation("update object: properties missing")
		s.validationError(w, "properties is required")
		return
	}
	props := make(map[string]string, len(in.Properties))
	for k, raw := range in.Properties {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			s.violation("update object: properties.%s is %s, not a string", k, raw)
			s.validationError(w, fmt.Sprintf("properties.%s must be a string", k))
			return
		}
		props[k] = v
	}
	id := r.PathValue("objectId")
	s.mu.Lock()
	o, found := s.objects[objectKey{portalID, typ, id}]
	s.mu.Unlock()
	if !found {
		s.hubspotError(w, http.StatusNotFound, "resource not found", "OBJECT_NOT_FOUND")
		return
	}
	var missing []string
	s.schema.mu.Lock()
	for k := range props {
		if _, ok := s.schema.props[schemaKey{portalID, typ, k}]; !ok && !contains(builtIn[typ], k) {
			missing = append(missing, k)
		}
	}
	s.schema.mu.Unlock()
	if len(missing) > 0 {
		sort.Strings(missing)
		type invalid struct {
			IsValid bool   `json:"isValid"`
			Message string `json:"message"`
			Error   string `json:"error"`
			Name    string `json:"name"`
		}
		var list []invalid
		for _, m := range missing {
			list = append(list, invalid{Message: fmt.Sprintf("Property \"%s\" does not exist", m), Error: "PROPERTY_DOESNT_EXIST", Name: m})
		}
		b, _ := json.Marshal(list)
		s.validationError(w, "Property values were not valid: "+string(b))
		return
	}
	s.mu.Lock()
	for k, v := range props {
		o.props[k] = v
	}
	out := make(map[string]string, len(o.props))
	for k, v := range o.props {
		out[k] = v
	}
	s.mu.Unlock()
	s.schema.mu.Lock()
	s.schema.updates = append(s.schema.updates, Update{PortalID: portalID, ObjectType: typ, ObjectID: id, Properties: props})
	s.schema.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "properties": out, "archived": false})
}

// Properties returns the properties created through the API for a
// portal's object type, by name.
func (s *Server) Properties(portalID int64, objectType string) []PropertyDef {
	typ := canonicalType(objectType)
	s.schema.mu.Lock()
	defer s.schema.mu.Unlock()
	var out []PropertyDef
	for k, p := range s.schema.props {
		if k.portalID == portalID && k.typ == typ {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HasGroup reports whether a property group was created for a portal's
// object type.
func (s *Server) HasGroup(portalID int64, objectType, name string) bool {
	s.schema.mu.Lock()
	defer s.schema.mu.Unlock()
	return s.schema.groups[schemaKey{portalID, canonicalType(objectType), name}]
}

// DeleteProperty deletes a property, as an admin can in HubSpot's
// settings, and reports whether it existed.
func (s *Server) DeleteProperty(portalID int64, objectType, name string) bool {
	k := schemaKey{portalID, canonicalType(objectType), name}
	s.schema.mu.Lock()
	defer s.schema.mu.Unlock()
	_, ok := s.schema.props[k]
	delete(s.schema.props, k)
	return ok
}

// Updates returns the record updates received, in order.
func (s *Server) Updates() []Update {
	s.schema.mu.Lock()
	defer s.schema.mu.Unlock()
	return append([]Update(nil), s.schema.updates...)
}

// DeleteObject deletes a seeded record.
func (s *Server) DeleteObject(portalID int64, objectType, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, objectKey{portalID, canonicalType(objectType), id})
}
