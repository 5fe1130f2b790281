package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"hubspot-actions/actions/hubspot"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

// controlQueue runs the sweeper, deliveries and pruning, apart from action
// runs, so a backlog of slow retries can never hold up callbacks or
// recovery.
const controlQueue = "control"

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
// for: a due retry, or a run whose process died. It is unique per
// execution so a backlog does not pile up copies; one left "running" by a
// killed process is rescued by River after RescueStuckJobsAfter.
type executeArgs struct {
	CallbackID string `json:"callback_id"`
}

func (executeArgs) Kind() string { return "hubspot_actions.execute" }

func (executeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: uniqueWhileLive}
}

// deliverArgs sends a portal's waiting outcomes through the callbacks API,
// in batches of up to 100.
type deliverArgs struct {
	PortalID int64 `json:"portal_id"`
}

func (deliverArgs) Kind() string { return "hubspot_actions.deliver" }

// Deliver, sweep and prune jobs are not unique: River's uniqueness counts a
// running job, and a job left "running" by a killed process would block
// its successors until River rescues it. Extra copies are harmless (claims
// in the ledger keep two deliveries from sending one outcome).
func (deliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: controlQueue, MaxAttempts: 10}
}

// sweepArgs is the periodic job that turns due ledger rows into jobs.
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "hubspot_actions.sweep" }

func (sweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: controlQueue, MaxAttempts: 1}
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	rt *Runtime
}

// sweepLimit bounds the rows one sweep hands over; sweepChunk how many
// share a transaction.
const (
	sweepLimit = 1000
	sweepChunk = 50
)

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[sweepArgs]) error {
	rt := w.rt
	now := rt.now()
	due, err := rt.db.DueExecutions(ctx, now, now.Add(-rt.cfg.RecoveryGrace), sweepLimit)
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(due, sweepChunk) {
		err := rt.db.Write(ctx, func(tx *store.Tx) error {
			jobs := make([]river.InsertManyParams, 0, len(chunk))
			for _, o := range chunk {
				expires := now.Add(rt.cfg.BlockExpiry)
				if a, ok := rt.reg.Get(o.Action); ok {
					expires = now.Add(a.blockExpiry(rt.cfg))
				}
				// An execution a job runs has no request waiting: it is, or
				// now becomes, BLOCKed, and its outcome goes by callback.
				// One a request took over since the listing is its own.
				ok, err := tx.Block(ctx, o.CallbackID, o.Attempt, expires, false)
				if err != nil {
					return err
				}
				if ok {
					jobs = append(jobs, river.InsertManyParams{Args: executeArgs{CallbackID: o.CallbackID}})
				}
			}
			if len(jobs) == 0 {
				return nil
			}
			return rt.river.insertManyTx(ctx, tx, jobs)
		})
		if err != nil {
			return err
		}
		for _, o := range chunk {
			if o.State == store.ExecRunning {
				rt.log.Info("recovering an execution whose run was interrupted", "portal_id", o.PortalID, "action", o.Action, "callback_id", o.CallbackID)
			}
		}
	}
	portals, err := rt.db.PortalsAwaitingDelivery(ctx, now, sweepLimit)
	if err != nil {
		return err
	}
	for _, p := range portals {
		if _, err := rt.river.Insert(ctx, deliverArgs{PortalID: p}, nil); err != nil {
			return err
		}
	}
	// Writers never checkpoint the write-ahead log themselves (it would
	// stall a commit); the sweeper does it, off the request path.
	if err := rt.db.Checkpoint(ctx); err != nil {
		rt.log.Warn("checkpoint", "err", err)
	}
	return nil
}

type executeWorker struct {
	river.WorkerDefaults[executeArgs]
	rt *Runtime
}

func (w *executeWorker) Timeout(*river.Job[executeArgs]) time.Duration {
	return w.rt.cfg.jobTimeout()
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
	now := rt.now()
	if !e.Exec.Live() || e.LeaseUntil.After(now) {
		// Finished, or held by a live run; the sweeper brings it back if
		// that run dies.
		return nil
	}
	if e.Erased() {
		// Its inputs went with the erasure: it cannot run again.
		return rt.abandon(ctx, e, erasedFailure())
	}
	log := rt.log.With("portal_id", e.PortalID, "action", e.Action, "callback_id", e.CallbackID, "job_id", job.ID)
	a, ok := rt.reg.Get(e.Action)
	if ok {
		// Every run of an execution uses the registry its mode names.
		a = rt.inMode(a, e.TestMode)
	}
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
	lease := now.Add(rt.cfg.lease())
	err = rt.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		_, claimed, err = tx.Claim(ctx, e.CallbackID, e.Attempt, lease, false, expires)
		return err
	})
	if err != nil || !claimed {
		return err
	}
	attempt := e.Attempt + 1
	if gate := rt.hs.CheckPortal(ctx, e.PortalID); errors.Is(gate, oauth.ErrNotConnected) {
		// Uninstalled (or its grant lost) since it was received: an action
		// never runs for such a portal.
		log.Warn("execution refused: portal not connected", "err", gate)
		return rt.finish(ctx, a, &req, attempt, e.ReceivedAt, rt.failure(a, e.Ref, nil, publicError(gate)), false).err
	}
	if !now.Before(expires.Add(-time.Minute)) {
		log.Warn("giving up: HubSpot's wait for this execution is about to expire")
		return rt.finish(ctx, a, &req, attempt, e.ReceivedAt, rt.failure(a, e.Ref, nil, giveUp(lastError(e), attempt-1)), false).err
	}
	return rt.attempt(ctx, a, &req, e.Ref, attempt, e.ReceivedAt, lease, false).err
}

