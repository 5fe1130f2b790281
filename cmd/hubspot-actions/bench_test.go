package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/oauth/hubspottest"
)

// benchServe sends b.N signed executions of sandbox-echo from 64
// concurrent clients to the real server (started through run, with its
// request logging, metrics and durable SQLite ledger) and reports
// executions per second and latency percentiles. When the answers are
// BLOCK it also waits for every callback completion and reports how long
// all of them took.
//
//	go test -run '^$' -bench BenchmarkServe -benchtime 20000x ./cmd/hubspot-actions/
func benchServe(b *testing.B, env map[string]string, inputs map[string]any, wantState string, complete bool) {
	hs := hubspottest.NewTestServer(b, hubspottest.Config{SandboxTokens: true})
	env["HUBSPOT_API_BASE_URL"] = hs.URL()
	s := startServer(b, env)
	const clients = 64
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	url := s.URL + "/hubspot/actions/sandbox-echo"
	type prepared struct {
		body []byte
		sig  string
	}
	reqs := make([]prepared, b.N)
	for i := range reqs {
		body, _ := json.Marshal(map[string]any{
			"callbackId":  fmt.Sprintf("ap-bench-%d-%d", time.Now().UnixNano(), i),
			"origin":      map[string]any{"portalId": 100 + i%16, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
			"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 5},
			"object":      map[string]any{"objectId": i, "objectType": "CONTACT", "properties": map[string]any{"email": "pat@example.com"}},
			"inputFields": inputs,
		})
		reqs[i] = prepared{body: body, sig: actions.SignV2(s.Secret, http.MethodPost, url, body)}
	}
	lat := make([]time.Duration, b.N)
	var next, failed, inline atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(reqs[i].body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set(actions.HeaderSignatureVersion, "v2")
				r.Header.Set(actions.HeaderSignature, reqs[i].sig)
				t0 := time.Now()
				resp, err := hc.Do(r)
				if err != nil {
					failed.Add(1)
					continue
				}
				var res actions.Response
				err = json.NewDecoder(resp.Body).Decode(&res)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				switch state := res.OutputFields["hs_execution_state"]; {
				case err != nil:
					failed.Add(1)
				case state == wantState:
				case wantState == "BLOCK" && state == "SUCCESS":
					// The work finished before the BLOCK was recorded: it is
					// answered inline, and never completed by callback.
					inline.Add(1)
				default:
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d executions failed or were not %s", n, b.N, wantState)
	}
	if wantState == "BLOCK" && complete {
		blocked := b.N - int(inline.Load())
		deadline := time.Now().Add(5 * time.Minute)
		for len(hs.Completions()) < blocked && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := len(hs.Completions()); got != blocked || hs.Duplicates() != 0 {
			b.Fatalf("%d completions (%d duplicates) for %d BLOCKed executions", got, hs.Duplicates(), blocked)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-until-all-completed")
		b.ReportMetric(float64(inline.Load()), "answered-inline")
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "exec/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkServeInline: executions answered inline.
func BenchmarkServeInline(b *testing.B) {
	benchServe(b, map[string]string{}, map[string]any{"message": "hello"}, "SUCCESS", false)
}

// BenchmarkServeBlock: executions whose work outlives a 1 ms inline budget
// (they sleep 20 ms): each is admitted with a BLOCK answer, then finished
// and delivered by batched callback completions.
func BenchmarkServeBlock(b *testing.B) {
	benchServe(b, map[string]string{"INLINE_BUDGET": "1ms"}, map[string]any{"message": "hello", "delay_ms": 20}, "BLOCK", true)
}

// BenchmarkServeBlockPending: the action answers "not ready" (as Clearbit's
// 202 does) so each execution is admitted with a BLOCK answer and a
// durable retry; nothing completes during the run.
func BenchmarkServeBlockPending(b *testing.B) {
	benchServe(b, map[string]string{}, map[string]any{"message": "hello", "pending_times": 20}, "BLOCK", false)
}
