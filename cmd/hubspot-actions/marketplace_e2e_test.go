package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/clearbit/clearbittest"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store"
)

// The secret of HubSpot's published signature examples (protocol reference
// §7.3): the production app here uses it, so its v1 vector is sent as is.
const vectorSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"

// market is the real binary in production mode (a HubSpot app
// configured), against the fake HubSpot and a fake Clearbit.
type market struct {
	t       *testing.T
	bin     string
	env     []string
	dir     string
	key     []byte
	hs      *hubspottest.Server
	srv     *testServer // URL, Secret, Dir: what webClient needs
	metrics string
	child   *child
}

func startMarket(t *testing.T) *market {
	t.Helper()
	m := &market{t: t, bin: buildBinary(t), dir: t.TempDir(), key: bytes.Repeat([]byte{7}, 32)}
	// Access tokens live 4 minutes, less than the app's refresh margin, so
	// every use of a portal's token refreshes it first.
	m.hs = hubspottest.NewTestServer(t, hubspottest.Config{ClientID: "market-client", ClientSecret: vectorSecret, AccessTokenTTL: 4 * time.Minute})
	cb := httptest.NewServer(clearbittest.NewServer(clearbittest.Options{}))
	t.Cleanup(cb.Close)
	addr, metrics := freeAddr(t), freeAddr(t)
	base := "http://" + addr
	m.metrics = "http://" + metrics + "/metrics"
	m.srv = &testServer{URL: base, Secret: vectorSecret, Dir: m.dir}
	m.env = append(os.Environ(),
		"LISTEN_ADDR="+addr,
		"METRICS_ADDR="+metrics,
		"PUBLIC_BASE_URL="+base,
		"DATABASE_URL="+filepath.Join(m.dir, "data", "hubspot-actions.db"),
		"HUBSPOT_CLIENT_ID=market-client",
		"HUBSPOT_CLIENT_SECRET="+vectorSecret,
		"HUBSPOT_APP_BASE_URL="+m.hs.URL(),
		"HUBSPOT_API_BASE_URL="+m.hs.URL(),
		"ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(m.key),
		"CLEARBIT_API_KEY=sk_market_app_key",
		"CLEARBIT_BASE_URL="+cb.URL,
		"CLEARBIT_APP_KEY_PORTALS=all",
		"INLINE_BUDGET=2s",
		"LOG_LEVEL=debug",
	)
	m.start()
	return m
}

// start runs `serve` with the market's environment plus extra.
func (m *market) start(extra ...string) {
	m.t.Helper()
	c, err := startChild(m.bin, m.srv.URL, append(slices.Clone(m.env), extra...))
	m.t.Cleanup(c.stop)
	if err != nil {
		m.t.Fatal(err)
	}
	m.child = c
}

// stop ends the running server gracefully.
func (m *market) stop() {
	m.t.Helper()
	m.child.cmd.Process.Signal(os.Interrupt)
	select {
	case <-m.child.done:
	case <-time.After(60 * time.Second):
		m.t.Fatal("serve did not stop")
	}
}

// cli runs the binary with args against the same database.
func (m *market) cli(args ...string) (string, error) {
	m.t.Helper()
	cmd := exec.Command(m.bin, args...)
	cmd.Env = m.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// db opens the server's database from the test (SQLite in WAL mode takes a
// second process).
func (m *market) db() *store.DB {
	m.t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(m.dir, "data", "hubspot-actions.db"), store.WithKeys(m.key, nil))
	if err != nil {
		m.t.Fatalf("open the server's store: %v", err)
	}
	m.t.Cleanup(func() { db.Close() })
	return db
}

