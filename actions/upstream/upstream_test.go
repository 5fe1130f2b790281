package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    string
		want time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "7", 7 * time.Second},
		{"fraction", " 0.05 ", 50 * time.Millisecond},
		{"zero", "0", 0},
		{"negative", "-3", 0},
		{"date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"past date", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRetryAfter(tt.v, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestNewAPIError(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}}
	body := "  " + strings.Repeat("x", MaxErrorBody+10) + "\n"
	ae := NewAPIError(resp, []byte(body), time.Now())
	if ae.Status != 429 || ae.RetryAfter != 3*time.Second || len(ae.Body) != MaxErrorBody || strings.TrimLeft(ae.Body, "x") != "" {
		t.Errorf("NewAPIError() = status %d, retry after %v, body of %d bytes; want 429, 3s, %d x's", ae.Status, ae.RetryAfter, len(ae.Body), MaxErrorBody)
	}
	if got := (&APIError{Status: 502}).Error(); got != "http 502" {
		t.Errorf("Error() = %q, want %q", got, "http 502")
	}
	if got := (&APIError{Status: 400, Body: "bad"}).Error(); got != "http 400: bad" {
		t.Errorf("Error() = %q, want %q", got, "http 400: bad")
	}
}

func TestTransient(t *testing.T) {
	t.Parallel()
	_, dialErr := net.Dial("tcp", "127.0.0.1:1") // nothing listens on port 1
	if dialErr == nil {
		t.Fatal("dial 127.0.0.1:1 succeeded; want a network error")
	}
	tests := []struct {
		name  string
		err   error
		want  bool
		after time.Duration
	}{
		{"nil", nil, false, 0},
		{"429", &APIError{Status: 429, RetryAfter: 2 * time.Second}, true, 2 * time.Second},
		{"wrapped 503", fmt.Errorf("call: %w", &APIError{Status: 503}), true, 0},
		{"500", &APIError{Status: 500}, true, 0},
		{"400", &APIError{Status: 400}, false, 0},
		{"401", &APIError{Status: 401, RetryAfter: time.Second}, false, time.Second},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), true, 0},
		{"canceled", context.Canceled, true, 0},
		{"network", dialErr, true, 0},
		{"eof", io.ErrUnexpectedEOF, false, 0},
		{"other", errors.New("bad json"), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
			d, ok := RetryAfter(tt.err)
			if d != tt.after || ok != (tt.after > 0) {
				t.Errorf("RetryAfter(%v) = %v, %v; want %v", tt.err, d, ok, tt.after)
			}
		})
	}
}
