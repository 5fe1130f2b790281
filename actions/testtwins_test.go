package actions_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"hubspot-actions/actions"
)

// TestPortalFakes: each portal's requests reach its own fake with the
// prefix removed, a bad path is a 404 that makes no fake, and past max
// portals the least recently used one's fake is dropped.
func TestPortalFakes(t *testing.T) {
	t.Parallel()
	var made atomic.Int64
	fakes := actions.NewPortalFakes(func() http.Handler {
		n := made.Add(1)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", int(n))+" "+r.URL.RequestURI())
		})
	}, 2)
	get := func(path string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		fakes.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	tests := []struct {
		name, path string
		status     int
		body       string
	}{
		{"first portal", actions.PortalFakePath(11) + "/v3/company/1?minorversion=75", http.StatusOK, "x /v3/company/1?minorversion=75"},
		{"second portal", actions.PortalFakePath(22) + "/a", http.StatusOK, "xx /a"},
		{"first again", actions.PortalFakePath(11) + "/b", http.StatusOK, "x /b"},
		{"no portal", "/v3/company/1", http.StatusNotFound, ""},
		{"bad portal", "/portals/abc/x", http.StatusNotFound, ""},
		{"zero portal", "/portals/0/x", http.StatusNotFound, ""},
		{"third portal drops the second", actions.PortalFakePath(33) + "/c", http.StatusOK, "xxx /c"},
		{"second is made again", actions.PortalFakePath(22) + "/d", http.StatusOK, "xxxx /d"},
	}
	for _, tt := range tests {
		status, body := get(tt.path)
		if status != tt.status || (tt.body != "" && body != tt.body) {
			t.Errorf("%s: GET %s = %d %q, want %d %q", tt.name, tt.path, status, body, tt.status, tt.body)
		}
	}
	if fakes.Portal(11) != nil {
		t.Errorf("Portal(11) is kept, want it dropped (least recently used of three)")
	}
	if fakes.Portal(33) == nil || fakes.Portal(22) == nil {
		t.Errorf("Portal(33), Portal(22) = nil, want the two most recent kept")
	}
}