// install runs the install flow as portal's admin, through the fake
// HubSpot's authorize page, and returns the signed-in browser.
func (m *market) install(portal int64) *webClient {
	m.t.Helper()
	m.hs.SetInstaller(portal, fmt.Sprintf("portal-%d.hubspot.test", portal), 9000000+portal, fmt.Sprintf("admin-%d@example.test", portal))
	wc := newWebClient(m.t, m.srv)
	follow := &http.Client{Jar: wc.hc.Jar, Timeout: 20 * time.Second}
	resp, err := follow.Get(m.srv.URL + "/oauth/hubspot/install")
	if err != nil {
		m.t.Fatalf("install portal %d: %v", portal, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/settings" {
		m.t.Fatalf("install of portal %d ended at %s with %d, want /settings with 200", portal, resp.Request.URL, resp.StatusCode)
	}
	return wc
}

// execute sends a v3-signed execution of clearbit-enrich-contact for a
// contact, as HubSpot does, and returns the answer's outputFields.
func (m *market) execute(callbackID string, portal, contactID int64, email string, props map[string]string) map[string]string {
	m.t.Helper()
	properties := map[string]any{"email": email}
	for k, v := range props {
		properties[k] = v
	}
	body, _ := json.Marshal(map[string]any{
		"callbackId":  callbackID,
		"origin":      map[string]any{"portalId": portal, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
		"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 77},
		"object":      map[string]any{"objectId": contactID, "objectType": "CONTACT", "properties": properties},
		"inputFields": map[string]any{"email": email},
	})
	status, b := m.postV3("/hubspot/actions/clearbit-enrich-contact", body, time.Now())
	if status != http.StatusOK {
		m.t.Fatalf("execute %s: %d %s", callbackID, status, b)
	}
	var res actions.Response
	if err := json.Unmarshal([]byte(b), &res); err != nil {
		m.t.Fatalf("decode %s: %v", b, err)
	}
	return res.OutputFields
}

// post sends body to path with the given headers.
func (m *market) post(path string, body []byte, header map[string]string) (int, string) {
	m.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, m.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (m *market) postV3(path string, body []byte, at time.Time) (int, string) {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	return m.post(path, body, map[string]string{
		actions.HeaderSignatureV3: actions.SignV3(vectorSecret, http.MethodPost, m.srv.URL+path, body, ts),
		actions.HeaderTimestamp:   ts,
	})
}

func (m *market) postV1(body []byte) (int, string) {
	return m.post("/hubspot/webhooks", body, map[string]string{
		actions.HeaderSignatureVersion: "v1",
		actions.HeaderSignature:        actions.SignV1(vectorSecret, body),
	})
}

// metric returns the value of the series name{labels} on the metrics
// listener (0 when absent). labels are written as Prometheus prints them,
// sorted: `result="ignored",type="contact.creation"`.
func (m *market) metric(name, labels string) float64 {
	m.t.Helper()
	status, body := getURL(m.t, m.metrics)
	if status != http.StatusOK {
		m.t.Fatalf("GET %s = %d", m.metrics, status)
	}
	want := name + "{" + labels + "} "
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				m.t.Fatalf("metric %s: %v", sc.Text(), err)
			}
			return f
		}
	}
	return 0
}

// files returns the bytes of the database file, its write-ahead log and
// its shared-memory index.
func (m *market) files() []byte {
	m.t.Helper()
	path := filepath.Join(m.dir, "data", "hubspot-actions.db")
	var all []byte
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			m.t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// waitUntil polls cond for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func webhookEvent(portal int64, typ string, objectID int64, eventID int) string {
	return fmt.Sprintf(`{"eventId":%d,"subscriptionId":%d,"portalId":%d,"appId":54321,"occurredAt":%d,"subscriptionType":%q,"attemptNumber":0,"objectId":%d,"changeSource":"CRM"}`,
		eventID, 500+eventID, portal, time.Now().UnixMilli(), typ, objectID)
}

func webhookBatch(events ...string) []byte { return []byte("[" + strings.Join(events, ",") + "]") }

