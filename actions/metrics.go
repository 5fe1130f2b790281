package actions

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Metrics are the runtime's Prometheus metrics. Create one with NewMetrics
// and register it once.
type Metrics struct {
	executions        *prometheus.CounterVec
	blocks            *prometheus.CounterVec
	latency           *prometheus.HistogramVec
	upstream          *prometheus.CounterVec
	completions       *prometheus.CounterVec
	signatureFailures *prometheus.CounterVec
	bodyRefusals      *prometheus.CounterVec
	bodiesReading     prometheus.Gauge
	inflight          prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_executions_total",
			Help: "Executions that reached a final state, by action and final state (SUCCESS or FAIL_CONTINUE) and error code.",
		}, []string{"action", "final_state", "error_code"}),
		blocks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_block_answers_total",
			Help: "Execution requests answered BLOCK, by action.",
		}, []string{"action"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hubspot_actions_execution_duration_seconds",
			Help:    "Time from receiving an execution to recording its final state, by action and delivery (inline or callback).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200},
		}, []string{"action", "delivery"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_upstream_requests_total",
			Help: "Requests to external APIs, by provider and HTTP status (or 'error' when no answer came).",
		}, []string{"provider", "status"}),
		completions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_callback_completions_total",
			Help: "Outcomes sent through HubSpot's callbacks API, by result (delivered, retried, failed).",
		}, []string{"result"}),
		signatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_signature_failures_total",
			Help: "Requests rejected by the HubSpot signature check, by failed check.",
		}, []string{"check"}),
		bodyRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_body_refusals_total",
			Help: "Requests whose body was refused, by reason: busy (too many unauthenticated bodies being read) or timeout (the body did not arrive in time).",
		}, []string{"reason"}),
		bodiesReading: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hubspot_actions_unauthenticated_bodies_reading",
			Help: "Bodies of requests not yet authenticated being read now, in this process (at most MAX_UNAUTHENTICATED_BODIES).",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hubspot_actions_executions_in_flight",
			Help: "Action runs in progress in this process.",
		}),
	}
	reg.MustRegister(m.executions, m.blocks, m.latency, m.upstream, m.completions, m.signatureFailures, m.bodyRefusals, m.bodiesReading, m.inflight)
	return m
}

// Transport wraps an outbound transport so every request to provider is
// counted by status.
func (m *Metrics) Transport(provider string, rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		status := "error"
		if err == nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		m.upstream.WithLabelValues(provider, status).Inc()
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// jobMetrics counts River's jobs as they are inserted and worked, as River
// middleware, so a scrape reads counters and never queries the jobs table.
// Its figures are this process's: the queued gauge is the jobs this process
// inserted (plus those queued when it started, counted once by seed) that
// have not yet started, and the running gauge the jobs it is working.
type jobMetrics struct {
	river.MiddlewareDefaults

	queued, running atomic.Int64
	gauge           *prometheus.Desc
	inserted        *prometheus.CounterVec
	worked          *prometheus.CounterVec
}

func newJobMetrics() *jobMetrics {
	return &jobMetrics{
		gauge: prometheus.NewDesc("hubspot_actions_jobs",
			"Durable background jobs of this process by state: queued (inserted or due again for a retry, not yet started; with those queued at start-up) and running.",
			[]string{"state"}, nil),
		inserted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_jobs_inserted_total",
			Help: "Durable background jobs this process inserted, by kind (a unique job already queued is not counted).",
		}, []string{"kind"}),
		worked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_jobs_worked_total",
			Help: "Runs of durable background jobs in this process, by kind and result: completed, retried (failed, runs again later), discarded (failed for good) or cancelled.",
		}, []string{"kind", "result"}),
	}
}

// seed adds the jobs already queued when the process starts.
func (j *jobMetrics) seed(queued int) { j.queued.Add(int64(queued)) }

// InsertMany counts the jobs River inserted (River's JobInsertMiddleware).
func (j *jobMetrics) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	res, err := doInner(ctx)
	for _, r := range res {
		if r == nil || r.Job == nil || r.UniqueSkippedAsDuplicate {
			continue
		}
		j.inserted.WithLabelValues(r.Job.Kind).Inc()
		j.queued.Add(1)
	}
	return res, err
}

// Work counts a job's run (River's WorkerMiddleware).
func (j *jobMetrics) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	j.queued.Add(-1)
	j.running.Add(1)
	defer func() {
		if p := recover(); p != nil {
			// River recovers a worker's panic outside this middleware and
			// retries the job: count it so, then let River have the panic.
			j.running.Add(-1)
			j.queued.Add(1)
			j.worked.WithLabelValues(job.Kind, "retried").Inc()
			panic(p)
		}
	}()
	err := doInner(ctx)
	j.running.Add(-1)
	result := "completed"
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil:
	case errors.As(err, &snooze):
		result = "retried"
		j.queued.Add(1)
	case errors.As(err, &cancel):
		result = "cancelled"
	case job.Attempt < job.MaxAttempts:
		result = "retried"
		j.queued.Add(1)
	default:
		result = "discarded"
	}
	j.worked.WithLabelValues(job.Kind, result).Inc()
	return err
}

func (j *jobMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- j.gauge
	j.inserted.Describe(ch)
	j.worked.Describe(ch)
}

func (j *jobMetrics) Collect(ch chan<- prometheus.Metric) {
	// A job inserted in a transaction that rolled back stays counted; one
	// queued before this process started but missed by seed (a race with
	// a process stopping) makes the count dip: never show it below zero.
	ch <- prometheus.MustNewConstMetric(j.gauge, prometheus.GaugeValue, float64(max(j.queued.Load(), 0)), "queued")
	ch <- prometheus.MustNewConstMetric(j.gauge, prometheus.GaugeValue, float64(max(j.running.Load(), 0)), "running")
	j.inserted.Collect(ch)
	j.worked.Collect(ch)
}
