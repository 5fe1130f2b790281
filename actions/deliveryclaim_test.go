package actions

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hubspot-actions/actions/hubspot"
	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// heldHubSpot is a HubSpot whose first completion call hangs until release
// is closed, as a slow callbacks API would; later calls return at once.
type heldHubSpot struct {
	started chan struct{} // closed when the first call arrives
	release chan struct{}
	once    sync.Once

	mu        sync.Mutex
	calls     [][]hubspot.Completion
	deadlines []time.Time // of each call's context (zero: none)
}

func newHeldHubSpot() *heldHubSpot {
	return &heldHubSpot{started: make(chan struct{}), release: make(chan struct{})}
}

func (h *heldHubSpot) CompleteCallbacks(ctx context.Context, portalID int64, batch []hubspot.Completion) error {
	d, _ := ctx.Deadline()
	h.mu.Lock()
	h.calls = append(h.calls, batch)
	h.deadlines = append(h.deadlines, d)
	first := len(h.calls) == 1
	h.mu.Unlock()
	if first {
		h.once.Do(func() { close(h.started) })
		select {
		case <-h.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (h *heldHubSpot) CheckPortal(context.Context, int64) error { return nil }

func (h *heldHubSpot) callCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.calls)
}

// clock is a settable time for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newClaimRuntime is a runtime (River not started) over a store whose
// clock the test sets, with an ACTION_TIMEOUT of 2 minutes: longer than
// the 90 seconds past which the old fixed 2-minute claim ran out before a
// delivery job's timeout.
func newClaimRuntime(t *testing.T, hs HubSpot, c *clock) (*Runtime, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.URL(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetClock(c.now)
	rt, err := NewRuntime(Config{AttemptTimeout: 2 * time.Minute}, db, NewRegistry(), hs, NewValidator(),
		slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry()), nil)
	if err != nil {
		t.Fatalf("NewRuntime: %v", err)
	}
	rt.now = c.now
	return rt, db
}

// plantOutcome records a finished execution whose outcome waits for
// callback delivery. blockAnswered false is one recovery finished: HubSpot
// was never answered BLOCK and may still retry the request.
func plantOutcome(t *testing.T, db *store.DB, callbackID string, portalID int64, blockAnswered bool, now time.Time) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.InsertExecution(ctx, store.NewExecution{CallbackID: callbackID, Ref: "EX-CLAIM", PortalID: portalID,
			Action: "probe", Request: "{}", LeaseUntil: now.Add(time.Minute), ReceivedAt: now, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
			return err
		}
		if ok, err := tx.Block(ctx, callbackID, 1, now.Add(24*time.Hour), blockAnswered); err != nil || !ok {
			t.Fatalf("Block(%s) = %v, %v", callbackID, ok, err)
		}
		_, _, err := tx.Finish(ctx, callbackID, 1, store.Outcome{FinalState: StateSuccess, Outputs: `{"hs_execution_state":"SUCCESS","echo":"once"}`})
		return err
	})
	if err != nil {
		t.Fatalf("plant %s: %v", callbackID, err)
	}
}

// TestDeliveryClaimOutlivesItsJob: with ACTION_TIMEOUT over 90 s, while a
// delivery is still within its job's timeout (here 1 s before it ends), a
// second delivery claims nothing and sends nothing; the first one's
// completion call is bounded by that timeout, so it can never still be
// reaching HubSpot once its claim runs out.
func TestDeliveryClaimOutlivesItsJob(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	c := &clock{t: t0}
	hs := newHeldHubSpot()
	rt, db := newClaimRuntime(t, hs, c)
	ctx := context.Background()
	plantOutcome(t, db, "ap-9100-1-0", 9100, true, t0)
	log := slog.New(slog.DiscardHandler)

	first := make(chan error, 1)
	go func() { first <- rt.deliverPortal(ctx, 9100, "first", log) }()
	<-hs.started

	c.set(t0.Add(rt.cfg.jobTimeout() - time.Second))
	if err := rt.deliverPortal(ctx, 9100, "second", log); err != nil {
		t.Fatalf("second deliverPortal: %v", err)
	}
	if n := hs.callCount(); n != 1 {
		t.Errorf("completion calls while the first delivery is within its timeout = %d, want 1", n)
	}
	e, err := db.GetExecution(ctx, "ap-9100-1-0")
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(rt.cfg.jobTimeout()); e.DeliveryClaimEnd.Before(want.Add(time.Minute)) {
		t.Errorf("claim ends at %v, want at least a minute after the job's timeout (%v)", e.DeliveryClaimEnd, want)
	}
	hs.mu.Lock()
	d := hs.deadlines[0]
	hs.mu.Unlock()
	if d.IsZero() || time.Until(d) > rt.cfg.jobTimeout() {
		t.Errorf("the completion call's deadline is %v away, want one within the job timeout %v", time.Until(d), rt.cfg.jobTimeout())
	}

	close(hs.release)
	if err := <-first; err != nil {
		t.Fatalf("first deliverPortal: %v", err)
	}
	if e, err := db.GetExecution(ctx, "ap-9100-1-0"); err != nil || e.Exec != store.ExecDelivered {
		t.Errorf("after the first delivery: %v, %v; want delivered", e.Exec, err)
	}
	if n := hs.callCount(); n != 1 {
		t.Errorf("completion calls = %d, want 1", n)
	}
}

// TestRetryDuringDeliveryGetsBlock is the sequence that sent an outcome
// both ways: recovery finished an execution HubSpot was never answered
// BLOCK for, its callback is on its way (slow), and HubSpot retries the
// request. The retry must get BLOCK, not the outcome, for as long as the
// callback may still reach HubSpot (here 1 s before the delivery's timeout,
// which with ACTION_TIMEOUT=2m is past the old fixed claim); once the
// callback was accepted, later retries still get BLOCK. HubSpot receives
// the outcome once, by callback.
func TestRetryDuringDeliveryGetsBlock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	c := &clock{t: t0}
	hs := newHeldHubSpot()
	rt, db := newClaimRuntime(t, hs, c)
	ctx := context.Background()
	const id = "ap-9200-1-0"
	plantOutcome(t, db, id, 9200, false, t0)
	log := slog.New(slog.DiscardHandler)

	first := make(chan error, 1)
	go func() { first <- rt.deliverPortal(ctx, 9200, "slow", log) }()
	<-hs.started

	retry := func() Response {
		t.Helper()
		e, err := db.GetExecution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rt.duplicate(ctx, &Action{Key: "probe"}, e)
		if err != nil {
			t.Fatalf("duplicate: %v", err)
		}
		return res
	}
	c.set(t0.Add(rt.cfg.jobTimeout() - time.Second))
	if got := retry().OutputFields[OutputState]; got != StateBlock {
		t.Errorf("HubSpot's retry while the callback is in flight got %v, want BLOCK", got)
	}
	close(hs.release)
	if err := <-first; err != nil {
		t.Fatalf("deliverPortal: %v", err)
	}
	c.set(t0.Add(time.Hour))
	if got := retry().OutputFields[OutputState]; got != StateBlock {
		t.Errorf("HubSpot's retry after the callback was accepted got %v, want BLOCK", got)
	}
	e, err := db.GetExecution(ctx, id)
	if err != nil || e.Exec != store.ExecDelivered || !e.BlockAnswered {
		t.Errorf("execution = %v (block answered %v), %v; want delivered, BLOCK answered", e.Exec, e.BlockAnswered, err)
	}
	if n := hs.callCount(); n != 1 {
		t.Errorf("completion calls = %d, want 1", n)
	}
}
