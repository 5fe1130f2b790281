// Package loopback serves an http.Handler (a provider's fake) on a fresh
// loopback port: for sandbox mode, which serves every fake in the service's
// process, and for tests. It imports neither testing nor httptest, so the
// service binary links neither.
package loopback

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// stopGrace is how long Stop lets requests in flight finish.
const stopGrace = 5 * time.Second

// Server is h served on a loopback port until Stop.
type Server struct {
	// URL is the server's base URL, such as http://127.0.0.1:41234.
	URL  string
	srv  *http.Server
	done chan struct{}
	err  error // what Serve returned, other than http.ErrServerClosed
}

// Serve starts serving h on a fresh loopback port. The server's goroutine
// lives until Stop.
func Serve(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loopback: listen: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != http.ErrServerClosed {
			s.err = err
		}
	}()
	return s, nil
}

// Stop lets requests in flight finish (for up to five seconds, then closes
// their connections), waits for the server's goroutine and returns the
// error it stopped with, if it failed before Stop.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
	<-s.done
	return s.err
}

// TB is the part of testing.TB that ServeTest uses; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// ServeTest serves h for the rest of the test and returns its base URL.
func ServeTest(t TB, h http.Handler) string {
	t.Helper()
	s, err := Serve(h)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { s.Stop() })
	return s.URL
}
