package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"hubspot-actions/actions/upstream"
)

// PropertyGroup is a CRM property group to create.
type PropertyGroup struct {
	Name         string `json:"name"`
	Label        string `json:"label"`
	DisplayOrder int    `json:"displayOrder"`
}

// Property is a CRM property to create: name, label, type, fieldType and
// groupName are the fields HubSpot requires.
type Property struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Type        string `json:"type"`
	FieldType   string `json:"fieldType"`
	GroupName   string `json:"groupName"`
	Description string `json:"description,omitempty"`
}

// ErrPropertyMissing means an update named a property the portal does not
// have (an admin deleted it): HubSpot answers 400 PROPERTY_DOESNT_EXIST.
var ErrPropertyMissing = errors.New("hubspot: property does not exist")

// CreatePropertyGroup creates a property group of objectType (a CRM name
// such as "contacts"): POST /crm/properties/2026-03/{objectType}/groups.
// A group that exists already (409) is success. It needs the
// crm.schemas.<object>.write scope.
func (h *Client) CreatePropertyGroup(ctx context.Context, portalID int64, objectType string, g PropertyGroup) error {
	path := "/crm/properties/2026-03/" + url.PathEscape(objectType) + "/groups"
	return existsIsFine(h.do(ctx, portalID, http.MethodPost, path, nil, g, nil))
}

// CreateProperty creates one property of objectType: POST
// /crm/properties/2026-03/{objectType}. A property of that name that exists
// already (409) is success. It needs the crm.schemas.<object>.write scope.
func (h *Client) CreateProperty(ctx context.Context, portalID int64, objectType string, p Property) error {
	path := "/crm/properties/2026-03/" + url.PathEscape(objectType)
	return existsIsFine(h.do(ctx, portalID, http.MethodPost, path, nil, p, nil))
}

// UpdateObject writes property values on one record: PATCH
// /crm/objects/2026-03/{objectType}/{objectID} with {"properties": …}. An
// unknown record gives an error wrapping ErrNotFound; a property the portal
// lacks, one wrapping ErrPropertyMissing. It needs the
// crm.objects.<object>.write scope.
func (h *Client) UpdateObject(ctx context.Context, portalID int64, objectType, objectID string, properties map[string]string) error {
	path := "/crm/objects/2026-03/" + url.PathEscape(objectType) + "/" + url.PathEscape(objectID)
	body := struct {
		Properties map[string]string `json:"properties"`
	}{properties}
	err := h.do(ctx, portalID, http.MethodPatch, path, nil, body, nil)
	var ae *upstream.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Body, "PROPERTY_DOESNT_EXIST") {
		return fmt.Errorf("%w: %w", ErrPropertyMissing, err)
	}
	return err
}

func existsIsFine(err error) error {
	var ae *upstream.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return nil
	}
	return err
}