// TestMarketplaceWebhooksEndToEnd drives the real binary configured as a
// HubSpot app: POST /hubspot/webhooks takes HubSpot's published v1
// example byte for byte and v3-signed batches, refuses what HubSpot never
// sends (unsigned, v2, a stale v3, 101 events, malformed bodies) with a
// 4xx, acknowledges and counts types it does not act on; a privacy
// deletion delivered twice erases the contact once, leaving nothing of it
// in the database file, its write-ahead log or its shared-memory index,
// shows the erasure to that portal's admins only, and logs none of it.
func TestMarketplaceWebhooksEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	t.Parallel()
	m := startMarket(t)
	const portal, other = 7100001, 7100002
	// The setup guide needs no sign-in in production either.
	if r := newWebClient(t, m.srv).get("/guide"); r.Status != http.StatusOK || r.Header.Get("Content-Security-Policy") == "" ||
		r.Header.Get("X-Frame-Options") != "DENY" || len(r.Header.Values("Set-Cookie")) != 0 || !strings.Contains(r.Body, `id="uninstall-settings-steps"`) {
		t.Errorf("GET /guide without a session = %d %v, want 200 with the security headers and no cookie", r.Status, r.Header)
	}
	admin := m.install(portal)
	otherAdmin := m.install(other)
	// The install asks for exactly the scopes README lists (the code's,
	// TestReadmeListsScopes), the same as the committed app definition,
	// companies.read among them for the company deletions the webhooks
	// subscribe to.
	asked := strings.Fields(m.hs.LastAuthorize().Get("scope"))
	var app struct {
		Config struct {
			Auth struct {
				RequiredScopes []string `json:"requiredScopes"`
				OptionalScopes []string `json:"optionalScopes"`
			} `json:"auth"`
		} `json:"config"`
	}
	if b, err := os.ReadFile("../../app-definition/src/app/app-hsmeta.json"); err != nil || json.Unmarshal(b, &app) != nil {
		t.Fatalf("read the committed app definition: %v", err)
	}
	if !slices.Equal(asked, defaultScopes) || !slices.Equal(asked, app.Config.Auth.RequiredScopes) || !slices.Contains(asked, "crm.objects.companies.read") {
		t.Errorf("the install asked for %v; want README's and the app definition's %v", asked, app.Config.Auth.RequiredScopes)
	}
	// Saving results on records needs the write and schema scopes, asked
	// for as optional ones, as the app definition lists them.
	optional := strings.Fields(m.hs.LastAuthorize().Get("optional_scope"))
	if !slices.Equal(optional, defaultOptionalScopes) || !slices.Equal(optional, app.Config.Auth.OptionalScopes) || !slices.Contains(optional, "crm.objects.contacts.write") {
		t.Errorf("the install asked for optional scopes %v; want the app definition's %v", optional, app.Config.Auth.OptionalScopes)
	}

	// Signatures.
	vector6 := []byte(`[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`)
	if status, b := m.post("/hubspot/webhooks", vector6, map[string]string{actions.HeaderSignatureVersion: "v1",
		actions.HeaderSignature: "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"}); status != http.StatusNoContent {
		t.Fatalf("HubSpot's v1 example = %d %s, want 204", status, b)
	}
	if got := m.metric("hubspot_actions_webhook_events_total", `result="ignored",type="contact.creation"`); got != 1 {
		t.Errorf("contact.creation counted ignored %v times, want 1", got)
	}
	v3 := webhookBatch(webhookEvent(portal, "deal.creation", 31, 1))
	if status, b := m.postV3("/hubspot/webhooks", v3, time.Now()); status != http.StatusNoContent {
		t.Errorf("a v3-signed batch = %d %s, want 204", status, b)
	}
	refused := []struct {
		name   string
		header map[string]string
		check  string
	}{
		{"unsigned", nil, "missing_signature"},
		{"v2 (HubSpot signs webhooks v1 or v3)", map[string]string{actions.HeaderSignatureVersion: "v2",
			actions.HeaderSignature: actions.SignV2(vectorSecret, http.MethodPost, m.srv.URL+"/hubspot/webhooks", v3)}, "unsupported_version"},
		{"v1 with another secret", map[string]string{actions.HeaderSignatureVersion: "v1", actions.HeaderSignature: actions.SignV1("another-secret", v3)}, "signature_mismatch"},
	}
	for _, r := range refused {
		status, b := m.post("/hubspot/webhooks", v3, r.header)
		if status != http.StatusUnauthorized || !strings.Contains(b, r.check) {
			t.Errorf("%s: %d %s, want 401 naming %s", r.name, status, b, r.check)
		}
	}
	if status, b := m.postV3("/hubspot/webhooks", v3, time.Now().Add(-6*time.Minute)); status != http.StatusUnauthorized || !strings.Contains(b, "stale_timestamp") {
		t.Errorf("a v3 batch signed 6 minutes ago = %d %s, want 401 stale_timestamp", status, b)
	}

	// Sizes and shapes.
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = webhookEvent(portal, "contact.propertyChange", int64(1000+i), 100+i)
	}
	if status, b := m.postV1(webhookBatch(hundred...)); status != http.StatusNoContent {
		t.Errorf("a batch of 100 = %d %s, want 204", status, b)
	}
	if got := m.metric("hubspot_actions_webhook_events_total", `result="ignored",type="contact.propertyChange"`); got != 100 {
		t.Errorf("a batch of 100 counted %v events, want 100", got)
	}
	if status, b := m.postV1(webhookBatch(append(hundred, webhookEvent(portal, "contact.creation", 5, 999))...)); status != http.StatusBadRequest || !strings.Contains(b, "101 events") {
		t.Errorf("a batch of 101 = %d %s, want 400 saying it has 101 events", status, b)
	}
	for _, body := range []string{``, `{`, `{}`, `[]`, `null`, `[null]`, `[{"portalId":"seven"}]`, `[{"portalId":1,"occurredAt":1,"subscriptionType":"contact.deletion"}]`,
		`[{"portalId":1,"occurredAt":1.5,"subscriptionType":"contact.deletion","objectId":1}]`, "[\xff]"} {
		status, b := m.postV1([]byte(body))
		var msg struct {
			Error string `json:"error"`
		}
		if status != http.StatusBadRequest || json.Unmarshal([]byte(b), &msg) != nil || msg.Error == "" {
			t.Errorf("malformed %q = %d %s, want 400 with an error message", body, status, b)
		}
	}
	if status, b := m.postV1(webhookBatch(webhookEvent(portal, "widget.exploded", 5, 2))); status != http.StatusNoContent {
		t.Errorf("an unknown type = %d %s, want 204", status, b)
	}
	if got := m.metric("hubspot_actions_webhook_events_total", `result="unknown",type="unknown"`); got != 1 {
		t.Errorf("unknown types counted %v, want 1", got)
	}

	// Privacy deletion.
	const (
		goneEmail = "zebulon.quixote-marchetti@example.test"
		goneFirst = "Zebulonius"
		goneLast  = "Quixote-Marchetti"
		keptEmail = "ottoline.brackenridge@example.test"
		goneID    = 4101
	)
	props := map[string]string{"firstname": goneFirst, "lastname": goneLast}
	if out := m.execute("ap-market-1", portal, goneID, goneEmail, props); out["hs_execution_state"] != "SUCCESS" {
		t.Fatalf("enrich the contact = %v, want SUCCESS", out)
	}
	m.execute("ap-market-2", portal, 4102, keptEmail, nil)
	// The same contact id in another portal is someone else.
	m.execute("ap-market-3", other, goneID, "someone.else@example.test", map[string]string{"lastname": "Otherportal"})
	if raw := m.files(); !bytes.Contains(raw, []byte(goneEmail)) || !bytes.Contains(raw, []byte(goneLast)) {
		t.Fatal("the contact is not in the database files before the erasure (the check reads the wrong bytes)")
	}
	privacy := webhookBatch(
		fmt.Sprintf(`{"eventId":77,"subscriptionId":901,"portalId":%d,"appId":54321,"occurredAt":%d,"subscriptionType":"contact.privacyDeletion","attemptNumber":0,"objectId":%d,"changeSource":"GDPR"}`, portal, time.Now().UnixMilli(), goneID))
	for attempt := range 2 { // HubSpot retries a batch; the second is a repeat
		if status, b := m.postV1(privacy); status != http.StatusNoContent {
			t.Fatalf("privacy deletion, attempt %d = %d %s, want 204", attempt, status, b)
		}
	}
	waitUntil(t, "the database files still hold the contact", func() bool {
		raw := m.files()
		return !bytes.Contains(raw, []byte(goneEmail)) && !bytes.Contains(raw, []byte(goneFirst)) && !bytes.Contains(raw, []byte(goneLast))
	})
	if raw := m.files(); !bytes.Contains(raw, []byte(keptEmail)) || !bytes.Contains(raw, []byte("Otherportal")) {
		t.Error("the erasure took other contacts' data too")
	}
	if got := m.metric("hubspot_actions_webhook_events_total", `result="repeated",type="contact.privacyDeletion"`); got != 1 {
		t.Errorf("the repeated privacy deletion counted %v times as repeated, want 1", got)
	}
	if got := m.metric("hubspot_actions_erasures_total", `reason="privacy_deletion"`); got != 1 {
		t.Errorf("erasures carried out = %v, want 1", got)
	}
	r := admin.get("/settings/history")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `id="erasures"`) || !strings.Contains(r.Body, "Privacy deletion of the contact") ||
		strings.Count(r.Body, "badge-erased") != 1 || strings.Contains(r.Body, goneEmail) || strings.Contains(r.Body, goneLast) {
		t.Errorf("the portal's history = %d, want the erasure record, one erased execution and nothing of the contact:\n%s", r.Status, r.Body)
	}
	if r := otherAdmin.get("/settings/history"); r.Status != http.StatusOK || strings.Contains(r.Body, `id="erasures"`) || strings.Contains(r.Body, "badge-erased") {
		t.Errorf("another portal's history = %d, shows the erasure:\n%s", r.Status, r.Body)
	}
	logs := m.child.logs.String()
	for _, pii := range []string{goneEmail, goneFirst, goneLast, keptEmail} {
		if strings.Contains(logs, pii) {
			t.Errorf("the logs hold %q", pii)
		}
	}
}

