package actions_test

import (
	"bytes"
	"context"
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
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/hubspot"
)

// benchExecutions sends b.N signed executions from 64 concurrent clients
// through the harness's HTTP server and reports throughput and latency.
//
// delivered says every execution ends with a callback: writes/exec then
// counts until all of them reached the fake HubSpot (the throughput and
// latency are the requests' alone).
func benchExecutions(b *testing.B, cfg actions.Config, inputs map[string]any, wantState string, delivered bool) {
	p := newProbe()
	h := actionstest.New(b, p.register, actionstest.Options{Config: cfg})
	const clients = 64
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	hc := &http.Client{Transport: tr}
	type prepared struct {
		body []byte
		sig  string
	}
	url := h.URL + "/hubspot/actions/probe"
	reqs := make([]prepared, b.N)
	ids := make([]string, b.N)
	for i := range reqs {
		req := actionstest.NewRequest(7000100, "CONTACT", inputs, nil)
		body, _ := json.Marshal(req)
		ids[i] = req.CallbackID
		reqs[i] = prepared{body: body, sig: actions.SignV2(actionstest.Secret, http.MethodPost, url, body)}
	}
	var arrivedMu sync.Mutex
	arrived := make(map[string]time.Time, b.N)
	h.HubSpot.SetFail(func(batch []hubspot.Completion) error {
		now := time.Now()
		arrivedMu.Lock()
		defer arrivedMu.Unlock()
		for _, c := range batch {
			arrived[c.CallbackID] = now
		}
		return nil
	})
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed, inline atomic.Int64
	blocked := make([]bool, b.N)
	b.ResetTimer()
	writes := h.DB.Writes()
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
				case err == nil && state == wantState:
					blocked[i] = delivered
				case err == nil && delivered && state == "SUCCESS":
					// On a busy machine the outcome can be recorded before
					// the BLOCK: then it is answered inline, correctly.
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
	for deadline := time.Now().Add(time.Minute); delivered; time.Sleep(5 * time.Millisecond) {
		if n, _ := h.HubSpot.Count(); n == b.N-int(inline.Load()) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not every execution was delivered by callback")
		}
	}
	writes = h.DB.Writes() - writes
	b.StopTimer()
	if delivered {
		// From the outcome's Finish (finished_at, in ms) to its arrival at
		// the fake HubSpot.
		sent := make([]time.Duration, 0, b.N)
		for i, id := range ids {
			if !blocked[i] {
				continue
			}
			e, err := h.DB.GetExecution(context.Background(), id)
			if err != nil {
				b.Fatal(err)
			}
			sent = append(sent, arrived[id].Sub(e.FinishedAt))
		}
		slices.Sort(sent)
		b.ReportMetric(float64(sent[len(sent)/2])/float64(time.Millisecond), "sent-p50-ms")
		b.ReportMetric(float64(sent[(len(sent)-1)*99/100])/float64(time.Millisecond), "sent-p99-ms")
		b.ReportMetric(float64(inline.Load()), "inline")
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "exec/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(writes)/float64(b.N), "writes/exec")
	b.ReportMetric(0, "ns/op")
	_ = fmt.Sprint()
}

// BenchmarkRuntimeInline: the action answers at once; every execution is
// recorded before it runs and its outcome before the answer.
//
//	go test -run '^$' -bench 'BenchmarkRuntime' -benchtime 20000x ./actions/
func BenchmarkRuntimeInline(b *testing.B) {
	benchExecutions(b, actions.Config{}, map[string]any{"message": "hi"}, "SUCCESS", false)
}

// BenchmarkRuntimeBlockPending: the action answers "pending" (as Clearbit's
// 202 does), so each execution is admitted with a BLOCK answer and a durable
// retry job scheduled for later.
func BenchmarkRuntimeBlockPending(b *testing.B) {
	benchExecutions(b, actions.Config{}, map[string]any{"message": "hi", "pending": 1, "pending_after_ms": 600000}, "BLOCK", false)
}

// BenchmarkRuntimeBlockSlow: the action outlives a 1 ms inline budget, so
// each execution answers BLOCK and then records its outcome and delivers it
// by callback, all during the run.
func BenchmarkRuntimeBlockSlow(b *testing.B) {
	benchExecutions(b, actions.Config{InlineBudget: time.Millisecond}, map[string]any{"message": "hi", "delay_ms": 20}, "BLOCK", true)
}
