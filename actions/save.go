package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"hubspot-actions/actions/hubspot"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
)

// Saving results on the enrolled record: an action whose Spec.Save names
// some of its outputs gets a "Save to the record" input; when a workflow
// turns it on, the runtime writes those outputs, after a successful Run,
// to properties of the enrolled record that the app creates in the portal
// (in its own group) the first time they are needed. Outputs are answered
// as before, written or not.

// InputSaveToRecord is the input Register adds to an action that can save
// its results on the record: a checkbox, off by default.
const InputSaveToRecord = "save_to_record"

// PropertyPrefix starts the name of every property the app creates, so
// that they never collide with a portal's own.
const PropertyPrefix = "hsa_"

// The property group the app's properties go in, in every object type.
const (
	PropertyGroupName  = "hsa_actions_bridge"
	PropertyGroupLabel = "Actions Bridge"
)

// SavedProperty declares that an output can be saved on the enrolled
// record, and as which property.
type SavedProperty struct {
	Output   string // the output's name
	Property string // the property's name: PropertyPrefix, then snake_case
	Label    string // the property's label in HubSpot
	// Type and FieldType are the property's, as HubSpot's properties API
	// names them: string and text (the default), or number and number.
	Type      string
	FieldType string
}

// crmObjects maps the object types an action declares to the CRM API's
// names, for the object types whose records an action can save on.
var crmObjects = map[string]string{"CONTACT": "contacts", "COMPANY": "companies", "DEAL": "deals"}

// singular names one record of a CRM object type ("companies": company).
func singular(crm string) string {
	if s, ok := strings.CutSuffix(crm, "ies"); ok {
		return s + "y"
	}
	return strings.TrimSuffix(crm, "s")
}

var propertyPattern = regexp.MustCompile(`^` + PropertyPrefix + `[a-z0-9_]+$`)

// checkSave reports a Save declaration that does not hold together, and
// fills in the default types.
func checkSave(save []SavedProperty, outputs map[string]bool, objectTypes []string) ([]SavedProperty, error) {
	if len(save) == 0 {
		return nil, nil
	}
	if len(objectTypes) == 0 {
		return nil, errors.New("Save needs ObjectTypes: the records it can save on")
	}
	for _, t := range objectTypes {
		if crmObjects[t] == "" {
			return nil, fmt.Errorf("Save: object type %s cannot be saved on (only CONTACT, COMPANY and DEAL)", t)
		}
	}
	out := make([]SavedProperty, len(save))
	seen := map[string]bool{}
	for i, s := range save {
		if !outputs[s.Output] {
			return nil, fmt.Errorf("Save names output %q, which is not an output", s.Output)
		}
		if !propertyPattern.MatchString(s.Property) || len(s.Property) > 100 || seen[s.Property] {
			return nil, fmt.Errorf("Save: property %q must be a unique snake_case name starting with %s", s.Property, PropertyPrefix)
		}
		seen[s.Property] = true
		if strings.TrimSpace(s.Label) == "" {
			return nil, fmt.Errorf("Save: property %s has no label", s.Property)
		}
		if s.Type == "" && s.FieldType == "" {
			s.Type, s.FieldType = TypeString, FieldText
		}
		if !(s.Type == TypeString && (s.FieldType == FieldText || s.FieldType == FieldTextarea)) && !(s.Type == TypeNumber && s.FieldType == FieldNumber) {
			return nil, fmt.Errorf("Save: property %s: type %q and fieldType %q must be string and text (or textarea), or number and number", s.Property, s.Type, s.FieldType)
		}
		out[i] = s
	}
	return out, nil
}

// saveInput is the input Register adds to an action that can save.
func saveInput() InputField {
	return InputField{
		Name: InputSaveToRecord, Type: TypeBool, FieldType: FieldCheckbox, Label: "Save to the record",
		Description: "Also write the results to the enrolled record's properties (in the " + PropertyGroupLabel + " group, created when first needed). Needs the app's optional write permissions.",
		ValueTypes:  []string{StaticValue},
	}
}

