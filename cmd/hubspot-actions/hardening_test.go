package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hubspot-actions/actions"
)

// rawClient is a connection to the server that sent a POST's headers,
// declaring a body of length bytes, and the first part bytes of it.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, s *testServer, path string, length, part int) *rawClient {
	t.Helper()
	u, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", u.Port()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, u.Host, length)
	if _, err := conn.Write(bytes.Repeat([]byte("x"), part)); err != nil {
		t.Fatalf("write body: %v", err)
	}
	return &rawClient{conn: conn, r: bufio.NewReader(conn)}
}

// trickle sends a byte every interval until the connection fails or stop
// is closed.
func (c *rawClient) trickle(interval time.Duration, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
		if _, err := c.conn.Write([]byte("x")); err != nil {
			return
		}
	}
}

// answer reads the server's answer and checks that the server then closes
// the connection, waiting at most within for both.
func (c *rawClient) answer(t *testing.T, within time.Duration) *http.Response {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(within))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", within, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The server's close: a FIN, or a reset when bytes it never read were
	// still arriving.
	if _, err := c.r.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after the answer, read = %v, want the connection closed", err)
	}
	return resp
}

// TestServeBodyGuard: through the real server, a client that sends part of
// a body and trickles the rest is answered 408 and disconnected once
// BODY_READ_TIMEOUT passes (an unauthenticated settings POST at once, as it
// is refused before its body is read); beyond MAX_UNAUTHENTICATED_BODIES
// slow HubSpot requests, another is refused at once with 503; the refusals
// are counted; and the server still answers HubSpot afterwards.
func TestServeBodyGuard(t *testing.T) {
	t.Parallel()
	const timeout, max = 5 * time.Second, 2
	s := startServer(t, map[string]string{"BODY_READ_TIMEOUT": timeout.String(), "MAX_UNAUTHENTICATED_BODIES": fmt.Sprint(max)})
	const execPath = "/hubspot/actions/sandbox-echo"
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	trickling := func(path string) *rawClient {
		c := dialRaw(t, s, path, 64<<10, 32<<10)
		wg.Add(1)
		go func() { defer wg.Done(); c.trickle(timeout/10, stop) }()
		return c
	}

	settings := trickling("/settings/keys/clearbit")
	slow := []*rawClient{trickling(execPath), trickling(execPath)}
	// The slow requests reach the handler in their own time.
	const reading = "hubspot_actions_unauthenticated_bodies_reading 2"
	for deadline := time.Now().Add(timeout - time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, m := getURL(t, s.MetricsURL); strings.Contains(m, reading) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow requests were not all reading their bodies")
		}
	}
	probe := dialRaw(t, s, execPath, 1000, 0) // headers only: no body yet
	probe.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	refused, err := http.ReadResponse(probe.r, nil)
	if err != nil {
		t.Fatalf("a request beyond %d slow bodies: %v", max, err)
	}
	if refused.StatusCode != http.StatusServiceUnavailable || refused.Header.Get("Retry-After") == "" || !refused.Close {
		t.Fatalf("a request beyond %d slow bodies = %+v, want 503 with Retry-After and Connection: close", max, refused)
	}

	// Liveness, not speed: the margin is generous.
	if resp := settings.answer(t, timeout+15*time.Second); resp.StatusCode == http.StatusInternalServerError || !resp.Close {
		t.Errorf("trickling settings POST = %d (close %v), want a refusal and a closed connection", resp.StatusCode, resp.Close)
	}
	for _, c := range slow {
		if resp := c.answer(t, timeout+15*time.Second); resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Errorf("trickling execution = %d (close %v), want 408 and a closed connection", resp.StatusCode, resp.Close)
		}
	}

	if got := s.execute(t, "sandbox-echo", "ap-bg-1", 101, map[string]any{"message": "still here"}); got["echo"] != "still here" {
		t.Errorf("execution after the slow clients = %v", got)
	}
	_, metrics := getURL(t, s.MetricsURL)
	for _, want := range []string{`hubspot_actions_body_refusals_total{reason="busy"}`, `hubspot_actions_body_refusals_total{reason="timeout"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if logs := s.logs.String(); strings.Contains(logs, `"status":500`) {
		t.Errorf("a slow body was logged as a 500:\n%s", logs)
	}
}

// TestServeMetricsListener: the metrics are served on METRICS_ADDR only, not
// on the public listener, and include the job counters; METRICS_ADDR=off
// opens no listener.
func TestServeMetricsListener(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	if status, _ := s.get(t, "/metrics"); status != http.StatusNotFound {
		t.Errorf("public GET /metrics = %d, want 404", status)
	}
	if s.MetricsURL == "" || !strings.HasPrefix(s.MetricsURL, "http://127.0.0.1:") {
		t.Fatalf("metrics URL = %q, want the loopback listener", s.MetricsURL)
	}
	const sweeps = `hubspot_actions_jobs_worked_total{kind="hubspot_actions.sweep",result="completed"}`
	var body string
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(body, sweeps) && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var status int
		if status, body = getURL(t, s.MetricsURL); status != http.StatusOK {
			t.Fatalf("GET %s = %d", s.MetricsURL, status)
		}
	}
	for _, want := range []string{sweeps, `hubspot_actions_jobs{state="queued"}`, `hubspot_actions_jobs{state="running"}`,
		`hubspot_actions_jobs_inserted_total{kind="hubspot_actions.sweep"}`, `go_goroutines`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if status, _ := getURL(t, strings.TrimSuffix(s.MetricsURL, "/metrics")+"/settings"); status != http.StatusNotFound {
		t.Errorf("the metrics listener serves /settings: %d, want 404", status)
	}

	off := startServer(t, map[string]string{"METRICS_ADDR": "off"})
	if off.MetricsURL != "" || !strings.Contains(off.logs.String(), `"metrics_addr":"off"`) {
		t.Errorf("METRICS_ADDR=off: metrics URL %q, want none", off.MetricsURL)
	}
}

// TestServeSecurityHeaders: every page the server renders outside the
// settings pages (the install flow's error page, the QuickBooks pages, a
// 404) forbids sniffing, framing and referrers, and every HTML page has a
// strict policy; a page's inline style is allowed by its hash, nothing else.
func TestServeSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	signedIn := signIn(t, s).hc
	anonymous := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name   string
		hc     *http.Client
		path   string
		status int
		html   bool
	}{
		{"install callback without state", anonymous, "/oauth/hubspot/callback?code=abc", http.StatusBadRequest, true},
		{"install callback with HubSpot's error", anonymous, "/oauth/hubspot/callback?error=access_denied", http.StatusBadRequest, true},
		{"QuickBooks callback without state", anonymous, "/oauth/quickbooks/callback?code=x&realmId=1", http.StatusBadRequest, true},
		{"QuickBooks callback with a forged state", signedIn, "/oauth/quickbooks/callback?code=x&realmId=1&state=forged", http.StatusBadRequest, true},
		{"QuickBooks connect without a session", anonymous, "/oauth/quickbooks/connect", http.StatusSeeOther, false},
		{"unknown route", anonymous, "/nowhere", http.StatusNotFound, false},
		{"execution without a body or signature", anonymous, "/hubspot/actions/sandbox-echo", http.StatusUnauthorized, false},
	}
	styleRe := regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.hc.Get(s.URL + tt.path)
			if err != nil {
				t.Fatalf("GET %s: %v", tt.path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h := resp.Header
			if resp.StatusCode != tt.status {
				t.Errorf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.status)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
				if got := h.Get(k); got != want {
					t.Errorf("GET %s: %s = %q, want %q", tt.path, k, got, want)
				}
			}
			csp := h.Get("Content-Security-Policy")
			if !tt.html {
				return
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s: Content-Type %q, want HTML", tt.path, h.Get("Content-Type"))
			}
			want := actions.ContentSecurityPolicy
			if m := styleRe.FindSubmatch(b); m != nil {
				sum := sha256.Sum256(m[1])
				want = strings.Replace(want, "style-src 'self'", "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'", 1)
			}
			if csp != want {
				t.Errorf("GET %s: Content-Security-Policy = %q, want %q", tt.path, csp, want)
			}
		})
	}
}
