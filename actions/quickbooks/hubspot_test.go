package quickbooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
)

// staticClients authorizes every portal with "Bearer hs-<portal>", and
// knows no portal 404.
type staticClients struct{ base http.RoundTripper }

func (s staticClients) Client(ctx context.Context, portalID int64) (*http.Client, error) {
	if portalID == 404 {
		return nil, fmt.Errorf("portal 404: %w", oauth.ErrNotConnected)
	}
	return &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", fmt.Sprintf("Bearer hs-%d", portalID))
		return s.base.RoundTrip(r)
	})}, nil
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHubSpotCRMDealContact(t *testing.T) {
	t.Parallel()
	// Deal 1 has contacts 11 (no email), 12 and 13; deal 2 has none; deal
	// 3 is gone; deal 4 fails.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer hs-42" {
			t.Errorf("%s %s: Authorization = %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		switch {
		case r.Method == "GET" && r.URL.Path == "/crm/v3/objects/deals/1":
			if r.URL.Query().Get("associations") != "contacts" {
				t.Errorf("deal read without associations=contacts: %s", r.URL)
			}
			io.WriteString(w, `{"id":"1","properties":{"dealname":"D"},"associations":{"contacts":{"results":[{"id":"11","type":"deal_to_contact"},{"id":"12","type":"deal_to_contact"},{"id":"11","type":"deal_to_contact_unlabeled"},{"id":"13","type":"deal_to_contact"}]}}}`)
		case r.Method == "GET" && r.URL.Path == "/crm/v3/objects/deals/2":
			io.WriteString(w, `{"id":"2","properties":{}}`)
		case r.Method == "GET" && r.URL.Path == "/crm/v3/objects/deals/3":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"status":"error","category":"OBJECT_NOT_FOUND"}`)
		case r.Method == "GET" && r.URL.Path == "/crm/v3/objects/deals/4":
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"status":"error","category":"RATE_LIMITS"}`)
		case r.Method == "POST" && r.URL.Path == "/crm/v3/objects/contacts/batch/read":
			var body struct {
				Properties []string            `json:"properties"`
				Inputs     []map[string]string `json:"inputs"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("batch read body: %v", err)
			}
			want := []map[string]string{{"id": "11"}, {"id": "12"}, {"id": "13"}}
			if diff := cmp.Diff(want, body.Inputs); diff != "" {
				t.Errorf("batch inputs mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"email", "firstname", "lastname", "company", "phone"}, body.Properties); diff != "" {
				t.Errorf("batch properties mismatch (-want +got):\n%s", diff)
			}
			// Results come in no particular order.
			io.WriteString(w, `{"status":"COMPLETE","results":[
				{"id":"13","properties":{"email":"third@example.com"}},
				{"id":"11","properties":{"email":""}},
				{"id":"12","properties":{"email":"ana@rivera.example","firstname":"Ana","lastname":"Rivera","company":"Rivera Retail","phone":"+1 555"}}]}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer ts.Close()
	crm := NewHubSpotCRM(ts.URL, staticClients{base: http.DefaultTransport})
	ctx := context.Background()

	got, err := crm.DealContact(ctx, 42, "1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Contact{ID: "12", Email: "ana@rivera.example", FirstName: "Ana", LastName: "Rivera", Company: "Rivera Retail", Phone: "+1 555"}, got); diff != "" {
		t.Errorf("DealContact(1) mismatch (-want +got):\n%s", diff)
	}
	for _, deal := range []string{"2", "3"} {
		if got, err := crm.DealContact(ctx, 42, deal); err != nil || got != (Contact{}) {
			t.Errorf("DealContact(%s) = %+v, %v, want no contact", deal, got, err)
		}
	}
	_, err = crm.DealContact(ctx, 42, "4")
	if !actions.Transient(err) {
		t.Errorf("DealContact(4) = %v, want a transient error", err)
	}
	if _, err := crm.DealContact(ctx, 404, "1"); !errors.Is(err, oauth.ErrNotConnected) {
		t.Errorf("DealContact(portal 404) = %v, want ErrNotConnected", err)
	}
}