// abandon finishes an execution that cannot run at all.
func (rt *Runtime) abandon(ctx context.Context, e store.Execution, pe *Error) error {
	a := &Action{Key: e.Action}
	if ra, ok := rt.reg.Get(e.Action); ok {
		a = ra
	}
	a = rt.inMode(a, e.TestMode)
	var finished bool
	err := rt.db.Write(ctx, func(tx *store.Tx) error {
		_, claimed, err := tx.Claim(ctx, e.CallbackID, e.Attempt, rt.now().Add(rt.cfg.lease()), false, rt.now().Add(time.Hour))
		if err != nil || !claimed {
			return err
		}
		_, finished, err = tx.Finish(ctx, e.CallbackID, e.Attempt+1, rt.failure(a, e.Ref, nil, pe).Outcome)
		return err
	})
	if err == nil && finished {
		rt.wakeDelivery(e.PortalID)
	}
	return err
}

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	rt *Runtime
}

// maxCompletionBatch is the most outcomes sent in one batch completion.
const maxCompletionBatch = 100

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	log := w.rt.log.With("portal_id", job.Args.PortalID, "job_id", job.ID)
	err := w.rt.deliverPortal(ctx, job.Args.PortalID, fmt.Sprintf("deliver-%d-%d", job.ID, job.Attempt), log)
	if errors.Is(err, errWait) {
		return nil // the sweeper resumes once the wait is over
	}
	return err
}

// deliverPortal sends a portal's waiting outcomes, in batches, until none
// is left (nil) or HubSpot asks to wait (errWait). claim names this
// delivery uniquely; each round's claim adds the round to it.
func (rt *Runtime) deliverPortal(ctx context.Context, portalID int64, claim string, log *slog.Logger) error {
	for round := 0; ; round++ {
		sent, err := rt.deliverRound(ctx, portalID, fmt.Sprintf("%s-%d", claim, round), log)
		if err != nil || !sent {
			return err
		}
	}
}

// deliverRound claims one batch and sends it; sent is false when there was
// nothing to claim. Its work ends within
// jobTimeout of the claim, which lasts deliveryClaim (longer), whoever
// calls it: a River job (whose own timeout is the same) or the in-process
// loop (which has none). So while a completion call may be in flight the
// outcomes stay claimed. (Settling them writes with the deadline removed.)
func (rt *Runtime) deliverRound(ctx context.Context, portalID int64, claim string, log *slog.Logger) (sent bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, rt.cfg.jobTimeout())
	defer cancel()
	var batch []store.Delivery
	err = rt.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		batch, err = tx.ClaimDeliveries(ctx, portalID, claim, tx.Now().Add(rt.cfg.deliveryClaim()), maxCompletionBatch)
		return err
	})
	if err != nil || len(batch) == 0 {
		return false, err
	}
	return true, rt.sendBatch(ctx, portalID, claim, batch, log)
}

