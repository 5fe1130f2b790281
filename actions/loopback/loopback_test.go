package loopback

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeAndStop(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	s, err := Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			time.Sleep(200 * time.Millisecond)
		}
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want a loopback address", s.URL)
	}
	// A request in flight when Stop is called still gets its answer.
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(s.URL + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- string(b)
	}()
	<-started
	if err := s.Stop(); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if got := <-slow; got != "ok /slow" {
		t.Errorf("request in flight during Stop got %q", got)
	}
	if _, err := http.Get(s.URL + "/"); err == nil {
		t.Errorf("the server still answers after Stop")
	}
}

func TestServeTest(t *testing.T) {
	t.Parallel()
	url := ServeTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fake") }))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "fake" {
		t.Errorf("GET %s = %q", url, b)
	}
}
