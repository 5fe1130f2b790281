package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// uniqueWhileLive makes a job unique by its args among jobs not yet
// finished, so a finished job never blocks a later one.
var uniqueWhileLive = river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	},
}

// executeArgs runs (or resumes) an execution that no request is waiting
// for: a scheduled retry, or recovery after a crash.
type executeArgs struct {
	CallbackID string `json:"callback_id" river:"unique"`
}

func (executeArgs) Kind() string { return "hubspot_actions.execute" }

func (executeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 25, UniqueOpts: uniqueWhileLive}
}

// deliverArgs delivers a recorded outcome through the callbacks API,
// batched with the portal's other waiting outcomes.
type deliverArgs struct {
	CallbackID string `json:"callback_id" river:"unique"`
	PortalID   int64  `json:"portal_id"`
}

func (deliverArgs) Kind() string { return "hubspot_actions.deliver" }

func (deliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 25, UniqueOpts: uniqueWhileLive}
}

// recoverArgs looks for work a dead process left behind.
type recoverArgs struct{}

func (recoverArgs) Kind() string { return "hubspot_actions.recover" }

func (recoverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: time.Second}}
}

type executeWorker struct {
	river.WorkerDefaults[executeArgs]
	rt *Runtime
}

func (w *executeWorker) Work(ctx context.Context, job *river.Job[executeArgs]) error {
	rt := w.rt
	e, err := rt.db.GetExecution(ctx, job.Args.CallbackID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if e.State == store.StateDone {
		if e.Delivery == store.DeliveryCallback && e.DeliveredAt.IsZero() && e.DeliveryError == "" {
			_, err := rt.river.Insert(ctx, deliverArgs{CallbackID: e.CallbackID, PortalID: e.PortalID}, nil)
			return err
		}
		return nil
	}
	now := rt.now()
	if e.LeaseUntil.After(now) {
		return river.JobSnooze(e.LeaseUntil.Sub(now) + 100*time.Millisecond)
	}
	log := rt.log.With("portal_id", e.PortalID, "action", e.Action, "callback_id", e.CallbackID, "job_id", job.ID)
	a, ok := rt.reg.Get(e.Action)
	var req Request
	if jerr := json.Unmarshal([]byte(e.Request), &req); !ok || jerr != nil {
		log.Error("cannot resume execution", "known_action", ok, "err", jerr)
		return rt.abandon(ctx, e, Fail(CodeInternal, "This action is no longer available in the app."))
	}
	expires := e.ExpiresAt
	if expires.IsZero() {
		expires = e.ReceivedAt.Add(a.blockExpiry(rt.cfg))
	}
	var claimed bool
	err = rt.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if claimed, err = tx.ClaimExecution(ctx, e.CallbackID, e.Attempt, now.Add(rt.cfg.lease())); err != nil || !claimed {
			return err
		}
		// No request waits for a job: its outcome goes by callback.
		_, err = tx.MarkBlocked(ctx, e.CallbackID, expires)
		return err
	})
	if err != nil {
		return err
	}
	if !claimed {
		return river.JobSnooze(time.Second)
	}
	attempt := e.Attempt + 1
	if !now.Before(expires.Add(-time.Minute)) {
		log.Warn("giving up: HubSpot's wait for this execution is about to expire")
		res := rt.finish(ctx, a, &req, attempt, e.ReceivedAt, rt.failure(a, e.Ref, nil, giveUp(lastError(e), attempt-1)), log)
		return res.err
	}
	res := rt.attempt(ctx, a, &req, e.Ref, attempt, e.ReceivedAt, false)
	if res.err != nil {
		return res.err
	}
	if res.snooze > 0 {
		return river.JobSnooze(res.snooze)
	}
	return nil
}

// lastError rebuilds enough of an execution's last failure to word a
// give-up message.
func lastError(e store.Execution) error {
	if e.LastError == "" {
		return errors.New("no answer in time")
	}
	return errors.New(e.LastError)
}

