package admin

import (
	"bytes"
	"context"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// TestFormBodyCapped: a signed-in admin's form is read from at most
// MaxFormBytes of body, whatever its encoding: a larger one is answered 413
// with a page saying so, and the handler does not run; a body that is not a
// form is a 400 saying so, not a CSRF refusal; a form of the usual size
// still works, urlencoded or multipart.
func TestFormBodyCapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newSessionDB(t)
	if err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.UpsertPortal(ctx, store.Portal{PortalID: 8, HubDomain: "acme.hubspot.test"})
	}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	sessions := NewSessions(db, false)
	flow := oauth.New(oauth.Config{}, db, &http.Client{}, log)
	w := New(flow, sessions, []byte("csrf key, csrf key, csrf key, 32"), log)
	e := actions.NewServer(log, actions.NewValidator())
	ran := 0
	settings := e.Group("/settings", w.Secure, w.RequireSession, w.CheckCSRF)
	settings.POST("/form", func(c echo.Context) error {
		ran++
		return c.String(http.StatusOK, "len "+strconv.Itoa(len(c.FormValue("api_key"))))
	})
	rec := httptest.NewRecorder()
	if err := sessions.Set(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), Session{PortalID: 8}); err != nil {
		t.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	s, ok := readSession(sessions, cookie.Value)
	if !ok {
		t.Fatal("no session")
	}
	token := w.csrfToken(s)

	post := func(contentType string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/settings/form", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	urlencoded := func(key string) []byte {
		return []byte(url.Values{csrfField: {token}, "api_key": {key}}.Encode())
	}
	multi := func(key string) (string, []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField(csrfField, token)
		fw, _ := mw.CreateFormFile("api_key", "key.txt")
		fw.Write([]byte(key))
		mw.Close()
		return mw.FormDataContentType(), b.Bytes()
	}
	const form = "application/x-www-form-urlencoded"
	big := strings.Repeat("k", MaxFormBytes)

	if r := post(form, urlencoded("sk_test_small")); r.Code != http.StatusOK || r.Body.String() != "len 13" {
		t.Errorf("a small form = %d %q, want 200", r.Code, r.Body.String())
	}
	ct, body := multi("sk_test_small")
	if r := post(ct, body); r.Code != http.StatusOK {
		t.Errorf("a small multipart form = %d %q, want 200", r.Code, r.Body.String())
	}
	ran = 0
	if r := post(form, urlencoded(big)); r.Code != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body.String(), "larger than 64 KiB") {
		t.Errorf("a form over %d bytes = %d, want 413 saying it is too large:\n%s", MaxFormBytes, r.Code, r.Body.String())
	}
	ct, body = multi(big)
	if r := post(ct, body); r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a multipart form over %d bytes = %d, want 413", MaxFormBytes, r.Code)
	}
	if ran != 0 {
		t.Errorf("the handler ran %d times for forms over the cap", ran)
	}
	if r := post(form, []byte("%%%")); r.Code != http.StatusBadRequest || !strings.Contains(r.Body.String(), "could not be read") {
		t.Errorf("a body that is not a form = %d, want 400 saying it could not be read:\n%s", r.Code, r.Body.String())
	}
}
