package stripetest

import (
	"context"
	"net"
	"net/http"
	"time"
)

// TB is the part of testing.TB that Start uses; *testing.T and *testing.B
// satisfy it. It is declared here so that the service binary, which serves
// this fake in sandbox mode, does not link package testing.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Start runs a fake on a loopback port for the rest of the test and
// returns it with its base URL (for stripe.NewClient).
func Start(t TB, opts Options) (*Server, string) {
	t.Helper()
	s := NewServer(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("stripetest: listen: %v", err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln) // http.ErrServerClosed once the test ends
	}()
	t.Cleanup(func() {
		// Like httptest.Server.Close: let requests in flight finish.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
		<-done
	})
	return s, "http://" + ln.Addr().String()
}