// sendBatch completes a claimed batch of callbacks and settles each outcome
// in the ledger: delivered, released for a retry, or failed for good.
func (rt *Runtime) sendBatch(ctx context.Context, portalID int64, claim string, batch []store.Delivery, log *slog.Logger) error {
	comps := make([]hubspot.Completion, 0, len(batch))
	ids := make([]string, 0, len(batch))
	for _, d := range batch {
		var out map[string]string
		if err := json.Unmarshal([]byte(d.Outputs), &out); err != nil {
			out = map[string]string{OutputState: StateFailContinue, OutputErrorCode: string(CodeInternal), OutputErrorMsg: "The recorded outcome could not be read."}
		}
		comps = append(comps, hubspot.Completion{CallbackID: d.CallbackID, OutputFields: out})
		ids = append(ids, d.CallbackID)
	}
	err := rt.hs.CompleteCallbacks(ctx, portalID, comps)
	var ae *upstream.APIError
	switch {
	case err == nil:
		rt.m.completions.WithLabelValues("delivered").Add(float64(len(ids)))
		return rt.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkDelivered(ctx, claim, ids) })
	case Transient(err) || errors.Is(err, oauth.ErrNotConnected) || errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		// Worth trying again until HubSpot stops waiting: an outage, a rate
		// limit, or a token an admin can still fix by reinstalling.
		wait := backoff(batch[0].Attempts)
		if d, ok := upstream.RetryAfter(err); ok {
			wait = d
		}
		if errors.Is(err, oauth.ErrNotConnected) {
			wait = max(wait, 5*time.Minute)
		}
		now := rt.now()
		var retry, expired []string
		for _, d := range batch {
			if exp := d.ExpiresAt(); !exp.IsZero() && now.Add(wait).After(exp) || exp.IsZero() && d.Attempts >= 20 {
				expired = append(expired, d.CallbackID)
			} else {
				retry = append(retry, d.CallbackID)
			}
		}
		log.Info("callback completion will be retried", "count", len(retry), "given_up", len(expired), "after", wait.String(), "err", logErr(err))
		rt.m.completions.WithLabelValues("retried").Add(float64(len(retry)))
		rt.m.completions.WithLabelValues("failed").Add(float64(len(expired)))
		reason := "HubSpot's wait ran out before the outcome could be delivered: " + err.Error()
		if errors.Is(err, oauth.ErrNotConnected) {
			reason = "HubSpot no longer accepts this portal's token; the app must be reinstalled: " + err.Error()
		}
		if err := rt.db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.ReleaseDeliveries(ctx, claim, retry, tx.Now().Add(wait)); err != nil {
				return err
			}
			return tx.FailDeliveries(ctx, claim, expired, reason)
		}); err != nil {
			return err
		}
		return errWait
	case errors.As(err, &ae) && len(batch) > 1:
		// HubSpot refused the batch; send one by one so a single bad
		// callbackId (expired, say) cannot hold back the others.
		log.Warn("batch completion refused; completing one by one", "count", len(ids), "err", logErr(err))
		for _, d := range batch {
			if err := rt.sendBatch(ctx, portalID, claim, []store.Delivery{d}, log); err != nil && !errors.Is(err, errWait) {
				return err
			}
		}
		return nil
	default:
		log.Warn("HubSpot refused a callback completion", "callback_ids", ids, "err", logErr(err))
		rt.m.completions.WithLabelValues("failed").Add(float64(len(ids)))
		reason := err.Error()
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			reason = "HubSpot does not know this callback (expired or already completed): " + reason
		}
		return rt.db.Write(ctx, func(tx *store.Tx) error { return tx.FailDeliveries(ctx, claim, ids, reason) })
	}
}

// errWait means HubSpot asked us to wait: the outcomes were released until
// then and delivery stops for now.
var errWait = errors.New("actions: HubSpot asked to wait")

// pruneArgs is the periodic job that deletes history older than the
// retention, expired OAuth states (which the install route, open to
// anyone, no longer deletes itself) and expired admin sessions.
type pruneArgs struct{}

func (pruneArgs) Kind() string { return "hubspot_actions.prune" }

func (pruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: controlQueue, MaxAttempts: 3}
}

type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	rt *Runtime
}

// pruneBatch bounds one delete, so pruning never holds the writer long.
const pruneBatch = 500

func (w *pruneWorker) Work(ctx context.Context, job *river.Job[pruneArgs]) error {
	rt := w.rt
	now := rt.now()
	before := now.Add(-rt.cfg.Retention)
	if err := rt.pruneInBatches(ctx, "pruned execution history", func(tx *store.Tx) (int64, error) {
		return tx.PruneExecutions(ctx, before, pruneBatch)
	}, "older_than", before.Format(time.RFC3339)); err != nil {
		return err
	}
	// Expired OAuth states: a table a flood of install requests filled.
	if err := rt.pruneInBatches(ctx, "pruned expired oauth states", func(tx *store.Tx) (int64, error) {
		return tx.DeleteExpiredStates(ctx, now, pruneBatch)
	}); err != nil {
		return err
	}
	// Expired admin sessions, on whichever replica runs the job (they live
	// in the database).
	return rt.pruneInBatches(ctx, "pruned expired admin sessions", func(tx *store.Tx) (int64, error) {
		return tx.DeleteExpiredSessions(ctx, now, pruneBatch)
	}, "expired_before", now.Format(time.RFC3339))
}

// pruneInBatches runs del, which deletes at most pruneBatch rows, a
// transaction at a time until it deletes fewer, so that pruning never
// holds the writer long; it logs msg with the total and attrs.
func (rt *Runtime) pruneInBatches(ctx context.Context, msg string, del func(tx *store.Tx) (int64, error), attrs ...any) error {
	var total int64
	for {
		var n int64
		err := rt.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = del(tx)
			return err
		})
		if err != nil {
			return err
		}
		total += n
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		rt.log.Info(msg, append([]any{"deleted", total}, attrs...)...)
	}
	return nil
}
