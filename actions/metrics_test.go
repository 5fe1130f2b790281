package actions_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// TestJobMetricsNeverQueryTheDatabase: the job metrics are counted as River
// inserts and works jobs, so a scrape still answers, with the counts, once
// the database is closed (a scrape that counted river_job rows would fail).
func TestJobMetricsNeverQueryTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.URL(t))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	defer db.Close()
	promReg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	rt, err := actions.NewRuntime(actions.Config{SweepEvery: 50 * time.Millisecond}, db, actions.NewRegistry(), &actionstest.HubSpot{},
		actions.NewValidator(), log, actions.NewMetrics(promReg), promReg)
	if err != nil {
		t.Fatalf("NewRuntime() = %v", err)
	}
	if err := rt.Start(ctx); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	const sweeps = `hubspot_actions_jobs_worked_total{kind="hubspot_actions.sweep",result="completed"}`
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(scrape(t, promReg), sweeps); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no sweep job worked:\n%s", scrape(t, promReg))
		}
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rt.Stop(stopCtx); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	db.Close()

	got := scrape(t, promReg)
	for _, want := range []string{
		`hubspot_actions_jobs{state="queued"}`,
		`hubspot_actions_jobs{state="running"} 0`,
		`hubspot_actions_jobs_inserted_total{kind="hubspot_actions.sweep"}`,
		sweeps,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scrape after the database closed lacks %s:\n%s", want, got)
		}
	}
}

// scrape serves reg's metrics as Prometheus does, failing the test when
// any metric cannot be collected.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape = %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}