// saveScopes are the optional scopes saving on records of objectType
// needs: writing the record, and creating the app's properties.
func saveScopes(objectType string) []Scope {
	crm := crmObjects[objectType]
	return []Scope{
		{Name: "crm.objects." + crm + ".write", Reason: "Saving results on the enrolled " + singular(crm) + " when a workflow asks (the action's \"Save to the record\" box)."},
		{Name: "crm.schemas." + crm + ".write", Reason: "Creating the app's own " + singular(crm) + " properties (group " + PropertyGroupLabel + ") that results are saved in, the first time they are needed."},
	}
}

// OptionalScopes returns the scopes the app asks for at install as
// optional, sorted by name: those saving results on records needs. A
// portal that declines them installs anyway; its saves fail with
// NOT_CONNECTED. A scope the app requires (Scopes) is not listed again.
func (r *Registry) OptionalScopes() []Scope {
	required := r.ScopeNames()
	reasons := map[string][]string{}
	for _, a := range r.All() {
		if len(a.Save) == 0 {
			continue
		}
		for _, t := range a.ObjectTypes {
			for _, s := range saveScopes(t) {
				if slices.Contains(required, s.Name) {
					continue
				}
				if reason := a.Name + ": " + s.Reason; !slices.Contains(reasons[s.Name], reason) {
					reasons[s.Name] = append(reasons[s.Name], reason)
				}
			}
		}
	}
	names := make([]string, 0, len(reasons))
	for n := range reasons {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Scope, len(names))
	for i, n := range names {
		out[i] = Scope{Name: n, Reason: strings.Join(reasons[n], " ")}
	}
	return out
}

// OptionalScopeNames returns the names of OptionalScopes, in order.
func (r *Registry) OptionalScopeNames() []string {
	var out []string
	for _, s := range r.OptionalScopes() {
		out = append(out, s.Name)
	}
	return out
}

// RecordWriter is what saving results on records needs of HubSpot's API,
// made for one portal with its own token and paced by its rate governor:
// *hubspot.Client has it. The runtime uses it when its HubSpot has it too.
type RecordWriter interface {
	// CreatePropertyGroup and CreateProperty treat one that exists as
	// success.
	CreatePropertyGroup(ctx context.Context, portalID int64, objectType string, g hubspot.PropertyGroup) error
	CreateProperty(ctx context.Context, portalID int64, objectType string, p hubspot.Property) error
	// UpdateObject returns errors wrapping hubspot.ErrNotFound for an
	// unknown record and hubspot.ErrPropertyMissing for a property the
	// portal lacks.
	UpdateObject(ctx context.Context, portalID int64, objectType, objectID string, properties map[string]string) error
}

// The HubSpot client cmd passes the runtime writes records.
var _ RecordWriter = (*hubspot.Client)(nil)

// saveRequested reports whether the execution's inputs turn saving on.
func saveRequested(inputs map[string]any) bool {
	switch v := inputs[InputSaveToRecord].(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(strings.TrimSpace(v), "true")
	}
	return false
}

