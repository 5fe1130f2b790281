package actions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// deliveries sends a portal's callback outcomes from this process as soon
// as they are recorded, instead of after the next sweep and River's poll.
// It holds nothing durable: an outcome whose wake-up is lost (the process
// died, HubSpot asked to wait) stays awaiting_delivery in the ledger, and
// the sweeper's River job delivers it. At most one loop runs per portal; a
// wake-up while it runs makes it go round once more, which also batches
// outcomes recorded during a send.
type deliveries struct {
	gather  time.Duration // how long a wake-up waits for more outcomes to send with it
	rt      *Runtime
	id      string          // tells this process's claims apart from others'
	ctx     context.Context // the loops' lifetime, from start to stop; nil before start
	cancel  context.CancelFunc
	mu      sync.Mutex
	again   map[int64]bool // portals with a loop running: whether it was woken since it claimed
	stopped bool
	wg      sync.WaitGroup
}

// deliveryGather is how long a woken delivery waits before it claims, so
// that outcomes recorded in a burst share one batch completion (and two
// ledger writes) instead of one each; it is small next to the 100 ms an
// outcome may take to leave.
const deliveryGather = 5 * time.Millisecond

func newDeliveries(rt *Runtime) *deliveries {
	return &deliveries{rt: rt, gather: deliveryGather, id: fmt.Sprintf("%08x", rand.Uint32()), again: map[int64]bool{}}
}

// start lets wake-ups run loops, under ctx's values but not its
// cancellation: stop ends them, after the runtime's jobs.
func (d *deliveries) start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
}

// wakeDelivery has the portal's waiting outcomes sent now.
func (rt *Runtime) wakeDelivery(portalID int64) {
	d := rt.deliveries
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped || d.ctx == nil {
		return // not running: the sweeper delivers
	}
	if _, running := d.again[portalID]; running {
		d.again[portalID] = true
		return
	}
	d.again[portalID] = false
	d.wg.Add(1)
	go d.loop(portalID)
}

// loop delivers until a round finds nothing new to do. It owns its
// goroutine; stop ends it.
func (d *deliveries) loop(portalID int64) {
	defer d.wg.Done()
	log := d.rt.log.With("portal_id", portalID)
	for n := 0; ; n++ {
		select {
		case <-time.After(d.gather):
		case <-d.ctx.Done():
			d.mu.Lock()
			delete(d.again, portalID)
			d.mu.Unlock()
			return
		}
		err := d.rt.deliverPortal(d.ctx, portalID, fmt.Sprintf("now-%s-%d-%d", d.id, portalID, n), log)
		if err != nil && !errors.Is(err, errWait) && d.ctx.Err() == nil {
			log.Warn("callback delivery failed; the sweeper retries it", "err", logErr(err))
		}
		d.mu.Lock()
		if err != nil || !d.again[portalID] {
			delete(d.again, portalID)
			d.mu.Unlock()
			return
		}
		d.again[portalID] = false
		d.mu.Unlock()
	}
}

// stop refuses new wake-ups and waits, until ctx ends, for loops in flight;
// then it cancels them (their claims run out and the sweeper delivers).
func (d *deliveries) stop(ctx context.Context) {
	d.mu.Lock()
	d.stopped = true
	cancel := d.cancel
	d.mu.Unlock()
	if cancel == nil {
		return // never started: no loop ran
	}
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		cancel()
		<-done
	}
	cancel()
}
