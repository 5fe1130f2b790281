package actions

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// TestJobMetricsCounting: the queued gauge follows inserts (not unique
// duplicates) and runs, and a run that River will run again goes back to
// queued; each run is counted by its result.
func TestJobMetricsCounting(t *testing.T) {
	t.Parallel()
	j := newJobMetrics()
	j.seed(1) // waiting at start-up
	inserted := []*rivertype.JobInsertResult{
		{Job: &rivertype.JobRow{Kind: "k"}},
		{Job: &rivertype.JobRow{Kind: "k"}},
		{Job: &rivertype.JobRow{Kind: "k"}, UniqueSkippedAsDuplicate: true},
	}
	if _, err := j.InsertMany(context.Background(), nil, func(context.Context) ([]*rivertype.JobInsertResult, error) { return inserted, nil }); err != nil {
		t.Fatalf("InsertMany() = %v", err)
	}
	if got := j.queued.Load(); got != 3 {
		t.Errorf("queued after inserting 2 and seeding 1 = %d, want 3", got)
	}
	fail := errors.New("boom")
	tests := []struct {
		name       string
		attempt    int
		err        error
		result     string
		wantQueued int64
	}{
		{"completed", 1, nil, "completed", 2},
		{"failed, attempts left", 1, fail, "retried", 2},
		{"snoozed", 1, river.JobSnooze(time.Minute), "retried", 2},
		{"cancelled", 1, river.JobCancel(fail), "cancelled", 1},
		{"failed, last attempt", 3, fail, "discarded", 0},
	}
	for _, tt := range tests {
		job := &rivertype.JobRow{Kind: "k", Attempt: tt.attempt, MaxAttempts: 3}
		err := j.Work(context.Background(), job, func(context.Context) error {
			if got := j.running.Load(); got != 1 {
				t.Errorf("%s: running while working = %d, want 1", tt.name, got)
			}
			return tt.err
		})
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: Work() = %v, want %v", tt.name, err, tt.err)
		}
		if got := j.queued.Load(); got != tt.wantQueued || j.running.Load() != 0 {
			t.Errorf("%s: queued %d running %d, want %d and 0", tt.name, got, j.running.Load(), tt.wantQueued)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(j)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`hubspot_actions_jobs{state="queued"} 0`,
		`hubspot_actions_jobs{state="running"} 0`,
		`hubspot_actions_jobs_inserted_total{kind="k"} 2`,
		`hubspot_actions_jobs_worked_total{kind="k",result="completed"} 1`,
		`hubspot_actions_jobs_worked_total{kind="k",result="retried"} 2`,
		`hubspot_actions_jobs_worked_total{kind="k",result="cancelled"} 1`,
		`hubspot_actions_jobs_worked_total{kind="k",result="discarded"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, rec.Body)
		}
	}
}

// TestJobMetricsWorkerPanic: a worker's panic (River recovers it outside
// the middleware and retries the job) leaves the job queued, not running
// for good, and reaches River unchanged.
func TestJobMetricsWorkerPanic(t *testing.T) {
	t.Parallel()
	j := newJobMetrics()
	j.queued.Add(1)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("the panic reaching River = %v, want boom", p)
			}
		}()
		_ = j.Work(context.Background(), &rivertype.JobRow{Kind: "k", Attempt: 1, MaxAttempts: 3}, func(context.Context) error { panic("boom") })
	}()
	if q, r := j.queued.Load(), j.running.Load(); q != 1 || r != 0 {
		t.Errorf("after a panicking run: queued %d, running %d; want 1 and 0", q, r)
	}
}