// abandon finishes an execution that cannot run at all.
func (rt *Runtime) abandon(ctx context.Context, e store.Execution, pe *Error) error {
	a := &Action{Key: e.Action}
	if ra, ok := rt.reg.Get(e.Action); ok {
		a = ra
	}
	return rt.db.Write(ctx, func(tx *store.Tx) error {
		claimed, err := tx.ClaimExecution(ctx, e.CallbackID, e.Attempt, rt.now().Add(rt.cfg.lease()))
		if err != nil || !claimed {
			return err
		}
		if _, err := tx.MarkBlocked(ctx, e.CallbackID, rt.now().Add(time.Hour)); err != nil {
			return err
		}
		if _, _, err := tx.FinishExecution(ctx, e.CallbackID, e.Attempt+1, rt.failure(a, e.Ref, nil, pe)); err != nil {
			return err
		}
		_, err = rt.river.InsertTx(ctx, tx.SQL(), deliverArgs{CallbackID: e.CallbackID, PortalID: e.PortalID}, nil)
		return err
	})
}

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	rt *Runtime
}

// maxBatch is the most outcomes sent in one batch completion call.
const maxCompletionBatch = 100

// deliveryClaim is how long a delivery worker holds outcomes it is sending.
const deliveryClaim = 2 * time.Minute

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	rt := w.rt
	log := rt.log.With("portal_id", job.Args.PortalID, "callback_id", job.Args.CallbackID, "job_id", job.ID)
	claim := fmt.Sprintf("deliver-%d-%d-%d", job.ID, job.Attempt, rt.now().UnixNano())
	var batch []store.Delivery
	err := rt.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		batch, err = tx.ClaimDeliveries(ctx, job.Args.PortalID, job.Args.CallbackID, claim, tx.Now().Add(deliveryClaim), maxCompletionBatch)
		return err
	})
	if err != nil {
		return err
	}
	if len(batch) == 0 || batch[0].CallbackID != job.Args.CallbackID {
		// Ours went out with another batch, failed for good, or is being
		// sent right now by another worker.
		if len(batch) > 0 {
			if err := rt.sendBatch(ctx, job.Args.PortalID, claim, batch, log); err != nil {
				return err
			}
		}
		e, err := rt.db.GetExecution(ctx, job.Args.CallbackID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !e.DeliveredAt.IsZero() || e.DeliveryError != "" {
			return nil
		}
		if wait := e.DeliveryClaimEnd.Sub(rt.now()); wait > 0 {
			return river.JobSnooze(wait + 100*time.Millisecond)
		}
		return river.JobSnooze(time.Second)
	}
	if err := rt.sendBatch(ctx, job.Args.PortalID, claim, batch, log); err != nil {
		return err
	}
	e, err := rt.db.GetExecution(ctx, job.Args.CallbackID)
	if err != nil {
		return err
	}
	if e.DeliveredAt.IsZero() && e.DeliveryError == "" {
		// Released for a retry: come back when it is due.
		return river.JobSnooze(max(e.DeliveryClaimEnd.Sub(rt.now()), time.Second))
	}
	return nil
}