// saveOnRecord writes the outputs a successful Run gave to the enrolled
// record, when the execution asks for it and has a record of a type the
// action supports, never in test mode. Errors are *Error (FAIL_CONTINUE, the outputs still
// answered) or transient (the attempt is retried; writing again is
// harmless).
func (rt *Runtime) saveOnRecord(ctx context.Context, a *Action, ex *Execution, inputs map[string]any, outputs map[string]string) error {
	// Test mode changes nothing anywhere, HubSpot's records included.
	if ex.TestMode || len(a.Save) == 0 || !saveRequested(inputs) || ex.Object.ObjectID == "" || !slices.Contains(a.ObjectTypes, ex.Object.ObjectType) {
		return nil
	}
	crm := crmObjects[ex.Object.ObjectType]
	values := map[string]string{}
	for _, s := range a.Save {
		// An empty output is not written: it would clear what the
		// record had.
		if v := outputs[s.Output]; v != "" {
			values[s.Property] = v
		}
	}
	if len(values) == 0 {
		return nil
	}
	w, ok := rt.hs.(RecordWriter)
	if !ok {
		return Fail(CodeInternal, "Saving results on the record is not available in this installation.")
	}
	portal, err := rt.db.GetPortal(ctx, ex.PortalID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var missing []string
	for _, s := range saveScopes(ex.Object.ObjectType) {
		if !slices.Contains(portal.Scopes, s.Name) {
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		return scopeError(crm, missing, nil)
	}
	oid := string(ex.Object.ObjectID)
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	known, err := rt.db.RecordProperties(ctx, ex.PortalID, crm)
	if err != nil {
		return err
	}
	if !containsAll(known, names) {
		if err := rt.ensureProperties(ctx, w, a, ex.PortalID, crm, known); err != nil {
			return recordError(crm, err)
		}
	}
	err = w.UpdateObject(ctx, ex.PortalID, crm, oid, values)
	if errors.Is(err, hubspot.ErrPropertyMissing) {
		// An admin deleted one of the app's properties: make them again.
		if ferr := rt.db.Write(ctx, func(tx *store.Tx) error { return tx.ForgetRecordProperties(ctx, ex.PortalID, crm) }); ferr != nil {
			return ferr
		}
		if err := rt.ensureProperties(ctx, w, a, ex.PortalID, crm, nil); err != nil {
			return recordError(crm, err)
		}
		err = w.UpdateObject(ctx, ex.PortalID, crm, oid, values)
	}
	if err != nil {
		return recordError(crm, err)
	}
	return nil
}

// ensureProperties makes sure the app's group and the action's properties
// exist in the portal for objectType, and records them with those known
// before.
func (rt *Runtime) ensureProperties(ctx context.Context, w RecordWriter, a *Action, portalID int64, crm string, known []string) error {
	if err := w.CreatePropertyGroup(ctx, portalID, crm, hubspot.PropertyGroup{Name: PropertyGroupName, Label: PropertyGroupLabel, DisplayOrder: -1}); err != nil {
		return err
	}
	all := append([]string(nil), known...)
	for _, s := range a.Save {
		p := hubspot.Property{Name: s.Property, Label: s.Label, Type: s.Type, FieldType: s.FieldType, GroupName: PropertyGroupName,
			Description: "Saved by the " + a.Name + " workflow action."}
		if err := w.CreateProperty(ctx, portalID, crm, p); err != nil {
			return err
		}
		if !slices.Contains(all, s.Property) {
			all = append(all, s.Property)
		}
	}
	sort.Strings(all)
	return rt.db.Write(ctx, func(tx *store.Tx) error { return tx.SaveRecordProperties(ctx, portalID, crm, all) })
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// scopeError is the answer for a portal that did not grant the scopes
// saving on its records needs.
func scopeError(crm string, missing []string, cause error) *Error {
	what := singular(crm)
	msg := "The results were not saved on the " + what + ": the app was installed without permission to write " + crm
	if len(missing) > 0 {
		msg += " (" + strings.Join(missing, ", ") + ")"
	}
	msg += ". A HubSpot super admin must reinstall the app and grant the optional permissions it asks for. The outputs are still available to the next steps."
	return &Error{Code: CodeNotConnected, Message: msg, Err: cause}
}

// recordError turns what HubSpot answered a save into the execution's
// error: transient ones are retried; a 403 means a scope is missing.
func recordError(crm string, err error) error {
	var e *Error
	if errors.As(err, &e) || Transient(err) {
		return err
	}
	var ae *upstream.APIError
	switch {
	case errors.Is(err, hubspot.ErrNotFound):
		return &Error{Code: CodeNotFound, Err: err, Message: "The results were not saved: the enrolled " + singular(crm) + " no longer exists in HubSpot."}
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		return scopeError(crm, nil, err)
	case errors.As(err, &ae):
		return &Error{Code: CodeRejected, Err: err, Message: fmt.Sprintf("HubSpot refused to save the results on the %s (HTTP %d).", singular(crm), ae.Status)}
	}
	return err
}
