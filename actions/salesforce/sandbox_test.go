package salesforce

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"hubspot-actions/actions"
	"hubspot-actions/actions/loopback"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// TestSandboxModule: in sandbox mode the module serves Salesforce from its
// fake; an admin connects through the real routes and the action creates
// a lead, and the connection survives a restart that moves the fake to
// another port.
func TestSandboxModule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := sha256.Sum256([]byte("salesforce sandbox key"))
	db, err := store.Open(ctx, storetest.URL(t), store.WithKeys(key[:], nil))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	appKey := []byte("sandbox app secret, 32 bytes....")
	secret := func(context.Context, string) ([]byte, error) { return appKey, nil }
	sessions := newMemSessions()

	start := func() (*Provider, *env) {
		m := Module()
		cfg := m.NewConfig().(*Config)
		fake := m.Sandbox(cfg)
		if fake == nil {
			t.Fatal("Sandbox() = nil without credentials, want the fake")
		}
		url := loopback.ServeTest(t, fake.Handler)
		if note := fake.Use(url); note == "" || cfg.LoginURL != url {
			t.Fatalf("Use(%s) = %q, login URL %q", url, note, cfg.LoginURL)
		}
		e := echo.New()
		ts := httptest.NewServer(e)
		t.Cleanup(ts.Close)
		p, err := m.New(cfg, actions.Deps{DB: db, Sessions: sessions, AppSecret: secret, PublicBaseURL: ts.URL})
		if err != nil {
			t.Fatalf("New() = %v", err)
		}
		p.Routes(e)
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		sp := p.(*Provider)
		return sp, &env{svc: sp, url: ts.URL, browser: browser}
	}

	p, e := start()
	e.signIn(t, 1000001)
	resp, _ := e.get(t, e.url+ConnectPath)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("connect = %d", resp.StatusCode)
	}
	resp, _ = e.get(t, resp.Header.Get("Location"))
	resp, body := e.get(t, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback = %d %q", resp.StatusCode, body)
	}
	out, err := p.upsertLead(ctx, execution(1000001, "cb-1", "42", nil), leadIn{Email: "sandbox@example.com"})
	if err != nil || !out.Created {
		t.Fatalf("upsertLead() = %+v, %v", out, err)
	}

	// A restart: a new fake on a new port, which adopts the stored grant.
	p2, _ := start()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err = p2.upsertLead(cctx, execution(1000001, "cb-2", "43", nil), leadIn{Email: "again@example.com"})
	if err != nil || !out.Created {
		t.Fatalf("upsertLead() after a restart = %+v, %v", out, err)
	}
}