// sendBatch completes a claimed batch of callbacks and settles each outcome
// in the ledger: delivered, released for a retry, or failed for good.
func (rt *Runtime) sendBatch(ctx context.Context, portalID int64, claim string, batch []store.Delivery, log *slog.Logger) error {
	comps := make([]oauth.Completion, 0, len(batch))
	ids := make([]string, 0, len(batch))
	for _, d := range batch {
		var out map[string]string
		if err := json.Unmarshal([]byte(d.Outputs), &out); err != nil {
			out = map[string]string{OutputState: StateFailContinue, OutputErrorCode: string(CodeInternal), OutputErrorMsg: "The recorded outcome could not be read."}
		}
		comps = append(comps, oauth.Completion{CallbackID: d.CallbackID, OutputFields: out})
		ids = append(ids, d.CallbackID)
	}
	err := rt.hs.CompleteCallbacks(ctx, portalID, comps)
	var ae *APIError
	switch {
	case err == nil:
		rt.m.completions.WithLabelValues("delivered").Add(float64(len(ids)))
		return rt.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkDelivered(ctx, claim, ids) })
	case errors.Is(err, oauth.ErrNotConnected):
		log.Warn("cannot deliver outcomes: portal must reinstall", "count", len(ids), "err", err)
		rt.m.completions.WithLabelValues("failed").Add(float64(len(ids)))
		return rt.db.Write(ctx, func(tx *store.Tx) error {
			return tx.FailDeliveries(ctx, claim, ids, "HubSpot no longer accepts this portal's token; the app must be reinstalled: "+err.Error())
		})
	case Transient(err):
		attempts := batch[0].Attempts
		wait := backoff(attempts)
		if d, ok := RetryAfter(err); ok {
			wait = d
		}
		if attempts >= 15 {
			log.Error("giving up delivering outcomes", "count", len(ids), "err", err)
			rt.m.completions.WithLabelValues("failed").Add(float64(len(ids)))
			return rt.db.Write(ctx, func(tx *store.Tx) error {
				return tx.FailDeliveries(ctx, claim, ids, "HubSpot kept failing: "+err.Error())
			})
		}
		log.Info("callback completion will be retried", "count", len(ids), "after", wait.String(), "err", err)
		rt.m.completions.WithLabelValues("retried").Add(float64(len(ids)))
		return rt.db.Write(ctx, func(tx *store.Tx) error { return tx.ReleaseDeliveries(ctx, claim, ids, tx.Now().Add(wait)) })
	case errors.As(err, &ae) && len(batch) > 1:
		// HubSpot refused the batch; send one by one so a single bad
		// callbackId (expired, say) cannot hold back the others.
		log.Warn("batch completion refused; completing one by one", "count", len(ids), "err", err)
		for _, d := range batch {
			if err := rt.sendBatch(ctx, portalID, claim, []store.Delivery{d}, log); err != nil {
				return err
			}
		}
		return nil
	default:
		log.Warn("HubSpot refused a callback completion", "callback_ids", ids, "err", err)
		rt.m.completions.WithLabelValues("failed").Add(float64(len(ids)))
		reason := err.Error()
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			reason = "HubSpot does not know this callback (expired or already completed): " + reason
		}
		return rt.db.Write(ctx, func(tx *store.Tx) error { return tx.FailDeliveries(ctx, claim, ids, reason) })
	}
}

type recoverWorker struct {
	river.WorkerDefaults[recoverArgs]
	rt *Runtime
}

// recoverySlack is how far past its lease a running execution must be
// before recovery takes it: a scheduled retry job gets that long to start.
const recoverySlack = 30 * time.Second

func (w *recoverWorker) Work(ctx context.Context, job *river.Job[recoverArgs]) error {
	rt := w.rt
	now := rt.now()
	orphans, err := rt.db.OrphanedExecutions(ctx, now.Add(-recoverySlack), now.Add(-rt.cfg.RecoveryGrace), 500)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		expires := now.Add(rt.cfg.BlockExpiry)
		if a, ok := rt.reg.Get(o.Action); ok {
			expires = now.Add(a.blockExpiry(rt.cfg))
		}
		err := rt.db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.MarkBlocked(ctx, o.CallbackID, expires); err != nil {
				return err
			}
			_, err := rt.river.InsertTx(ctx, tx.SQL(), executeArgs{CallbackID: o.CallbackID}, nil)
			return err
		})
		if err != nil {
			return err
		}
		rt.log.Info("recovering an interrupted execution", "portal_id", o.PortalID, "action", o.Action, "callback_id", o.CallbackID, "was_blocked", o.Blocked)
	}
	stranded, err := rt.db.StrandedDeliveries(ctx, now.Add(-time.Minute), 500)
	if err != nil {
		return err
	}
	for _, o := range stranded {
		if _, err := rt.river.Insert(ctx, deliverArgs{CallbackID: o.CallbackID, PortalID: o.PortalID}, nil); err != nil {
			return err
		}
	}
	return nil
}
