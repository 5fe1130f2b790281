package actions_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/actions/hubspot"
	"hubspot-actions/store"
)

// TestInlineExecutionWritesTheLedgerTwice: an execution answered inline
// costs two ledger writes, the insert and the outcome.
func TestInlineExecutionWritesTheLedgerTwice(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{})
	const n = 20
	// A background write (the prune job runs on start) may land inside one
	// measurement; a second one tells it apart from the runtime's own.
	var got uint64
	for range 2 {
		before := h.DB.Writes()
		for range n {
			req := actionstest.NewRequest(7000020, "CONTACT", map[string]any{"message": "hi"}, nil)
			if out := h.Execute(t, "probe", req); out["hs_execution_state"] != "SUCCESS" {
				t.Fatalf("Execute() = %v", out)
			}
		}
		if got = h.DB.Writes() - before; got == 2*n {
			return
		}
	}
	t.Errorf("%d inline executions wrote the ledger %d times, want %d", n, got, 2*n)
}

// TestCallbackLeavesWhenTheOutcomeIsRecorded: with the sweeper too slow
// to matter, a BLOCKed execution's outcome must still reach HubSpot, sent
// by the wake-up its Finish gives. It logs how long outcomes took from
// being recorded to arriving at the fake HubSpot (not asserted: timings
// depend on the machine).
func TestCallbackLeavesWhenTheOutcomeIsRecorded(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{InlineBudget: 5 * time.Millisecond, SweepEvery: time.Hour})
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	h.HubSpot.SetFail(func(batch []hubspot.Completion) error {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range batch {
			arrived[c.CallbackID] = now
		}
		return nil
	})
	// Let the sweep that runs on start pass, so only wake-ups deliver.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		err := h.DB.SQL().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'hubspot_actions.sweep' AND state = 'completed'`).Scan(&n)
		if err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweep on start never ran (%v)", err)
		}
	}
	const n = 200
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		req := actionstest.NewRequest(7000021+int64(i%4), "CONTACT", map[string]any{"message": "slow", "delay_ms": 30}, nil)
		ids[i] = req.CallbackID
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Execute(t, "probe", req)
		}()
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	var lat []time.Duration
	for _, id := range ids {
		e, err := h.DB.GetExecution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Exec == store.ExecAnswered {
			continue // the run beat the inline budget on a busy machine
		}
		h.HubSpot.Wait(t, id, 10*time.Second)
		e = waitDelivered(t, h, id)
		mu.Lock()
		lat = append(lat, arrived[id].Sub(e.FinishedAt))
		mu.Unlock()
	}
	if len(lat) < n/2 {
		t.Fatalf("only %d of %d executions BLOCKed", len(lat), n)
	}
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
	t.Logf("recorded→sent over %d callbacks: p50 %v, p99 %v, max %v", len(lat), q(0.5), q(0.99), lat[len(lat)-1])
}

// TestFailureStatusIsRecorded: a retried failure's status and Retry-After
// are columns, and so is the status of the failure an execution ends with.
func TestFailureStatusIsRecorded(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, actions.Config{MaxAttempts: 2, SweepEvery: 20 * time.Millisecond})
	req := actionstest.NewRequest(7000022, "CONTACT", map[string]any{"message": "limited", "fail": "rate"}, nil)
	if out := h.Execute(t, "probe", req); out["hs_execution_state"] != "BLOCK" {
		t.Fatalf("Execute() = %v, want BLOCK for a retry", out)
	}
	got := h.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
	if got["error_code"] != "RATE_LIMITED" {
		t.Errorf("completion = %v, want RATE_LIMITED", got)
	}
	e := waitDelivered(t, h, req.CallbackID)
	if e.Exec != store.ExecDelivered || e.LastStatus != 429 || e.Attempt != 2 {
		t.Errorf("ledger = %s, last status %d, attempt %d; want delivered, 429, 2", e.Exec, e.LastStatus, e.Attempt)
	}
}

// TestGiveUpWordsTheRecordedStatus plants a BLOCKed execution whose last
// failure was a 429, recorded as a status with text that does not say so,
// and whose wait is about to expire: the give-up must say rate limited.
func TestGiveUpWordsTheRecordedStatus(t *testing.T) {
	t.Parallel()
	h, p := newHarness(t, actions.Config{})
	ctx := context.Background()
	req := actionstest.NewRequest(7000023, "CONTACT", map[string]any{"message": "late"}, nil)
	body, _ := json.Marshal(req)
	err := h.DB.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.InsertExecution(ctx, store.NewExecution{CallbackID: req.CallbackID, Ref: "EX-LIMIT", PortalID: 7000023,
			Action: "probe", Request: string(body), LeaseUntil: time.Now().Add(time.Minute), Blocked: true, ExpiresAt: time.Now().Add(50 * time.Second)})
		if err != nil {
			return err
		}
		_, err = tx.Release(ctx, req.CallbackID, 1, time.Now(), store.Failure{Reason: "the provider said no", Status: 429, RetryAfter: time.Second}, time.Time{}, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := h.HubSpot.Wait(t, req.CallbackID, 20*time.Second)
	if got["error_code"] != "RATE_LIMITED" || !strings.Contains(got["error_message"], "rate limiting") {
		t.Errorf("completion = %v, want RATE_LIMITED", got)
	}
	if n := p.count(req.CallbackID); n != 0 {
		t.Errorf("the action ran %d times after its wait ran out", n)
	}
}