// TestMarketplaceUninstallEndToEnd drives the real binary configured as a
// HubSpot app against the fake HubSpot, which checks every call: the
// settings page's button and `portals remove` uninstall the app at HubSpot
// with the portal's own token; an account that uninstalled the app in
// HubSpot is found out on its next token refresh (invalid_grant), shown
// uninstalled and runs no actions, and its keys are deleted once
// UNINSTALLED_GRACE has passed.
func TestMarketplaceUninstallEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	t.Parallel()
	m := startMarket(t)
	const byButton, byCLI, inHubSpot = 7200001, 7200002, 7200003
	ctx := context.Background()

	// The settings page's button.
	wc := m.install(byButton)
	csrf := settingsCSRF(t, wc)
	if r := wc.get("/settings/uninstall"); r.Status != http.StatusOK || !strings.Contains(r.Body, `id="confirm-uninstall"`) {
		t.Fatalf("GET /settings/uninstall = %d:\n%s", r.Status, r.Body)
	}
	if len(m.hs.Uninstalls()) != 0 {
		t.Fatal("the confirmation page uninstalled the app")
	}
	r := wc.post("/settings/uninstall", url.Values{"csrf_token": {csrf}, "confirm": {"yes"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signed-out?notice=uninstalled" {
		t.Fatalf("POST /settings/uninstall = %d to %q:\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if got := m.hs.Uninstalls(); !slices.Equal(got, []int64{byButton}) {
		t.Errorf("HubSpot uninstalled the app from %v, want [%d]", got, byButton)
	}
	if r := wc.get("/settings"); r.Status != http.StatusSeeOther {
		t.Errorf("GET /settings after the uninstall = %d, want a redirect to sign in (the session ended)", r.Status)
	}
	if toks, err := m.db().ListPortalTokens(ctx, byButton); err != nil || len(toks) != 0 {
		t.Errorf("the portal's grants after the uninstall: %v, %v; want none", toks, err)
	}
	if n := m.hs.Calls(hubspottest.EndpointRevoke); n != 1 {
		t.Errorf("HubSpot got %d token revocations, want the refresh token's", n)
	}
	if out := m.execute("ap-uninstalled-1", byButton, 1, "pat@example.test", nil); out["hs_execution_state"] != "FAIL_CONTINUE" || out["error_code"] != "NOT_CONNECTED" {
		t.Errorf("an execution after the uninstall = %v, want FAIL_CONTINUE NOT_CONNECTED", out)
	}

	// portals remove.
	m.install(byCLI)
	out, err := m.cli("portals", "remove", strconv.Itoa(byCLI))
	if err != nil || !strings.Contains(out, fmt.Sprintf("Uninstalled the app from portal %d in HubSpot", byCLI)) {
		t.Errorf("portals remove = %v:\n%s", err, out)
	}
	if got := m.hs.Uninstalls(); !slices.Equal(got, []int64{byButton, byCLI}) {
		t.Errorf("HubSpot uninstalled the app from %v, want [%d %d]", got, byButton, byCLI)
	}
	if v := m.hs.Violations(); len(v) != 0 {
		t.Errorf("the fake HubSpot saw protocol violations: %v", v)
	}

	// Uninstalled in HubSpot: found out at the next refresh.
	wc = m.install(inHubSpot)
	csrf = settingsCSRF(t, wc)
	if r := wc.post("/settings/keys/clearbit", url.Values{"csrf_token": {csrf}, "api_key": {"sk_portal_own_key_7200003"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save a Clearbit key = %d:\n%s", r.Status, r.Body)
	}
	db := m.db()
	if keys, err := db.ListAPIKeys(ctx, inHubSpot); err != nil || len(keys) != 1 {
		t.Fatalf("the portal's keys = %v, %v; want its Clearbit key", keys, err)
	}
	m.hs.RevokePortal(inHubSpot) // a super admin uninstalls the app in HubSpot
	// Clearbit rate limits this email once: the answer is BLOCK, and the
	// outcome goes by callback, whose token must be refreshed first.
	if out := m.execute("ap-hubspot-gone-1", inHubSpot, 2, "ratelimited@acme.com", nil); out["hs_execution_state"] != "BLOCK" {
		t.Fatalf("an execution Clearbit rate limits = %v, want BLOCK", out)
	}
	waitUntil(t, "the portal is not uninstalled after its refresh was refused", func() bool {
		p, err := db.GetPortal(ctx, inHubSpot)
		return err == nil && p.Status == store.StatusUninstalled
	})
	if out := m.execute("ap-hubspot-gone-2", inHubSpot, 2, "pat@example.test", nil); out["hs_execution_state"] != "FAIL_CONTINUE" || out["error_code"] != "NOT_CONNECTED" {
		t.Errorf("an execution after HubSpot refused the refresh = %v, want FAIL_CONTINUE NOT_CONNECTED", out)
	}
	if out, err := m.cli("portals", "list"); err != nil || !regexp.MustCompile(fmt.Sprintf(`(?m)^%d .*uninstalled`, inHubSpot)).MatchString(out) {
		t.Errorf("portals list = %v:\n%s\nwant portal %d uninstalled", err, out, inHubSpot)
	}
	if keys, _ := db.ListAPIKeys(ctx, inHubSpot); len(keys) != 1 {
		t.Errorf("the portal's key went before the grace period: %d keys", len(keys))
	}
	// The uninstall ended every admin session of the portal: the admin's
	// cookie now signs in again, through a reinstall.
	if r := wc.get("/settings"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/oauth/hubspot/install" {
		t.Errorf("the settings page of the portal uninstalled in HubSpot = %d to %q, want 303 to /oauth/hubspot/install (its sessions ended)", r.Status, r.Header.Get("Location"))
	}

	// After the grace period the sweep (which runs at start-up) deletes
	// its secrets.
	m.stop()
	time.Sleep(1100 * time.Millisecond)
	m.start("UNINSTALLED_GRACE=1s")
	waitUntil(t, "the uninstalled portal's key is still there after UNINSTALLED_GRACE", func() bool {
		keys, err := db.ListAPIKeys(ctx, inHubSpot)
		return err == nil && len(keys) == 0
	})
	if toks, _ := db.ListPortalTokens(ctx, inHubSpot); len(toks) != 0 {
		t.Errorf("the uninstalled portal still has %d grants after UNINSTALLED_GRACE", len(toks))
	}
	if strings.Contains(m.child.logs.String(), "sk_portal_own_key_7200003") {
		t.Error("the logs hold the portal's Clearbit key")
	}
}

// settingsCSRF returns the CSRF token of the browser's session, from the
// settings page.
func settingsCSRF(t *testing.T, wc *webClient) string {
	t.Helper()
	r := wc.get("/settings")
	mm := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(r.Body)
	if mm == nil {
		t.Fatalf("no CSRF token on the settings page (%d):\n%s", r.Status, r.Body)
	}
	return mm[1]
}
