package actions_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"hubspot-actions/actions"
)

// newGuardedServer serves, on a real listener, the service's server with a
// body guard (timeout, at most max unauthenticated bodies): POST /open reads
// its body under the deadline only, POST /limited under LimitBodies too,
// POST /ignore never reads it, POST /slow reads it and then works past the
// deadline. Each request admitted to /limited sends on the channel.
func newGuardedServer(t *testing.T, timeout time.Duration, max int) (*httptest.Server, <-chan struct{}) {
	t.Helper()
	g := actions.NewBodyGuard(timeout, max, actions.NewMetrics(prometheus.NewRegistry()))
	e := actions.NewServer(slog.New(slog.DiscardHandler), actions.NewValidator())
	e.Pre(g.Deadline())
	read := func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if actions.IsBodyTimeout(err) {
			return echo.NewHTTPError(http.StatusRequestTimeout, "too slow").SetInternal(err)
		}
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, fmt.Sprintf("read %d", len(b)))
	}
	e.POST("/open", read)
	admitted := make(chan struct{}, 100)
	e.POST("/limited", read, g.LimitBodies(), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { admitted <- struct{}{}; return next(c) }
	})
	e.POST("/ignore", func(c echo.Context) error { return c.String(http.StatusForbidden, "no") })
	e.POST("/slow", func(c echo.Context) error {
		if _, err := io.ReadAll(c.Request().Body); err != nil {
			return err
		}
		// Past the body's deadline: the request must still be alive.
		time.Sleep(3 * timeout)
		if err := c.Request().Context().Err(); err != nil {
			return fmt.Errorf("request cancelled after its body was read: %w", err)
		}
		return c.String(http.StatusOK, "worked")
	}, g.LimitBodies())
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return ts, admitted
}

// slowClient is a raw connection that has sent a request's headers
// (declaring a body of length bytes) and the first part bytes of its body.
type slowClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialSlow(t *testing.T, ts *httptest.Server, path string, length, part int) *slowClient {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, length)
	if _, err := conn.Write(bytes.Repeat([]byte("x"), part)); err != nil {
		t.Fatalf("write body: %v", err)
	}
	return &slowClient{conn: conn, r: bufio.NewReader(conn)}
}

// trickle sends a byte every interval until the server closes the
// connection or stop is closed.
func (s *slowClient) trickle(interval time.Duration, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
		if _, err := s.conn.Write([]byte("x")); err != nil {
			return
		}
	}
}

// answer reads the server's answer, then checks that the server closed the
// connection after it, waiting at most within.
func (s *slowClient) answer(t *testing.T, within time.Duration) *http.Response {
	t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(within))
	resp, err := http.ReadResponse(s.r, nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", within, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The server's close: a FIN, or a reset when bytes it never read were
	// still arriving.
	if _, err := s.r.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after the answer, read = %v, want the connection closed", err)
	}
	return resp
}

// TestBodyDeadlineClosesSlowClients: a client that sends part of its body
// and then trickles the rest gets 408 and a closed connection once the
// deadline passes, on every route (read, limited, or never read); a body
// that arrives in time is read whole, and the handler may then work past the
// deadline.
func TestBodyDeadlineClosesSlowClients(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	ts, _ := newGuardedServer(t, timeout, 8)
	tests := []struct {
		path       string
		wantStatus int
	}{
		{"/open", http.StatusRequestTimeout},
		{"/limited", http.StatusRequestTimeout},
		{"/ignore", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			c := dialSlow(t, ts, tt.path, 1000, 300)
			stop := make(chan struct{})
			defer close(stop)
			go c.trickle(timeout/5, stop)
			// Liveness, not speed: well past the deadline, the server must
			// have given up on the body.
			resp := c.answer(t, timeout+10*time.Second)
			if resp.StatusCode != tt.wantStatus || !resp.Close {
				t.Errorf("POST %s trickling = %d (Connection: close %v), want %d, close", tt.path, resp.StatusCode, resp.Close, tt.wantStatus)
			}
		})
	}
	t.Run("in time", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/open", "/limited", "/slow"} {
			resp, err := ts.Client().Post(ts.URL+path, "application/json", strings.NewReader(`{"a":1}`))
			if err != nil {
				t.Fatalf("POST %s: %v", path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Close {
				t.Errorf("POST %s = %d %q (close %v), want 200 on a connection kept open", path, resp.StatusCode, b, resp.Close)
			}
		}
	})
}

// TestLimitBodiesRefusesBeyondTheCap: while max slow clients hold their
// places, another request to a limited route is refused at once with 503,
// Retry-After and Connection: close, before it sends a byte of its body;
// routes without the limit are not refused; once the slow clients are cut
// off, requests are admitted again.
func TestLimitBodiesRefusesBeyondTheCap(t *testing.T) {
	t.Parallel()
	const timeout, max = 2 * time.Second, 3
	ts, admitted := newGuardedServer(t, timeout, max)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	slow := make([]*slowClient, max)
	for i := range slow {
		slow[i] = dialSlow(t, ts, "/limited", 1000, 10)
		wg.Add(1)
		go func() { defer wg.Done(); slow[i].trickle(timeout/10, stop) }()
	}
	for range max {
		<-admitted
	}
	c := dialSlow(t, ts, "/limited", 1000, 0) // headers only: no body yet
	refused := c.answer(t, 10*time.Second)
	if refused.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a request beyond %d slow bodies = %d, want 503", max, refused.StatusCode)
	}
	if refused.Header.Get("Retry-After") == "" || !refused.Close {
		t.Errorf("refusal headers = %v, want Retry-After and Connection: close", refused.Header)
	}
	// A route without the limit still reads bodies.
	resp, err := ts.Client().Post(ts.URL+"/open", "application/json", strings.NewReader(`{}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /open while limited bodies are full = %v, %v", resp, err)
	}
	resp.Body.Close()

	for _, c := range slow {
		if resp := c.answer(t, timeout+10*time.Second); resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("slow client answered %d, want 408", resp.StatusCode)
		}
	}
	close(stop)
	wg.Wait()
	resp, err = ts.Client().Post(ts.URL+"/limited", "application/json", strings.NewReader(`{}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /limited after the slow clients left = %v, %v", resp, err)
	}
	resp.Body.Close()
}
