package actions

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hubspot_actions_executions_in_flight",
			Help: "Action runs in progress in this process.",
		}),
	}
	reg.MustRegister(m.executions, m.blocks, m.latency, m.upstream, m.completions, m.signatureFailures, m.bodyRefusals, m.inflight)
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

// jobCounter counts River jobs by state for the jobs gauge.
type jobCounter func(ctx context.Context) (map[string]int, error)

// jobsCollector reports River's queued and running jobs at scrape time.
type jobsCollector struct {
	desc  *prometheus.Desc
	count jobCounter
}

func newJobsCollector(count jobCounter) *jobsCollector {
	return &jobsCollector{
		desc:  prometheus.NewDesc("hubspot_actions_jobs", "Durable background jobs by state (queued covers available, scheduled and retryable).", []string{"state"}, nil),
		count: count,
	}
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	// Prometheus gives collectors no context; bound the query instead.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	queued := counts["available"] + counts["scheduled"] + counts["retryable"] + counts["pending"]
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(queued), "queued")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts["running"]), "running")
}
