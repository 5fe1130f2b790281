package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// benchSimulate starts the real server (through run, with its request
// logging, metrics and durable SQLite ledger), sends it b.N executions of
// sandbox-echo with the simulator's load mode (64 concurrent, signed,
// retried like HubSpot, every BLOCK waited for, exiting non-zero on a lost
// or doubled outcome), and reports the simulator's figures.
//
//	go test -run '^$' -bench BenchmarkServe -benchtime 20000x ./cmd/hubspot-actions/
func benchSimulate(b *testing.B, serverEnv map[string]string, inputs ...string) {
	callbacks := freeAddr(b)
	serverEnv["HUBSPOT_API_BASE_URL"] = "http://" + callbacks
	s := startServer(b, serverEnv)
	args := []string{"simulate", "--url", s.URL, "--callback-addr", callbacks, "--action", "sandbox-echo",
		"--load", strconv.Itoa(b.N), "--concurrency", "64", "--settle", "200ms"}
	for _, in := range inputs {
		args = append(args, "--input", in)
	}
	simEnv := map[string]string{"DATABASE_URL": filepath.Join(s.Dir, "data", "hubspot-actions.db")}
	var out bytes.Buffer
	b.ResetTimer()
	err := run(context.Background(), args, func(k string) string { return simEnv[k] }, &out, io.Discard)
	b.StopTimer()
	if err != nil {
		b.Fatalf("simulate: %v\n%s", err, out.String())
	}
	metric := func(re string) float64 {
		m := regexp.MustCompile(re).FindStringSubmatch(out.String())
		if m == nil {
			b.Fatalf("no %q in the simulator's report:\n%s", re, out.String())
		}
		if d, err := time.ParseDuration(m[1]); err == nil {
			return float64(d) / float64(time.Millisecond)
		}
		f, _ := strconv.ParseFloat(m[1], 64)
		return f
	}
	b.ReportMetric(metric(`Answered \d+ requests in \S+: (\d+) executions/s`), "exec/s")
	b.ReportMetric(metric(`Answer latency: +p50 (\S+)`), "p50-ms")
	b.ReportMetric(metric(`Answer latency: +p50 \S+ +p90 \S+ +p99 (\S+)`), "p99-ms")
	b.ReportMetric(metric(`Every outcome in \S+: (\d+) executions/s`), "outcomes/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkServeInline: executions answered inline.
func BenchmarkServeInline(b *testing.B) {
	benchSimulate(b, map[string]string{}, "message=hello")
}

// BenchmarkServeBlock: executions whose work (20 ms) outlives a 1 ms inline
// budget: each is admitted with a BLOCK answer, then finished and delivered
// by batched callback completions while the load goes on.
func BenchmarkServeBlock(b *testing.B) {
	benchSimulate(b, map[string]string{"INLINE_BUDGET": "1ms"}, "message=hello", "delay_ms=20")
}

// BenchmarkServeBlockPending: the action first answers "not ready" (as
// Clearbit's 202 does), so each execution is admitted with a BLOCK answer
// and a durable retry a second later, then completed by callback.
func BenchmarkServeBlockPending(b *testing.B) {
	benchSimulate(b, map[string]string{}, "message=hello", "pending_times=1")
}
